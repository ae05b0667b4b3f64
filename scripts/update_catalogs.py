"""Refresh the message catalogs after built-in texts changed: `python scripts/update_catalogs.py`.

Extracts every `N_("...")` of the package (Babel's extractor) into commandlang/locale/commandlang.pot,
then merges it into each language's .po (new texts come in untranslated, removed ones are dropped);
translate the new entries, and `tests/replies/test_catalogs.py` checks every catalog is complete.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from commandlang.replies.i18n import DOMAIN, LOCALE_DIR, SHIPPED_LANGUAGES, catalog_path  # noqa: E402

KEYWORDS = {"N_": None}


_HEADER = {
    "project": "commandlang",
    "version": "0.1",
    "copyright_holder": "the commandlang authors",
    "msgid_bugs_address": "the commandlang issue tracker",
    "last_translator": "the commandlang authors",
    "language_team": "the commandlang authors",
}


def _with_header(catalog: Catalog) -> Catalog:
    """One header for every catalog (Babel's placeholders replaced), not fuzzy: the catalogs are reviewed."""
    for name, value in _HEADER.items():
        setattr(catalog, name, value)
    catalog.fuzzy = False
    return catalog


def extract() -> Catalog:
    """The template catalog: every marked text of the package, with where it is used."""
    template = _with_header(Catalog(domain=DOMAIN, charset="utf-8"))
    found = extract_from_dir(
        ROOT / "commandlang", method_map=[("**.py", "python")], keywords=KEYWORDS, comment_tags=("i18n:",)
    )
    for filename, lineno, message, comments, _context in found:
        template.add(message, locations=[(f"commandlang/{filename}", lineno)], auto_comments=comments)
    return template


def main() -> int:
    template = extract()
    with (LOCALE_DIR / f"{DOMAIN}.pot").open("wb") as handle:
        write_po(handle, template, omit_header=False, sort_output=True, width=120)
    for language in SHIPPED_LANGUAGES:
        if language == "en":
            continue
        path = catalog_path(language)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=language.replace("-", "_"), domain=DOMAIN)
        else:
            catalog = Catalog(locale=language.replace("-", "_"), domain=DOMAIN, project="commandlang")
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        _with_header(catalog)
        with path.open("wb") as handle:
            write_po(handle, catalog, omit_header=False, sort_output=True, width=120, include_previous=False)
    print(f"{len(template)} texts; catalogs in {LOCALE_DIR}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
