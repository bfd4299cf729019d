"""The pages in five languages: Babel catalogues, one per language, and the choice among them.

Every string of the pages is an English message id in the templates (``{{ _("...") }}``) or a
name the formats layer defines (a category's title, its detail fields' docs and hints, a CAP
value), translated by the gettext catalogue of the reader's language under
``locale/<lang>/LC_MESSAGES/messages.po``; the build
compiles them (``pybabel compile``, run by the Makefile) and the pages read the compiled ``.mo``.
``tests/web/test_translations.py`` fails a message that is missing, not in its language's
script, or left in English.

The language of a page is the officer's setting; before login, the ``lang`` query or cookie,
then the browser's ``Accept-Language``, then English.
"""

from __future__ import annotations

import functools
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.support import NullTranslations, Translations

from parley.core.errors import ConfigurationError
from parley.formats.body_schema import CERTAINTIES, SEVERITIES, URGENCIES
from parley.formats.categories import CATEGORIES
from parley.node.access import ROLES
from parley.node.notifications import categories as category_forms

LANGS = ("en", "ja", "ko", "zh", "ru")
NAMES = {"en": "English", "ja": "日本語", "ko": "한국어", "zh": "中文", "ru": "Русский"}
# What <html lang> says for each: the Chinese of the phrase catalogue is Simplified.
HTML_LANG = {"en": "en", "ja": "ja", "ko": "ko", "zh": "zh-Hans", "ru": "ru"}
LOCALE = Path(__file__).parent / "locale"
DOMAIN = "messages"

# CAP values shown on the pages (CAP 1.2 s3.2.1, s3.2.2), translated like the templates' text.
STATUSES = ("Actual", "Exercise", "Test", "Draft")
MSG_TYPES = ("Alert", "Update", "Cancel", "Ack", "Error")


def N_(message: str) -> str:  # noqa: N802 (the gettext convention, read by pybabel extract)
    """Mark ``message`` for the catalogues where it is written; it is translated where shown."""
    return message


def cap_labels(lang: str) -> dict[str, dict[str, str]]:
    """The CAP values the pages show, in ``lang``: one table for every page's scripts."""
    gettext = translations(lang).gettext
    groups = {
        "severities": SEVERITIES,
        "urgencies": URGENCIES,
        "certainties": CERTAINTIES,
        "statuses": STATUSES,
        "msg_types": MSG_TYPES,
    }
    return {name: {value: gettext(value) for value in values} for name, values in groups.items()}


def dynamic_messages() -> tuple[str, ...]:
    """Message ids that no template spells out: category titles, CAP values, role names.

    And the docs and ``typed_as`` hints of the categories' detail fields, which the compose
    page shows from ``GET /api/v1/categories?lang=``.
    """
    titles = [category.title for category in CATEGORIES.values()]
    values = [*SEVERITIES, *URGENCIES, *CERTAINTIES, *STATUSES, *MSG_TYPES, *ROLES]
    return tuple(dict.fromkeys([*titles, *category_forms.messages(), *values]))


@functools.cache
def translations(lang: str) -> NullTranslations:
    """The compiled catalogue of ``lang`` (English: the message ids themselves)."""
    if lang == "en":
        return NullTranslations()
    compiled = LOCALE / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"
    if not compiled.is_file():
        raise ConfigurationError(
            f"the pages' catalogue for {lang} is not compiled ({compiled} is missing)",
            hint="run 'make' (pybabel compile -d src/parley/web/locale), or reinstall Parley",
        )
    with compiled.open("rb") as handle:
        return Translations(handle, domain=DOMAIN)


def negotiate(accept_language: str | None) -> str:
    """The first of ``LANGS`` that an ``Accept-Language`` header asks for, by weight; else en."""
    if not accept_language:
        return "en"
    wanted: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGS and weight > 0:
            wanted.append((-weight, position, primary))
    return min(wanted)[2] if wanted else "en"


def chosen(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The language of a page before login: query, then cookie, then the browser's wish."""
    for candidate in (query, cookie):
        if candidate in LANGS:
            return candidate
    return negotiate(accept_language)


def template_catalogue() -> Catalog:
    """Every message of the pages: extracted from templates and modules, plus the dynamic ones.

    ``tools/catalogues.py`` writes it as ``locale/messages.pot`` and updates each language's
    ``.po`` from it; ``tests/web/test_translations.py`` checks each ``.po`` against it.
    """
    catalogue = Catalog(project="Parley", domain=DOMAIN)
    web = Path(__file__).parent
    methods = [("templates/**.html", "jinja2"), ("**.py", "python")]
    options = {
        "templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"},
        "**.py": {},
    }
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    for filename, line, message, comments, _context in extract_from_dir(
        web, methods, options_map=options, keywords=keywords, strip_comment_tags=True
    ):
        if isinstance(message, str) and message:
            catalogue.add(message, locations=[(filename, line)], auto_comments=comments)
    for message in dynamic_messages():
        if message not in catalogue:
            catalogue.add(message, locations=[("parley/web/i18n.py", 0)])
    return catalogue
