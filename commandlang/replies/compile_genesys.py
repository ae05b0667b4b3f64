"""Reply -> Genesys Bot Connector `replyMessages`, as shared/genesys documents them.

Shapes (shared/genesys/EXAMPLES.md, openapi-subset.json `ReplyMessage`,
`WebMessagingContent`, `ContentCard`, `ContentCardAction`, `ContentCarousel`,
`WebMessagingAttachment`):

- a message is `{"type": "Structured", "text": ..., "content": [...]}`, or
  `{"type": "Text", "text": ...}` when there is no content;
- `QuickReply` needs `text` and `payload` (we always send `action: "Message"`);
- `Card` needs `title` and `actions` (an empty list when there are none);
  an action's `type` is `Link` (with `url`) or `Postback` (with `payload`);
- `Carousel` holds at most 10 cards;
- an `Attachment` is the only item of its message, and that message is of
  type `Text` (the DBC spec: "attachments require the type set as Text
  instead of Structured"; Genesys refuses the whole answer otherwise), with
  the text as its caption (required in a Text message) and the attachment's
  `id`, `url`, `filename` and `mediaType` (all required), `mime` when known.

How the model maps onto that:

- one message carries the text, the card or carousel and the quick replies;
  one card is a `Card`, two or more (or an explicit carousel) a `Carousel`;
- standalone `buttons` become a card titled "Options" (Genesys has no
  standalone buttons) placed before the other cards; the text stays in the
  message;
- each attachment follows in a message of its own.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from .limits import GENESYS_LIMITS, ChannelLimits, enforce_limits
from .model import Attachment, Button, Card, Reply

__all__ = ["compile_genesys", "bot_connector_response"]

BotState = Literal["MoreData", "Complete", "Failed"]

#: The title of the card that carries a reply's standalone buttons.
BUTTONS_TITLE = "Options"


def compile_genesys(reply: Reply, limits: ChannelLimits = GENESYS_LIMITS) -> list[dict[str, Any]]:
    """The `replyMessages` entries for one reply, after fitting it into `limits`."""
    fitted, _ = enforce_limits(reply, limits)
    cards = list(fitted.all_cards())
    text = fitted.text
    if fitted.buttons:
        # The buttons card never takes its title from the text: a newline in a user's value
        # must not turn into a title/description split (the structure would depend on input).
        cards.insert(0, Card(title=BUTTONS_TITLE, actions=fitted.buttons))
        if limits.max_cards is not None and len(cards) > limits.max_cards:
            cards = cards[: limits.max_cards]

    content: list[dict[str, Any]] = []
    if len(cards) == 1 and fitted.carousel is None:
        content.append({"contentType": "Card", "card": _card(cards[0])})
    elif cards:
        content.append({"contentType": "Carousel", "carousel": {"cards": [_card(c) for c in cards]}})
    for quick in fitted.quick_replies:
        item: dict[str, Any] = {"text": quick.label, "payload": quick.payload}
        if quick.image:
            item["image"] = quick.image
        item["action"] = "Message"
        content.append({"contentType": "QuickReply", "quickReply": item})

    messages: list[dict[str, Any]] = []
    if content:
        message: dict[str, Any] = {"type": "Structured"}
        if text:
            message["text"] = text
        message["content"] = content
        messages.append(message)
    elif text:
        messages.append({"type": "Text", "text": text})
    for attachment in fitted.attachments:
        item = _attachment(attachment)
        messages.append(
            {"type": "Text", "text": item["filename"], "content": [{"contentType": "Attachment", "attachment": item}]}
        )
    return messages


def bot_connector_response(
    replies: list[Reply],
    *,
    state: BotState = "MoreData",
    intent: str | None = None,
    limits: ChannelLimits = GENESYS_LIMITS,
) -> dict[str, Any]:
    """The body a Bot Connector bot answers with: `botState` and `replyMessages` (camel case)."""
    body: dict[str, Any] = {
        "botState": state,
        "replyMessages": [m for r in replies for m in compile_genesys(r, limits)],
    }
    if intent is not None:
        body["intent"] = intent
        body["confidence"] = 1.0
    return body


def _action(button: Button) -> dict[str, Any]:
    if button.kind == "link":
        return {"type": "Link", "text": button.label, "url": button.url}
    return {"type": "Postback", "text": button.label, "payload": button.payload}


def _card(card: Card) -> dict[str, Any]:
    out: dict[str, Any] = {"title": card.title}
    if card.description:
        out["description"] = card.description
    if card.image:
        out["image"] = card.image
    if card.default_action is not None:
        out["defaultAction"] = _action(card.default_action)
    out["actions"] = [_action(a) for a in card.actions]
    return out


def _attachment(attachment: Attachment) -> dict[str, Any]:
    # The spec calls `id` "provider specific" (e.g. a LINE sticker id) and requires it; we have none, so
    # it is derived from the URL: the same file keeps the same id. A missing filename is the URL's last
    # path segment (the spec requires one too).
    path = urlsplit(attachment.url).path.rstrip("/")
    filename = attachment.filename or unquote(path.rsplit("/", 1)[-1]) or "attachment"
    out: dict[str, Any] = {
        "id": hashlib.sha256(attachment.url.encode()).hexdigest()[:32],
        "mediaType": attachment.media_type,
        "url": attachment.url,
        "filename": filename,
    }
    if attachment.mime:
        out["mime"] = attachment.mime
    return out
