"""The binder's one-call constraint check lets exactly the values through that the full check does."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import commandlang
from commandlang import CommandError
from commandlang.binding.bind import _check_constraints
from commandlang.binding.checks import passes
from commandlang.registry.types import ConversionError, Today, convert
from tests.conftest import SAMPLE

REGISTRIES = [SAMPLE, Path(__file__).parent / "data" / "types.yaml"]
ARGS = [
    arg
    for path in REGISTRIES
    for spec in commandlang.load_registry(path, env={}).spec.commands.values()
    for arg in spec.args
    if arg.constrained
]
TEXTS = st.one_of(
    st.sampled_from(
        ["0", "1", "2", "3", "4", "10", "11", "-1", "0.001", "0.01", "100", "100.01", "1.5", "-1.6", "2026-01-01"]
        + ["2025-12-31", "2026-12-31", "2027-01-01", "30s", "1m", "1h", "61m", "15m", "7d", "8d", "AB-12", "ab-1"]
        + ["+44 20 7946 0000", "12345", "1234", "123456789012", "1234567890123456789", "GB", "gb", "SW1A 1AA"]
        + ["", "x", "xy", "xyzw", "xyzwv", "a" * 121, "a" * 201, "a" * 501, "billing", "yes", "no"]
    ),
    st.text(max_size=14),
)


def _converted(arg, text: str):
    try:
        return convert(arg.type.name, text, choices=arg.choices, today=Today(date(2026, 6, 1)))
    except ConversionError:
        return None


@pytest.mark.parametrize("arg", ARGS, ids=[arg.name for arg in ARGS])
@given(texts=st.lists(TEXTS, min_size=1, max_size=12))
def test_the_fast_check_agrees_with_the_full_one(arg, texts: list[str]) -> None:
    values = [v for v in (_converted(arg, text) for text in texts) if v is not None]
    candidates = [values] if arg.type.is_list else values
    for value in candidates:
        try:
            _check_constraints(arg, value, 1)
        except CommandError:
            assert not passes(arg)(value), (arg.name, value)
        else:
            assert passes(arg)(value), (arg.name, value)
