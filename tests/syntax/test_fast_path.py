"""Differential: the fast path (normalise, fast.py) answers exactly as the grammar read by Lark does.

`SyntaxParser.reference_parse` is the reference: the character-by-character
normalisation, then Lark's LALR parser on grammar/commandlang.lark. Every
answer is compared whole: the same Invocation (names, values, quoting, every
span), or the same error code, column, message and hint, or both None.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from commandlang import CommandError
from commandlang.syntax import SyntaxOptions
from commandlang.syntax.decode import decode_parts, decode_word
from commandlang.syntax.normalise import _SPACES, _is_space, may_be_command, normalise, normalise_reference
from commandlang.syntax.parser import _syntax_error, default_parser
from .classes import CLASSES
from .strategies import chat_text
from .test_grammar import ERRORS, OK

PARSER = default_parser()
OPTIONS = (SyntaxOptions(), SyntaxOptions(percent_decode=True), SyntaxOptions(max_length=80, max_items=3))
CORPUS = Path(__file__).resolve().parents[2] / "bench" / "corpus"


def _answer(parse, text: str, options: SyntaxOptions):
    try:
        return parse(text, options)
    except CommandError as exc:
        diagnostic = exc.diagnostic
        return diagnostic.code, diagnostic.column, diagnostic.message, diagnostic.hint


def assert_same_as_lark(text: str) -> None:
    for options in OPTIONS:
        fast = _answer(PARSER.parse, text, options)
        slow = _answer(PARSER.reference_parse, text, options)
        assert fast == slow, (text, options)


def assert_scan_same_as_lark(text: str) -> None:
    norm = normalise_reference(text)
    name = PARSER.name_re.match(norm.text) if norm.text.startswith("/") else None
    if name is None:
        return
    scanned = PARSER.fast.scan(norm.text, name.end())
    try:
        slow = PARSER._lark_items(norm)
    except CommandError as exc:
        assert isinstance(scanned, int), (text, scanned)
        assert _syntax_error(scanned, norm).diagnostic == exc.diagnostic, text
    else:
        assert scanned == slow, text


@pytest.mark.parametrize("name", list(CLASSES))
@given(data=st.data())
def test_every_class_parses_as_lark_parses_it(name: str, data: st.DataObject) -> None:
    text = data.draw(CLASSES[name], label=name)
    assert_same_as_lark(text)
    assert_scan_same_as_lark(text)


@pytest.mark.parametrize(
    "text",
    [text for text, _ in OK]
    + [text for text, _, _ in ERRORS]
    + ["/x =5", "/x = 5", "/x  =", "/x ==", "/x [=]", "/x k= =", "/x [a,]", "/x [,]", "/x k=[a]=", "/x --a=[b]c"],
)
def test_the_grammar_tables_parse_as_lark_parses_them(text: str) -> None:
    assert_same_as_lark(text)
    assert_scan_same_as_lark(text)


@given(chat_text)
@example("/x a=1 --f b")
@example('/x "a b"c q=a=b')
@example("/x a = b")
@example("/A \u201c")
@example("/x [a]b")
@example("/x k=\x0bv")
@example("/x [a] =b")
@example("/x \u2018don\u2019t\u2019 \u201cit\u2019s\u201d")
def test_any_text_parses_as_lark_parses_it(text: str) -> None:
    assert_same_as_lark(text)
    assert_scan_same_as_lark(text)


@given(st.one_of(chat_text, *CLASSES.values()))
@example("\u3000\uff0fx \u201ca\\\u201d b\u201d")
@example("/x \u2018a\u2019\u2019 'b\u2019")
@example("\x85\u2028\uff0fx")
@example("x\u2018a\u2019 b")
def test_normalise_is_the_reference_walk(text: str) -> None:
    fast, slow = normalise(text), normalise_reference(text)
    assert fast.text == slow.text, text
    if slow.text:
        assert [fast.to_original(i) for i in range(len(fast.text) + 1)] == [
            slow.to_original(i) for i in range(len(slow.text) + 1)
        ], text


@given(st.one_of(chat_text, *CLASSES.values()))
@example("\u200b\u00a0\uff0fx")
@example("\x1c/x")
def test_what_is_not_a_command_by_its_first_characters_is_not_one(text: str) -> None:
    assert may_be_command(text) or not normalise_reference(text).text.startswith("/"), text


@given(st.one_of(chat_text, *CLASSES.values()))
@example('/x "a" \'b\' "" \'\' "a\'b" \'a"b\' "a\\"b" "a"\'b\' \'a\'"b"')
def test_decoding_a_value_is_decoding_it_part_by_part(text: str) -> None:
    quoted = [t for t in re.findall(PARSER.patterns["WORD"], normalise(text).text) if '"' in t or "'" in t]
    for token in quoted:
        for percent_decode in (False, True):
            assert decode_word(token, percent_decode) == decode_parts(token, percent_decode), token


def test_the_spaces_are_the_reference_definition_of_a_space() -> None:
    assert _SPACES == {chr(code) for code in range(sys.maxunicode + 1) if _is_space(chr(code))}


def _corpus(name: str) -> list[str]:
    lines = (CORPUS / f"{name}.txt").read_text(encoding="utf-8").splitlines()
    return [line.replace("\u23ce", "\n") for line in lines if line.strip()]


@pytest.mark.parametrize("name", sorted(p.stem for p in CORPUS.glob("*.txt") if p.stem not in ("errors", "chat")))
def test_every_benchmark_command_takes_the_fused_path(name: str) -> None:
    for text in _corpus(name):
        norm = normalise(text)
        name_match = PARSER.name_re.match(norm.text)
        assert name_match is not None and norm.origin is None, text
        items = PARSER.fast.items(norm.text, name_match.end(), norm.offset, False, 100)
        assert isinstance(items, tuple), text
        assert_same_as_lark(text)


@pytest.mark.parametrize("name", ["errors", "chat"])
def test_benchmark_errors_and_chat_answer_as_lark_does(name: str) -> None:
    for text in _corpus(name):
        assert_same_as_lark(text)
