"""The channel-neutral reply: frozen dataclasses, validated from a rendered template.

A reply template (YAML, rendered by `TemplateEngine`) produces a plain
structure; `reply_from_structure` checks it and builds a `Reply`. The shape
of that structure is also the JSON form (`Reply.to_json()`) that the webhook
channel and the local demo page receive, so the two round-trip::

    text: "Refund R-1 created"           # plain text, or simple markdown with format: markdown
    format: plain                        # plain | markdown
    quick_replies:                       # label + payload (usually another command)
      - {label: Order status, payload: /status 123}
    buttons:                             # standalone buttons
      - {kind: postback, label: Undo, payload: /refund.cancel R-1}
      - {kind: link, label: Details, url: https://example.com/r/1}
    cards:                               # one card, or several (shown as a carousel)
      - {title: ..., description: ..., image: https://..., default_action: {kind: link, url: ...},
         actions: [{kind: postback, label: ..., payload: ...}]}
    carousel: {cards: [...]}             # an explicit carousel
    attachments:
      - {url: https://..., media_type: Image, filename: r.png, mime: image/png}

Compilers (`compile_genesys`, `compile_text`) turn a `Reply` into what a
channel sends.

Links are checked here, the one place every rendered reply passes before any
channel's compiler sees it: a link button, a card's image or default action,
a quick reply's image, an attachment, and a markdown `[label](url)` whose URL
breaks the rule of `scrub.is_allowed_link` (https; http only to a loopback
host) is dropped (the markdown link keeps its label), and the rest of the
reply stays. A `javascript:` or `data:` URL from backend data never goes out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

from ..registry.types import to_json
from .scrub import is_allowed_link
from ..errors import CommandlangError

__all__ = [
    "Attachment",
    "Button",
    "Card",
    "Carousel",
    "QuickReply",
    "Reply",
    "ReplyShapeError",
    "REPLY_KEYS",
    "reply_from_structure",
]

TextFormat = Literal["plain", "markdown"]
ButtonKind = Literal["postback", "link"]
MEDIA_TYPES = ("Image", "Video", "Audio", "File", "Link")  # Genesys WebMessagingAttachment.mediaType

#: The keys a reply structure may have at the top level.
REPLY_KEYS = ("text", "format", "quick_replies", "buttons", "cards", "carousel", "attachments")


class ReplyShapeError(CommandlangError, ValueError):
    """A rendered structure that is not a reply; the message names the path (`cards[0].title`)."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}" if path else problem)
        self.path = path
        self.problem = problem


@dataclass(frozen=True, slots=True)
class QuickReply:
    """A one-tap answer: `label` is shown, `payload` is sent back (usually a command)."""

    label: str
    payload: str
    image: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"label": self.label, "payload": self.payload}
        if self.image is not None:
            out["image"] = self.image
        return out


@dataclass(frozen=True, slots=True)
class Button:
    """A postback button (sends `payload`) or a link button (opens `url`)."""

    kind: ButtonKind
    label: str
    payload: str | None = None
    url: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "label": self.label}
        if self.kind == "postback":
            out["payload"] = self.payload
        else:
            out["url"] = self.url
        return out


@dataclass(frozen=True, slots=True)
class Card:
    """A card: a title, optional description and image, a default action and buttons."""

    title: str
    description: str | None = None
    image: str | None = None
    default_action: Button | None = None
    actions: tuple[Button, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"title": self.title}
        if self.description is not None:
            out["description"] = self.description
        if self.image is not None:
            out["image"] = self.image
        if self.default_action is not None:
            out["default_action"] = self.default_action.to_json()
        out["actions"] = [action.to_json() for action in self.actions]
        return out


@dataclass(frozen=True, slots=True)
class Carousel:
    """Cards side by side."""

    cards: tuple[Card, ...]

    def to_json(self) -> dict[str, Any]:
        return {"cards": [card.to_json() for card in self.cards]}


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file or image by URL; `media_type` is Genesys's (Image, Video, Audio, File, Link)."""

    url: str
    media_type: str = "Image"
    filename: str | None = None
    mime: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"url": self.url, "media_type": self.media_type}
        if self.filename is not None:
            out["filename"] = self.filename
        if self.mime is not None:
            out["mime"] = self.mime
        return out


