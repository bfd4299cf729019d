"""Refresh the pages' message catalogues after a template or a message changed.

Writes ``src/parley/web/locale/messages.pot`` from ``parley.web.i18n.template_catalogue`` and
updates each language's ``messages.po`` from it: new messages arrive untranslated (the
translation test then names them), removed ones are dropped. Translate, then ``make`` compiles.

Run: ``.venv/bin/python tools/catalogues.py``.
"""

from __future__ import annotations

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from parley.web import i18n


def main() -> None:
    """Write the template and update every language's catalogue from it."""
    template = i18n.template_catalogue()
    with (i18n.LOCALE / "messages.pot").open("wb") as out:
        write_po(out, template, omit_header=True, sort_output=True, width=100)
    for lang in i18n.LANGS:
        if lang == "en":
            continue
        path = i18n.LOCALE / lang / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
        if path.exists():
            with path.open("rb") as handle:
                catalogue = read_po(handle, locale=lang)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalogue = Catalog(locale=lang, project="Parley", domain=i18n.DOMAIN)
        catalogue.update(template, update_header_comment=False)
        catalogue.obsolete.clear()
        catalogue.fuzzy = False  # the header: only messages may be fuzzy, and the test fails those
        with path.open("wb") as out:
            write_po(
                out,
                catalogue,
                omit_header=False,
                sort_output=True,
                width=100,
                include_previous=False,
            )
        missing = [m.id for m in catalogue if m.id and not m.string]
        print(f"{lang}: {len(catalogue)} messages, {len(missing)} untranslated")


if __name__ == "__main__":
    main()
