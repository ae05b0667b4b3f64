"""Differential: the fast scanner either declines or agrees exactly with the Lark parser."""

from __future__ import annotations

import pytest
from hypothesis import example, given

from commandlang import CommandError
from commandlang.syntax.normalise import normalise
from commandlang.syntax.parser import default_parser
from .strategies import chat_text


def _both(text: str):
    parser = default_parser()
    norm = normalise(text)
    body = norm.text
    name = parser.name_re.match(body) if body.startswith("/") else None
    if name is None:
        return None, None
    fast = parser.fast.scan(body, name.end())
    try:
        slow = parser._lark_items(norm)
    except CommandError as exc:
        slow = exc.diagnostic.code
    return fast, slow


@given(chat_text)
@example("/x a=1 --f b")
@example('/x "a b"c q=a=b')
@example("/x a = b")
def test_fast_path_declines_or_agrees_with_lark(text: str) -> None:
    fast, slow = _both(text)
    if fast is not None:
        assert fast == slow, text


@pytest.mark.parametrize(
    "text",
    ['/refund 12345 amount=19.99 reason="damaged item"', "/x --flag --no-other k=v pos", "/x amount = 5", "/x q=a=b"],
)
def test_fast_path_takes_plain_commands(text: str) -> None:
    fast, slow = _both(text)
    assert fast is not None and fast == slow
