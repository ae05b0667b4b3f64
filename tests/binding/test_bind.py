"""Binding against a registry: constraints, every bind error code, aliases, subcommands, roles, masking."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

import commandlang
from commandlang import CommandError

DATA = Path(__file__).parent / "data"
TODAY = date(2026, 1, 31)


@pytest.fixture(scope="module")
def types_registry() -> commandlang.Registry:
    return commandlang.load_registry(DATA / "types.yaml", env={})


def error_of(registry, text: str, **kwargs):
    with pytest.raises(CommandError) as caught:
        registry.parse(text, today=TODAY, **kwargs)
    return caught.value.diagnostic


# -- the sample registry, end to end ---------------------------------------------


def test_refund_binds_with_defaults(sample_registry) -> None:
    call = sample_registry.parse('/refund 12345 amount=19.99 reason="damaged item"')
    assert call.command == "refund"
    assert call.args == {"order": 12345, "amount": Decimal("19.99"), "reason": "damaged item", "notify": True}
    assert call.to_json() == {
        "command": "refund",
        "args": {"order": 12345, "amount": "19.99", "reason": "damaged item", "notify": True},
    }


def test_not_a_command_is_none(sample_registry) -> None:
    assert sample_registry.parse("/etc/hosts is broken") is None
    assert sample_registry.parse("thanks!") is None


@pytest.mark.parametrize(
    "text",
    [
        "/rf 7 amount=5",
        "/RF 7 amount=5",
        "/Refund 7 amount=5",
        "/refund 7 AMOUNT=5",
        "/refund 7 --amount=5",
        "/refund amount=5 7",
        "/refund order=7 amount=5",
    ],
)
def test_aliases_case_and_order_resolve_to_the_canonical_command(sample_registry, text: str) -> None:
    call = sample_registry.parse(text)
    assert call.command == "refund"
    assert (call.args["order"], call.args["amount"]) == (7, Decimal("5"))


@pytest.mark.parametrize("alias", ["status", "order", "where", "WHERE"])
def test_every_alias_of_status(sample_registry, alias: str) -> None:
    assert sample_registry.parse(f"/{alias} 42").to_json() == {"command": "status", "args": {"order": 42}}


def test_subcommand_spellings_are_the_same_call(sample_registry) -> None:
    spaced = sample_registry.parse("/ticket close 42 resolution=duplicate tags=[billing, repeat]")
    dotted = sample_registry.parse("/ticket.close 42 resolution=duplicate tags=[billing, repeat]")
    assert spaced.command == dotted.command == "ticket.close"
    assert (
        spaced.args
        == dotted.args
        == {"ticket": 42, "resolution": "duplicate", "note": None, "tags": ["billing", "repeat"]}
    )
    assert sample_registry.parse("/TICKET CLOSE 42").command == "ticket.close"


def test_bool_flags(sample_registry) -> None:
    assert sample_registry.parse("/refund 7 amount=5 --no-notify").args["notify"] is False
    assert sample_registry.parse("/refund 7 amount=5 notify=off").args["notify"] is False
    assert sample_registry.parse("/refund 7 amount=5 --notify").args["notify"] is True


# -- constraints --------------------------------------------------------------------

CONSTRAINT_OK = [
    "/c n=1",
    "/c n=10",
    "/c x=-1.5",
    "/c x=1.5",
    "/c amount=0.01",
    "/c amount=100.00",
    "/c when=2026-01-01",
    "/c when=2026-12-31",
    "/c when=today",
    "/c wait=1m",
    "/c wait=1h",
    "/c wait=30m",
    "/c tags=a",
    "/c tags=[a, b, c]",
    "/c code=ab",
    "/c code=abcd",
    "/c ref=AB-1",
    "/c ref=XY-12345",
    "/c size=4",
    "/c pin=1234",
    "/c card=123456789012",
]


@pytest.mark.parametrize("text", CONSTRAINT_OK)
def test_values_inside_constraints(types_registry, text: str) -> None:
    assert types_registry.parse(text, today=TODAY) is not None


CONSTRAINT_BROKEN = [
    ("/c n=0", "n", "n must be at least 1, got 0"),
    ("/c n=11", "n", "n must be at most 10, got 11"),
    ("/c x=-1.6", "x", "x must be at least -1.5"),
    ("/c x=2", "x", "x must be at most 1.5"),
    ("/c amount=0", "amount", "amount must be at least 0.01, got 0"),
    ("/c amount=100.01", "amount", "amount must be at most 100"),
    ("/c when=2025-12-31", "when", "when must be at least 2026-01-01, got 2025-12-31"),
    ("/c when=2027-01-01", "when", "when must be at most 2026-12-31"),
    ("/c wait=59s", "wait", "wait must be at least 1m, got 59s"),  # durations as typed, not seconds
    ("/c wait=1h0m1s", "wait", "wait must be at most 1h, got 1h1s"),
    ("/c tags=[]", "tags", "tags must be at least 1 items, got 0 items"),
    ("/c tags=[a, b, c, d]", "tags", "tags must be at most 3 items, got 4 items"),
    ("/c tags=[a, b] tags=[c, d]", "tags", "at most 3 items"),
    ("/c code=a", "code", "code must be at least 2 characters long"),
    ("/c code=abcde", "code", "code must be at most 4 characters long"),
    ("/c ref=ab-1", "ref", "ref must be in the expected format"),
    ("/c ref=XAB-1", "ref", "ref must be in the expected format"),  # full match, not search
    ("/c ref=AB-1x", "ref", "ref must be in the expected format"),
    ("/c size=3", "size", "size must be one of 1, 2, 4, got 3"),
]


@pytest.mark.parametrize(("text", "argument", "message"), CONSTRAINT_BROKEN)
def test_constraint_errors(types_registry, text: str, argument: str, message: str) -> None:
    diagnostic = error_of(types_registry, text)
    assert (diagnostic.code, diagnostic.argument) == ("constraint", argument)
    assert message in diagnostic.message
    assert diagnostic.column == text.index("=") + 2


def test_constraint_on_a_positional_points_at_it(sample_registry) -> None:
    diagnostic = error_of(sample_registry, "/refund 0 amount=1")
    assert (diagnostic.code, diagnostic.argument, diagnostic.column) == ("constraint", "order", 9)


# -- every bind error ----------------------------------------------------------------

BIND_ERRORS = [
    # (text, code, argument, column, words the message must hold)
    ("/refund 12345", "missing_argument", "amount", 14, ["amount", "decimal"]),
    ("/refund amount=5", "missing_argument", "order", 17, ["order"]),
    ("/refund 1 amont=5", "unknown_option", "amont", 11, ["Did you mean amount?"]),
    ("/refund 1 amount=5 --notfy", "unknown_option", "notfy", 20, ["Did you mean notify?"]),
    ("/refund 1 amount=5 colour=red", "unknown_option", "colour", 20, ["no option colour"]),
    ("/refund 1 2 amount=5", "too_many_positionals", None, 11, ['"2"']),
    ("/ping now", "too_many_positionals", None, 7, ['"now"']),
    ("/refund 1 amount=5 --reason", "not_a_flag", "reason", 20, ["reason=<str>"]),
    ("/refund 1 amount=5 --no-amount", "not_a_flag", "amount", 20, ["amount"]),
    ("/refund 1 amount=abc", "invalid_value", "amount", 18, ['amount must be a decimal number like 19.99, got "abc"']),
    ("/refund x amount=1", "invalid_value", "order", 9, ['order must be a whole number like 42, got "x"']),
    ("/refund 1 amount=0", "constraint", "amount", 18, ["at least 0.01"]),
    ("/refnd 1", "unknown_command", None, 2, ["did you mean /refund?"]),
    ("/stauts 1", "unknown_command", None, 2, ["did you mean /status?"]),
    ("/zzzzzz", "unknown_command", None, 2, ["/zzzzzz"]),
    ("/ticket", "unknown_command", None, 2, ["/ticket close"]),
    ("/refund 1 amount=1 amount=2", "duplicate_option", "amount", 20, ["amount"]),
    ("/refund 1 order=1 amount=2", "duplicate_option", "order", 11, ["order"]),
    ("/refund 1 amount=1 reason=a REASON=b", "duplicate_option", "reason", 29, ["reason"]),
    ("/refund 1 amount=1 --notify --no-notify", "duplicate_option", "notify", 29, ["notify"]),
    ("/refund 1 amount=1 notify=yes --notify", "duplicate_option", "notify", 31, ["notify"]),
]


@pytest.mark.parametrize(("text", "code", "argument", "column", "words"), BIND_ERRORS)
def test_bind_errors(sample_registry, text: str, code: str, argument, column: int, words: list[str]) -> None:
    diagnostic = error_of(sample_registry, text)
    assert (diagnostic.code, diagnostic.argument, diagnostic.column) == (code, argument, column), diagnostic.message
    for word in words:
        assert word.lower() in diagnostic.message.lower()


def test_syntax_errors_come_through_registry_parse(sample_registry) -> None:
    diagnostic = error_of(sample_registry, '/refund 1 reason="oops')
    assert (diagnostic.code, diagnostic.column) == ("unclosed_quote", 18)


def test_unknown_command_when_subcommand_is_unknown(sample_registry) -> None:
    diagnostic = error_of(sample_registry, "/ticket reopen 4")
    assert diagnostic.code == "unknown_command"
    assert "/ticket close" in diagnostic.message


def test_quoted_first_positional_does_not_select_a_subcommand(sample_registry) -> None:
    assert error_of(sample_registry, '/ticket "close" 4').code == "unknown_command"


# -- roles ---------------------------------------------------------------------------


def test_roles(sample_registry) -> None:
    assert sample_registry.parse("/refund 1 amount=1", role="agent").command == "refund"
    assert sample_registry.parse("/status 1", role="customer").command == "status"
    diagnostic = error_of(sample_registry, "/refund 1 amount=1", role="customer")
    assert (diagnostic.code, diagnostic.column) == ("not_allowed", 2)
    assert "agent" in diagnostic.message
    assert error_of(sample_registry, "/ticket close 1", role="customer").code == "not_allowed"


def test_unknown_command_suggests_only_what_the_role_may_run(sample_registry) -> None:
    assert "/refund" in error_of(sample_registry, "/refnd 1", role="agent").message
    assert "/refund" not in error_of(sample_registry, "/refnd 1", role="customer").message


# -- sensitive arguments ------------------------------------------------------------


def test_sensitive_args_are_masked_in_masked_args(sample_registry) -> None:
    call = sample_registry.parse("/callback +15551234567 card=4111111111111111 topic=billing")
    assert call.args["card"] == "4111111111111111"  # the real value is there to run the command
    masked = call.masked_args()
    assert masked["card"] == "****1111"
    assert "4111111111111111" not in str(masked)
    assert masked["phone"] == "+15551234567"
    assert masked["within"] == 14400


def test_short_sensitive_values_are_fully_masked(types_registry) -> None:
    assert types_registry.parse("/c pin=1234").masked_args()["pin"] == "****"
    assert types_registry.parse("/c").masked_args()["pin"] is None


@pytest.mark.parametrize("text", ["/callback 123456 card=41111111x1111111", "/callback 123456 card=4111"])
def test_sensitive_values_never_appear_in_errors(sample_registry, text: str) -> None:
    secret = text.split("card=")[1]
    diagnostic = error_of(sample_registry, text)
    assert diagnostic.argument == "card"
    assert secret not in diagnostic.message
    assert secret not in (diagnostic.hint or "")


@pytest.mark.parametrize("text", ["/c secret=12345678901234x", "/c card=98765", "/c pin=98765"])
def test_sensitive_values_never_appear_in_any_bind_error(types_registry, text: str) -> None:
    secret = text.split("=")[1]
    diagnostic = error_of(types_registry, text)
    assert secret not in diagnostic.message and secret not in (diagnostic.hint or "")
