"""The notification categories as an officer composing a notification needs them.

Each category of ``parley.formats.categories`` with its domain, its detail fields (name, kind,
what it means, whether it is required, its choices and bounds) and how each is typed in a
request (``input.request_details`` reads a string by the ``--detail NAME=VALUE`` grammar), and
whether this node keeps an Actual notification of it for a second officer (``[release]
categories``, ``release.needs_release``). The table itself is the same on every node; only the
two-person flag is this node's.

The English texts a person reads (title, each field's ``doc``, each kind's ``typed_as`` hint)
are message ids of the pages' catalogues, listed by ``messages``: an edge that knows the
reader's language passes its ``gettext`` to ``CategoryForm.to_dict`` (the API's ``lang``
query, as for the hotline phrases); English, the default, is the ids themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from parley.formats.categories import CATEGORIES, Category, DetailField
from parley.node.node import Node

# How a string value of each kind is typed (the grammar of ``input._value``).
TYPED_AS: dict[str, str] = {
    "text": "text",
    "enum": "one of the choices",
    "texts": "items separated by commas",
    "int": "a whole number",
    "decimal": "a decimal number, e.g. 7.1",
    "ms": "ISO 8601 time, or +DURATION from now (+30h)",
    "bool": "yes or no",
    "point": "LAT,LON, e.g. 35.5,139.8",
    "area": "LAT,LON,KM",
    "areas": "LAT,LON,KM; LAT,LON,KM; ...",
    "object": "a JSON object",
    "objects": "a JSON list of objects",
}

Translate = Callable[[str], str]


def _english(message: str) -> str:
    return message


def messages() -> tuple[str, ...]:
    """Every English text of the table for a reader: field docs (nested too), typed_as hints."""
    return tuple(
        dict.fromkeys(
            [*_docs(f for c in CATEGORIES.values() for f in c.details), *TYPED_AS.values()]
        )
    )


def _docs(fields: Iterable[DetailField]) -> list[str]:
    found: list[str] = []
    for field in fields:
        found.append(field.doc)
        found.extend(_docs(field.fields))
    return found


@dataclass(frozen=True)
class CategoryForm:
    """One category as the compose form shows it."""

    category: Category
    two_person: bool

    def to_dict(self, translate: Translate = _english) -> dict[str, Any]:
        """The category as data: code, domain, title, CAP categories, details, two_person.

        ``translate`` renders the title, the docs and the hints in the reader's language.
        """
        c = self.category
        return {
            "code": c.code,
            "domain": c.code.split(".", 1)[0],
            "title": translate(c.title),
            "cap_categories": list(c.cap_categories),
            "human_ack": c.human_ack,
            "two_person": self.two_person,
            "details": [_field(f, translate) for f in c.details],
        }


def _field(field: DetailField, translate: Translate) -> dict[str, Any]:
    return {
        "name": field.name,
        "kind": field.kind,
        "doc": translate(field.doc),
        "typed_as": translate(TYPED_AS[field.kind]),
        "required": field.required,
        "choices": list(field.choices),
        "minimum": field.minimum,
        "maximum": field.maximum,
        "pattern": field.pattern,
        "fields": [_field(f, translate) for f in field.fields],
    }


def category_forms(node: Node) -> list[CategoryForm]:
    """Every category, in the order of docs/formats.md, with this node's two-person flag."""
    return [CategoryForm(c, node.config.needs_release(c.code)) for c in CATEGORIES.values()]
