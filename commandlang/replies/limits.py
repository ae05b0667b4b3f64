"""Channel limits and their enforcement: truncate with a visible marker, never fail at the user.

Lint checks the same limits against each command's examples (`replies.lint`),
so an author learns about a reply that is too big before a user sees it cut.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .model import Button, Card, Carousel, QuickReply, Reply

__all__ = [
    "ChannelLimits",
    "GENESYS_LIMITS",
    "TEXT_LIMITS",
    "JSON_LIMITS",
    "LIMITS",
    "MARKER",
    "enforce_limits",
    "shorten",
]

#: What a cut text ends with, so a reader sees that something is missing.
MARKER = "…"


@dataclass(frozen=True, slots=True)
class ChannelLimits:
    """What one channel can show. `None` means no limit."""

    channel: str
    max_text: int | None
    max_quick_replies: int | None
    max_quick_reply_label: int | None
    max_cards: int | None
    max_card_actions: int | None
    max_card_title: int | None
    max_card_description: int | None
    max_button_label: int | None
    max_attachments: int | None


# Sources (shared/genesys): textBody max 2000 characters on non-SMS channels
# (AdditionalMessage in openapi-subset.json); "Carousels hold at most 10 cards"
# (EXAMPLES.md). The other numbers are NOT in our Genesys sources: they are
# conservative assumptions (small enough for the Messenger widget), named
# here so one edit changes them everywhere.
GENESYS_LIMITS = ChannelLimits(
    channel="genesys",
    max_text=2000,
    max_quick_replies=10,  # assumed
    max_quick_reply_label=40,  # assumed
    max_cards=10,
    max_card_actions=3,  # assumed
    max_card_title=80,  # assumed
    max_card_description=300,  # assumed
    max_button_label=40,  # assumed
    max_attachments=5,  # assumed: each attachment is a message of its own
)

# The Genesys agent send endpoint (text only): the compiled text must fit in
# textBody's 2000 characters; compile_text enforces that on the whole text.
TEXT_LIMITS = ChannelLimits(
    channel="text",
    max_text=2000,
    max_quick_replies=20,
    max_quick_reply_label=80,
    max_cards=10,
    max_card_actions=5,
    max_card_title=200,
    max_card_description=500,
    max_button_label=80,
    max_attachments=10,
)

# The webhook channel and the demo page take what the model holds; a bound
# still keeps a runaway backend list from building a huge reply.
JSON_LIMITS = ChannelLimits(
    channel="json",
    max_text=10_000,
    max_quick_replies=50,
    max_quick_reply_label=None,
    max_cards=50,
    max_card_actions=20,
    max_card_title=None,
    max_card_description=None,
    max_button_label=None,
    max_attachments=50,
)

LIMITS = {"genesys": GENESYS_LIMITS, "text": TEXT_LIMITS, "json": JSON_LIMITS}


def shorten(text: str, limit: int | None) -> str:
    """`text` cut to at most `limit` characters, ending with the marker when cut."""
    if limit is None or len(text) <= limit:
        return text
    return text[: max(limit - len(MARKER), 0)].rstrip() + MARKER


def enforce_limits(reply: Reply, limits: ChannelLimits) -> tuple[Reply, list[str]]:
    """Fit `reply` into `limits`: (the reply as it will be sent, what was cut).

    Lists cut short leave a line "… N more not shown" in the text; long texts
    end with "…". The warnings are for logs and lint, never for the user.
    """
    warnings: list[str] = []
    notes: list[str] = []

    quick = reply.quick_replies
    if limits.max_quick_replies is not None and len(quick) > limits.max_quick_replies:
        dropped = len(quick) - limits.max_quick_replies
        quick = quick[: limits.max_quick_replies]
        warnings.append(
            f"{dropped} of {len(reply.quick_replies)} quick replies dropped ({limits.channel} shows at most {limits.max_quick_replies})"
        )
        notes.append(f"{MARKER} {dropped} more option{'s' if dropped != 1 else ''} not shown")
    quick = tuple(_quick(q, limits, warnings) for q in quick)

    cards, carousel = reply.cards, reply.carousel
    total = len(reply.all_cards())
    if limits.max_cards is not None and total > limits.max_cards:
        dropped = total - limits.max_cards
        keep = limits.max_cards
        cards = cards[:keep]
        if carousel is not None:
            carousel = Carousel(carousel.cards[: max(keep - len(cards), 0)]) if keep > len(cards) else None
        warnings.append(f"{dropped} of {total} cards dropped ({limits.channel} shows at most {limits.max_cards})")
        notes.append(f"{MARKER} {dropped} more card{'s' if dropped != 1 else ''} not shown")
    cards = tuple(_card(c, limits, warnings) for c in cards)
    if carousel is not None:
        carousel = Carousel(tuple(_card(c, limits, warnings) for c in carousel.cards))

    buttons = tuple(_button(b, limits.max_button_label, warnings) for b in reply.buttons)

    attachments = reply.attachments
    if limits.max_attachments is not None and len(attachments) > limits.max_attachments:
        dropped = len(attachments) - limits.max_attachments
        attachments = attachments[: limits.max_attachments]
        warnings.append(f"{dropped} attachments dropped ({limits.channel} sends at most {limits.max_attachments})")
        notes.append(f"{MARKER} {dropped} more attachment{'s' if dropped != 1 else ''} not shown")

    text = reply.text
    room = limits.max_text
    tail = "\n".join(notes)
    if notes and room is not None:
        room = max(room - len(tail) - 1, 0)
    body = shorten(text, room)
    if body != text:
        warnings.append(f"text cut to {room} characters ({len(text)} given)")
    text = (body + "\n" + tail if body else tail) if notes else body
    fitted = replace(
        reply, text=text, quick_replies=quick, cards=cards, carousel=carousel, buttons=buttons, attachments=attachments
    )
    return fitted, warnings


def _quick(item: QuickReply, limits: ChannelLimits, warnings: list[str]) -> QuickReply:
    label = shorten(item.label, limits.max_quick_reply_label)
    if label != item.label:
        warnings.append(f"quick reply label {item.label[:20]!r}… cut to {limits.max_quick_reply_label} characters")
        return replace(item, label=label)
    return item


def _button(item: Button, limit: int | None, warnings: list[str]) -> Button:
    label = shorten(item.label, limit)
    if label != item.label:
        warnings.append(f"button label {item.label[:20]!r}… cut to {limit} characters")
        return replace(item, label=label)
    return item


def _card(card: Card, limits: ChannelLimits, warnings: list[str]) -> Card:
    actions = card.actions
    description = card.description
    if limits.max_card_actions is not None and len(actions) > limits.max_card_actions:
        dropped = len(actions) - limits.max_card_actions
        actions = actions[: limits.max_card_actions]
        warnings.append(
            f"card {card.title[:20]!r}: {dropped} actions dropped ({limits.channel} shows at most {limits.max_card_actions})"
        )
        description = (
            (description + "\n") if description else ""
        ) + f"{MARKER} {dropped} more action{'s' if dropped != 1 else ''} not shown"
    actions = tuple(_button(a, limits.max_button_label, warnings) for a in actions)
    title = shorten(card.title, limits.max_card_title)
    if title != card.title:
        warnings.append(f"card title {card.title[:20]!r}… cut to {limits.max_card_title} characters")
    if description is not None:
        cut = shorten(description, limits.max_card_description)
        if cut != description:
            warnings.append(f"card {card.title[:20]!r}: description cut to {limits.max_card_description} characters")
        description = cut
    return replace(card, title=title, description=description, actions=actions)
