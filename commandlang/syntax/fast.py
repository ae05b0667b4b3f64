"""The fast path: Lark's reading of a command, replayed with the grammar's own terminals.

The grammar (grammar/commandlang.lark) is a handful of terminals and five
small rules. For chat commands the LALR machinery costs several times the
work itself, so this module reads the items after `/name` with the
grammar's terminal regexes, tried in the order Lark's contextual lexer tries
them in each parser state:

- between items: KEY_EQUALS, FLAG, WORD, then `[` (a list) and `=` (an
  empty key); whitespace is skipped, never required (`_build` in parser.py
  reports items that touch, as it does for Lark's tree);
- after KEY_EQUALS or `=`: WORD or `[`;
- in a list: LIST_WORD or `]` after `[` and after `,`; `,` or `]` after a word.

`scan` returns the raw items Lark's tree gives, or the offset where Lark's
parse stops (the lexer finds no terminal the state accepts, or the text ends
where a value or a `]` must come); parser.py classifies that offset into the
spec's error for both paths alike. `items` is the hot path: for text whose
offsets need no map, it fuses the walk with building the tree, one regex per
item, and declines (None) on anything unusual, which `scan` then reads.

Both are proven equal to Lark by the differential fuzz tests in
tests/syntax/test_fast_path.py, a strategy per class of input.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .decode import decode_word
from .tree import Flag, Item, ListValue, Option, Positional, Value

if TYPE_CHECKING:
    from .parser import RawItem, RawList, RawToken

__all__ = ["FastScanner"]

# The tree's nodes are NamedTuples; `tuple.__new__` builds one without the Python-level `__new__`
# a NamedTuple adds, at half the cost, on the path every command takes.
_new = tuple.__new__


class FastScanner:
    """Reads the items after `/name` as Lark's parser does."""

    def __init__(self, patterns: dict[str, str]) -> None:
        self._space = re.compile(r"\s+").match
        self._key = re.compile(patterns["KEY_EQUALS"]).match
        self._flag = re.compile(patterns["FLAG"]).match
        self._word = re.compile(patterns["WORD"]).match
        self._list_word = re.compile(patterns["LIST_WORD"]).match
        # One item in one match: the terminals as alternatives in the contextual lexer's order
        # (KEY_EQUALS, FLAG, WORD, `[`); a key's value is a WORD or the `[` of a list.
        self._item = re.compile(
            r"\s+(?:(?P<key>%s)(?:(?P<value>%s)|(?P<keylist>\[))?|(?P<flag>%s)|(?P<word>%s)|(?P<list>\[))"
            % (patterns["KEY_EQUALS"], patterns["WORD"], patterns["FLAG"], patterns["WORD"])
        ).match

    def _list(self, text: str, pos: int) -> RawList | int:
        """`[a, "b c",]` starting at `pos` (the `[`), as the grammar's `list` rule reads it; or the error offset."""
        start, pos, length = pos, pos + 1, len(text)
        words: list[RawToken] = []
        space, list_word = self._space, self._list_word
        while True:  # expecting a LIST_WORD or `]`
            gap = space(text, pos)
            if gap is not None:
                pos = gap.end()
            if pos >= length:
                return length
            if text[pos] == "]":
                return start, pos + 1, words
            found = list_word(text, pos)
            if found is None:
                return pos
            words.append((found.group(), pos))
            pos = found.end()
            gap = space(text, pos)  # expecting `,` or `]`
            if gap is not None:
                pos = gap.end()
            if pos >= length:
                return length
            if text[pos] == ",":
                pos += 1
            elif text[pos] == "]":
                return start, pos + 1, words
            else:
                return pos

    def _value(self, text: str, pos: int) -> tuple[RawToken | RawList, int] | int:
        """A word or a list at `pos`: (raw value, end), or the error offset."""
        if pos < len(text) and text[pos] == "[":
            found_list = self._list(text, pos)
            return found_list if isinstance(found_list, int) else (found_list, found_list[1])
        found = self._word(text, pos)
        return pos if found is None else ((found.group(), pos), found.end())

    def scan(self, text: str, pos: int) -> list[RawItem] | int:
        """Raw items (the shape `parser._lark_items` returns), or the offset where Lark's parse fails."""
        items: list[RawItem] = []
        length = len(text)
        space, key, flag = self._space, self._key, self._flag
        while True:
            gap = space(text, pos)
            if gap is not None:
                pos = gap.end()
            if pos >= length:
                return items
            kind: str
            name: str | None = None
            found = key(text, pos)
            if found is not None:
                kind, name, value_pos = "option", found.group(), found.end()
            elif text[pos] == "=":
                kind, value_pos = "empty_key", pos + 1
            else:
                found = flag(text, pos)
                if found is not None:
                    items.append(("flag", found.group(), None, pos, found.end()))
                    pos = found.end()
                    continue
                kind, value_pos = "positional", pos
            if kind != "positional":  # after `=` the lexer skips whitespace before the value
                gap = space(text, value_pos)
                if gap is not None:
                    value_pos = gap.end()
                if value_pos >= length:
                    return length
            value = self._value(text, value_pos)
            if isinstance(value, int):
                return value
            items.append((kind, name, value[0], pos, value[1]))
            pos = value[1]

    def items(self, text: str, pos: int, shift: int, percent_decode: bool, max_items: int) -> tuple[Item, ...] | int:
        """The finished items of text whose offsets only shift (spans are offsets + `shift`), or an offset.

        The walk of `scan`, fused with building the tree and with one regex
        per item: this is the hot path. It declines on whatever needs a
        diagnostic or is unusual (touching items, a stray `=`, a bad quote,
        whitespace after `=` that KEY_EQUALS does not take, too many items),
        returning the offset up to which it read the items as `scan` does.
        """
        first = pos
        items: list[Item] = []
        length = len(text)
        item_at = self._item
        while pos < length:
            found = item_at(text, pos)
            if found is None:
                return pos
            # Starts are worked back from the end and the groups' lengths: cheaper than `found.start(name)`.
            key, word, keylist, flag, positional, bracket = found.groups()
            end = found.end()
            if word is None:
                word = positional
            if word is not None:
                start, stop = end - len(word) + shift, end + shift
                if '"' in word or "'" in word or (percent_decode and "%" in word):
                    decoded, quoted = decode_word(word, percent_decode)
                    value = _new(Value, (decoded, start, stop, quoted))
                else:
                    value = _new(Value, (word, start, stop, False))
                if key is None:
                    items.append(_new(Positional, (value, start, stop)))
                else:
                    name = key.lstrip("-").rstrip(" \n\r=").lower()  # as `_key`, inlined on the hot path
                    items.append(_new(Option, (name, value, start - len(key), stop)))
            elif flag is not None:
                name = flag[2:].lower()
                negated = name.startswith("no-")
                items.append(
                    _new(Flag, (name[3:] if negated else name, not negated, end - len(flag) + shift, end + shift))
                )
            elif keylist is not None or bracket is not None:
                raw = self._list(text, end - 1)
                if isinstance(raw, int):
                    return pos
                list_value = _list_value(raw, shift, percent_decode)
                if bracket is not None:
                    items.append(_new(Positional, (list_value, list_value.start, list_value.end)))
                else:
                    start = end - 1 - len(key)
                    items.append(_new(Option, (_key(key), list_value, start + shift, list_value.end)))
                end = raw[1]
            else:
                return pos  # a key with nothing it can take after its `=`
            pos = end
        if len(items) > max_items:
            return first  # `scan` and `_build` say which item is one too many
        return tuple(items)


def _key(token: str) -> str:
    """The option name in a KEY_EQUALS token (`--Amount = ` -> `amount`)."""
    return token.lstrip("-").rstrip(" \n\r=").lower()


def _value(token: str, start: int, shift: int, percent_decode: bool) -> Value:
    """The value of a WORD or LIST_WORD token at `start` (a bare one needs no decoding)."""
    if '"' in token or "'" in token or (percent_decode and "%" in token):
        text, quoted = decode_word(token, percent_decode)
        return _new(Value, (text, start + shift, start + len(token) + shift, quoted))
    return _new(Value, (token, start + shift, start + len(token) + shift, False))


def _list_value(raw: RawList, shift: int, percent_decode: bool) -> ListValue:
    start, end, words = raw
    return _new(
        ListValue,
        (tuple([_value(token, at, shift, percent_decode) for token, at in words]), start + shift, end + shift),
    )