@dataclass(frozen=True, slots=True)
class Reply:
    """One answer to the user, before any channel sees it."""

    text: str = ""
    format: TextFormat = "plain"
    quick_replies: tuple[QuickReply, ...] = ()
    buttons: tuple[Button, ...] = ()
    cards: tuple[Card, ...] = ()
    carousel: Carousel | None = None
    attachments: tuple[Attachment, ...] = field(default=())

    def all_cards(self) -> tuple[Card, ...]:
        """The cards in reading order: `cards`, then the carousel's."""
        return self.cards + (self.carousel.cards if self.carousel else ())

    def choices(self) -> tuple[tuple[str, str], ...]:
        """Every (label, payload) a user can pick, in reading order: card postbacks, buttons, quick replies.

        The text compiler numbers them in this order, and `resolve_numbered_answer`
        reads a number back with it; with no cards or buttons, 2 is the second quick reply.
        """
        picks: list[tuple[str, str]] = []
        for card in self.all_cards():
            picks.extend((a.label, a.payload) for a in card.actions if a.kind == "postback" and a.payload)
        picks.extend((b.label, b.payload) for b in self.buttons if b.kind == "postback" and b.payload)
        picks.extend((q.label, q.payload) for q in self.quick_replies)
        return tuple(picks)

    def to_json(self) -> dict[str, Any]:
        """The JSON form (webhook channel, local demo page); `reply_from_structure` reads it back."""
        return {
            "text": self.text,
            "format": self.format,
            "quick_replies": [q.to_json() for q in self.quick_replies],
            "buttons": [b.to_json() for b in self.buttons],
            "cards": [c.to_json() for c in self.cards],
            "carousel": self.carousel.to_json() if self.carousel else None,
            "attachments": [a.to_json() for a in self.attachments],
        }


# -- validation -----------------------------------------------------------


def reply_from_structure(rendered: Any) -> Reply:
    """Validate a rendered template structure and build the `Reply`.

    A bare string is a text-only reply. Scalars in text fields (numbers,
    decimals, dates) become their JSON text; a mapping or list where text is
    expected, an unknown key, or a missing required field raises
    `ReplyShapeError` naming the path.
    """
    if isinstance(rendered, str):
        return Reply(text=rendered)
    if not isinstance(rendered, Mapping):
        raise ReplyShapeError("", f"a reply must be a mapping or a text, not {_kind(rendered)}")
    _only(rendered, REPLY_KEYS, "")
    text = _text(rendered.get("text"), "text", required=False) or ""
    fmt = _text(rendered.get("format"), "format", required=False) or "plain"
    if fmt not in ("plain", "markdown"):
        raise ReplyShapeError("format", f"must be plain or markdown, not {fmt!r}")
    if fmt == "markdown":
        text = _MARKDOWN_LINK.sub(_markdown_link_or_label, text)
    carousel = None
    if rendered.get("carousel") is not None:
        raw = rendered["carousel"]
        cards_raw = raw.get("cards") if isinstance(raw, Mapping) else raw
        if isinstance(raw, Mapping):
            _only(raw, ("cards",), "carousel")
        carousel = Carousel(
            tuple(_card(c, f"carousel.cards[{i}]") for i, c in enumerate(_list(cards_raw, "carousel.cards")))
        )
    reply = Reply(
        text=text,
        format=fmt,  # type: ignore[arg-type]
        quick_replies=tuple(
            _quick_reply(q, f"quick_replies[{i}]")
            for i, q in enumerate(_list(rendered.get("quick_replies"), "quick_replies"))
        ),
        buttons=_kept(_button(b, f"buttons[{i}]") for i, b in enumerate(_list(rendered.get("buttons"), "buttons"))),
        cards=tuple(_card(c, f"cards[{i}]") for i, c in enumerate(_list(rendered.get("cards"), "cards"))),
        carousel=carousel,
        attachments=_kept(
            _attachment(a, f"attachments[{i}]") for i, a in enumerate(_list(rendered.get("attachments"), "attachments"))
        ),
    )
    if not (reply.text or reply.quick_replies or reply.buttons or reply.all_cards() or reply.attachments):
        raise ReplyShapeError("", "the reply is empty: give it a text, quick replies, buttons, cards or attachments")
    return reply


_MARKDOWN_LINK = re.compile(r"\[([^\]\n]*)\]\(((?:[^()\n]|\([^()\n]*\))*)\)")  # one level of (...) inside the URL


def _markdown_link_or_label(match: re.Match[str]) -> str:
    return match.group(0) if is_allowed_link(match.group(2).strip()) else match.group(1)


def _link(url: str | None) -> str | None:
    """`url` when a reply may send it (`scrub.is_allowed_link`), else None: the caller drops what held it."""
    return url if url is not None and is_allowed_link(url.strip()) else None


