"""Notification API ingest against the fake over real sockets: every message once, whatever the socket does."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import pytest
import trio

from commandlang.channels.genesys import ConversationsReplySink, NotificationIngest
from commandlang.runtime.messages import InboundMessage, OutboundReply
from .genesys_helpers import GenesysTestEnv, TestReply, compile_text, genesys_env


@asynccontextmanager
async def ingesting(
    env: GenesysTestEnv, **options: Any
) -> AsyncIterator[tuple[NotificationIngest, trio.MemoryReceiveChannel]]:
    options.setdefault("backoff_base", 0.05)
    options.setdefault("backoff_max", 0.5)
    ingest = NotificationIngest(env.api, env.conversations, queue_ids=["q1"], user_ids=["agent-user-1"], **options)
    send, receive = trio.open_memory_channel[InboundMessage](100)
    async with trio.open_nursery() as nursery:
        await nursery.start(ingest.serve, send)
        yield ingest, receive
        nursery.cancel_scope.cancel()


async def next_message(receive: trio.MemoryReceiveChannel, timeout: float = 5.0) -> InboundMessage:
    with trio.fail_after(timeout):
        return await receive.receive()


async def nothing_more(receive: trio.MemoryReceiveChannel, wait: float = 0.5) -> None:
    with trio.move_on_after(wait):
        extra = await receive.receive()
        raise AssertionError(f"unexpected extra message: {extra}")


async def wait_for(predicate, timeout: float = 5.0) -> None:
    with trio.fail_after(timeout):
        while not predicate():
            await trio.sleep(0.02)


async def test_channel_created_subscribed_and_customer_message_delivered() -> None:
    async with genesys_env() as env, ingesting(env) as (ingest, receive):
        [channel] = env.fake.channels.values()
        assert channel.topics == {
            "v2.routing.queues.q1.conversations.messages",
            "v2.users.agent-user-1.conversations.messages",
        }
        sent = env.fake.inject_customer_message("/refund 123 amount=5", queue_id="q1")
        message = await next_message(receive)
        conversation = env.fake.conversations[message.conversation_id]
        assert (message.message_id, message.text, message.role, message.queue_id, message.channel) == (
            sent.id,
            "/refund 123 amount=5",
            "customer",
            "q1",
            "genesys",
        )
        assert message.participant_id == conversation.customer_participant_id
        assert message.metadata["genesys_communication_id"] == conversation.communication_id
        # the event carried ids only; the text came from the single-message GET
        assert env.fake.requests_to("/api/v2/conversations/messages/{conversationId}/messages/{messageId}")
        await nothing_more(receive)


async def test_agent_messages_have_the_agent_role_and_our_own_replies_are_not_fed_back() -> None:
    async with genesys_env() as env, ingesting(env) as (ingest, receive):
        first = env.fake.inject_customer_message("hello", queue_id="q1", user_id="agent-user-1")
        await next_message(receive)
        typed = env.fake.inject_agent_message(first_conv := next(iter(env.fake.conversations)), "/refund 9")
        agent = await next_message(receive)
        assert (agent.message_id, agent.role, agent.text) == (typed.id, "agent", "/refund 9")
        assert agent.participant_id == env.fake.conversations[first_conv].agent_participant_id
        sink = ConversationsReplySink(env.conversations, compile_text, on_sent=ingest.mark_sent)
        await sink.send(OutboundReply(first_conv, TestReply("/refund done"), "cmd-1", agent))
        await nothing_more(receive, 0.7)  # our reply's event arrived and was recognised as ours
        assert first.id in ingest.seen


async def test_several_new_messages_are_fetched_with_the_bulk_request() -> None:
    async with genesys_env() as env, ingesting(env) as (ingest, receive):
        conversation = env.fake.start_conversation(queue_id="q1")
        for text in ("/a", "/b", "/c"):
            env.fake.add_message(conversation, "customer", text)
        env.fake.publish_conversation(conversation)
        got = [await next_message(receive) for _ in range(3)]
        assert [m.text for m in got] == ["/a", "/b", "/c"]
        bulk = env.fake.requests_to("/api/v2/conversations/messages/{conversationId}/messages/bulk")
        assert len(bulk) == 1 and len(bulk[0].body) == 3


async def test_heartbeats_and_pings_keep_one_channel_alive() -> None:
    async with genesys_env(heartbeat_interval=0.1) as env, ingesting(env, heartbeat_timeout=0.5) as (ingest, receive):
        await trio.sleep(1.5)
        assert ingest.channels_created == 1 and ingest.reconnects == 0
    async with genesys_env(heartbeat_interval=100) as env, ingesting(env, heartbeat_timeout=0.4) as (ingest, receive):
        await trio.sleep(1.5)  # no heartbeats: the client pings, the fake pongs, the socket stays
        assert ingest.channels_created == 1 and ingest.reconnects == 0


async def test_socket_closing_renews_the_channel_without_losing_or_repeating_a_message() -> None:
    async with genesys_env() as env, ingesting(env) as (ingest, receive):
        first = env.fake.inject_customer_message("/one", queue_id="q1")
        assert (await next_message(receive)).message_id == first.id
        old_channel = next(iter(env.fake.channels))
        env.fake.warn_socket_closing()
        await wait_for(lambda: ingest.channels_created == 2)
        # between the warning and the old socket closing, events still arrive; after, the new channel has them
        second = env.fake.inject_customer_message("/two", conversation_id=first_conv(env), queue_id="q1")
        assert (await next_message(receive)).message_id == second.id
        await wait_for(lambda: not env.fake.channels[old_channel].sockets if old_channel in env.fake.channels else True)
        third = env.fake.inject_customer_message("/three", conversation_id=first_conv(env), queue_id="q1")
        assert (await next_message(receive)).message_id == third.id
        await nothing_more(receive)
        assert ingest.reconnects == 0


def first_conv(env: GenesysTestEnv) -> str:
    return next(iter(env.fake.conversations))


async def test_dropped_sockets_reconnect_with_backoff_and_duplicate_nothing() -> None:
    async with genesys_env() as env, ingesting(env) as (ingest, receive):
        first = env.fake.inject_customer_message("/one", queue_id="q1")
        await next_message(receive)
        for round_ in range(3):
            env.fake.drop_sockets()
            await wait_for(lambda: ingest.reconnects == round_ + 1 and ingest.connections == round_ + 2)
        # the next event lists every message id of the conversation again; only the new one is delivered
        second = env.fake.inject_customer_message("/two", conversation_id=first_conv(env), queue_id="q1")
        assert (await next_message(receive)).message_id == second.id
        await nothing_more(receive)
        assert ingest.channels_created == 4 and first.id in ingest.seen


async def test_channels_are_renewed_before_they_expire() -> None:
    async with (
        genesys_env(channel_ttl=1.5, closing_warning=0.2) as env,
        ingesting(env, renew_before=3600) as (ingest, receive),
    ):
        await trio.sleep(3.5)
        assert ingest.channels_created >= 3
        message = env.fake.inject_customer_message("/still-here", queue_id="q1")
        assert (await next_message(receive)).message_id == message.id
        await nothing_more(receive)


@pytest.mark.parametrize("plain_httpx", [False, True], ids=["transport-door", "httpx-client"])
async def test_429_storms_and_token_expiry_lose_nothing_and_duplicate_nothing(plain_httpx: bool) -> None:
    async with genesys_env(max_backoff=0.2, plain_httpx=plain_httpx) as env, ingesting(env) as (ingest, receive):
        env.fake.fail_next(429, path="/messages/", times=4, retry_after=0.05)
        first = env.fake.inject_customer_message("/one", queue_id="q1")
        assert (await next_message(receive)).message_id == first.id
        env.fake.expire_tokens()
        second = env.fake.inject_customer_message("/two", conversation_id=first_conv(env), queue_id="q1")
        assert (await next_message(receive)).message_id == second.id
        env.fake.fail_next(503, path="/messages/bulk", times=2)
        conversation = env.fake.conversations[first_conv(env)]
        more = [env.fake.add_message(conversation, "customer", f"/m{i}") for i in range(3)]
        env.fake.publish_conversation(conversation)
        assert [(await next_message(receive)).message_id for _ in more] == [m.id for m in more]
        await nothing_more(receive)
        assert env.tokens.fetch_count == 2


async def test_subscription_refused_by_the_api_is_retried_until_it_works() -> None:
    async with genesys_env() as env:
        env.fake.fail_next(500, path="/subscriptions$", method="PUT")  # PUT is idempotent: retried inside the call
        env.fake.fail_next(403, path="/notifications/channels$", missing_permission="notifications:channel:add")
        async with ingesting(env) as (ingest, receive):
            message = env.fake.inject_customer_message("/x", queue_id="q1")
            assert (await next_message(receive)).message_id == message.id
            assert ingest.channels_created == 1


async def test_a_rejected_topic_names_its_missing_permission_and_the_others_still_work(caplog) -> None:
    async with genesys_env() as env:
        env.fake.deny_topics(r"v2\.users\..*", "conversation:communication:view")
        async with ingesting(env) as (ingest, receive):
            [channel] = env.fake.channels.values()
            assert channel.topics == {"v2.routing.queues.q1.conversations.messages"}
            message = env.fake.inject_customer_message("/x", queue_id="q1")
            assert (await next_message(receive)).message_id == message.id
    assert "v2.users.agent-user-1.conversations.messages rejected" in caplog.text
    assert "conversation:communication:view" in caplog.text


async def test_history_in_the_first_event_is_not_run_again() -> None:
    import time

    async with genesys_env() as env, ingesting(env) as (ingest, receive):
        conversation = env.fake.start_conversation(queue_id="q1")
        old = env.fake.add_message(conversation, "customer", "/refund 1", timestamp=time.time() - 3600)
        new = env.fake.inject_customer_message("/refund 2", conversation_id=conversation.id, queue_id="q1")
        assert (await next_message(receive)).message_id == new.id
        await nothing_more(receive)
        assert old.id in ingest.seen
