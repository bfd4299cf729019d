"""The resource catalogue of assistance version 2: which types a resource line may name.

docs/protocol.md, "assistance, version 2". The catalogue (``resources/catalogue.json``) ships
with the package: the IAEA RANET functional areas, INSARAG light, medium and heavy USAR teams,
WHO emergency medical team types 1 to 3, logistics, shelter, water, vaccines and antivirals.
Each type lists the UCUM units (c/s codes; curly-brace annotations count things) a quantity of
it may take, and whether a line of it must name its ``product`` (vaccines, antivirals).

The catalogue binds what this node *writes*: a peer's body that names a type from a later
catalogue is kept and shown as it is (``known`` is false), because signed bodies cannot be
migrated. Pure: no I/O but this package's own data (``importlib.resources``).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources

from parley.core.assistance import Line
from parley.formats.errors import FormatError

__all__ = ["ResourceType", "catalogue", "check_line", "resource_type"]


@dataclass(frozen=True)
class ResourceType:
    """One catalogue entry: its code, area, name, allowed UCUM units and product rule."""

    code: str
    area: str
    name: str
    units: tuple[str, ...]
    product: bool


@functools.cache
def catalogue() -> dict[str, ResourceType]:
    """Every catalogue type by code, in the catalogue's order."""
    raw = json.loads(
        resources.files("parley.formats").joinpath("resources", "catalogue.json").read_text()
    )
    return {
        item["code"]: ResourceType(
            item["code"],
            item["area"],
            item["name"],
            tuple(item["units"]),
            bool(item.get("product", False)),
        )
        for item in raw["types"]
    }


def resource_type(code: str) -> ResourceType | None:
    """The catalogue type ``code``, or None for a type this catalogue does not know."""
    return catalogue().get(code)


def check_line(line: Line, where: str = "resources") -> None:
    """Refuse a line whose type, unit or product breaks the catalogue, naming the field."""
    known = resource_type(line.type)
    if known is None:
        areas = sorted({t.area for t in catalogue().values()})
        raise FormatError(
            f"{where}.{line.id}.type: {line.type!r} is not in the resource catalogue",
            hint=f"'parley assistance types' lists them; areas: {', '.join(areas)}",
        )
    if line.unit not in known.units:
        raise FormatError(
            f"{where}.{line.id}.unit: {line.unit!r} is not a unit of {line.type}",
            hint=f"use one of {', '.join(known.units)} (UCUM)",
        )
    if known.product and not line.product:
        raise FormatError(
            f"{where}.{line.id}.product: a {line.type} line names its product",
            hint="e.g. --product 'oseltamivir 75 mg'",
        )
