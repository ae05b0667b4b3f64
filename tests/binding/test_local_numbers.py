"""Decimals typed the local way: `19,99` in a language that writes the decimal comma, and never `1,000`
silently read as a thousand or as one (docs/registry.md, "Typing values")."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commandlang.binding.bind import Binder
from commandlang.diagnostics import CommandError
from commandlang.registry.loader import build_spec
from commandlang.registry.yamlsource import parse_yaml
from commandlang.syntax import parse_invocation

YAML = """
version: 1
settings: {languages: [en, de, fr, es, nl, de-ch, ja]}
commands:
  pay:
    args:
      amount: {type: decimal, positional: true}
      rate: float
      count: int
      amounts: "list[decimal]"
"""
_data, _ = parse_yaml(YAML, "commands.yaml")
SPEC, _found = build_spec(_data, "commands.yaml", env={})
BINDER = Binder(SPEC)  # type: ignore[arg-type]
COMMA = ("de", "fr", "es", "nl", "de-ch")  # de-ch counts as German (its primary language writes the comma)
DOT = ("en", "ja", None)
GROUPED = re.compile(r"[+-]?[1-9][0-9]{0,2}[.,][0-9]{3}")


def _bind(text: str, language: str | None) -> dict:
    invocation = parse_invocation(text)
    assert invocation is not None
    return BINDER.bind(invocation, language=language).args


@pytest.mark.parametrize("language", COMMA)
@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("19,99", "19.99"),
        ("0,5", "0.5"),
        ("1,5", "1.5"),
        ("-2,25", "-2.25"),
        ("12,3456", "12.3456"),
        ("0,125", "0.125"),
    ],
)
def test_the_decimal_comma_in_languages_that_write_it(language: str, typed: str, value: str) -> None:
    assert _bind(f"/pay {typed}", language)["amount"] == Decimal(value)
    assert _bind(f"/pay 1 rate={typed}", language)["rate"] == float(value)
    # in a list the comma separates items (parsing is language-neutral): a local decimal there is quoted
    assert _bind(f'/pay 1 amounts=["{typed}", 2]', language)["amounts"] == [Decimal(value), Decimal(2)]


@pytest.mark.parametrize("language", COMMA + DOT)
@pytest.mark.parametrize("typed", ["1,000", "1.000", "12,500", "999.999", "-1,000"])
def test_three_digits_after_one_separator_is_refused_as_ambiguous(language: str, typed: str) -> None:
    if language in DOT and "." in typed:
        return  # in a dot language 1.000 is one, as it always was
    with pytest.raises(CommandError) as caught:
        _bind(f"/pay {typed}", language)
    assert caught.value.diagnostic.code == "invalid_value"
    if language in COMMA:
        assert "could be" in caught.value.diagnostic.message  # says both readings, asks for one


@pytest.mark.parametrize("language", DOT)
def test_a_comma_stays_an_error_in_other_languages(language: str | None) -> None:
    with pytest.raises(CommandError):
        _bind("/pay 19,99", language)


def test_integers_and_thousands_separators_are_never_read_the_local_way() -> None:
    for text in ("/pay 1 count=1,5", "/pay 1 count=1.000", "/pay 1.234,56", "/pay 1,234.56"):
        with pytest.raises(CommandError):
            _bind(text, "de")


@given(
    head=st.integers(min_value=0, max_value=99999),
    tail=st.text(alphabet="0123456789", min_size=1, max_size=6),
    separator=st.sampled_from([",", "."]),
    sign=st.sampled_from(["", "-", "+"]),
    language=st.sampled_from(COMMA + DOT),
)
def test_fuzz_a_separated_number_is_read_one_way_or_refused(
    head: int, tail: str, separator: str, sign: str, language: str | None
) -> None:
    typed = f"{sign}{head}{separator}{tail}"
    neutral = Decimal(f"{sign}{head}.{tail}")
    try:
        value = _bind(f"/pay {typed}", language)["amount"]
    except CommandError as exc:
        assert exc.diagnostic.code == "invalid_value"
        # refused only when it could be a thousand (or when a comma is typed where no comma is read)
        assert GROUPED.fullmatch(typed) or (separator == "," and language in DOT)
        return
    # read, then always as the decimal it spells; never as a thousand
    assert value == neutral
    assert not (GROUPED.fullmatch(typed) and language in COMMA)
    assert separator == "." or language in COMMA
