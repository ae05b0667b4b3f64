"""Chat text -> `Invocation` | None (not a command) | `CommandError` (a syntax error).

The Lark LALR parser is built once from `grammar/commandlang.lark`, the
single source of truth. Commands are read by the fast path (`fast.py`): the
grammar's own terminals, tried in the order Lark's contextual lexer tries
them, which yields Lark's raw items or the offset where Lark's parse stops;
`_syntax_error` turns that offset into the spec's code and a column in the
text the user sent, for Lark's exceptions and the fast path alike.
`reference_parse` is the grammar read by Lark itself, what the fast path is
proven equal to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import lark

from ..diagnostics import CommandError, Diagnostic
from ..resources import grammar_path
from ..texts import N_, MessageText, msg
from .decode import decode_word
from .normalise import Normalised, may_be_command, normalise, normalise_in_place, normalise_reference
from .tree import Flag, Invocation, Item, ListValue, Option, Positional, Span, Value

__all__ = ["SyntaxOptions", "SyntaxParser", "default_parser", "parse_invocation"]

MAX_ITEMS = 100
_new = tuple.__new__


@dataclass(frozen=True, slots=True)
class SyntaxOptions:
    """The registry settings that change how text is read."""

    percent_decode: bool = False
    max_length: int = 4000
    max_items: int = MAX_ITEMS


# A raw item, in offsets of the normalised text:
#   ("positional", None, value, start, end)
#   ("option", key, value, start, end)
#   ("flag", name, None, start, end)
#   ("empty_key", None, value, start, end)
# where value is (token_text, start) or a list (start, end, [(token_text, start), ...]).
RawToken = tuple[str, int]
RawList = tuple[int, int, list[RawToken]]
RawItem = tuple[str, "str | None", "RawToken | RawList | None", int, int]


class SyntaxParser:
    """The grammar, compiled once; `parse` is safe to call from many tasks."""

    def __init__(self, grammar_text: str) -> None:
        self.lark = lark.Lark(grammar_text, parser="lalr", lexer="contextual", cache=True)
        patterns = {t.name: t.pattern.to_regexp() for t in self.lark.terminals}
        self.patterns = patterns
        self.name_re = re.compile(r"/(?:%s)(?=\s|$)" % patterns["NAME"])
        from .fast import FastScanner  # built from the same terminals

        self.fast = FastScanner(patterns)

    def parse(self, text: str, options: SyntaxOptions = SyntaxOptions()) -> Invocation | None:
        """Parse one chat message; None when it is not a command; `CommandError` on bad syntax."""
        if not may_be_command(text):
            return None  # most chat messages: decided on their first characters
        if len(text) > options.max_length:
            self._check_long(text, options, normalise)
            return None
        shifted = normalise_in_place(text)
        if shifted is not None:  # the common case: spans only shift, so the fused path builds the tree
            body, offset = shifted
            name_match = self.name_re.match(body)
            if name_match is None:
                return None  # `/etc/hosts`, `// note`, `/ hi`, `/?`: ordinary chat
            end = name_match.end()
            items = self.fast.items(body, end, offset, options.percent_decode, options.max_items)
            if isinstance(items, tuple):
                # tuple.__new__: the NamedTuples without their Python-level __new__ (see fast.py)
                return _new(Invocation, (body[1:end].lower(), _new(Span, (1 + offset, end + offset)), items, text))
            norm = Normalised(body, None, offset, text)
            # The fused path read the items before this offset as `scan` does; if the text is wrong
            # beyond it, `scan` from there stops where it would from the start.
            scanned = self.fast.scan(body, items)
            if isinstance(scanned, int):
                raise _syntax_error(scanned, norm)
        else:
            norm = normalise_reference(text)
            name_match = self.name_re.match(norm.text)
            if name_match is None:
                return None
        scanned = self.fast.scan(norm.text, name_match.end())
        if isinstance(scanned, int):
            raise _syntax_error(scanned, norm)
        return _build(norm, norm.text[1 : name_match.end()], scanned, options)

    def reference_parse(self, text: str, options: SyntaxOptions = SyntaxOptions()) -> Invocation | None:
        """The grammar's own answer: the reference normalisation, then Lark; no fast path at all.

        `parse` is proven equal to it (tests/syntax/test_fast_path.py); it is
        several times slower and nothing else needs it.
        """
        if len(text) > options.max_length:
            self._check_long(text, options, normalise_reference)
            return None
        norm = normalise_reference(text)
        name_match = self.name_re.match(norm.text)
        if name_match is None:
            return None  # not `/` and a name: ordinary chat
        return _build(norm, norm.text[1 : name_match.end()], self._lark_items(norm), options)

    def _check_long(self, text: str, options: SyntaxOptions, normalised: Callable[[str], Normalised]) -> None:
        """`too_long` for a text over max_length that starts as a command; long ordinary chat passes."""
        head = normalised(text[: options.max_length]).text
        if self.name_re.match(head) is None:
            return  # long ordinary chat (`/etc/hosts ...` too) passes through, as a short one does
        raise _error(
            "too_long",
            options.max_length,
            msg(
                N_("The message is {length} characters long; a command may be at most {max}."),
                length=len(text),
                max=options.max_length,
            ),
            msg(N_("Shorten the command.")),
        )

    def _lark_items(self, norm: Normalised) -> list[RawItem]:
        body = norm.text
        try:
            tree = self.lark.parse(body)
        except lark.UnexpectedInput as exc:
            raise _syntax_error(_error_offset(exc, body), norm) from None
        items: list[RawItem] = []
        for node in tree.children[2:]:
            assert isinstance(node, lark.Tree)  # `start: SLASH NAME item*`: every item is a rule
            kind = node.data
            children = node.children
            if kind == "flag":
                tok = _token(children[0])
                items.append(("flag", str(tok), None, _start_pos(tok), _end_pos(tok)))
                continue
            value_node = children[-1]
            if isinstance(value_node, lark.Tree):  # a list
                tokens = [_token(t) for t in value_node.children]
                words = [(str(t), _start_pos(t)) for t in tokens if t.type == "LIST_WORD"]
                value: RawToken | RawList = (_start_pos(tokens[0]), _end_pos(tokens[-1]), words)
                end = _end_pos(tokens[-1])
            else:
                value = (str(value_node), _start_pos(value_node))
                end = _end_pos(value_node)
            key = str(children[0]) if kind == "option" else None
            start = _start_pos(_token(children[0])) if len(children) > 1 else _start(value)
            items.append((kind, key, value, start, end))
        return items


def _token(node: lark.Tree[lark.Token] | lark.Token) -> lark.Token:
    """A child the grammar makes a terminal (a list holds only terminals)."""
    assert isinstance(node, lark.Token)
    return node


def _start_pos(tok: lark.Token) -> int:
    """Where a lexed token starts (Lark's lexer always sets it; only hand-built tokens lack it)."""
    assert tok.start_pos is not None
    return tok.start_pos


def _end_pos(tok: lark.Token) -> int:
    assert tok.end_pos is not None
    return tok.end_pos


def _start(value: RawToken | RawList) -> int:
    return value[1] if len(value) == 2 else value[0]


def _build(norm: Normalised, name: str, raw_items: list[RawItem], options: SyntaxOptions) -> Invocation:
    to_original = norm.to_original
    if norm.origin is None:  # plain ASCII: offsets only shift by the stripped indent
        shift = norm.offset

        def span(start: int, end: int) -> tuple[int, int]:
            return start + shift, end + shift
    else:

        def span(start: int, end: int) -> tuple[int, int]:
            return to_original(start), to_original(end - 1) + 1

    percent_decode = options.percent_decode

    def token_value(raw: RawToken) -> Value:
        token, start = raw
        text, quoted = decode_word(token, percent_decode)
        return Value(text, *span(start, start + len(token)), quoted)

    def value_of(raw: RawToken | RawList) -> Value | ListValue:
        if len(raw) == 2:
            return token_value(raw)
        start, end, words = raw
        return ListValue(tuple(token_value(word) for word in words), *span(start, end))

    items: list[Item] = []
    previous_end = len(name) + 1
    for kind, key, raw_value, start, end in raw_items:
        if start == previous_end:
            raise _error(
                "unexpected_character",
                to_original(start) + 1,
                msg(
                    N_("Put a space before {char} at column {column}."),
                    char=repr(norm.text[start]),
                    column=to_original(start) + 1,
                ),
                msg(N_("Separate items with spaces; quote a value that holds brackets.")),
            )
        previous_end = end
        if len(items) == options.max_items:
            raise _error(
                "too_many_items",
                to_original(start) + 1,
                msg(N_("A command may have at most {max} items."), max=options.max_items),
                msg(N_("Send fewer values.")),
            )
        if kind == "flag":
            assert key is not None
            flag = key[2:].lower()
            negated = flag.startswith("no-")
            items.append(Flag(flag[3:] if negated else flag, not negated, *span(start, end)))
        elif kind == "option":
            assert key is not None and raw_value is not None
            clean_key = key.lstrip("-").rstrip(" \n\r=").lower()
            items.append(Option(clean_key, value_of(raw_value), *span(start, end)))
        elif kind == "positional":
            assert raw_value is not None
            value = value_of(raw_value)
            items.append(Positional(value, value.start, value.end))  # a positional is exactly its value
        else:  # empty_key
            column = to_original(start) + 1
            raise _error(
                "empty_key",
                column,
                msg(N_("The = at column {column} has no option name before it."), column=column),
                msg(N_("Write the name before the =, like amount=5.")),
            )
    return Invocation(name.lower(), Span(*span(1, len(name) + 1)), tuple(items), norm.original)


def _error(code: str, column: int, message: MessageText, hint: MessageText | None = None) -> CommandError:
    return CommandError(Diagnostic.of(code, message, hint, line=1, column=column))


def _open_bracket_before(text: str, pos: int) -> int | None:
    """The offset of the `[` still open at `pos` (quotes skipped), if any."""
    if text.find("[", 0, pos) < 0:
        return None  # most errors: no list before them at all
    open_at = None
    index = 0
    while index < pos:
        char = text[index]
        if char == '"':
            index += 1
            while index < len(text) and text[index] != '"':
                index += 2 if text[index] == "\\" else 1
        elif char == "'":
            closing = text.find("'", index + 1)
            index = len(text) if closing < 0 else closing
        elif char == "[":
            open_at = index
        elif char == "]":
            open_at = None
        index += 1
    return open_at


def _error_offset(exc: lark.UnexpectedInput, body: str) -> int:
    """Where Lark's parse stopped: the offset no terminal matched at, or the end of the text."""
    pos: int | None = None
    if isinstance(exc, lark.UnexpectedCharacters):
        pos = exc.pos_in_stream
    elif isinstance(exc, lark.UnexpectedToken) and exc.token.type != "$END":
        pos = exc.token.start_pos
    return len(body) if pos is None else pos  # None: Lark's `$END` token, or an `UnexpectedEOF` with no position


def _syntax_error(pos: int, norm: Normalised) -> CommandError:
    """The spec's syntax error for a parse that stopped at offset `pos` of the normalised text."""
    body = norm.text
    column = norm.to_original(min(pos, len(body) - 1)) + 1
    char = body[pos] if pos < len(body) else ""
    bracket = _open_bracket_before(body, pos)

    if char and char in "\"'":
        return _error(
            "unclosed_quote",
            column,
            msg(N_("The quote {char} at column {column} is never closed."), char=char, column=column),
            msg(N_("Add a closing {char} after the value, or remove the quote."), char=char),
        )
    if char == "" and bracket is not None:
        bcol = norm.to_original(bracket) + 1
        return _error(
            "unclosed_list",
            bcol,
            msg(N_("The list opened at column {column} is never closed."), column=bcol),
            msg(N_("Add a ] after the last item.")),
        )
    if char == "":
        return _error(
            "unexpected_character",
            column,
            msg(N_("The option at column {column} has no value after =."), column=column),
            msg(N_('Write a value after the =, or "" for an empty one.')),
        )
    if bracket is not None:
        if char == "[":
            message = msg(N_("Lists cannot be nested (column {column})."), column=column)
            hint = msg(N_("Use one flat list like [a, b, c]."))
        else:
            message = msg(N_("Unexpected {char} at column {column} inside a list."), char=repr(char), column=column)
            hint = msg(N_('Separate list items with commas, like [a, b]; quote items holding spaces or "=".'))
        return _error("unexpected_character", column, message, hint)
    if char == "]":
        return _error(
            "unexpected_character",
            column,
            msg(N_("The ] at column {column} closes no list."), column=column),
            msg(N_("Remove it, or quote the value that holds it.")),
        )
    return _error(
        "unexpected_character",
        column,
        msg(N_("Unexpected {char} at column {column}."), char=repr(char), column=column),
        msg(N_("Quote values that hold spaces, quotes, brackets or a leading =.")),
    )


@lru_cache(maxsize=1)
def default_parser() -> SyntaxParser:
    """The parser for the shipped grammar, built on first use (Lark caches the tables on disk)."""
    return SyntaxParser(grammar_path().read_text(encoding="utf-8"))


def parse_invocation(text: str, options: SyntaxOptions = SyntaxOptions()) -> Invocation | None:
    """Parse chat text with the shipped grammar."""
    return default_parser().parse(text, options)
