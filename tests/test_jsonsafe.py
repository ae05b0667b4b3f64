"""loads_bounded: JSON like json.loads, but deep nesting, lone surrogates and bad UTF-8 are a clear ValueError."""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from commandlang.jsonsafe import UnsafeJson, loads_bounded

# Text JSON can carry (no surrogates: those are what must be refused).
_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=30,
)


def _depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


@given(_json_values, st.booleans(), st.booleans())
def test_any_json_document_reads_as_json_loads_reads_it(value: object, ascii_only: bool, as_bytes: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert loads_bounded(text.encode("utf-8") if as_bytes else text) == json.loads(text)


@given(_json_values)
def test_depth_is_refused_exactly_beyond_the_limit(value: object) -> None:
    text = json.dumps(value)
    depth = _depth(value)
    for limit in (depth, depth - 1) if depth else (0,):
        if limit < depth:
            with pytest.raises(UnsafeJson, match=f"nested deeper than {limit} levels"):
                loads_bounded(text, max_depth=limit)
        else:
            assert loads_bounded(text, max_depth=limit) == value


@pytest.mark.parametrize(
    "document",
    ["[" * 100_000, "[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000, '[{"k":[' * 33_000],
)
def test_a_100000_deep_document_is_refused_before_anything_recurses(document: str) -> None:
    # json.loads alone raises RecursionError here (or worse, in a C extension, crashes); the refusal is a
    # clear UnsafeJson. How fast it comes is the benchmark's business, not a timed assertion's.
    for data in (document, document.encode()):
        with pytest.raises(UnsafeJson, match="nested deeper than 64 levels"):
            loads_bounded(data)


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    document = json.dumps({"text": "[" * 1000 + '\\"{' * 1000, "list": [["]]]]"]]})
    assert loads_bounded(document)["list"] == [["]]]]"]]


@given(
    st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff"]),
    st.sampled_from(["raw", "escape", "lower"]),
    _text,
    st.sampled_from(['["%s"]', '{"%s": 1}', '{"a": {"b": ["x%sy"]}}']),
)
def test_a_lone_surrogate_in_any_string_is_refused_with_where_it_is(
    surrogate: str, spelling: str, around: str, shape: str
) -> None:
    written = {"raw": surrogate, "escape": f"\\u{ord(surrogate):04X}", "lower": f"\\u{ord(surrogate):04x}"}[spelling]
    inner = json.dumps(around)[1:-1]
    document = shape % (inner + written)
    with pytest.raises(UnsafeJson) as refused:
        loads_bounded(document)
    position = document.index(written) + 1
    assert str(refused.value) == f"lone surrogate \\u{ord(surrogate):04x} at character {position}"


def test_surrogate_pairs_and_escaped_backslashes_are_fine() -> None:
    assert loads_bounded('["\\ud83d\\ude00", "\\uD83D\\uDE00"]') == ["\U0001f600", "\U0001f600"]
    assert loads_bounded('"\\\\ud800"') == "\\ud800"  # a backslash, then the letters u d 8 0 0
    with pytest.raises(UnsafeJson, match="lone surrogate \\\\ude00 at character 2"):
        loads_bounded('"\\ude00\\ud83d"')  # low before high is two lone surrogates, not a pair
    with pytest.raises(UnsafeJson, match="lone surrogate \\\\ud83d at character 2"):
        loads_bounded('"\\ud83d\\ud83d\\ude00"')


def test_bad_utf8_not_json_and_non_json_constants_say_what_is_wrong() -> None:
    with pytest.raises(UnsafeJson, match=r"text is not valid UTF-8 \(byte 8\)"):
        loads_bounded(b'{"a": "\xff"}')
    with pytest.raises(UnsafeJson, match=r"text is not valid UTF-8"):
        loads_bounded(b'"\xed\xa0\x80"')  # a surrogate encoded as UTF-8 bytes (json.loads would take it)
    with pytest.raises(UnsafeJson, match="not JSON: Expecting ',' delimiter at character 5"):
        loads_bounded("[1,2")
    for constant in ("NaN", "Infinity", "-Infinity"):
        with pytest.raises(UnsafeJson, match=f"{constant} is not JSON"):
            loads_bounded(f"[{constant}]")
    with pytest.raises(UnsafeJson, match="not usable JSON"):
        loads_bounded("1" * 5000)  # beyond int()'s digit limit: json.loads raises a bare ValueError
    assert loads_bounded(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}  # a UTF-8 BOM, as json.loads allows
    assert issubclass(UnsafeJson, ValueError)


@given(
    st.one_of(
        st.binary(max_size=40),
        st.text(max_size=40),
        st.lists(
            st.sampled_from(
                list('[]{}",:\\u0123456789abcdefDE ') + ["\\ud800", "\\udc00", "\ud800", "true", "NaN", "\xff"]
            ),
            max_size=30,
        ).map("".join),
    )
)
@example("[" * 70)
@example('"\\')
@example('"\\u')
def test_any_input_gives_a_value_or_unsafe_json(data: str | bytes) -> None:
    try:
        value = loads_bounded(data)
    except UnsafeJson as exc:
        assert str(exc)
        return
    json.dumps(value, ensure_ascii=False).encode("utf-8")  # whatever it accepts can be written out again
