"""ReplyRenderer: where replies come from, the context, masking, defaults and fallbacks."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from commandlang.diagnostics import TemplateError
from commandlang.registry.model import ReplySpec
from commandlang.replies.context import ReplyContext
from commandlang.replies.model import ReplyShapeError
from commandlang.replies.render import ReplyRenderer, parse_confirmation

from .helpers import pay_command

ARGS = {"invoice": 7, "card": "4111111111111111", "note": None}


def write(directory: Path, name: str, text: str) -> None:
    (directory / name).write_text(text, encoding="utf-8")


def test_sensitive_args_are_masked_unless_raw_args_is_asked_for() -> None:
    spec = pay_command(reply=ReplySpec(success={"text": "{{ args.card }}|{{ raw_args.card }}"}))
    reply = ReplyRenderer().render(spec, "success", ReplyContext(args=ARGS), strict=True)
    assert reply.text == "****1111|4111111111111111"


def test_error_replies_have_no_raw_args_and_scrub_echoed_secrets() -> None:
    spec = pay_command(reply=ReplySpec(error={"text": "{{ raw_args.card }}"}))
    with pytest.raises(TemplateError):
        ReplyRenderer().render(spec, "error", ReplyContext(args=ARGS), strict=True)
    echo = pay_command(reply=ReplySpec(error={"text": "{{ error.message }} / {{ result.detail }}"}))
    context = ReplyContext(
        args=ARGS,
        error={"code": "http_402", "message": "card 4111111111111111 declined"},
        result={"detail": "card=4111111111111111"},
    )
    reply = ReplyRenderer().render(echo, "error", context, strict=True)
    assert "4111111111111111" not in reply.text
    assert reply.text == "card ****1111 declined / card=****1111"


def test_the_context_holds_the_documented_variables() -> None:
    spec = pay_command(
        reply=ReplySpec(
            success={
                "text": "{{ command }} {{ command.usage }} {{ status }} {{ user.id }} {{ user.role }} {{ conversation_id }} {{ args.invoice + 1 }}"
            }
        )
    )
    context = ReplyContext(args=ARGS, status=201, user={"id": "p-1", "role": "agent"}, conversation_id="c-9")
    reply = ReplyRenderer().render(spec, "success", context, strict=True)
    assert reply.text == "pay /pay <invoice> card=<str> [note=<str>] 201 p-1 agent c-9 8"


def test_a_context_may_be_given_as_a_mapping() -> None:
    spec = pay_command(reply=ReplySpec(success={"text": "{{ result.id }}"}))
    assert ReplyRenderer().render(spec, "success", {"args": ARGS, "result": {"id": "R-1"}, "ignored": 1}).text == "R-1"


def test_default_success_uses_the_backend_message_or_says_done() -> None:
    spec = pay_command()
    renderer = ReplyRenderer()
    assert (
        renderer.render(spec, "success", ReplyContext(result={"status": "success", "message": "Paid."})).text == "Paid."
    )
    assert renderer.render(spec, "success", ReplyContext(result=[1, 2])).text == "Done: /pay"


def test_default_error_shows_a_clean_message_and_help() -> None:
    context = ReplyContext(
        args=ARGS,
        error={
            "code": "http_500",
            "message": ('Traceback (most recent call last):\n  File "/srv/app.py", line 3\nboom'),
        },
    )
    reply = ReplyRenderer().render(pay_command(), "error", context)
    assert reply.text == "Sorry, /pay failed."
    assert [q.payload for q in reply.quick_replies] == ["/help pay"]
    context = ReplyContext(
        args=ARGS,
        error={"code": "http_502", "message": "upstream https://10.1.2.3:8443/pay said no for 4111111111111111"},
    )
    assert (
        ReplyRenderer().render(pay_command(), "error", context).text
        == "Sorry, /pay failed: upstream [link removed] said no for ****1111"
    )


def test_confirm_is_the_question_plus_confirm_and_cancel() -> None:
    spec = pay_command(confirm="Pay invoice {{ args.invoice }} with {{ args.card }}?")
    reply = ReplyRenderer().render(spec, "confirm", ReplyContext(args=ARGS, confirm_token="t-42"), strict=True)
    assert reply.text == "Pay invoice 7 with ****1111?"
    assert [(q.label, q.payload) for q in reply.quick_replies] == [
        ("Confirm", "/confirm t-42"),
        ("Cancel", "/cancel t-42"),
    ]
    assert parse_confirmation(reply.quick_replies[0].payload) == ("confirm", "t-42")
    assert parse_confirmation("/CANCEL t-42") == ("cancel", "t-42")
    assert parse_confirmation("/confirmed") is None


def test_confirm_may_be_a_full_reply_and_has_a_default() -> None:
    rich = pay_command(confirm={"text": "Sure?", "cards": [{"title": "Invoice {{ args.invoice }}"}]})
    reply = ReplyRenderer().render(rich, "confirm", ReplyContext(args=ARGS, confirm_token="t"), strict=True)
    assert reply.cards[0].title == "Invoice 7" and reply.quick_replies[0].payload == "/confirm t"
    default = ReplyRenderer().render(
        pay_command(), "confirm", ReplyContext(args={**ARGS, "note": "x"}, confirm_token="t")
    )
    assert default.text == "Run /pay invoice=7 card=****1111 note=x?"


def test_ack_from_text_or_default() -> None:
    assert (
        ReplyRenderer().render(pay_command(ack="Paying {{ args.invoice }}..."), "ack", ReplyContext(args=ARGS)).text
        == "Paying 7..."
    )
    assert ReplyRenderer().render(pay_command(), "ack", None).text == "Working on /pay…"


def test_a_native_value_becomes_its_text() -> None:
    spec = pay_command(ack="{{ args.amount }}")
    assert (
        ReplyRenderer().render(spec, "ack", ReplyContext(args={"amount": Decimal("19.90")}), strict=True).text
        == "19.90"
    )


def test_a_broken_template_falls_back_to_the_default(caplog: pytest.LogCaptureFixture) -> None:
    spec = pay_command(reply=ReplySpec(success={"text": "{{ reslt.id }}"}))
    with caplog.at_level("WARNING", logger="commandlang.replies"):
        reply = ReplyRenderer().render(spec, "success", ReplyContext(args=ARGS, result={"message": "ok"}))
    assert reply.text == "ok"
    assert "reslt" in caplog.text


def test_files_layouts_and_macros(tmp_path: Path) -> None:
    write(tmp_path, "_macros.j2", "{% macro money(x) %}{{ '%.2f'|format(x|float) }} EUR{% endmacro %}")
    write(
        tmp_path,
        "_layout.yaml",
        "format: markdown\nquick_replies:\n  - {label: Help, payload: '/help {{ command }}'}\n",
    )
    write(
        tmp_path,
        "paid.yaml",
        "$layout: _layout.yaml\ntext: 'Paid {{ macros.money(result.total) }}'\n"
        "quick_replies:\n  - {label: Receipt, payload: '/receipt {{ args.invoice }}'}\n",
    )
    write(tmp_path, "imports.yaml", "text: \"{% import '_macros.j2' as m %}Due {{ m.money(3) }}\"\n")
    renderer = ReplyRenderer(template_dir=tmp_path)
    reply = renderer.render(
        pay_command(reply=ReplySpec(success="paid.yaml")),
        "success",
        ReplyContext(args=ARGS, result={"total": 5}),
        strict=True,
    )
    assert reply.text == "Paid 5.00 EUR" and reply.format == "markdown"
    assert [q.payload for q in reply.quick_replies] == ["/receipt 7", "/help pay"]
    other = renderer.render(
        pay_command(reply=ReplySpec(success="imports.yaml")), "success", ReplyContext(args=ARGS), strict=True
    )
    assert other.text == "Due 3.00 EUR"


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    write(tmp_path, "r.yaml", "text: one\n")
    renderer = ReplyRenderer(template_dir=tmp_path)
    spec = pay_command(reply=ReplySpec(success="r.yaml"))
    assert renderer.render(spec, "success", None, strict=True).text == "one"
    write(tmp_path, "r.yaml", "text: two\n")
    stat = os.stat(tmp_path / "r.yaml")
    os.utime(tmp_path / "r.yaml", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert renderer.render(spec, "success", None, strict=True).text == "two"


@pytest.mark.parametrize("name", ["../secret.yaml", "missing.yaml"])
def test_reply_files_outside_templates_or_missing_are_errors(tmp_path: Path, name: str) -> None:
    (tmp_path / "templates").mkdir()
    write(tmp_path, "secret.yaml", "text: leaked\n")
    renderer = ReplyRenderer(template_dir=tmp_path / "templates")
    with pytest.raises(TemplateError):
        renderer.render(pay_command(reply=ReplySpec(success=name)), "success", None, strict=True)
    assert renderer.render(pay_command(reply=ReplySpec(success=name)), "success", None).text == "Done: /pay"


def test_a_reply_dropped_entirely_by_when_is_an_error_not_an_empty_message() -> None:
    spec = pay_command(reply=ReplySpec(success={"$when": "{{ false }}", "text": "x"}))
    with pytest.raises(ReplyShapeError, match="dropped"):
        ReplyRenderer().render(spec, "success", None, strict=True)


def test_an_inline_reply_may_use_a_layout_too(tmp_path: Path) -> None:
    write(tmp_path, "_layout.yaml", "quick_replies:\n  - {label: Help, payload: '/help {{ command }}'}\n")
    spec = pay_command(reply=ReplySpec(success={"$layout": "_layout.yaml", "text": "ok"}))
    reply = ReplyRenderer(template_dir=tmp_path).render(spec, "success", None, strict=True)
    assert reply.text == "ok" and [q.payload for q in reply.quick_replies] == ["/help pay"]
