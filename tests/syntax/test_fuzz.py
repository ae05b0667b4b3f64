"""Property: any text parses, is not a command, or fails with a documented error at a column inside it."""

from __future__ import annotations

from datetime import date

from hypothesis import example, given

import commandlang
from commandlang import CommandError
from tests.conftest import SAMPLE
from .strategies import chat_text

SYNTAX_CODES = {"unclosed_quote", "unclosed_list", "unexpected_character", "empty_key", "duplicate_option",
                "too_long", "too_many_items"}
BIND_CODES = {"missing_argument", "unknown_option", "too_many_positionals", "not_a_flag", "invalid_value",
              "constraint", "unknown_command", "duplicate_option", "not_allowed"}

REGISTRY = commandlang.load_registry(SAMPLE, env={})


def _check_error(text: str, exc: CommandError, codes: set[str]) -> None:
    diagnostic = exc.diagnostic
    assert diagnostic.code in codes, (text, diagnostic)
    assert diagnostic.column is not None and 1 <= diagnostic.column <= len(text) + 1, (text, diagnostic)
    assert diagnostic.message, (text, diagnostic)


@given(chat_text)
@example('/x "a b')
@example("/x [a, b")
@example("/x =5")
def test_raw_parse_never_raises_anything_else(text: str) -> None:
    for percent_decode in (False, True):
        try:
            result = commandlang.parse_raw(text, percent_decode=percent_decode)
        except CommandError as exc:
            _check_error(text, exc, SYNTAX_CODES)
            continue
        if result is not None:
            assert set(result) == {"command", "positionals", "options", "flags"}
            assert result["command"] == result["command"].lower()
            for value in [*result["positionals"], *result["options"].values()]:
                assert isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))


@given(chat_text)
@example("/refund 1 amount=abc")
@example("/ticket close")
@example("/callback 123456 card=1")
def test_bind_never_raises_anything_else(text: str) -> None:
    for role in (None, "customer"):
        try:
            call = REGISTRY.parse(text, role=role, today=date(2026, 1, 31))
        except CommandError as exc:
            _check_error(text, exc, SYNTAX_CODES | BIND_CODES)
            continue
        if call is not None:
            assert call.command in REGISTRY.spec.commands
            data = call.to_json()
            assert set(data["args"]) == {arg.name for arg in REGISTRY.spec.commands[call.command].args}
