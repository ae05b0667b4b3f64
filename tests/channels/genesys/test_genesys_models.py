"""The typed Genesys payloads reject what the real API would, and write its field names."""

from __future__ import annotations

import pytest

from commandlang.channels.genesys.models import (
    AdditionalMessage,
    Attachment,
    BotConnectorRequest,
    BotConnectorResponse,
    ButtonResponse,
    Card,
    CardAction,
    Carousel,
    ChannelTopic,
    ConversationMessageEvent,
    MessageData,
    ModelError,
    QuickReply,
    ReplyMessage,
    UploadMediaRequest,
    content_from_json,
)


def test_agent_send_body_is_text_and_media_only() -> None:
    assert AdditionalMessage.from_json({"textBody": "hi"}).to_json() == {"textBody": "hi"}
    with pytest.raises(ModelError, match="unknown field.*content"):
        AdditionalMessage.from_json({"textBody": "pick one", "content": [{"contentType": "QuickReply"}]})
    with pytest.raises(ModelError, match="2001 characters, at most 2000"):
        AdditionalMessage.from_json({"textBody": "x" * 2001})
    # one body field per request (SDK 269: "1 textBody, 1 mediaId, or 1 messageTemplate"): media without text
    assert AdditionalMessage.from_json({"mediaIds": ["m1"]}).to_json() == {"mediaIds": ["m1"]}
    with pytest.raises(ModelError, match="exactly one of textBody, mediaIds or messagingTemplate"):
        AdditionalMessage.from_json({"textBody": ""})
    with pytest.raises(ModelError, match="exactly one of textBody, mediaIds or messagingTemplate.*textBody, mediaIds"):
        AdditionalMessage.from_json({"textBody": "caption", "mediaIds": ["m1"]})
    with pytest.raises(ModelError, match="one media id per request"):
        AdditionalMessage.from_json({"mediaIds": ["m1", "m2"]})
    with pytest.raises(ModelError, match="expected a string"):
        AdditionalMessage.from_json({"textBody": 5})


def test_media_upload_request_rules() -> None:
    ok = UploadMediaRequest.from_json({"fileName": "receipt.png", "contentLengthBytes": 10})
    assert ok.to_json() == {"fileName": "receipt.png", "contentLengthBytes": 10}
    for bad in ("has space.png", ".hidden", "dir/", "a#b.png"):
        with pytest.raises(ModelError, match="fileName"):
            UploadMediaRequest.from_json({"fileName": bad, "contentLengthBytes": 10})
    with pytest.raises(ModelError, match="contentLengthBytes"):
        UploadMediaRequest.from_json({"fileName": "a.png", "contentLengthBytes": "10"})


def test_structured_content_round_trips_and_rules() -> None:
    items = [
        {
            "contentType": "QuickReply",
            "quickReply": {"text": "Order status", "payload": "/status 123", "action": "Message"},
        },
        {
            "contentType": "Card",
            "card": {
                "title": "Refund R-1",
                "description": "Order 123",
                "defaultAction": {"type": "Link", "url": "https://x.test"},
                "actions": [
                    {"type": "Postback", "text": "Undo", "payload": "/refund.cancel R-1"},
                    {"type": "Link", "text": "Details", "url": "https://x.test/d"},
                ],
            },
        },
        {"contentType": "Carousel", "carousel": {"cards": [{"title": "A", "actions": []}]}},
        {
            "contentType": "Attachment",
            "attachment": {
                "mediaType": "Image",
                "url": "https://x.test/r.png",
                "mime": "image/png",
                "filename": "r.png",
            },
        },
    ]
    for item in items:
        assert content_from_json(item).to_json() == item
    with pytest.raises(ModelError, match="quickReply.payload is required"):
        content_from_json({"contentType": "QuickReply", "quickReply": {"text": "x"}})
    with pytest.raises(ModelError, match="card.actions is required"):
        content_from_json({"contentType": "Card", "card": {"title": "x"}})
    with pytest.raises(ModelError, match="url is required for a Link"):
        CardAction.from_json({"type": "Link", "text": "x"})
    with pytest.raises(ModelError, match="'Call' is not one of Link, Postback"):
        CardAction.from_json({"type": "Call"})
    with pytest.raises(ModelError, match="1 to 10 cards, got 11"):
        Carousel.from_json({"cards": [{"title": str(i), "actions": []} for i in range(11)]})
    with pytest.raises(ModelError, match="Attachment must be the only item"):
        ReplyMessage.from_json({"type": "Structured", "content": [items[3], items[0]]})
    with pytest.raises(ModelError, match="not one of"):
        content_from_json({"contentType": "Hologram"})


