"""Replies in the conversation's language: built-in texts, a registry's translations, per-language template
files with their fallbacks, and amounts, numbers, dates and durations formatted for the language."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import commandlang
from commandlang.diagnostics import CommandError
from commandlang.registry.languages import resolve_language
from commandlang.replies.context import ReplyContext
from commandlang.replies.errors import command_error_reply
from commandlang.replies.help import help_reply
from commandlang.replies.i18n import SHIPPED_LANGUAGES
from commandlang.replies.render import ReplyRenderer
from commandlang.replies.templates import TemplateEngine

REGISTRY = """
version: 1
settings: {languages: [en, de, de-ch, fr], currency: EUR}
commands:
  refund:
    summary: {en: Refund an order, de: Bestellung erstatten, fr: Rembourser une commande}
    args:
      order: {type: int, positional: true, required: true, help: {en: Order number, de: Bestellnummer}}
      amount: {type: decimal, required: true, min: 0.01}
    confirm: {en: "Refund {{ args.amount | money }}?", de: "{{ args.amount | money }} erstatten?"}
    ack: Working...
    reply: {success: refund_ok.yaml}
  ping:
    summary: Check the assistant
"""


@pytest.fixture()
def registry(tmp_path: Path) -> commandlang.Registry:
    (tmp_path / "commands.yaml").write_text(REGISTRY, encoding="utf-8")
    templates = tmp_path / "templates"
    (templates / "de").mkdir(parents=True)
    (templates / "refund_ok.yaml").write_text('text: "Refunded {{ args.amount | money }} ({{ language }})"\n')
    (templates / "de" / "refund_ok.yaml").write_text('text: "{{ args.amount | money }} erstattet ({{ language }})"\n')
    return commandlang.load_registry(tmp_path / "commands.yaml")


def _render(registry: commandlang.Registry, kind: str, language: str | None, **context: Any) -> str:
    renderer = ReplyRenderer(template_dir=registry.spec.template_dir, currency=registry.spec.settings.currency)
    args = {"order": 7, "amount": Decimal("1234.5")}
    ctx = ReplyContext(args=args, language=language, **context)
    return renderer.render(registry.spec.commands["refund"], kind, ctx, strict=True).text or ""  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("requested", "resolved"),
    [
        ("de-CH", "de-ch"),  # declared as written, ignoring case
        ("de_AT", "de"),  # de-at -> de
        ("de", "de"),
        ("fr-CA", "fr"),
        ("nl", "en"),  # not declared: the default
        ("", "en"),
        (None, "en"),
        ("!!", "en"),
    ],
)
def test_a_conversation_gets_the_first_declared_language_of_its_fallback_chain(
    registry: commandlang.Registry, requested: str | None, resolved: str
) -> None:
    assert resolve_language(requested, registry.spec.settings.languages) == resolved


def test_template_files_fall_back_from_de_ch_to_de_to_the_default(registry: commandlang.Registry) -> None:
    assert _render(registry, "success", "de") == "1.234,50\xa0€ erstattet (de)"
    assert _render(registry, "success", "de-ch") == "EUR\xa01’234.50 erstattet (de-ch)".replace("’", "'")
    assert _render(registry, "success", "fr") == "Refunded 1\u202f234,50\xa0€ (fr)"  # no fr file: the default's
    assert _render(registry, "success", "en") == "Refunded €1,234.50 (en)"


def test_confirm_and_its_labels_follow_the_language(registry: commandlang.Registry) -> None:
    renderer = ReplyRenderer(template_dir=registry.spec.template_dir, currency="EUR")
    spec = registry.spec.commands["refund"]
    for language, text, labels in (
        ("de", "1.234,50\xa0€ erstatten?", ("Bestätigen", "Abbrechen")),
        ("fr", "Refund 1\u202f234,50\xa0€?", ("Confirmer", "Annuler")),  # fr has no confirm text: the default's
        (None, "Refund €1,234.50?", ("Confirm", "Cancel")),
    ):
        reply = renderer.render(spec, "confirm", ReplyContext(args={"amount": Decimal("1234.5")}, language=language))
        assert reply.text == text
        assert tuple(q.label for q in reply.quick_replies[:2]) == labels
        assert reply.quick_replies[0].payload == "/confirm"  # payloads never change with the language


def test_registry_texts_help_in_the_language_and_fall_back_per_text(registry: commandlang.Registry) -> None:
    german = help_reply(registry.spec, "agent", language="de").text
    assert "/refund - Bestellung erstatten" in german and "/ping - Check the assistant" in german
    swiss = help_reply(registry.spec, "agent", "refund", language="de-ch").text
    assert "Bestellnummer" in swiss and swiss.startswith("/refund - Bestellung erstatten")  # de-ch -> de
    french = help_reply(registry.spec, "agent", "refund", language="fr").text
    assert french.startswith("/refund - Rembourser une commande") and "Order number" in french


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
def test_built_in_texts_in_each_shipped_language(language: str, snapshot: Any) -> None:
    sample = commandlang.load_registry(Path(__file__).resolve().parents[2] / "commands.yaml")
    replies: dict[str, Any] = {
        "help": help_reply(sample.spec, "customer", language=language).text,
        "help_unknown": help_reply(sample.spec, "customer", "refnd", language=language).text,
    }
    for text in ('/status 4 reason="x', "/status", "/refund 7 amount=1", "/status abc", "/stauts 4", "/address 1 x=1"):
        try:
            sample.parse(text, role="customer", language=language)
        except CommandError as exc:
            name = text.split()[0][1:]
            spec = sample.spec.resolve(name)
            replies[text] = command_error_reply(
                exc.diagnostic, text, spec, registry=sample.spec, language=language
            ).text
    renderer = ReplyRenderer()  # the built-in replies: no templates
    ping = sample.spec.commands["ping"]
    for kind in ("success", "error", "confirm", "ack"):
        reply = renderer.render(ping, kind, ReplyContext(error={"code": "timeout"}, language=language))  # type: ignore[arg-type]
        replies[kind] = [reply.text, [q.label for q in reply.quick_replies]]
    assert replies == snapshot


def test_english_replies_are_the_same_with_or_without_a_language() -> None:
    sample = commandlang.load_registry(Path(__file__).resolve().parents[2] / "commands.yaml")
    assert help_reply(sample.spec, "agent", "refund", language="en") == help_reply(sample.spec, "agent", "refund")


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "1,234.5 | €1,234.50 | Dec 1, 2026 | December 1, 2026 | 12/1/26, 2:30\u202fPM | 1 hour and 30 minutes"),
        ("de", "1.234,5 | 1.234,50\xa0€ | 01.12.2026 | 1. Dezember 2026 | 01.12.26, 14:30 | 1 Stunde und 30 Minuten"),
        (
            "fr",
            "1\u202f234,5 | 1\u202f234,50\xa0€ | 1 déc. 2026 | 1 décembre 2026 | 01/12/2026 14:30 | 1\xa0heure et 30 minutes",
        ),
        ("es", "1.234,5 | 1.234,50\xa0€ | 1 dic 2026 | 1 de diciembre de 2026 | 1/12/26, 14:30 | 1 hora y 30 minutos"),
        ("nl", "1.234,5 | €\xa01.234,50 | 1 dec 2026 | 1 december 2026 | 01-12-2026, 14:30 | 1 uur en 30 minuten"),
        (
            "de-ch",
            "1'234.5 | EUR\xa01'234.50 | 01.12.2026 | 1. Dezember 2026 | 01.12.26, 14:30 | 1 Stunde und 30 Minuten",
        ),
    ],
)
def test_amounts_numbers_dates_and_durations_are_formatted_for_the_language(language: str, expected: str) -> None:
    engine = TemplateEngine(currency="EUR")
    template = (
        "{{ amount | number }} | {{ amount | money }} | {{ eta | date }} | {{ eta | date('long') }} | "
        "{{ when | datetime('short') }} | {{ within | duration }}"
    )
    variables = {"amount": Decimal("1234.5"), "eta": "2026-12-01", "when": "2026-12-01T14:30", "within": 5400}
    assert engine.render(template, {**variables, "language": language}) == expected


def test_money_without_any_currency_is_a_template_error_not_a_guess() -> None:
    with pytest.raises(commandlang.TemplateError, match="money needs a currency"):
        TemplateEngine().render("{{ 5 | money }}", {"language": "en"})
    assert TemplateEngine().render("{{ 5 | money('JPY') }}", {"language": "en"}) == "¥5"
    assert TemplateEngine().render("{{ 19.5 | number(2) }}", {"language": "de"}) == "19,50"
