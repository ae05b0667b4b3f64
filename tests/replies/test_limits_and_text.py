"""Channel limits (truncate with a marker, never fail) and the text channel's numbered choices."""

from __future__ import annotations

import pytest

from commandlang.replies.compile_genesys import compile_genesys
from commandlang.replies.compile_text import compile_text, flatten_markdown, resolve_numbered_answer
from commandlang.replies.limits import GENESYS_LIMITS, MARKER, TEXT_LIMITS, enforce_limits
from commandlang.replies.model import Button, Card, Carousel, QuickReply, Reply


def quick(n: int) -> tuple[QuickReply, ...]:
    return tuple(QuickReply(f"Option {i}", f"/pick {i}") for i in range(1, n + 1))


def test_a_reply_within_limits_is_unchanged() -> None:
    reply = Reply(text="hi", quick_replies=quick(3))
    assert enforce_limits(reply, GENESYS_LIMITS) == (reply, [])


def test_too_many_quick_replies_are_cut_with_a_visible_note() -> None:
    fitted, warnings = enforce_limits(Reply(text="Pick one", quick_replies=quick(14)), GENESYS_LIMITS)
    assert len(fitted.quick_replies) == GENESYS_LIMITS.max_quick_replies == 10
    assert fitted.quick_replies[-1].payload == "/pick 10"  # the first ones are kept, in order
    assert fitted.text == f"Pick one\n{MARKER} 4 more options not shown"
    assert warnings == ["4 of 14 quick replies dropped (genesys shows at most 10)"]


def test_a_carousel_holds_at_most_ten_cards() -> None:
    cards = tuple(Card(f"Card {i}") for i in range(13))
    fitted, warnings = enforce_limits(Reply(text="x", cards=cards[:5], carousel=Carousel(cards[5:])), GENESYS_LIMITS)
    assert [c.title for c in fitted.all_cards()] == [f"Card {i}" for i in range(10)]
    assert "3 more cards not shown" in fitted.text
    content = compile_genesys(Reply(text="x", cards=cards))[0]["content"]
    assert len(content[0]["carousel"]["cards"]) == 10


def test_long_texts_and_labels_end_with_the_marker() -> None:
    reply = Reply(
        text="a" * 2500,
        quick_replies=(QuickReply("L" * 60, "/x"),),
        cards=(
            Card(
                "T" * 100,
                description="d" * 400,
                actions=tuple(Button("postback", f"b{i}", payload="/b") for i in range(5)),
            ),
        ),
    )
    fitted, warnings = enforce_limits(reply, GENESYS_LIMITS)
    assert len(fitted.text) == 2000 and fitted.text.endswith(MARKER)
    assert len(fitted.quick_replies[0].label) == 40 and fitted.quick_replies[0].label.endswith(MARKER)
    card = fitted.cards[0]
    assert len(card.title) == 80 and card.title.endswith(MARKER)
    assert len(card.actions) == 3
    assert len(card.description) <= 300 and card.description.endswith(MARKER)
    assert len(warnings) == 5


def test_the_text_channel_never_exceeds_2000_characters() -> None:
    reply = Reply(
        text="word " * 1000,
        quick_replies=quick(20),
        cards=tuple(Card(f"Card {i}", description="x" * 400) for i in range(10)),
    )
    text = compile_text(reply)
    assert len(text) <= TEXT_LIMITS.max_text
    assert MARKER in text


def test_the_text_channel_keeps_the_choices_when_the_text_is_long() -> None:
    text = compile_text(Reply(text="x" * 5000, quick_replies=quick(2)))
    assert len(text) <= 2000
    assert text.endswith("1. Option 1 (/pick 1)\n2. Option 2 (/pick 2)")


def test_quick_replies_become_a_numbered_list() -> None:
    text = compile_text(
        Reply(
            text="Refund R-1 created.",
            quick_replies=(QuickReply("Order status", "/status 7"), QuickReply("Undo", "/refund.cancel R-1")),
        )
    )
    assert (
        text
        == "Refund R-1 created.\n\nReply with a number or type the command:\n1. Order status (/status 7)\n2. Undo (/refund.cancel R-1)"
    )


def test_cards_become_title_description_and_links() -> None:
    card = Card(
        "Blue mug",
        description="2 items",
        actions=(
            Button("link", "Track", url="https://t.example/1"),
            Button("postback", "Reorder", payload="/reorder 1"),
        ),
    )
    assert compile_text(Reply(cards=(card,))) == (
        "Blue mug\n2 items\nTrack: https://t.example/1\n1. Reorder (/reorder 1)\n\nReply with a number or type the command above."
    )


def test_markdown_is_flattened_for_text() -> None:
    assert (
        flatten_markdown("**Refund** _R-1_ [details](https://e.com/r) `code`")
        == "Refund R-1 details (https://e.com/r) code"
    )
    assert compile_text(Reply(text="# Title\n**bold**", format="markdown")) == "Title\nbold"
    assert compile_text(Reply(text="**kept**")) == "**kept**"  # plain text is not touched


@pytest.mark.parametrize(
    ("answer", "payload"),
    [
        ("2", "/pick 2"),
        (" 1. ", "/pick 1"),
        ("3)", "/pick 3"),
        ("option 2", "/pick 2"),
        ("4", None),
        ("0", None),
        ("two", None),
        ("/pick 1", None),
        ("", None),
    ],
)
def test_numbered_answers_pick_the_choice(answer: str, payload: str | None) -> None:
    assert resolve_numbered_answer(answer, Reply(text="x", quick_replies=quick(3))) == payload


def test_numbers_match_what_the_text_channel_printed_after_cutting() -> None:
    crowded = Card("c", actions=tuple(Button("postback", f"a{i}", payload=f"/a {i}") for i in range(7)))
    reply = Reply(text="x", cards=(crowded,), quick_replies=(QuickReply("Q", "/q"),))
    text = compile_text(reply)
    assert "6. Q (/q)" in text  # 5 card actions shown (text limit), then the quick reply
    assert resolve_numbered_answer("6", reply) == "/q"
    assert resolve_numbered_answer("1", None) is None


def test_a_newline_in_a_label_does_not_break_the_numbered_list() -> None:
    text = compile_text(Reply(text="x", quick_replies=(QuickReply("two\nlines", "/a\nb"), QuickReply("next", "/n"))))
    assert text.splitlines()[-2:] == ["1. two lines (/a b)", "2. next (/n)"]


def test_the_json_form_is_limited_only_against_runaway_lists() -> None:
    from commandlang.replies.compile_json import compile_json

    body = compile_json(Reply(text="x", quick_replies=quick(60)))
    assert len(body["quick_replies"]) == 50 and body["text"].endswith("10 more options not shown")
    assert compile_json(Reply(text="y")) == Reply(text="y").to_json()
