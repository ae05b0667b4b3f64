"""Genesys's official Python SDK, pointed at the fake on 127.0.0.1, deserializes what the fake serves."""

from __future__ import annotations

from functools import partial

import pytest
import trio

from .genesys_helpers import genesys_env

sdk = pytest.importorskip("PureCloudPlatformClientV2")


def _client(base_url: str, token: str):
    """An SDK ApiClient for the fake: its own host and token (nothing set on the SDK's shared Configuration)."""
    api_client = sdk.ApiClient(host=base_url)
    api_client.access_token = token  # what a client-credentials login leaves there (api_client.py)
    return api_client


async def test_the_official_sdk_reads_the_fakes_conversations_messages_and_channels() -> None:
    async with genesys_env() as env:
        conversation = env.fake.start_conversation(queue_id="q1")
        first = env.fake.inject_customer_message("/refund 1", conversation_id=conversation.id, queue_id="q1")
        env.fake.inject_agent_message(conversation.id, "hello")
        client = _client(env.fake.base_url, await env.tokens.token())
        conversations = sdk.ConversationsApi(client)
        notifications = sdk.NotificationsApi(client)

        generic = await trio.to_thread.run_sync(conversations.get_conversation, conversation.id)
        agent = [p for p in generic.participants if p.purpose == "agent"][-1]
        assert agent.messages[0].id == conversation.communication_id  # Message.id is the communication
        assert agent.messages[0].state == "connected"

        messaging = await trio.to_thread.run_sync(conversations.get_conversations_message, conversation.id)
        customer = [p for p in messaging.participants if p.purpose == "customer"][0]
        assert [m.message_id for m in customer.messages] == [first.id]  # MessageDetails: individual messages

        bulk = await trio.to_thread.run_sync(
            partial(conversations.post_conversations_message_messages_bulk, conversation.id, body=[first.id])
        )
        assert bulk.entities[0].normalized_message.text == "/refund 1"
        assert bulk.entities[0].messenger_type == "webmessaging"

        sent = await trio.to_thread.run_sync(
            conversations.post_conversations_message_communication_messages,
            conversation.id,
            conversation.communication_id,
            _text("from the SDK"),
        )
        assert sent.normalized_message.text == "from the SDK" and sent.direction == "outbound"

        channel = await trio.to_thread.run_sync(notifications.post_notifications_channels)
        assert channel.connect_uri.startswith("ws://127.0.0.1:")
        env.fake.deny_topics(r"v2\.users\..*", "conversation:communication:view")
        topics = await trio.to_thread.run_sync(
            notifications.put_notifications_channel_subscriptions,
            channel.id,
            [_topic(t) for t in ("v2.routing.queues.q1.conversations.messages", "v2.users.u1.conversations.messages")],
        )
        states = {t.id: (t.state, t.missing_permissions) for t in topics.entities}
        assert states == {
            "v2.routing.queues.q1.conversations.messages": ("Permitted", None),
            "v2.users.u1.conversations.messages": ("Rejected", ["conversation:communication:view"]),
        }
        assert env.fake.violations == []


def _topic(name: str):
    topic = sdk.ChannelTopic()
    topic.id = name
    return topic


def _text(text: str):
    body = sdk.AdditionalMessage()
    body.text_body = text
    return body
