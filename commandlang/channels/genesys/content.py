"""Genesys structured content and the Bot Connector request/response (typed, pure).

Shapes from `shared/genesys/EXAMPLES.md` and the openapi subset
(`ConversationMessageContent`, `ConversationContentQuickReply`,
`ConversationContentCard`, `ConversationContentCarousel`,
`ConversationContentAttachment`, `ConversationContentButtonResponse`,
`ReplyMessage`). The Bot Connector request, answer and bot list are in
`botmodels.py`. `from_json` rejects what
Genesys would reject; `to_json` writes the camel-case field names Genesys uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Union

from ._validate import ModelError, drop_none, obj, opt_enum, opt_list, opt_str, req_enum, req_str

__all__ = [
    "QuickReply",
    "CardAction",
    "Card",
    "Carousel",
    "Attachment",
    "ButtonResponse",
    "ContentItem",
    "content_from_json",
    "ReplyMessage",
    "InputMessage",
    "BOT_STATES",
    "MAX_CAROUSEL_CARDS",
]

MAX_CAROUSEL_CARDS = 10
BOT_STATES = ("MoreData", "Complete", "Failed")
MESSAGE_TYPES = ("Text", "Structured", "Receipt", "Event", "Message", "Unknown")


@dataclass(frozen=True, slots=True)
class QuickReply:
    """A button under a bot message; pressing it sends `payload` back as a ButtonResponse."""

    text: str
    payload: str
    image: str | None = None
    action: str | None = "Message"  # we always send it; Genesys's own examples leave it out (None: absent)

    @classmethod
    def from_json(cls, data: Any, where: str = "quickReply") -> QuickReply:
        d = obj(data, where)
        return cls(
            req_str(d, "text", where, allow_empty=False),
            req_str(d, "payload", where),
            opt_str(d, "image", where),
            opt_enum(d, "action", where, ("Message",)),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "contentType": "QuickReply",
            "quickReply": drop_none(
                {"text": self.text, "payload": self.payload, "image": self.image, "action": self.action}
            ),
        }


@dataclass(frozen=True, slots=True)
class CardAction:
    """A card button: `Link` opens `url`, `Postback` sends `payload` back."""

    type: str
    text: str | None = None
    payload: str | None = None
    url: str | None = None

    @classmethod
    def from_json(cls, data: Any, where: str = "action") -> CardAction:
        d = obj(data, where)
        kind = req_enum(d, "type", where, ("Link", "Postback"))
        action = cls(kind, opt_str(d, "text", where), opt_str(d, "payload", where), opt_str(d, "url", where))
        if kind == "Link" and not action.url:
            raise ModelError(f"{where}.url is required for a Link action")
        if kind == "Postback" and action.payload is None:
            raise ModelError(f"{where}.payload is required for a Postback action")
        return action

    def to_json(self) -> dict[str, Any]:
        return drop_none({"type": self.type, "text": self.text, "payload": self.payload, "url": self.url})


@dataclass(frozen=True, slots=True)
class Card:
    """A card: title, optional description and image, and its actions."""

    title: str
    actions: tuple[CardAction, ...]
    description: str | None = None
    image: str | None = None
    default_action: CardAction | None = None

    @classmethod
    def from_json(cls, data: Any, where: str = "card") -> Card:
        d = obj(data, where)
        if "actions" not in d:
            raise ModelError(f"{where}.actions is required")
        actions = tuple(
            CardAction.from_json(a, f"{where}.actions[{i}]") for i, a in enumerate(opt_list(d, "actions", where))
        )
        default = d.get("defaultAction")
        return cls(
            req_str(d, "title", where, allow_empty=False),
            actions,
            opt_str(d, "description", where),
            opt_str(d, "image", where),
            CardAction.from_json(default, f"{where}.defaultAction") if default is not None else None,
        )

    def card_json(self) -> dict[str, Any]:
        """The card object alone (inside a Card item or a carousel)."""
        return drop_none(
            {
                "title": self.title,
                "description": self.description,
                "image": self.image,
                "defaultAction": self.default_action.to_json() if self.default_action else None,
                "actions": [a.to_json() for a in self.actions],
            }
        )

    def to_json(self) -> dict[str, Any]:
        return {"contentType": "Card", "card": self.card_json()}


@dataclass(frozen=True, slots=True)
class Carousel:
    """Up to ten cards side by side."""

    cards: tuple[Card, ...]

    @classmethod
    def from_json(cls, data: Any, where: str = "carousel") -> Carousel:
        d = obj(data, where)
        if "cards" not in d:
            raise ModelError(f"{where}.cards is required")
        cards = tuple(Card.from_json(c, f"{where}.cards[{i}]") for i, c in enumerate(opt_list(d, "cards", where)))
        if not cards or len(cards) > MAX_CAROUSEL_CARDS:
            raise ModelError(f"{where}.cards: a carousel holds 1 to {MAX_CAROUSEL_CARDS} cards, got {len(cards)}")
        return cls(cards)

    def to_json(self) -> dict[str, Any]:
        return {"contentType": "Carousel", "carousel": {"cards": [c.card_json() for c in self.cards]}}


@dataclass(frozen=True, slots=True)
class Attachment:
    """An image (or other media) shown in the conversation; the only item of its message."""

    media_type: str
    url: str | None = None
    mime: str | None = None
    filename: str | None = None
    text: str | None = None
    id: str | None = None

    @classmethod
    def from_json(cls, data: Any, where: str = "attachment") -> Attachment:
        d = obj(data, where)
        return cls(
            req_enum(d, "mediaType", where, ("Image", "Video", "Audio", "File", "Link")),
            opt_str(d, "url", where),
            opt_str(d, "mime", where),
            opt_str(d, "filename", where),
            opt_str(d, "text", where),
            opt_str(d, "id", where),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "contentType": "Attachment",
            "attachment": drop_none(
                {
                    "id": self.id,
                    "mediaType": self.media_type,
                    "url": self.url,
                    "mime": self.mime,
                    "filename": self.filename,
                    "text": self.text,
                }
            ),
        }


@dataclass(frozen=True, slots=True)
class ButtonResponse:
    """What a customer's button press sends back; `payload` is the command to run."""

    text: str
    payload: str
    type: str = "QuickReply"
    originating_message_id: str | None = None

    @classmethod
    def from_json(cls, data: Any, where: str = "buttonResponse") -> ButtonResponse:
        d = obj(data, where)
        return cls(
            req_str(d, "text", where),
            req_str(d, "payload", where),
            opt_enum(d, "type", where, ("Button", "QuickReply", "DatePicker", "ListPicker", "Form")) or "QuickReply",
            opt_str(d, "originatingMessageId", where),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "contentType": "ButtonResponse",
            "buttonResponse": drop_none(
                {
                    "type": self.type,
                    "text": self.text,
                    "payload": self.payload,
                    "originatingMessageId": self.originating_message_id,
                }
            ),
        }


