"""The sample replies compiled for Genesys (Bot Connector) and for text-only channels.

Snapshots hold what a user would see; the schema test holds what Genesys
accepts (shared/genesys/openapi-subset.json `ReplyMessage`).
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

import commandlang
from commandlang.replies.compile_genesys import bot_connector_response, compile_genesys
from commandlang.replies.compile_text import compile_text
from commandlang.replies.context import ReplyContext, context_for_answer
from commandlang.replies.help import help_reply
from commandlang.replies.model import Reply, reply_from_structure
from commandlang.replies.render import ReplyRenderer

from tests.shared_data import OPENAPI_SUBSET

from .helpers import schema_problems

STATUS_ANSWER = {
    "order": 12345,
    "status": "shipped",
    "eta": "2026-12-01",
    "tracking_url": "https://track.example.com/12345",
    "items": [
        {"name": "Blue mug", "qty": 2, "price": "9.50", "image": "https://shop.example.com/mug.png"},
        {"name": "Green tea", "qty": 1, "price": 4},
    ],
}

RICH = {
    "text": "Here is your receipt.\nAnything else?",
    "buttons": [
        {"kind": "postback", "label": "Email it", "payload": "/receipt 7 --email"},
        {"kind": "link", "label": "Open portal", "url": "https://portal.example.com/7"},
    ],
    "attachments": [
        {
            "url": "https://files.example.com/r7.pdf",
            "media_type": "File",
            "filename": "receipt-7.pdf",
            "mime": "application/pdf",
        },
        {"url": "https://files.example.com/r7.png", "media_type": "Image"},
    ],
    "quick_replies": [{"label": "No, thanks", "payload": "/bye"}],
}


def sample_replies(registry: commandlang.Registry, renderer: ReplyRenderer) -> dict[str, Reply]:
    """The replies a user of the sample registry meets, by name."""
    spec = registry.spec
    refund = registry.parse("/refund 7 amount=5", role="agent")
    status = registry.parse("/status 12345")
    out: dict[str, Reply] = {}
    kind, context = context_for_answer(
        refund.args,
        {
            "status": 201,
            "json": {"refund_id": "R-1", "status": "created", "receipt_url": "https://files.example.com/R-1.pdf"},
        },
    )
    out["refund_success"] = renderer.render(spec.commands["refund"], kind, context, strict=True)
    kind, context = context_for_answer(
        refund.args,
        {
            "status": 409,
            "json": {"message": "Order 7 was already refunded, see http://orders.internal:8700/v1/orders/7"},
        },
    )
    out["refund_error"] = renderer.render(spec.commands["refund"], kind, context, strict=True)
    out["refund_confirm"] = renderer.render(
        spec.commands["refund"], "confirm", ReplyContext(args=refund.args, confirm_token="c0ffee"), strict=True
    )
    out["refund_ack"] = renderer.render(spec.commands["refund"], "ack", ReplyContext(args=refund.args), strict=True)
    out["status_shipped"] = renderer.render(
        spec.commands["status"], "success", ReplyContext(args=status.args, result=STATUS_ANSWER), strict=True
    )
    delivered = {**STATUS_ANSWER, "status": "delivered", "tracking_url": None, "items": STATUS_ANSWER["items"][:1]}
    out["status_delivered"] = renderer.render(
        spec.commands["status"], "success", ReplyContext(args=status.args, result=delivered), strict=True
    )
    out["status_timeout"] = renderer.render(
        spec.commands["status"],
        "error",
        ReplyContext(args=status.args, error={"code": "timeout", "message": "The order service did not answer in 5s"}),
        strict=True,
    )
    callback = registry.parse('/callback "+44 20 7946 0000" topic=billing card=4111111111111111')
    out["callback_success"] = renderer.render(
        spec.commands["callback"],
        "success",
        ReplyContext(args=callback.args, result={"callback_id": "CB-9", "when": "2026-12-01T14:30"}),
        strict=True,
    )
    ticket = registry.parse("/ticket close 4821 resolution=duplicate tags=[billing, repeat]", role="agent")
    out["ticket_closed"] = renderer.render(
        spec.commands["ticket.close"], "success", ReplyContext(args=ticket.args, result={}), strict=True
    )
    address = registry.parse('/address 12345 street="1 High Street" city=London postcode="SW1A 1AA"')
    out["address_confirm"] = renderer.render(
        spec.commands["address"], "confirm", ReplyContext(args=address.args, confirm_token="a1"), strict=True
    )
    out["address_changed"] = renderer.render(
        spec.commands["address"], "success", ReplyContext(args=address.args, result={}), strict=True
    )
    out["ping_default"] = renderer.render(spec.commands["ping"], "success", ReplyContext(), strict=True)
    out["help_customer"] = help_reply(spec, "customer")
    out["rich"] = reply_from_structure(RICH)
    return out


@pytest.fixture()
def samples(registry: commandlang.Registry, renderer: ReplyRenderer) -> dict[str, Reply]:
    return sample_replies(registry, renderer)


NAMES = [
    "refund_success",
    "refund_error",
    "refund_confirm",
    "refund_ack",
    "status_shipped",
    "status_delivered",
    "status_timeout",
    "callback_success",
    "ticket_closed",
    "address_confirm",
    "address_changed",
    "ping_default",
    "help_customer",
    "rich",
]


@pytest.mark.parametrize("name", NAMES)
def test_genesys_snapshot(samples: dict[str, Reply], name: str, snapshot: Any) -> None:
    assert compile_genesys(samples[name]) == snapshot


@pytest.mark.parametrize("name", NAMES)
def test_text_snapshot(samples: dict[str, Reply], name: str, snapshot: Any) -> None:
    assert compile_text(samples[name]) == snapshot


@pytest.mark.skipif(not os.path.exists(OPENAPI_SUBSET), reason="shared/genesys is not here")
@pytest.mark.parametrize("name", NAMES)
def test_genesys_messages_match_the_documented_schema(samples: dict[str, Reply], name: str) -> None:
    with open(OPENAPI_SUBSET, encoding="utf-8") as handle:
        definitions = json.load(handle)["definitions"]
    for message in compile_genesys(samples[name]):
        assert schema_problems(message, definitions["ReplyMessage"], definitions) == []
        kinds = [item["contentType"] for item in message.get("content", [])]
        if "Attachment" in kinds:
            assert kinds == ["Attachment"], "an Attachment must be the only item of its message"
            # the DBC spec: "attachments require the type set as Text instead of Structured"
            assert message["type"] == "Text" and message["text"]
        else:
            assert message["type"] == ("Structured" if kinds else "Text")


def test_confirm_offers_confirm_and_cancel_with_the_token(samples: dict[str, Reply]) -> None:
    content = compile_genesys(samples["refund_confirm"])[0]["content"]
    assert [c["quickReply"] for c in content] == [
        {"text": "Confirm", "payload": "/confirm c0ffee", "action": "Message"},
        {"text": "Cancel", "payload": "/cancel c0ffee", "action": "Message"},
    ]


def test_status_has_a_card_per_item_and_tracking_only_when_known(samples: dict[str, Reply]) -> None:
    shipped = compile_genesys(samples["status_shipped"])[0]["content"][0]
    assert shipped["contentType"] == "Carousel"
    assert [c["title"] for c in shipped["carousel"]["cards"]] == ["Blue mug", "Green tea", "Tracking for order 12345"]
    assert shipped["carousel"]["cards"][2]["actions"] == [
        {"type": "Link", "text": "Track the parcel", "url": "https://track.example.com/12345"}
    ]
    delivered = compile_genesys(samples["status_delivered"])[0]["content"]
    assert delivered[0]["contentType"] == "Card" and delivered[0]["card"]["title"] == "Blue mug"
    assert "Tracking" not in json.dumps(delivered) and "Change address" not in json.dumps(delivered)


def test_error_reply_hides_internal_urls(samples: dict[str, Reply]) -> None:
    text = compile_text(samples["refund_error"])
    assert "already refunded" in text
    assert "orders.internal" not in text and "http://" not in text


def test_each_attachment_travels_alone_in_a_text_message_after_the_main_message(samples: dict[str, Reply]) -> None:
    messages = compile_genesys(samples["rich"])
    assert [m["content"][0]["contentType"] for m in messages] == ["Card", "Attachment", "Attachment"]
    assert [m["type"] for m in messages] == ["Structured", "Text", "Text"]
    attachment = messages[1]["content"][0]["attachment"]
    assert messages[1]["text"] == "receipt-7.pdf"
    assert {k: v for k, v in attachment.items() if k != "id"} == {
        "mediaType": "File",
        "url": "https://files.example.com/r7.pdf",
        "mime": "application/pdf",
        "filename": "receipt-7.pdf",
    }
    assert (
        attachment["id"] and attachment["id"] == compile_genesys(samples["rich"])[1]["content"][0]["attachment"]["id"]
    )
    unnamed = messages[2]["content"][0]["attachment"]  # no filename given: the URL's last segment (required field)
    assert unnamed["filename"] == "r7.png" and unnamed["id"] != attachment["id"]


def test_bot_connector_response_uses_camel_case_and_more_data(samples: dict[str, Reply]) -> None:
    body = bot_connector_response([samples["refund_success"]], intent="refund")
    assert body["botState"] == "MoreData"
    assert body["replyMessages"] == compile_genesys(samples["refund_success"])
    assert body["intent"] == "refund"


def test_a_sensitive_argument_never_shows_in_a_sample_reply(samples: dict[str, Reply]) -> None:
    for name, reply in samples.items():
        assert "4111111111111111" not in json.dumps(compile_genesys(reply)) + compile_text(reply), name
