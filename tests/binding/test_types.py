"""Every argument type of the spec's table: accepted spellings, rejected ones, Python values and JSON forms."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

import commandlang
from commandlang import CommandError

DATA = Path(__file__).parent / "data"
TODAY = date(2026, 1, 31)


@pytest.fixture(scope="module")
def registry() -> commandlang.Registry:
    return commandlang.load_registry(DATA / "types.yaml", env={})


def bind(registry, text: str):
    return registry.parse(text, today=TODAY)


ACCEPTED = [
    # (arg, text as typed, Python value, JSON form)
    ("s", "hello", "hello", "hello"),
    ("s", '"two words"', "two words", "two words"),
    ("s", "42", "42", "42"),
    ("i", "42", 42, 42),
    ("i", "-12", -12, -12),
    ("i", "+7", 7, 7),
    ("i", "1_000", 1000, 1000),
    ("i", "0", 0, 0),
    ("f", "1.5", 1.5, 1.5),
    ("f", "-2e3", -2000.0, -2000.0),
    ("f", "3", 3.0, 3.0),
    ("f", ".5", 0.5, 0.5),
    ("d", "19.99", Decimal("19.99"), "19.99"),
    ("d", "-0.5", Decimal("-0.5"), "-0.5"),
    ("d", "0.10", Decimal("0.10"), "0.10"),
    ("d", "0.1", Decimal("0.1"), "0.1"),
    ("d", "100", Decimal("100"), "100"),
    ("d", "1_000.25", Decimal("1000.25"), "1000.25"),
    ("b", "true", True, True),
    ("b", "TRUE", True, True),
    ("b", "Yes", True, True),
    ("b", "on", True, True),
    ("b", "1", True, True),
    ("b", "false", False, False),
    ("b", "NO", False, False),
    ("b", "Off", False, False),
    ("b", "0", False, False),
    ("day", "2026-01-31", date(2026, 1, 31), "2026-01-31"),
    ("day", "2024-02-29", date(2024, 2, 29), "2024-02-29"),
    ("day", "today", date(2026, 1, 31), "2026-01-31"),
    ("day", "Tomorrow", date(2026, 2, 1), "2026-02-01"),
    ("day", "YESTERDAY", date(2026, 1, 30), "2026-01-30"),
    ("at", "2026-01-31T10:00", datetime(2026, 1, 31, 10, 0), "2026-01-31T10:00:00"),
    ("at", "2026-01-31T10:00:30", datetime(2026, 1, 31, 10, 0, 30), "2026-01-31T10:00:30"),
    (
        "at",
        "2026-01-31T10:00+02:00",
        datetime(2026, 1, 31, 10, 0, tzinfo=timezone(timedelta(hours=2))),
        "2026-01-31T10:00:00+02:00",
    ),
    ("at", "2026-01-31T10:00:00Z", datetime(2026, 1, 31, 10, 0, tzinfo=timezone.utc), "2026-01-31T10:00:00+00:00"),
    ("at", '"2026-01-31 10:00"', datetime(2026, 1, 31, 10, 0), "2026-01-31T10:00:00"),
    ("dur", "90s", timedelta(seconds=90), 90),
    ("dur", "15m", timedelta(minutes=15), 900),
    ("dur", "2h", timedelta(hours=2), 7200),
    ("dur", "1d", timedelta(days=1), 86400),
    ("dur", "1h30m", timedelta(hours=1, minutes=30), 5400),
    ("dur", "1.5h", timedelta(hours=1, minutes=30), 5400),
    ("dur", "1.5s", timedelta(seconds=1.5), 1.5),
    ("dur", "0s", timedelta(0), 0),
    ("mail", "name@example.com", "name@example.com", "name@example.com"),
    (
        "mail",
        "first.last+tag@mail.example.co.uk",
        "first.last+tag@mail.example.co.uk",
        "first.last+tag@mail.example.co.uk",
    ),
    ("link", "https://example.com", "https://example.com", "https://example.com"),
    ("link", "http://example.com/a?b=c#d", "http://example.com/a?b=c#d", "http://example.com/a?b=c#d"),
    (
        "id",
        "123E4567-E89B-12D3-A456-426614174000",
        uuid.UUID("123e4567-e89b-12d3-a456-426614174000"),
        "123e4567-e89b-12d3-a456-426614174000",
    ),
    (
        "id",
        "123e4567e89b12d3a456426614174000",
        uuid.UUID("123e4567-e89b-12d3-a456-426614174000"),
        "123e4567-e89b-12d3-a456-426614174000",
    ),
    (
        "id",
        "{123e4567-e89b-12d3-a456-426614174000}",
        uuid.UUID("123e4567-e89b-12d3-a456-426614174000"),
        "123e4567-e89b-12d3-a456-426614174000",
    ),
    (
        "id",
        "urn:uuid:123e4567-e89b-12d3-a456-426614174000",
        uuid.UUID("123e4567-e89b-12d3-a456-426614174000"),
        "123e4567-e89b-12d3-a456-426614174000",
    ),
    ("ch", "email", "Email", "Email"),
    ("ch", "EMAIL", "Email", "Email"),
    ("ch", "whatsapp", "WhatsApp", "WhatsApp"),
    ("ch", "SMS", "sms", "sms"),
    ("ints", "[1, 2, 3]", [1, 2, 3], [1, 2, 3]),
    ("ints", "5", [5], [5]),
    ("ints", "[]", [], []),
    ("words", '[a, "b c"]', ["a", "b c"], ["a", "b c"]),
    ("words", "solo", ["solo"], ["solo"]),
    ("days", "[today, 2026-03-01]", [date(2026, 1, 31), date(2026, 3, 1)], ["2026-01-31", "2026-03-01"]),
]


@pytest.mark.parametrize(("arg", "text", "value", "json_form"), ACCEPTED)
def test_accepted(registry, arg: str, text: str, value, json_form) -> None:
    call = bind(registry, f"/t {arg}={text}")
    assert call.args[arg] == value
    assert type(call.args[arg]) is type(value)
    assert call.to_json()["args"][arg] == json_form


REJECTED = [
    ("i", "1,000", "a whole number like 42"),
    ("i", "1.5", "a whole number like 42"),
    ("i", "12abc", "a whole number like 42"),
    ("i", "1__000", "a whole number like 42"),
    ("i", "0x10", "a whole number like 42"),
    ("i", "١٢", "a whole number like 42"),
    ("f", "nan", "a number like 1.5"),
    ("f", "inf", "a number like 1.5"),
    ("f", "-Infinity", "a number like 1.5"),
    ("f", "1e999", "a number like 1.5"),
    ("f", "1,5", "a number like 1.5"),
    ("d", "abc", "a decimal number like 19.99"),
    ("d", "NaN", "a decimal number like 19.99"),
    ("d", "1e3", "a decimal number like 19.99"),
    ("d", "19,99", "a decimal number like 19.99"),
    ("b", "maybe", "yes or no"),
    ("b", "y", "yes or no"),
    ("b", "2", "yes or no"),
    ("day", "31/01/2026", "a date like 2026-01-31"),
    ("day", "2026-02-30", "a date like 2026-01-31"),
    ("day", "2026-1-5", "a date like 2026-01-31"),
    ("day", "2026-01-31T10:00", "a date like 2026-01-31"),
    ("day", "now", "a date like 2026-01-31"),
    ("at", "2026-01-31", "a date and time like 2026-01-31T10:00"),
    ("at", "2026-01-31T25:00", "a date and time like 2026-01-31T10:00"),
    ("at", "10:00", "a date and time like 2026-01-31T10:00"),
    ("dur", "90", "a duration like 90s"),
    ("dur", "-5m", "a duration like 90s"),
    ("dur", "5min", "a duration like 90s"),
    ("dur", "h", "a duration like 90s"),
    ("mail", "nobody", "an email address"),
    ("mail", "a@b", "an email address"),
    ("mail", "a@b.c,d@e.f", "an email address"),
    ("link", "ftp://example.com", "an http or https URL"),
    ("link", "example.com", "an http or https URL"),
    ("link", "javascript:alert(1)", "an http or https URL"),
    ("link", "https://", "an http or https URL"),
    ("id", "not-a-uuid", "a UUID"),
    ("id", "123e4567-e89b-12d3-a456-42661417400", "a UUID"),
    ("ch", "fax", "one of Email, sms, WhatsApp"),
    ("ints", "[1, x]", "a whole number like 42"),
]


@pytest.mark.parametrize(("arg", "text", "expected"), REJECTED)
def test_rejected(registry, arg: str, text: str, expected: str) -> None:
    line = f"/t {arg}={text}"
    with pytest.raises(CommandError) as caught:
        bind(registry, line)
    diagnostic = caught.value.diagnostic
    assert diagnostic.code == "invalid_value"
    assert diagnostic.argument == arg
    assert expected in diagnostic.message
    assert diagnostic.message.startswith(f"{arg} must be ")
    shown = text.split(", ")[-1].rstrip("]") if text.startswith("[") else text
    assert f'got "{shown}"' in diagnostic.message
    value_column = line.index("=") + 2
    assert diagnostic.column == (value_column + text.index(shown) if text.startswith("[") else value_column)


def test_invalid_value_message_has_the_spec_form(sample_registry) -> None:
    with pytest.raises(CommandError) as caught:
        sample_registry.parse("/refund 12345 amount=abc")
    diagnostic = caught.value.diagnostic
    assert diagnostic.message == 'amount must be a decimal number like 19.99, got "abc"'
    assert (diagnostic.code, diagnostic.argument, diagnostic.column) == ("invalid_value", "amount", 22)


def test_huge_numbers_are_errors_not_crashes(write_registry) -> None:
    path = write_registry("version: 1\nsettings: {max_length: 20000}\ncommands:\n  x:\n    args: {n: int, f: float}\n")
    registry = commandlang.load_registry(path, env={})
    with pytest.raises(CommandError) as caught:
        registry.parse("/x n=" + "9" * 5000)
    assert caught.value.diagnostic.code == "invalid_value"
    with pytest.raises(CommandError) as caught:
        registry.parse("/x f=" + "9" * 400)
    assert caught.value.diagnostic.code == "invalid_value"


def test_decimal_is_exact(registry) -> None:
    call = bind(registry, "/t d=0.30000000000000000001")
    assert call.args["d"] == Decimal("0.30000000000000000001")
    assert call.to_json()["args"]["d"] == "0.30000000000000000001"


def test_today_defaults_to_the_local_date(registry) -> None:
    assert registry.parse("/t day=today").args["day"] == date.today()


def test_a_scalar_argument_rejects_a_list(registry) -> None:
    with pytest.raises(CommandError) as caught:
        bind(registry, "/t i=[1, 2]")
    assert (caught.value.diagnostic.code, caught.value.diagnostic.argument, caught.value.diagnostic.column) == (
        "invalid_value",
        "i",
        6,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/t ints=1 ints=2", [1, 2]),
        ("/t ints=[1, 2] ints=3", [1, 2, 3]),
        ("/t ints=1 ints=[2, 3]", [1, 2, 3]),
        ("/t ints=[] ints=[]", []),
    ],
)
def test_list_given_twice_appends(registry, text: str, expected: list) -> None:
    assert bind(registry, text).args["ints"] == expected


def test_trailing_list_positional_takes_the_rest(registry) -> None:
    assert bind(registry, "/rest a 1 2 3").args == {"first": "a", "more": [1, 2, 3]}
    assert bind(registry, "/rest a [1, 2] 3").args == {"first": "a", "more": [1, 2, 3]}
    assert bind(registry, "/rest a").args == {"first": "a", "more": None}


def test_absent_optional_args_are_none_and_bool_false(registry) -> None:
    call = bind(registry, "/t")
    assert call.args["b"] is False
    assert all(value is None for name, value in call.args.items() if name != "b")
    assert list(call.args) == [
        "s",
        "i",
        "f",
        "d",
        "b",
        "day",
        "at",
        "dur",
        "mail",
        "link",
        "id",
        "ch",
        "ints",
        "words",
        "days",
    ]


def test_bool_as_flag(registry) -> None:
    assert bind(registry, "/t --b").args["b"] is True
    assert bind(registry, "/t --no-b").args["b"] is False
    assert bind(registry, "/t b=yes").args["b"] is True


def test_defaults_are_converted_exactly_as_written() -> None:
    registry = commandlang.load_registry(DATA / "defaults.yaml", env={})
    assert registry.parse("/x").to_json() == {
        "command": "x",
        "args": {
            "fee": "0.10",
            "on": True,
            "day": "2026-01-31",
            "at": "2026-01-31T10:00:00+01:00",
            "ch": "Email",
            "tags": [1, 2],
            "one": ["solo"],
            "wait": 5400,
            "id": "123e4567-e89b-12d3-a456-426614174000",
            "n": 1000,
            "none": None,
        },
    }
    assert registry.parse("/x").args["fee"] == Decimal("0.10")
