"""Decode a value token: quotes removed, escapes applied, optional percent decoding.

A bidirectional control written as `\\u202e` or `%E2%80%AE` is dropped, as
normalisation drops one typed as itself: however it is spelled, it never
reaches an argument.
"""

from __future__ import annotations

import re

from .normalise import BIDI_CONTROLS

__all__ = ["decode_parts", "decode_word"]

_PARTS = re.compile(r'"([^"\\]*(?:\\[\s\S][^"\\]*)*)"|\'([^\']*)\'|([^"\']+)')
_ESCAPE = re.compile(r'\\(?:u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|(["\\nt]))')
_SIMPLE_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}
_PERCENT_RUN = re.compile(r"(?:%[0-9A-Fa-f]{2})+")


def _unescape_match(match: re.Match[str]) -> str:
    high, low, single, simple = match.groups()
    if high is not None:
        return chr(0x10000 + ((int(high, 16) - 0xD800) << 10) + (int(low, 16) - 0xDC00))
    if single is not None:
        code = int(single, 16)
        # A lone surrogate cannot be encoded; keep what the user wrote.
        if 0xD800 <= code <= 0xDFFF:
            return match.group(0)
        char = chr(code)
        return "" if char in BIDI_CONTROLS else char
    return _SIMPLE_ESCAPES[simple]


def _percent_decode(text: str) -> str:
    def decode_run(match: re.Match[str]) -> str:
        raw = bytes.fromhex(match.group(0).replace("%", ""))
        decoded = raw.decode("utf-8", errors="surrogateescape")
        # Bytes that are not well-formed UTF-8 come back as they were written.
        return "".join(
            f"%{ord(c) - 0xDC00:02X}" if 0xDC80 <= ord(c) <= 0xDCFF else c for c in decoded if c not in BIDI_CONTROLS
        )

    return _PERCENT_RUN.sub(decode_run, text)


def decode_word(token: str, percent_decode: bool) -> tuple[str, bool]:
    """Decode a WORD token: quotes removed, escapes applied; returns (text, quoted)."""
    if '"' not in token and "'" not in token:
        return (_percent_decode(token) if percent_decode and "%" in token else token), False
    first = token[0]
    if (first == '"' or first == "'") and token[-1] == first and token.count(first) == 2:
        if first == "'" or "\\" not in token:
            return token[1:-1], True  # one quoted part and nothing to unescape: the common case
    return decode_parts(token, percent_decode)


def decode_parts(token: str, percent_decode: bool) -> tuple[str, bool]:
    """`decode_word` for a token holding a quote, part by part (its shortcut is tested against this)."""
    out = []
    for double, single, bare in _PARTS.findall(token):
        if bare:
            out.append(_percent_decode(bare) if percent_decode and "%" in bare else bare)
        elif single:
            out.append(single)
        elif double:
            out.append(_ESCAPE.sub(_unescape_match, double) if "\\" in double else double)
    return "".join(out), True