def test_bot_connector_request_and_button_press() -> None:
    text = BotConnectorRequest.from_json(
        {
            "botId": "b1",
            "botVersion": "1.0",
            "botSessionId": "s1",
            "messageId": "m-1",
            "inputMessage": {"type": "Text", "text": "/refund 123 amount=5"},
            "languageCode": "en-us",
            "botSessionTimeout": 4320,
            "genesysConversationId": "c1",
            "parameters": {},
        }
    )
    assert text.input_message.command_text() == "/refund 123 amount=5"
    assert BotConnectorRequest.from_json(text.to_json()) == text
    press = BotConnectorRequest.from_json(
        {
            "botId": "b1",
            "botSessionId": "s1",
            "genesysConversationId": "c1",
            "inputMessage": {
                "type": "Structured",
                "content": [
                    {
                        "contentType": "ButtonResponse",
                        "buttonResponse": {"type": "QuickReply", "text": "Order status", "payload": "/status 123"},
                    }
                ],
            },
        }
    )
    assert press.input_message.command_text() == "/status 123"
    assert press.input_message.content == (ButtonResponse("Order status", "/status 123"),)
    for missing in ("botId", "botSessionId", "genesysConversationId", "inputMessage"):
        body = text.to_json()
        del body[missing]
        with pytest.raises(ModelError, match=missing):
            BotConnectorRequest.from_json(body)


def test_bot_response_casings_and_states() -> None:
    sample = BotConnectorResponse.from_json({"botState": "MOREDATA", "replymessages": [{"type": "text", "text": "hi"}]})
    assert sample.bot_state == "MoreData" and sample.reply_messages == (ReplyMessage("Text", "hi"),)
    ours = BotConnectorResponse(
        "MoreData",
        (ReplyMessage("Structured", "Refund R-1 created.", (QuickReply("Undo", "/refund.cancel R-1"),)),),
        intent="refund",
        confidence=1.0,
    )
    data = ours.to_json()
    assert data["botState"] == "MoreData" and "replyMessages" in data and "replymessages" not in data
    assert BotConnectorResponse.from_json(data) == ours
    with pytest.raises(ModelError, match="botState"):
        BotConnectorResponse.from_json({"botState": "Sleeping"})


def test_message_data_and_events() -> None:
    message = MessageData.from_json(
        {
            "id": "m1",
            "timestamp": "2026-11-24T10:00:00Z",
            "status": "received",
            "direction": "inbound",
            "textBody": "old",
            "normalizedMessage": {"type": "Text", "text": "/refund 1"},
        }
    )
    assert message.text == "/refund 1"
    # lenient reading: a value our tables do not know is skipped (read as absent), never fatal
    lenient = MessageData.from_json(
        {
            "id": "m1",
            "timestamp": "2026-11-24T10:00:00Z",
            "status": "lost",
            "messengerType": "line",
            "normalizedMessage": {
                "type": "Text",
                "text": "/x",
                "content": [
                    {"contentType": "Reactions", "reactions": [{"type": "Like"}]},
                    {"contentType": "QuickReplyV2", "quickReplyV2": {}},
                ],
            },
        }
    )
    assert (lenient.status, lenient.messenger_type, lenient.text, lenient.normalized_message.content) == (
        "",
        None,
        "/x",
        (),
    )
    with pytest.raises(ModelError, match="ISO-8601"):
        MessageData.from_json({"id": "m1", "timestamp": "yesterday", "status": "sent"})
    event = ConversationMessageEvent.from_json(
        {
            "id": "c1",
            "participants": [
                {
                    "id": "p-cust",
                    "purpose": "customer",
                    "queue": {"id": "q1"},
                    "messages": [
                        {
                            "message": {"id": "m1"},
                            "messageTime": "2026-11-24T10:00:00Z",
                            "messageStatus": "received",
                            "messageMetadata": {"type": "Text"},
                        }
                    ],
                },
                {"id": "p-agent", "purpose": "agent", "messages": [{"message": {"id": "agent-first-message"}}]},
            ],
        }
    )
    assert event.participants[0].messages[0].id == "m1" and event.participants[0].queue_id == "q1"
    assert event.participants[1].messages[0].id == "agent-first-message"  # a message, not a communication
    assert ChannelTopic.from_json(
        {"id": "t", "state": "Rejected", "missingPermissions": ["a"]}
    ).missing_permissions == ("a",)
    with pytest.raises(ModelError, match="state"):
        ChannelTopic.from_json({"id": "t", "state": "Maybe"})


def test_attachment_and_card_helpers() -> None:
    assert Attachment.from_json({"mediaType": "Image", "url": "u"}).to_json()["attachment"] == {
        "mediaType": "Image",
        "url": "u",
    }
    card = Card("T", (CardAction("Postback", "Undo", "/undo"),))
    assert Card.from_json(card.card_json()) == card
