"""``GET /api/v1/categories``: the notification categories, for a form that composes one.

A thin route over ``parley.node.notifications.categories``: each category's code, domain,
title and typed detail fields (``details`` of a create is checked against them), and whether
this node keeps an Actual notification of it for a second officer (two-person release).

Titles, field docs and ``typed_as`` hints come in the ``lang`` the request asks for (default
``en``, for tools), from the pages' catalogues, as hotline phrases do; codes, names, kinds and
choices stay as they are, since a request is written with them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from parley.api.v1.auth import allowed, node_of
from parley.api.v1.schemas import PROBLEMS
from parley.node.access import Action, Principal
from parley.node.notifications.categories import category_forms
from parley.web import i18n

router = APIRouter(tags=["notifications"], responses=PROBLEMS)

Lang = Annotated[
    str,
    Query(
        pattern="^(" + "|".join(i18n.LANGS) + ")$",
        description="The language of titles, field docs and typed_as hints.",
    ),
]

FieldKind = Literal[
    "text",
    "int",
    "decimal",
    "ms",
    "bool",
    "enum",
    "point",
    "area",
    "areas",
    "texts",
    "object",
    "objects",
]  # formats.categories.FieldKind


class DetailFieldView(BaseModel):
    """One typed field of a category's ``details``; ``typed_as`` says how to write it as text."""

    name: str
    kind: FieldKind
    doc: str
    typed_as: str
    required: bool
    choices: list[str]
    minimum: int | None
    maximum: int | None
    pattern: str | None
    fields: list[DetailFieldView] = Field(description="The fields of an object, if any.")


class CategoryView(BaseModel):
    """A notification category (docs/formats.md) as this node takes it."""

    code: str
    domain: str
    title: str
    cap_categories: list[str]
    human_ack: bool
    two_person: bool = Field(
        description="An Actual notification of it waits for a second officer at this node."
    )
    details: list[DetailFieldView]


@router.get("/categories", response_model=list[CategoryView])
def categories(
    request: Request,
    principal: Annotated[Principal, Depends(allowed(Action.READ))],
    lang: Lang = "en",
) -> list[dict[str, Any]]:
    """Every category, in the order of docs/formats.md, with its detail fields, in ``lang``."""
    translate = i18n.translations(lang).gettext
    return [form.to_dict(translate) for form in category_forms(node_of(request))]
