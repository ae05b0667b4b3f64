"""Bidirectional controls never reach an argument, however they are written; columns still count what was sent."""

from __future__ import annotations

import pytest
from hypothesis import given

import commandlang
from commandlang import CommandError, parse_raw
from tests.conftest import SAMPLE
from .strategies import BIDI, chat_text

REGISTRY = commandlang.load_registry(SAMPLE, env={})


def test_a_right_to_left_override_in_a_reason_is_removed() -> None:
    call = REGISTRY.parse('/refund 1 amount=5 reason="a\u202eb"', role="agent")
    assert call is not None and call.args["reason"] == "ab"
    assert call.to_json()["args"]["reason"] == "ab"  # what the store, the sync panel and replies see


@pytest.mark.parametrize("control", BIDI)
def test_every_bidi_control_vanishes_wherever_it_is_typed(control: str) -> None:
    text = f"{control}/re{control}fund{control} 1{control}2 k{control}=v{control} \"a{control} b\" 'c{control}' [d{control}, e]"
    assert parse_raw(text) == {
        "command": "refund",
        "positionals": ["12", "a b", "c", ["d", "e"]],
        "options": {"k": "v"},
        "flags": {},
    }


@pytest.mark.parametrize("escape", ["\\u202e", "\\u202E", "\\u2066", "\\u200f", "\\u061c"])
def test_a_bidi_control_written_as_an_escape_is_dropped_too(escape: str) -> None:
    assert parse_raw(f'/x reason="a{escape}b"')["options"] == {"reason": "ab"}
    assert parse_raw(f"/x reason='a{escape}b'")["options"] == {"reason": f"a{escape}b"}  # no escapes in '...'


def test_a_percent_encoded_bidi_control_is_dropped_when_percent_decoding_is_on() -> None:
    assert parse_raw("/x reason=a%E2%80%AEb%20c", percent_decode=True)["options"] == {"reason": "ab c"}
    assert parse_raw("/x reason=a%E2%80%AEb")["options"] == {"reason": "a%E2%80%AEb"}  # off: nothing is decoded


@pytest.mark.parametrize(
    ("text", "code", "column"),
    [
        ('/x\u202e\u2066 "a', "unclosed_quote", 6),  # the quote is the 6th character the user sent
        ("\u200f/refund\u202e 1 =5", "empty_key", 13),
        ("/x a\u202eb\u202c [c", "unclosed_list", 9),
        ("/x\u061c a\u2067]", "unexpected_character", 7),
    ],
)
def test_error_columns_after_a_removed_control_point_at_the_character_sent(text: str, code: str, column: int) -> None:
    with pytest.raises(CommandError) as caught:
        parse_raw(text)
    diagnostic = caught.value.diagnostic
    assert (diagnostic.code, diagnostic.column) == (code, column)
    assert text[column - 1] in '"=[]'  # the column names the character the message is about
    assert f"column {column}" in diagnostic.message


@given(chat_text)
def test_no_parsed_value_ever_holds_a_bidi_control(text: str) -> None:
    for percent_decode in (False, True):
        try:
            result = parse_raw(text, percent_decode=percent_decode)
        except CommandError:
            continue
        if result is not None:
            values = [*result["positionals"], *result["options"].values()]
            flat = [v for value in values for v in (value if isinstance(value, list) else [value])]
            assert not any(control in value for value in flat for control in BIDI), (text, result)
