"""Friendly replies for every parse and bind error code: what, where (the word quoted), usage, /help NAME."""

from __future__ import annotations

from typing import Any

import pytest

import commandlang
from commandlang.binding.bind import Binder
from commandlang.diagnostics import CommandError, Diagnostic
from commandlang.replies.errors import LEADS, command_error_reply, quoted_context
from commandlang.syntax import parse_invocation

from .helpers import pay_command, small_registry

#: code -> (chat line, role) that produces it against the sample registry
CASES = {
    "unclosed_quote": ('/refund 12 amount=5 reason="damaged', "agent"),
    "unclosed_list": ("/ticket close 1 tags=[billing, repeat", "agent"),
    "unexpected_character": ("/refund 12 amount=5 ]", "agent"),
    "empty_key": ("/refund 12 =5", "agent"),
    "duplicate_option": ("/refund 12 amount=1 amount=2", "agent"),
    "too_long": ("/refund 12 amount=5 reason=" + "x" * 4000, "agent"),
    "too_many_items": ("/refund " + " ".join(["1"] * 101), "agent"),
    "missing_argument": ("/refund 12", "agent"),
    "unknown_option": ("/refund 12 amount=1 colour=red", "agent"),
    "too_many_positionals": ("/status 1 2", "customer"),
    "not_a_flag": ("/refund 12 --amount", "agent"),
    "invalid_value": ("/refund 12 amount=abc", "agent"),
    "constraint": ("/refund 12 amount=0", "agent"),
    "unknown_command": ("/refnd 12", "agent"),
    "not_allowed": ("/refund 12 amount=1", "customer"),
}


def error_for(registry: commandlang.Registry, text: str, role: str) -> Diagnostic:
    with pytest.raises(CommandError) as caught:
        registry.parse(text, role=role)
    return caught.value.diagnostic


def test_every_code_has_a_case_and_a_lead() -> None:
    assert set(CASES) == set(LEADS)


@pytest.mark.parametrize("code", sorted(CASES))
def test_friendly_reply_for_each_error_code(registry: commandlang.Registry, code: str, snapshot: Any) -> None:
    text, role = CASES[code]
    diagnostic = error_for(registry, text, role)
    assert diagnostic.code == code
    name = text.split()[0][1:]
    spec = registry.spec.resolve(name) or registry.spec.resolve(f"{name}.{text.split()[1]}")
    reply = command_error_reply(diagnostic, text, spec, registry=registry.spec)
    lines = reply.text.splitlines()
    assert lines[0] == LEADS[code]
    assert diagnostic.message in reply.text
    assert "^" not in reply.text  # chat fonts are proportional: the word is quoted instead
    quoted = [line for line in lines if line.startswith("Here: ")]
    assert all(len(line) <= 72 for line in quoted)  # a window, even for a 4000-character message
    if code == "unknown_command":  # the did-you-mean runs the corrected command
        assert "Usage:" not in reply.text
        assert [(q.label, q.payload) for q in reply.quick_replies] == [
            ("/refund 12", "/refund 12"),
            ("/help: list the commands", "/help"),
        ]
    elif code == "not_allowed":
        assert "Usage:" not in reply.text and reply.quick_replies[0].payload == "/help"
    else:
        assert f"Usage: {spec.usage()}" in reply.text
        assert lines[-1] == f"Type /help {spec.name} for details."
        assert reply.quick_replies[0].payload == f"/help {spec.name}"
    assert "Traceback" not in reply.text and "http" not in reply.text
    assert reply.text == snapshot


def test_the_word_under_the_column_is_quoted() -> None:
    assert quoted_context("/refund 12 amount=abc", 19) == "Here: “amount=abc”"
    assert quoted_context('/x a="one\ntwo', 12) == "Here: “two”"  # the word the column falls on
    long = "/refund " + "y" * 100 + "amount=abc"
    shown = quoted_context(long, len(long) - 2)
    assert shown.startswith("Here: “…") and shown.endswith("amount=abc”")
    assert quoted_context("/x", None) is None
    assert quoted_context("/refund 12", 11) is None  # past the end: the message says what is missing


def test_labels_say_what_they_send(registry: commandlang.Registry) -> None:
    for text, role in CASES.values():
        try:
            registry.parse(text, role=role)
        except CommandError as caught:
            name = text.split()[0][1:]
            reply = command_error_reply(caught.diagnostic, text, registry.spec.resolve(name), registry=registry.spec)
            assert all(q.label.split(":")[0] == q.payload for q in reply.quick_replies), reply.quick_replies


def test_sensitive_values_are_starred_in_the_quoted_word() -> None:
    spec = pay_command()
    binder = Binder(small_registry(spec))
    text = "/pay 7 card=4111111111111111 note=ok bogus=1"
    with pytest.raises(CommandError) as caught:
        binder.bind(parse_invocation(text))
    reply = command_error_reply(caught.value.diagnostic, text, spec)
    assert "4111111111111111" not in reply.text
    assert "Here: “bogus=1”" in reply.text


def test_sensitive_values_are_starred_even_when_the_line_does_not_parse() -> None:
    spec = pay_command()
    text = '/pay 7 card=4111111111111111 note="open'
    reply = command_error_reply(
        Diagnostic("unclosed_quote", 'The quote " at column 35 is never closed.', column=35), text, spec
    )
    assert "4111111111111111" not in reply.text and 'Here: “note="open”' in reply.text


def test_a_secret_positional_in_a_broken_line_hides_the_quoted_text() -> None:
    from commandlang.registry.model import ArgSpec, TypeSpec

    spec = pay_command(args=(ArgSpec("card", TypeSpec("str"), positional=True, sensitive=True),))
    reply = command_error_reply(
        Diagnostic("unclosed_quote", "The quote is never closed.", column=20), '/pay 4111111111111111 "x', spec
    )
    assert "4111" not in reply.text and "Here:" not in reply.text
