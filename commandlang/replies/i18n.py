"""Built-in texts in the conversation's language: gettext catalogs read straight from their .po files.

The catalogs live in the package, `commandlang/locale/<tag>/LC_MESSAGES/commandlang.po`, one per
lower-case BCP 47 tag (`de`, `fr`, `pt-br`), beside the template `commandlang/locale/commandlang.pot`
that lists every built-in text (each `N_(...)` in the source; `scripts/update_catalogs.py` refreshes
it and merges new texts into every catalog). English is the source language: its texts are the
msgids, so it needs no catalog. Babel reads a .po in a few milliseconds, once per language per
process, so there is no build step and no compiled .mo to keep current.

A lookup follows the language's fallback chain (`de-ch` -> `de`) and ends in English; an untranslated
or fuzzy entry counts as missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from babel.messages.pofile import read_po

from ..registry.languages import fallback_chain
from ..texts import MessageText, Param, msg

__all__ = ["LOCALE_DIR", "DOMAIN", "SHIPPED_LANGUAGES", "Translator", "translator", "read_catalog", "has_catalog"]

LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
DOMAIN = "commandlang"
#: The languages whose built-in texts ship translated (English is the source).
SHIPPED_LANGUAGES = ("en", "de", "fr", "es", "nl")


def catalog_path(tag: str) -> Path:
    return LOCALE_DIR / tag / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=32)
def read_catalog(tag: str) -> Mapping[str, str] | None:
    """msgid -> translation of the catalog for exactly `tag`, or None when there is none."""
    path = catalog_path(tag)
    if not path.is_file():
        return None
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=None, domain=DOMAIN)
    table = {
        str(message.id): str(message.string)
        for message in catalog
        if message.id and isinstance(message.id, str) and message.string and not message.fuzzy
    }
    return MappingProxyType(table)


def has_catalog(language: str) -> bool:
    """Whether built-in texts exist for `language` (or a shorter tag it falls back to); English always."""
    return any(tag == "en" or read_catalog(tag) is not None for tag in fallback_chain(language))


@dataclass(frozen=True, slots=True)
class Translator:
    """The built-in texts of one language: `t(N_("Cancelled: /{command} was not run."), command=name)`."""

    language: str

    def gettext(self, text: str) -> str:
        for tag in fallback_chain(self.language):
            table = read_catalog(tag) if tag != "en" else None
            if table is not None and text in table:
                return table[text]
        return text

    def text(self, message: MessageText) -> str:
        """A `MessageText` (a diagnostic's) in this language."""
        return message.render(self.gettext)

    def __call__(self, template: str, **params: Param) -> str:
        return msg(template, **params).render(self.gettext)


ENGLISH = Translator("en")


@lru_cache(maxsize=64)
def translator(language: str | None) -> Translator:
    """The translator for a (resolved) conversation language; English when None."""
    return Translator(language) if language else ENGLISH
