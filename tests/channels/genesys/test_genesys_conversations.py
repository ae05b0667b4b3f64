"""Conversations API send: text within 2000 characters, media upload, agent communication id; the fake's 400s."""

from __future__ import annotations

import pytest

from commandlang.channels.genesys import ConversationsReplySink, GenesysApiError, MediaFile, split_text
from commandlang.channels.genesys.conversations import TRUNCATION_MARKER
from commandlang.runtime.messages import InboundMessage, OutboundReply
from .genesys_helpers import TestReply, compile_text, genesys_env

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def test_split_text_respects_the_limit_and_breaks_at_words() -> None:
    assert split_text("short") == ["short"]
    text = ("word " * 900).strip()  # 4499 characters
    parts = split_text(text)
    assert len(parts) == 3 and all(len(p) <= 2000 for p in parts)
    assert all(not p.startswith(" ") for p in parts) and parts[0].endswith(" …")
    truncated = split_text("x" * 5000, max_parts=1)
    assert len(truncated) == 1 and len(truncated[0]) == 2000 and truncated[0].endswith(TRUNCATION_MARKER)
    many = split_text("y" * 20000)
    assert len(many) == 5 and many[-1].endswith(TRUNCATION_MARKER)


@pytest.mark.parametrize("plain_httpx", [False, True], ids=["transport-door", "httpx-client"])
async def test_send_text_as_the_agent_and_long_text_in_parts(plain_httpx: bool) -> None:
    async with genesys_env(plain_httpx=plain_httpx) as env:
        conversation = env.fake.start_conversation(queue_id="q1")
        communication = await env.conversations.find_agent_communication_id(conversation.id)
        assert communication == conversation.communication_id
        sent = await env.conversations.send_text(conversation.id, communication, "Refund R-1 created for order 123.")
        assert sent[0].direction == "outbound" and sent[0].text == "Refund R-1 created for order 123."
        await env.conversations.send_text(conversation.id, communication, "z" * 2100)
        lengths = [len(m.text) for m in env.fake.transcript(conversation.id)]
        assert lengths[0] == 33 and len(lengths) == 3 and all(n <= 2000 for n in lengths)
        await env.conversations.send_text(conversation.id, communication, "q" * 2100, overflow="truncate")
        assert env.fake.transcript(conversation.id)[-1].text.endswith(TRUNCATION_MARKER)
        sends = env.fake.requests_to(
            "/api/v2/conversations/messages/{conversationId}/communications/{communicationId}/messages"
        )
        assert all(set(r.body) == {"textBody"} and r.query == {"useNormalizedMessage": "true"} for r in sends)


async def test_media_is_uploaded_then_sent_by_id() -> None:
    async with genesys_env() as env:
        conversation = env.fake.start_conversation(queue_id="q1")
        sent = await env.conversations.send_media(
            conversation.id,
            conversation.communication_id,
            [MediaFile("receipt.png", PNG, "image/png"), MediaFile("label.png", PNG, "image/png")],
            caption="Your receipt",
        )
        media = list(env.fake.media.values())
        assert [m.data for m in media] == [PNG, PNG] and media[0].file_name == "receipt.png"
        caption, first, second = env.fake.transcript(conversation.id)
        # one body field per request: the caption alone, then each media id in its own message
        assert (caption.text, caption.media_ids) == ("Your receipt", [])
        assert (first.media_ids, second.media_ids) == ([media[0].id], [media[1].id])
        assert [m.id for m in sent] == [caption.id, first.id, second.id]
        bodies = [
            r.body
            for r in env.fake.requests_to(
                "/api/v2/conversations/messages/{conversationId}/communications/{communicationId}/messages"
            )
        ]
        assert bodies == [{"textBody": "Your receipt"}, {"mediaIds": [media[0].id]}, {"mediaIds": [media[1].id]}]


async def test_the_reply_sink_finds_the_communication_and_sends_text_and_images() -> None:
    async with genesys_env() as env:
        conversation = env.fake.start_conversation(queue_id="q1")
        sent_ids: list[str] = []
        sink = ConversationsReplySink(
            env.conversations,
            compile_text,
            compile_media=lambda reply: [MediaFile("chart.png", PNG, "image/png")],
            on_sent=sent_ids.append,
        )
        inbound = InboundMessage("genesys", conversation.id, "m-1", "p-1", "agent", "/chart", 0.0)
        await sink.send(
            OutboundReply(conversation.id, TestReply("Here you go", (("More", "/chart more"),)), "c1", inbound)
        )
        transcript = env.fake.transcript(conversation.id)
        assert [m.text for m in transcript] == ["Here you go\n1. More (/chart more)", ""]
        assert transcript[1].media_ids and sent_ids == [m.id for m in transcript]
        # the agent's communication came from the generic conversation, looked up once
        assert len(env.fake.requests_to("/api/v2/conversations/{conversationId}")) == 1


async def test_the_fake_rejects_what_genesys_would_with_an_error_body() -> None:
    async with genesys_env() as env:
        conversation = env.fake.start_conversation(queue_id="q1")
        path = (
            f"/api/v2/conversations/messages/{conversation.id}/communications/{conversation.communication_id}/messages"
        )
        for body, reason in [
            ({"textBody": "pick", "content": [{"contentType": "QuickReply"}]}, "$.content: unknown field"),
            ({"textBody": "x" * 2001}, "at most 2000"),
            ({"mediaIds": ["nope"]}, "was not uploaded"),
            ({"textBody": "caption", "mediaIds": ["never-uploaded"]}, "exactly one of textBody, mediaIds"),
        ]:
            with pytest.raises(GenesysApiError) as caught:
                await env.api.request("POST", path, json=body)
            assert caught.value.status == 400 and reason in caught.value.error.message
            assert caught.value.error.code == "bad.request" and caught.value.error.status == 400
        # the SDK oracle caught the unknown field (a request violation); it was provoked here on purpose
        assert [(v.kind, v.path) for v in env.fake.violations] == [("request", "$.content")]
        env.fake.violations.clear()
        with pytest.raises(GenesysApiError) as caught:
            await env.conversations.send_text(conversation.id, "not-the-agent", "hi")
        assert caught.value.status == 404
        raw = await env.http.post(
            f"{env.fake.base_url}{path}",
            content=b"textBody=hi",
            headers={"Authorization": f"Bearer {await env.tokens.token()}", "Content-Type": "text/plain"},
        )
        assert raw.status_code == 415 and raw.json()["code"] == "unsupported.media.type"
        with pytest.raises(GenesysApiError) as caught:
            await env.conversations.get_message(conversation.id, "missing")
        assert caught.value.status == 404 and caught.value.error.code == "not.found"
