"""Property: any text parses, is not a command, or fails with a documented error at a column inside it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

import commandlang
from commandlang import CommandError
from tests.conftest import SAMPLE
from .strategies import chat_text

SYNTAX_CODES = {
    "unclosed_quote",
    "unclosed_list",
    "unexpected_character",
    "empty_key",
    "duplicate_option",
    "too_long",
    "too_many_items",
}
BIND_CODES = {
    "missing_argument",
    "unknown_option",
    "too_many_positionals",
    "not_a_flag",
    "invalid_value",
    "constraint",
    "unknown_command",
    "duplicate_option",
    "not_allowed",
}

REGISTRY = commandlang.load_registry(SAMPLE, env={})
TYPES = commandlang.load_registry(Path(__file__).parent.parent / "binding" / "data" / "types.yaml", env={})


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


_type_values = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "1",
            "-1",
            "1_000",
            "1e3",
            "nan",
            "19.99",
            "yes",
            "today",
            "2026-01-31",
            "2026-01-31T10:00+02:00",
            "90s",
            "1h30m",
            "a@b.co",
            "https://x.y",
            "123e4567e89b12d3a456426614174000",
            "email",
            "[]",
            "[1, 2]",
            "[a,",
            '"x',
        ]
    ),
)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "s",
                    "i",
                    "f",
                    "d",
                    "b",
                    "day",
                    "at",
                    "dur",
                    "mail",
                    "link",
                    "id",
                    "ch",
                    "ints",
                    "words",
                    "days",
                    "n",
                    "x",
                    "amount",
                    "when",
                    "wait",
                    "tags",
                    "code",
                    "ref",
                    "size",
                    "pin",
                    "card",
                    "secret",
                    "--b",
                    "--no-b",
                ]
            ),
            _type_values,
        ),
        max_size=4,
    ),
    st.sampled_from(["/t", "/c", "/rest a"]),
)
def test_bind_every_type_never_raises_anything_else(pairs, head) -> None:
    text = head + "".join(f" {key}" if key.startswith("--") else f" {key}={value}" for key, value in pairs)
    try:
        call = TYPES.parse(text, today=date(2026, 1, 31))
    except CommandError as exc:
        _check_error(text, exc, SYNTAX_CODES | BIND_CODES)
        return
    assert call is not None
    call.to_json()
    masked = call.masked_args()
    for name in ("pin", "card", "secret"):
        value = call.args.get(name)
        if value is not None and len(str(value)) >= 4:
            assert str(value) not in str(masked)


def _kind(text: str) -> str:
    try:
        return "chat" if commandlang.parse_raw(text) is None else "command"
    except CommandError:
        return "command"


@given(chat_text)
@example("/etc/hosts is broken")
@example("// note")
def test_a_long_message_is_a_command_exactly_when_its_start_is(text: str) -> None:
    padded = text + " " + "x" * 4100
    if _kind(text) == "chat":
        assert commandlang.parse_raw(padded) is None
    else:
        try:
            commandlang.parse_raw(padded)
        except CommandError as exc:
            assert exc.diagnostic.code == "too_long"
        else:
            raise AssertionError("a command over max_length parsed")