ContentItem = Union[QuickReply, Card, Carousel, Attachment, ButtonResponse]
_CONTENT_TYPES: dict[str, tuple[str, Any]] = {
    "QuickReply": ("quickReply", QuickReply),
    "Card": ("card", Card),
    "Carousel": ("carousel", Carousel),
    "Attachment": ("attachment", Attachment),
    "ButtonResponse": ("buttonResponse", ButtonResponse),
}


def content_from_json(data: Any, where: str = "content") -> ContentItem:
    """One `ConversationMessageContent` item of a kind commandlang sends or receives."""
    d = obj(data, where)
    kind = req_enum(d, "contentType", where, _CONTENT_TYPES)
    key, model = _CONTENT_TYPES[kind]
    if key not in d:
        raise ModelError(f"{where}.{key} is required when contentType is {kind}")
    return model.from_json(d[key], f"{where}.{key}")


def _content_list(d: Mapping[str, Any], where: str) -> tuple[ContentItem, ...]:
    return tuple(content_from_json(c, f"{where}.content[{i}]") for i, c in enumerate(opt_list(d, "content", where)))


@dataclass(frozen=True, slots=True)
class ReplyMessage:
    """One message of a bot's answer: `Text`, or `Structured` with `content` items."""

    type: str
    text: str | None = None
    content: tuple[ContentItem, ...] = ()

    @classmethod
    def from_json(cls, data: Any, where: str = "replyMessages[]") -> ReplyMessage:
        d = obj(data, where)
        raw_type = req_str(d, "type", where)
        kind = raw_type[:1].upper() + raw_type[1:].lower()  # samples write "text"/"structured"
        if kind not in MESSAGE_TYPES:
            raise ModelError(f"{where}.type: {raw_type!r} is not one of {', '.join(MESSAGE_TYPES)}")
        message = cls(kind, opt_str(d, "text", where), _content_list(d, where))
        if kind == "Text" and not message.text:  # "Yes if using 'Text' type" (DBC spec), captions included
            raise ModelError(f"{where}.text is required for a Text message")
        attachments = [c for c in message.content if isinstance(c, Attachment)]
        if attachments and len(message.content) > 1:
            raise ModelError(f"{where}.content: an Attachment must be the only item of its message")
        # The DBC spec: "attachments require the type set as Text instead of Structured" (an answer that
        # breaks this is refused whole), and an attachment's id, url and filename are required.
        if attachments and kind != "Text":
            raise ModelError(f"{where}: an Attachment travels in a message of type Text, not {kind}")
        for attachment in attachments:
            missing = [name for name in ("id", "url", "filename") if not getattr(attachment, name)]
            if missing:
                raise ModelError(f"{where}.content[0].attachment: {', '.join(missing)} required in a bot message")
        if kind == "Structured" and not message.content and not message.text:
            raise ModelError(f"{where}: a Structured message needs text or content")
        return message

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.type}
        if self.text is not None:
            data["text"] = self.text
        if self.content:
            data["content"] = [c.to_json() for c in self.content]
        return data


@dataclass(frozen=True, slots=True)
class InputMessage:
    """The customer's message as Genesys hands it to a bot."""

    type: str
    text: str | None = None
    content: tuple[ContentItem, ...] = ()

    @classmethod
    def from_json(cls, data: Any, where: str = "inputMessage") -> InputMessage:
        d = obj(data, where)
        kind = req_enum(d, "type", where, MESSAGE_TYPES)
        return cls(kind, opt_str(d, "text", where), _content_list(d, where))

    def to_json(self) -> dict[str, Any]:
        return ReplyMessage.to_json(self)  # type: ignore[arg-type]  # same shape

    def command_text(self) -> str:
        """The text to run: a button press's payload, else the typed text."""
        for item in self.content:
            if isinstance(item, ButtonResponse):
                return item.payload
        return self.text or ""
