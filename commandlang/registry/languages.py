"""Languages of a registry: `settings.languages`, texts given per language, and which language a
conversation gets.

- A language is a BCP 47 tag as Genesys writes them (`en`, `de`, `de-ch`, `pt-br`): a primary
  language subtag of 2 or 3 letters, then subtags of 2 to 8 letters or digits. Tags compare
  ignoring case and `_`/`-` (`de_CH` is `de-ch`); the registry keeps them lower-case, as Genesys's
  bot list wants them.
- A text that may be translated (`summary`, `description`, an argument's `help`, `confirm`, `ack`,
  `reply.success`, `reply.error`) is either one value, in the default language, or a mapping whose
  keys are all declared languages (`{en: Refund an order, de: Bestellung erstatten}`). A reply
  mapping never has such keys (its keys are `text`, `quick_replies`, ...), so the two cannot be
  confused.
- A conversation's language (`resolve_language`) is the first declared language of its fallback
  chain: `de-ch` -> `de`, and the default (the first declared) when none is declared.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Callable, Mapping

from babel import Locale, UnknownLocaleError
from babel.numbers import get_decimal_symbol

from .model import Position
from .yamlsource import LMap

__all__ = [
    "locale_for",
    "writes_decimal_comma",
    "LANGUAGE_TAG",
    "normalise_tag",
    "fallback_chain",
    "resolve_language",
    "split_localized",
]

LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})*")

Report = Callable[..., None]


def normalise_tag(tag: str) -> str:
    """`de_CH` -> `de-ch`: the form tags are compared and stored in."""
    return tag.strip().replace("_", "-").lower()


def fallback_chain(tag: str) -> tuple[str, ...]:
    """`de-ch-x` -> (`de-ch-x`, `de-ch`, `de`): the tag and each shorter prefix."""
    parts = normalise_tag(tag).split("-")
    return tuple("-".join(parts[:end]) for end in range(len(parts), 0, -1))


def resolve_language(requested: str | None, languages: tuple[str, ...]) -> str:
    """The declared language a conversation in `requested` gets (the default when none fits)."""
    if requested and LANGUAGE_TAG.fullmatch(normalise_tag(requested)):
        for candidate in fallback_chain(requested):
            if candidate in languages:
                return candidate
    return languages[0] if languages else "en"


def is_localized(value: Any, languages: tuple[str, ...]) -> bool:
    """Whether `value` is a mapping of language -> text (every key a language tag)."""
    if not isinstance(value, Mapping) or not value or len(languages) < 1:
        return False
    return all(isinstance(key, str) and LANGUAGE_TAG.fullmatch(normalise_tag(key)) for key in value)


def split_localized(
    value: Any, languages: tuple[str, ...], where: str, pos: Position | None, report: Report
) -> tuple[Any, dict[str, Any]]:
    """`(the default language's value, {other language: value})`; a plain value is the default's."""
    if not is_localized(value, languages):
        return value, {}
    default = languages[0]
    by_language: dict[str, Any] = {}
    for key, text in value.items():
        tag = normalise_tag(key)
        key_pos = value.key_pos.get(key, pos) if isinstance(value, LMap) else pos
        if tag not in languages:
            report(
                "unknown_language",
                f"{where}: {key} is not one of settings.languages ({', '.join(languages)})",
                key_pos,
                hint="Add it to settings.languages, or remove this translation.",
            )
            continue
        by_language[tag] = text
    if default not in by_language:
        report(
            "missing_translation",
            f"{where} has no text in the default language ({default})",
            pos,
            hint=f"Add `{default}:` (the first of settings.languages is the default).",
        )
        first = next(iter(by_language.values()), None)
        return first, {k: v for k, v in by_language.items() if k != default}
    return by_language.pop(default), by_language


def parse_languages(node: Any, pos: Position | None, report: Report) -> tuple[str, ...]:
    """`settings.languages: [en, de]` -> ("en", "de"), each tag checked; ("en",) when absent or wrong."""
    if node is None:
        return ("en",)
    if not isinstance(node, list) or not node:
        report("wrong_type", "settings.languages must be a non-empty list of language tags like [en, de]", pos)
        return ("en",)
    tags: list[str] = []
    for item in node:
        tag = normalise_tag(str(item)) if isinstance(item, str) else ""
        if not LANGUAGE_TAG.fullmatch(tag):
            report(
                "invalid_language",
                f"settings.languages: {item!r} is not a language tag",
                pos,
                hint="Use BCP 47 tags like en, de, fr-ca, pt-br.",
            )
            continue
        if tag in tags:
            report("duplicate_name", f"settings.languages lists {tag} twice", pos)
            continue
        tags.append(tag)
    return tuple(tags) or ("en",)


@lru_cache(maxsize=64)
def locale_for(language: str | None) -> Locale:
    """Babel's locale for a language tag (`de-ch` -> de_CH), falling back to its primary language, then en."""
    tags = [language.replace("-", "_")] if language else []
    if language and "-" in language:
        tags.append(language.split("-")[0])
    for tag in tags:
        try:
            return Locale.parse(tag)
        except (UnknownLocaleError, ValueError):
            continue
    return Locale.parse("en")


@lru_cache(maxsize=64)
def writes_decimal_comma(language: str | None) -> bool:
    """Whether the language's primary language writes the decimal comma (`de`, `fr`, `es`, `nl`; `de-ch` too)."""
    if not language:
        return False
    return get_decimal_symbol(locale_for(language.split("-")[0])) == ","