def _kept(items: Any) -> tuple[Any, ...]:
    return tuple(item for item in items if item is not None)


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if value is None:
        return "nothing (null)"
    return f"a {type(value).__name__}"


def _only(mapping: Mapping[str, Any], allowed: tuple[str, ...], path: str) -> None:
    for key in mapping:
        if key not in allowed:
            where = f"{path}.{key}" if path else str(key)
            raise ReplyShapeError(where, f"unknown key; expected one of {', '.join(allowed)}")


def _text(value: Any, path: str, *, required: bool) -> str | None:
    if value is None:
        if required:
            raise ReplyShapeError(path, "is required")
        return None
    if isinstance(value, (Mapping, list, tuple)):
        raise ReplyShapeError(path, f"must be a text, not {_kind(value)}")
    shown = to_json(value)  # Decimal("19.99") -> "19.99", date -> ISO, UUID -> canonical
    text = shown if isinstance(shown, str) else ("true" if shown is True else "false" if shown is False else str(shown))
    if required and not text.strip():
        raise ReplyShapeError(path, "must not be empty")
    return text


def _list(value: Any, path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise ReplyShapeError(path, f"must be a list, not {_kind(value)}")
    return list(value)


def _mapping(value: Any, path: str, allowed: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ReplyShapeError(path, f"must be a mapping, not {_kind(value)}")
    _only(value, allowed, path)
    return value


def _quick_reply(value: Any, path: str) -> QuickReply:
    item = _mapping(value, path, ("label", "payload", "image"))
    label = _text(item.get("label"), f"{path}.label", required=True)
    payload = _text(item.get("payload"), f"{path}.payload", required=False) or label
    return QuickReply(
        label=label,  # type: ignore[arg-type]
        payload=payload,  # type: ignore[arg-type]
        image=_link(_text(item.get("image"), f"{path}.image", required=False)),
    )


def _button(value: Any, path: str) -> Button | None:
    """The button, or None for a link button whose URL a reply may not send."""
    item = _mapping(value, path, ("kind", "label", "payload", "url"))
    kind = _text(item.get("kind"), f"{path}.kind", required=False) or (
        "link" if item.get("url") is not None else "postback"
    )
    if kind not in ("postback", "link"):
        raise ReplyShapeError(f"{path}.kind", f"must be postback or link, not {kind!r}")
    label = _text(item.get("label"), f"{path}.label", required=True)
    if kind == "link":
        url = _link(_text(item.get("url"), f"{path}.url", required=True))
        return Button("link", label, url=url) if url is not None else None  # type: ignore[arg-type]
    payload = _text(item.get("payload"), f"{path}.payload", required=False) or label
    return Button("postback", label, payload=payload)  # type: ignore[arg-type]


def _default_action(value: Any, path: str) -> Button | None:
    if value is None:
        return None
    if isinstance(value, Mapping) and "label" not in value:
        # A default action is a tap on the card itself: it needs no label of its own.
        value = {**value, "label": value.get("url") or value.get("payload") or "open"}
    return _button(value, path)


def _card(value: Any, path: str) -> Card:
    item = _mapping(value, path, ("title", "description", "image", "default_action", "actions"))
    return Card(
        title=_text(item.get("title"), f"{path}.title", required=True),  # type: ignore[arg-type]
        description=_text(item.get("description"), f"{path}.description", required=False),
        image=_link(_text(item.get("image"), f"{path}.image", required=False)),
        default_action=_default_action(item.get("default_action"), f"{path}.default_action"),
        actions=_kept(
            _button(a, f"{path}.actions[{i}]") for i, a in enumerate(_list(item.get("actions"), f"{path}.actions"))
        ),
    )


def _attachment(value: Any, path: str) -> Attachment | None:
    """The attachment, or None when its URL is one a reply may not send."""
    item = _mapping(value, path, ("url", "media_type", "filename", "mime"))
    media_type = _text(item.get("media_type"), f"{path}.media_type", required=False) or "Image"
    folded = {m.lower(): m for m in MEDIA_TYPES}
    if media_type.lower() not in folded:
        raise ReplyShapeError(f"{path}.media_type", f"must be one of {', '.join(MEDIA_TYPES)}, not {media_type!r}")
    url = _link(_text(item.get("url"), f"{path}.url", required=True))
    if url is None:
        return None
    return Attachment(
        url=url,
        media_type=folded[media_type.lower()],
        filename=_text(item.get("filename"), f"{path}.filename", required=False),
        mime=_text(item.get("mime"), f"{path}.mime", required=False),
    )
