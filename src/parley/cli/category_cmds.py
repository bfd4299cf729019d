"""``parley categories``: the notification categories a node knows (``formats.categories``)."""

from __future__ import annotations

from typing import Any

import typer

from parley.cli.common import JsonOption, format_duration, out, print_json, reports_errors, table
from parley.formats.categories import CATEGORIES, Category


def _as_dict(category: Category) -> dict[str, Any]:
    return {
        "code": category.code,
        "title": category.title,
        "cap_categories": list(category.cap_categories),
        "deadlines": category.deadlines.to_dict(),
        "human_ack": category.human_ack,
        "details": [
            {"name": f.name, "kind": f.kind, "doc": f.doc, "required": f.required}
            for f in category.details
        ],
    }


def categories(
    as_json: JsonOption = False,
) -> None:
    """List the notification categories: code, title, default deadlines and detail fields."""
    if as_json:
        print_json([_as_dict(c) for c in CATEGORIES.values()])
        return
    grid = table(
        "code", "title", "delivered within", "acknowledged within", "details", whole=("code",)
    )
    for category in CATEGORIES.values():
        deadlines = category.deadlines
        fields = ", ".join(f.name + ("*" if f.required else "") for f in category.details)
        grid.add_row(
            category.code,
            category.title,
            format_duration(deadlines.delivered_within),
            format_duration(deadlines.acknowledged_within),
            fields,
        )
    out.print(grid, markup=False)
    out.print(
        "* a required detail; 'parley notify --category CODE --detail NAME=VALUE'", markup=False
    )


def register(root: typer.Typer) -> None:
    """Add ``parley categories`` to ``parley``."""
    root.command("categories")(reports_errors(categories))
