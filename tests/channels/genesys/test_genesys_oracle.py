"""The SDK oracle: Genesys's own models (PureCloudPlatformClientV2) judge payloads, with a JSON path per violation."""

from __future__ import annotations

import pytest

from commandlang.testing.fake_genesys.oracle import load_oracle
from .genesys_helpers import genesys_env

pytest.importorskip("PureCloudPlatformClientV2")


def _oracle():
    oracle = load_oracle()
    assert oracle is not None
    return oracle


def test_the_oracle_flags_unknown_fields_wrong_types_and_bad_enums_with_their_path() -> None:
    models = _oracle().models
    bad = {
        "id": "m1",
        "timestamp": 12,
        "textBody": "gone in 269",
        "messengerType": "pigeon",
        "normalizedMessage": {"type": "Text", "text": ["not", "a", "string"], "content": [{"contentType": "Nope"}]},
    }
    problems = dict(models.check("MessageData", bad))
    assert problems["$.textBody"].startswith("unknown field")
    assert "expected an ISO-8601 datetime string" in problems["$.timestamp"]
    assert "'pigeon' is not one of" in problems["$.messengerType"]
    assert "expected a string" in problems["$.normalizedMessage.text"]
    assert "'Nope' is not one of" in problems["$.normalizedMessage.content[0].contentType"]
    assert dict(models.check("list[ChannelTopic]", [{"id": "t", "state": "Maybe"}])) == {
        "$[0].state": "'Maybe' is not one of Permitted, Rejected"
    }
    assert dict(models.check("ErrorBody", {"status": "429", "messageParams": {"a": 1}})) == {
        "$.status": "expected an integer, got string",
        "$.messageParams.a": "expected a string, got integer",
    }


def test_an_sdk_shaped_payload_passes() -> None:
    oracle = _oracle()
    conversation = {
        "id": "c1",
        "startTime": "2026-11-24T10:00:00.000Z",
        "participants": [
            {
                "id": "p-agent",
                "purpose": "agent",
                "connectedTime": "2026-11-24T10:00:00Z",
                "attributes": {"k": "v"},
                "messages": [
                    {
                        "id": "comm-1",
                        "state": "connected",
                        "type": "webmessaging",
                        "messages": [
                            {"messageId": "m1", "messageTime": "2026-11-24T10:00:01Z", "messageStatus": "sent"}
                        ],
                    }
                ],
            }
        ],
    }
    assert oracle.models.check("Conversation", conversation) == []
    assert oracle.response("GET", "/api/v2/conversations/{conversationId}", 200, conversation) == []
    assert (
        oracle.request(
            "POST",
            "/api/v2/conversations/messages/{conversationId}/communications/{communicationId}/messages",
            {"textBody": "hi"},
        )
        == []
    )
    assert oracle.event("v2.system.token_revoked", {"systemTopicType": "token_revoked", "message": "x"}) == []


async def test_the_fake_refuses_a_request_the_sdk_model_refuses_and_records_it() -> None:
    async with genesys_env() as env:
        conversation = env.fake.start_conversation(queue_id="q1")
        path = (
            f"/api/v2/conversations/messages/{conversation.id}/communications/{conversation.communication_id}/messages"
        )
        token = await env.tokens.token()
        answer = await env.http.post(
            f"{env.fake.base_url}{path}",
            json={"textBody": 5, "quickReplies": []},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 400 and answer.json()["code"] == "bad.request"
        assert "$.textBody: expected a string" in answer.json()["message"]
        assert "$.quickReplies: unknown field" in answer.json()["message"]
        assert [(v.kind, v.path) for v in env.fake.violations] == [
            ("request", "$.textBody"),
            ("request", "$.quickReplies"),
        ]
        env.fake.violations.clear()  # provoked on purpose; left over, it would fail the test


async def test_a_fake_answer_that_breaks_the_sdk_model_fails_the_test() -> None:
    from commandlang.testing.fake_genesys.server import PayloadViolations

    with pytest.raises(BaseException) as caught:
        async with genesys_env() as env:
            conversation = env.fake.start_conversation(queue_id="q1")
            message = env.fake.add_message(conversation, "customer", "hi")
            message.content = [{"contentType": "Hologram"}]  # a bug in the fake's shapes
            await env.conversations.get_message(conversation.id, message.id)
    found = [e for e in getattr(caught.value, "exceptions", [caught.value]) if isinstance(e, PayloadViolations)]
    assert found and "normalizedMessage.content[0].contentType" in str(found[0])


async def test_topic_events_the_fake_sends_are_checked_against_the_topic_model() -> None:
    async with genesys_env() as env:
        env.fake.publish(
            "v2.routing.queues.q1.conversations.messages",
            {
                "id": "c1",
                "participants": [
                    {"id": "p", "purpose": "agent", "messages": [{"message": {"id": "m"}, "messageStatus": "lost"}]}
                ],
            },
        )
        assert [(v.kind, v.model, v.path) for v in env.fake.violations] == [
            (
                "event",
                "QueueConversationMessageEventTopicMessageConversation",
                "$.participants[0].messages[0].messageStatus",
            )
        ]
        env.fake.violations.clear()
