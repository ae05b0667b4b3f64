"""The message catalogs: every built-in text is in the template, and every shipped catalog translates
each one, with the same placeholders, so no language ever shows English by accident or breaks a text."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from commandlang.replies.i18n import DOMAIN, LOCALE_DIR, SHIPPED_LANGUAGES, Translator, catalog_path, read_catalog
from commandlang.texts import msg

PACKAGE = Path(__file__).resolve().parents[2] / "commandlang"
TRANSLATED = [tag for tag in SHIPPED_LANGUAGES if tag != "en"]


def _in_source() -> set[str]:
    found = extract_from_dir(PACKAGE, method_map=[("**.py", "python")], keywords={"N_": None})
    return {str(message) for _file, _line, message, _comments, _context in found}


def _placeholders(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name is not None}


def _template_ids() -> set[str]:
    with (LOCALE_DIR / f"{DOMAIN}.pot").open("rb") as handle:
        return {str(m.id) for m in read_po(handle) if m.id}


def test_the_template_lists_exactly_the_texts_the_source_marks() -> None:
    # run `python scripts/update_catalogs.py` when this fails: it regenerates the .pot and merges the .po files
    assert _template_ids() == _in_source()


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_catalog_translates_every_text_with_the_same_placeholders(language: str) -> None:
    with catalog_path(language).open("rb") as handle:
        catalog = read_po(handle)
    entries = {str(m.id): m for m in catalog if m.id}
    assert set(entries) == _template_ids(), "run scripts/update_catalogs.py, then translate the new entries"
    for msgid, entry in entries.items():
        assert entry.string and not entry.fuzzy, f"{language}: {msgid!r} is not translated"
        assert _placeholders(str(entry.string)) == _placeholders(msgid), f"{language}: {msgid!r}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_each_built_in_text_renders_in_each_shipped_language(language: str) -> None:
    table = read_catalog(language)
    assert table is not None
    translate = Translator(language)
    for msgid in _template_ids():
        params = {name: f"<{name}>" for name in _placeholders(msgid)}
        shown = msg(msgid, **params).render(translate.gettext)
        assert shown == table[msgid].format(**params)
        assert all(value in shown for value in params.values())  # every value is shown
    # a language's texts are its own, not English ones copied
    same = [m for m in _template_ids() if table[m] == m and m.strip()]
    assert len(same) <= 3, same


def test_lookups_fall_back_along_the_tag_then_to_english() -> None:
    text = "Confirm"
    assert Translator("de-ch").gettext(text) == Translator("de").gettext(text) == "Bestätigen"
    assert Translator("pt-br").gettext(text) == text  # no Portuguese catalog: English
    assert Translator("en-gb").gettext(text) == text


def test_a_broken_translation_falls_back_to_the_english_text() -> None:
    broken = msg("Done: /{command}", command="ping")
    assert broken.render(lambda _: "Fertig: /{befehl}") == "Done: /ping"
