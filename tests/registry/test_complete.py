"""`Registry.complete`: suggestions at the cursor (language.md section 4), over the sample registry."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import commandlang
from commandlang import Suggestion
from tests.conftest import SAMPLE

# Points a person reaches while typing the sample commands; `|` marks the cursor (the end when absent).
CURSOR_POINTS = [
    "",
    "/",
    "/r",
    "/REF",
    "/w",
    "/ti",
    "/ticket ",
    "/ticket cl",
    "/ticket close 4821 ",
    "/ticket close 4821 resolution=",
    "/ticket close 4821 resolution=d",
    "/ticket close 4821 tags=[billing, r",
    "/ticket.close 4821 no",
    "/refund ",
    "/refund 12345 ",
    "/refund 12345 a",
    "/refund 12345 amount=",
    "/refund 12345 amount = ",
    "/refund 12345 amount=19.99 ",
    "/refund 12345 amount=19.99 --",
    "/refund 12345 amount=19.99 --notify=",
    '/refund 12345 amount=19.99 reason="damaged it',
    "/rf 7 ",
    "/callback ",
    '/callback "+44 20 7946 0000" ',
    '/callback "+44 20 7946 0000" topic=',
    "/callback +15551234567 topic='ret",
    "/callback +15551234567 within=",
    "/address 12345 street=x ",
    "/help ",
    "/help re",
    "/ping ",
    "/unknown ",
    "/refund| 12345",
    "/refund 12345 amo|unt=5",
    "hello there",
    "  /st",
]


def _at(text: str) -> tuple[str, int | None]:
    if "|" in text:
        return text.replace("|", ""), text.index("|")
    return text, None


def _show(registry: commandlang.Registry, point: str, role: str | None = "agent") -> dict:
    text, cursor = _at(point)
    found = registry.completion(text, cursor, role=role)
    return {
        "replace": [found.start, found.end, text[found.start : found.end]],
        "usage": found.usage,
        "suggestions": [f"{s.kind:8} {s.label!r} -> {s.insert!r} | {s.detail}" for s in found.suggestions],
    }


@pytest.mark.parametrize("point", CURSOR_POINTS)
def test_suggestions_at_each_cursor_point(sample_registry: commandlang.Registry, point: str, snapshot) -> None:
    assert _show(sample_registry, point) == snapshot


def test_the_spec_examples(sample_registry: commandlang.Registry) -> None:
    first = sample_registry.complete("/ref", role="agent")[0]
    assert first == Suggestion(label="/refund", insert="/refund ", detail="Refund an order", kind="command")
    choices = sample_registry.complete("/ticket close 1 resolution=", role="agent")
    assert [(s.label, s.insert, s.kind) for s in choices] == [
        ("solved", "solved", "choice"),
        ("duplicate", "duplicate", "choice"),
        ("no-response", "no-response", "choice"),
        ("wont-fix", "wont-fix", "choice"),
    ]


def test_a_customer_is_offered_only_what_a_customer_may_run(sample_registry: commandlang.Registry) -> None:
    labels = [s.label for s in sample_registry.complete("/", role="customer")]
    assert "/refund" not in labels and "/rf" not in labels and "/ticket.close" not in labels
    assert {"/status", "/where", "/order", "/callback", "/help"} <= set(labels)
    assert sample_registry.complete("/refund 1 ", role="customer") == []
    assert sample_registry.complete("/ticket cl", role="customer") == []
    everyone = [s.label for s in sample_registry.complete("/", role=None)]
    assert "/refund" in everyone


def test_aliases_are_offered_and_complete_like_their_command(sample_registry: commandlang.Registry) -> None:
    found = sample_registry.complete("/wh", role="customer")
    assert found == [Suggestion("/where", "/where ", "Show an order's status (alias of /status)", "command")]
    assert sample_registry.completion("/rf 1 ", role="agent").usage == sample_registry.completion("/refund 1 ").usage


def test_required_arguments_come_first_and_given_ones_go(sample_registry: commandlang.Registry) -> None:
    labels = [s.label for s in sample_registry.complete("/address 1 ", role="agent")]
    assert labels[:3] == ["street=", "city=", "postcode="]
    after = [s.label for s in sample_registry.complete("/address 1 city=Leeds street='1 High St' ", role="agent")]
    assert "city=" not in after and "street=" not in after and after[0] == "postcode="


def test_insert_replaces_exactly_the_current_token(sample_registry: commandlang.Registry) -> None:
    # applying a suggestion as an editor would gives text the parser accepts
    text = "/ticket close 4821 resolution=dup"
    found = sample_registry.completion(text, role="agent")
    applied = text[: found.start] + found.suggestions[0].insert + text[found.end :]
    assert applied == "/ticket close 4821 resolution=duplicate"
    assert sample_registry.parse(applied).args["resolution"] == "duplicate"
    text = "/callback 1 topic=\u201cbil"  # a phone's typographic quote: replaced with the choice
    found = sample_registry.completion(text)
    assert text[found.start :] == "\u201cbil" and found.suggestions[0].insert == "billing"


def test_the_cursor_inside_the_text_ignores_what_follows(sample_registry: commandlang.Registry) -> None:
    text = "/callback 1 topic= within=1h"
    found = sample_registry.completion(text, text.index(" within"))
    assert [s.label for s in found.suggestions][0] == "billing"
    assert found.end == text.index(" within")


@given(text=st.text(), cursor=st.one_of(st.none(), st.integers(-(10**6), 10**6)))
def test_complete_never_raises(text: str, cursor: int | None) -> None:
    registry = _registry()
    for prefix in ("", "/", "/refund ", "/ticket close 1 ", "/callback 1 topic="):
        found = registry.completion(prefix + text, cursor, role="agent")
        assert 0 <= found.start <= found.end <= len(prefix + text)
        assert all(isinstance(s, Suggestion) for s in found.suggestions)


_PIECES = list("/refund tickt.close=[]\"'\u201c\u00a0-,12ab\\ ") + [
    "--",
    "= ",
    "--no-",
    "topic=",
    "tags=[",
    "refund ",
    "ticket ",
    "close ",
    "callback ",
    "help ",
]


@given(text=st.lists(st.sampled_from(_PIECES), max_size=30).map("".join))
def test_complete_never_raises_on_command_like_text(text: str) -> None:
    registry = _registry()
    for cursor in range(len(text) + 1):
        found = registry.completion("/" + text, cursor)
        assert found.start <= found.end == min(cursor, len(text) + 1)


def test_odd_inputs_are_simply_no_suggestions(sample_registry: commandlang.Registry) -> None:
    assert sample_registry.complete(None) == []  # type: ignore[arg-type]
    assert sample_registry.complete("/refund 1", cursor="3") == sample_registry.complete("/refund 1")  # type: ignore[arg-type]
    assert sample_registry.complete("/ref", cursor=-5) == sample_registry.complete("")
    assert sample_registry.complete("/ref", cursor=99) == sample_registry.complete("/ref")


_CACHE: dict[str, commandlang.Registry] = {}


def _registry() -> commandlang.Registry:
    if "sample" not in _CACHE:
        _CACHE["sample"] = commandlang.load_registry(SAMPLE, env={})
    return _CACHE["sample"]


def test_details_follow_the_language_and_names_do_not(sample_registry) -> None:
    english = {s.label: s for s in sample_registry.complete("/refund 7 ", role="agent")}
    german = {s.label: s for s in sample_registry.complete("/refund 7 ", role="agent", language="de-AT")}
    assert german.keys() == english.keys()  # the same names and inserts in every language
    assert [s.insert for s in german.values()] == [s.insert for s in english.values()]
    assert "Zu erstattender Betrag" in german["amount="].detail and "Amount to refund" in english["amount="].detail
    names = {s.label: s.detail for s in sample_registry.complete("/r", role="agent", language="de")}
    assert names["/refund"] == "Eine Bestellung erstatten"
    assert names["/rf"] == "Eine Bestellung erstatten (alias of /refund)"
    assert sample_registry.complete("/r", language="xx") == sample_registry.complete("/r")  # undeclared: the default
