"""The reply model: what a template may produce, and the JSON form."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from commandlang.replies.model import Button, Card, QuickReply, Reply, ReplyShapeError, reply_from_structure

FULL = {
    "text": "Refund **R-1** created",
    "format": "markdown",
    "quick_replies": [{"label": "Order status", "payload": "/status 7"}],
    "buttons": [
        {"kind": "postback", "label": "Undo", "payload": "/refund.cancel R-1"},
        {"kind": "link", "label": "Details", "url": "https://example.com/r/1"},
    ],
    "cards": [
        {
            "title": "Mug",
            "description": "2 items",
            "image": "https://example.com/m.png",
            "default_action": {"kind": "link", "label": "Open", "url": "https://example.com/m"},
            "actions": [{"kind": "postback", "label": "Buy again", "payload": "/reorder 1"}],
        }
    ],
    "carousel": {"cards": [{"title": "Tea", "actions": []}]},
    "attachments": [
        {"url": "https://example.com/r.png", "media_type": "Image", "filename": "r.png", "mime": "image/png"}
    ],
}


def test_full_structure_round_trips_through_the_json_form() -> None:
    reply = reply_from_structure(FULL)
    assert reply_from_structure(reply.to_json()) == reply
    assert reply.quick_replies == (QuickReply("Order status", "/status 7"),)
    assert reply.buttons[1] == Button("link", "Details", url="https://example.com/r/1")
    assert reply.cards[0].actions == (Button("postback", "Buy again", payload="/reorder 1"),)
    assert [c.title for c in reply.all_cards()] == ["Mug", "Tea"]


def test_a_bare_string_is_a_text_reply() -> None:
    assert reply_from_structure("hello") == Reply(text="hello")


def test_scalars_in_text_fields_show_their_json_text() -> None:
    reply = reply_from_structure(
        {"text": Decimal("19.90"), "quick_replies": [{"label": 7, "payload": date(2026, 1, 31)}]}
    )
    assert reply.text == "19.90"
    assert reply.quick_replies[0] == QuickReply("7", "2026-01-31")


def test_payload_defaults_to_the_label() -> None:
    assert reply_from_structure({"quick_replies": [{"label": "yes"}]}).quick_replies[0].payload == "yes"


@pytest.mark.parametrize(
    ("structure", "path", "problem"),
    [
        ({"txt": "x"}, "txt", "unknown key"),
        ({"text": {"a": 1}}, "text", "must be a text, not a mapping"),
        ({"text": ["a"]}, "text", "must be a text, not a list"),
        ({"quick_replies": [{"payload": "/x"}]}, "quick_replies[0].label", "is required"),
        ({"quick_replies": {"label": "x"}}, "quick_replies", "must be a list"),
        ({"cards": [{"description": "no title"}]}, "cards[0].title", "is required"),
        ({"cards": [{"title": "  "}]}, "cards[0].title", "must not be empty"),
        ({"buttons": [{"kind": "link", "label": "Go"}]}, "buttons[0].url", "is required"),
        ({"buttons": [{"kind": "call", "label": "Go"}]}, "buttons[0].kind", "must be postback or link"),
        (
            {"attachments": [{"url": "https://e/x", "media_type": "Hologram"}]},
            "attachments[0].media_type",
            "must be one of",
        ),
        ({"text": "x", "format": "html"}, "format", "must be plain or markdown"),
        ({}, "", "the reply is empty"),
        (42, "", "must be a mapping or a text"),
    ],
)
def test_invalid_structures_name_the_path_and_the_problem(structure: object, path: str, problem: str) -> None:
    with pytest.raises(ReplyShapeError) as caught:
        reply_from_structure(structure)
    assert caught.value.path == path
    assert problem in str(caught.value)


def test_choices_follow_reading_order() -> None:
    reply = Reply(
        text="x",
        cards=(Card("c", actions=(Button("postback", "In card", payload="/a"), Button("link", "L", url="https://l"))),),
        buttons=(Button("postback", "Button", payload="/b"),),
        quick_replies=(QuickReply("Quick", "/c"),),
    )
    assert reply.choices() == (("In card", "/a"), ("Button", "/b"), ("Quick", "/c"))


def test_replies_are_frozen() -> None:
    with pytest.raises(AttributeError):
        Reply(text="x").text = "y"  # type: ignore[misc]
