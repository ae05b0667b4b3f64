"""`settings.languages`, `settings.currency` and texts given per language, as the loader reads them."""

from __future__ import annotations

from typing import Any

from commandlang.registry.loader import load_spec


def _load(text: str) -> tuple[Any, list[Any]]:
    return load_spec("commands.yaml", env={}, text=text)


def _codes(found: list[Any]) -> list[tuple[str, str]]:
    return [(d.code, d.severity) for d in found]


def test_languages_are_bcp47_tags_kept_lower_case_the_first_the_default() -> None:
    spec, found = _load("version: 1\nsettings: {languages: [EN, de_CH, fr]}\ncommands: {ping: {}}\n")
    assert found == [] and spec.settings.languages == ("en", "de-ch", "fr")
    assert spec.settings.default_language == "en"
    spec, _ = _load("version: 1\ncommands: {ping: {}}\n")
    assert spec.settings.languages == ("en",) and spec.settings.currency is None


def test_bad_languages_and_currencies_are_reported() -> None:
    _, found = _load("version: 1\nsettings: {languages: [en, english, en, 5], currency: euro}\ncommands: {ping: {}}\n")
    assert _codes(found) == [
        ("invalid_language", "error"),
        ("duplicate_name", "error"),
        ("invalid_language", "error"),
        ("wrong_type", "error"),
    ]
    _, found = _load("version: 1\nsettings: {languages: []}\ncommands: {ping: {}}\n")
    assert _codes(found) == [("wrong_type", "error")]


REGISTRY = """
version: 1
settings: {languages: [en, de]}
commands:
  refund:
    summary: {en: Refund an order, de: Bestellung erstatten}
    description: {en: Refunds it., de: Erstattet sie.}
    args:
      order: {type: int, help: {en: Order number, de: Bestellnummer}}
    confirm: {en: "Refund {{ args.order }}?", de: "{{ args.order }} erstatten?"}
    ack: {en: Working..., de: {text: "Wird bearbeitet...", quick_replies: [{label: Hilfe, payload: /help}]}}
    reply:
      success: {en: refund_ok.yaml, de: erstattet.yaml}
      error: {text: "Failed"}
"""


def test_texts_per_language_fill_the_default_and_the_translations() -> None:
    spec, found = _load(REGISTRY)
    assert found == []
    refund = spec.commands["refund"]
    assert (refund.summary, refund.description, refund.confirm, refund.ack) == (
        "Refund an order",
        "Refunds it.",
        "Refund {{ args.order }}?",
        "Working...",
    )
    assert refund.arg("order").help == "Order number"
    assert refund.reply.success == "refund_ok.yaml" and refund.reply.error == {"text": "Failed"}  # inline reply
    german = refund.in_language(("de",))
    assert (german.summary, german.description, german.confirm) == (
        "Bestellung erstatten",
        "Erstattet sie.",
        "{{ args.order }} erstatten?",
    )
    assert german.ack == {"text": "Wird bearbeitet...", "quick_replies": [{"label": "Hilfe", "payload": "/help"}]}
    assert german.arg("order").help == "Bestellnummer" and german.reply.success == "erstattet.yaml"
    assert german.reply.error == {"text": "Failed"}  # not translated: the default's
    assert refund.in_language(("fr",)) is refund


def test_a_translation_for_an_undeclared_language_or_without_the_default_is_reported() -> None:
    text = REGISTRY.replace(
        "summary: {en: Refund an order, de: Bestellung erstatten}", "summary: {de: Erstatten, fr: Rembourser}"
    )
    spec, found = _load(text)
    assert _codes(found) == [("unknown_language", "error"), ("missing_translation", "error")]
    assert spec.commands["refund"].summary == "Erstatten"  # still usable for lint's other checks
