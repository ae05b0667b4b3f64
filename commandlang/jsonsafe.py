"""Parse JSON from the outside world without letting it crash the caller (pure: no I/O, no Trio).

`json.loads` is not safe on untrusted input in two ways that surface as 500s
instead of 400s: it recurses once per nesting level (a 100,000-deep `[[[...`
raises `RecursionError`, a `RuntimeError`), and it turns `"\\ud800"` escapes
into lone surrogates, which are valid Python strings but cannot be encoded
as UTF-8, so the request fails later, wherever the text is first written out
(a reply, a log line, a WebSocket close reason, the store). `loads_bounded`
refuses both up front, with a message that says what was wrong, so every
entry point can answer 400 (or close 4400) with it.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate, repeat
from typing import Any, NoReturn

from .errors import CommandlangError

__all__ = ["UnsafeJson", "loads_bounded", "DEFAULT_MAX_DEPTH"]

DEFAULT_MAX_DEPTH = 64

# A JSON string (the unrolled `"(\\.|[^"\\])*"`: linear, no backtracking) or one bracket outside strings.
_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_NESTING = {"[": 1, "{": 1, "]": -1, "}": -1}
# Every backslash escape, so `\\ud800` (an escaped backslash, then text) is never read as `\ud800`; a high
# surrogate escape directly followed by a low one is a pair (json.loads joins them into one character).
_ESCAPE = re.compile(
    r"\\(?:u(?P<unit>[dD][89a-fA-F][0-9a-fA-F]{2})(?P<low>\\u[dD][c-fC-F][0-9a-fA-F]{2})?|.)", re.DOTALL
)
_SURROGATE = re.compile("[\ud800-\udfff]")


class UnsafeJson(CommandlangError, ValueError):
    """Input `loads_bounded` refuses; the message says why and is safe to show to the sender."""


def loads_bounded(data: bytes | bytearray | str, *, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """`json.loads(data)`, refusing (with `UnsafeJson`) what would crash or poison the caller:

    - bytes that are not UTF-8 ("text is not valid UTF-8 (byte N)"; a leading BOM is allowed);
    - arrays and objects nested deeper than `max_depth` levels (`[]` is one level), checked by a
      scan of the text before `json.loads` sees it ("nested deeper than 64 levels");
    - a lone surrogate anywhere, written raw (only possible in a `str`) or as a `\\uXXXX` escape
      ("lone surrogate \\ud800 at character N", N counted from 1 in the decoded text);
    - `NaN`, `Infinity` and `-Infinity`, which are not JSON, and anything else that is not JSON.

    Costs a regex pass or two over the text besides `json.loads` (a shallow document with fewer
    brackets than `max_depth` skips the depth scan); a 100,000-deep one is refused at its
    `max_depth` + 1st bracket, long before anything recurses.
    """
    if isinstance(data, (bytes, bytearray)):
        try:
            text = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise UnsafeJson(f"text is not valid UTF-8 (byte {exc.start + 1})") from None
    elif isinstance(data, str):
        text = data
    else:
        raise TypeError(f"loads_bounded takes bytes or str, not {type(data).__name__}")
    raw = _SURROGATE.search(text)
    if raw is not None:
        _lone_surrogate(ord(raw.group()), raw.start())
    _check_depth(text, max_depth)
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except UnsafeJson:
        raise
    except RecursionError:  # only when the caller allows more depth than the interpreter's stack has room for
        raise UnsafeJson(f"nested too deeply for this parser (limit asked: {max_depth})") from None
    except json.JSONDecodeError as exc:
        raise UnsafeJson(f"not JSON: {exc.msg} at character {exc.pos + 1}") from None
    except ValueError as exc:  # e.g. an integer longer than int()'s 4300-digit limit
        raise UnsafeJson(f"not usable JSON: {exc}") from None
    if "\\" in text:
        _check_escapes(text)
    return value


def _check_depth(text: str, max_depth: int) -> None:
    if text.count("[") + text.count("{") <= max_depth:
        return  # cannot nest deeper than it has brackets: the common case costs two counts
    # The running depth at each bracket, lazily and all in C (finditer, map, accumulate, filter, next): a
    # 100,000-deep document stops at its 65th bracket, and a wide one costs no Python code per token.
    tokens = map(re.Match.group, _STRING_OR_BRACKET.finditer(text))
    depths = accumulate(map(_NESTING.get, tokens, repeat(0)))  # a string counts 0
    if next(filter(max_depth.__lt__, depths), None) is not None:
        raise UnsafeJson(f"nested deeper than {max_depth} levels")


def _check_escapes(text: str) -> None:
    for match in _ESCAPE.finditer(text):
        unit = match.group("unit")
        if unit is not None and (match.group("low") is None or int(unit, 16) >= 0xDC00):
            _lone_surrogate(int(unit, 16), match.start())


def _lone_surrogate(code: int, offset: int) -> NoReturn:
    raise UnsafeJson(f"lone surrogate \\u{code:04x} at character {offset + 1}")


def _refuse_constant(name: str) -> NoReturn:
    raise UnsafeJson(f"{name} is not JSON")
