"""Languages on the Genesys paths: the Bot Connector's `languageCode`, the Notification path's only
language (the message's `enrichment.language`, which Genesys detects), and the agent-endpoint text."""

from __future__ import annotations

import pytest

from commandlang.channels.genesys.botconnector import parse_bot_request, to_inbound_message
from commandlang.channels.genesys.models import MessageData
from commandlang.replies.compile_text import compile_text
from commandlang.replies.model import QuickReply, Reply
from commandlang.testing.fake_genesys.oracle import load_oracle

REQUEST = {
    "botId": "b",
    "botSessionId": "s",
    "genesysConversationId": "c",
    "messageId": "m",
    "languageCode": "de-de",
    "inputMessage": {"type": "Text", "text": "/status 4"},
}


def test_the_bot_connectors_language_code_is_the_messages_language() -> None:
    assert to_inbound_message(parse_bot_request(REQUEST)).language == "de-de"
    assert to_inbound_message(parse_bot_request({**REQUEST, "languageCode": None})).language is None


def test_the_notification_path_reads_the_detected_language_and_writes_it_as_the_sdk_does() -> None:
    data = {
        "id": "m1",
        "timestamp": "2026-11-24T10:00:00Z",
        "status": "received",
        "direction": "inbound",
        "normalizedMessage": {"type": "Text", "text": "/status 4", "enrichment": {"language": {"language": "fr"}}},
    }
    message = MessageData.from_json(data)
    assert message.normalized_message is not None and message.normalized_message.language == "fr"
    plain = MessageData.from_json({**data, "normalizedMessage": {"type": "Text", "text": "/x"}})
    assert plain.normalized_message is not None and plain.normalized_message.language is None  # then: the default
    odd = {**data, "normalizedMessage": {"type": "Text", "text": "/x", "enrichment": {"language": 5}}}
    assert MessageData.from_json(odd).normalized_message.language is None  # never a reason to drop a message
    if load_oracle() is None:
        pytest.skip("PureCloudPlatformClientV2 is a test dependency")
    written = message.normalized_message.to_json()
    assert written["enrichment"] == {"language": {"language": "fr"}}
    assert list(load_oracle().models.check("ConversationNormalizedMessage", written)) == []


def test_the_agent_endpoint_text_asks_for_a_number_in_the_language() -> None:
    reply = Reply(text="Bestellung 4: versandt.", quick_replies=(QuickReply("Hilfe", "/help"),))
    assert (
        compile_text(reply, language="de").splitlines()[2]
        == "Antworten Sie mit einer Nummer oder tippen Sie den Befehl:"
    )
    assert compile_text(reply).splitlines()[2] == "Reply with a number or type the command:"
