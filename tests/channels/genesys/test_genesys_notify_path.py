"""The Notification path done right (issue 13), against the SDK-validated fake over real sockets."""

from __future__ import annotations

import time

import trio

from commandlang.channels.genesys import ConversationsReplySink, NotificationIngest
from commandlang.runtime.messages import InboundMessage, OutboundReply
from .genesys_helpers import TestReply, compile_text, genesys_env
from .test_genesys_notifications import ingesting, next_message, nothing_more, wait_for

GENERIC = "/api/v2/conversations/{conversationId}"
SEND = "/api/v2/conversations/messages/{conversationId}/communications/{communicationId}/messages"


async def test_an_agents_first_message_runs_and_replies_go_to_the_communication_from_the_generic_conversation() -> None:
    async with genesys_env() as env, ingesting(env) as (ingest, receive):
        conversation = env.fake.start_conversation(queue_id="q1")
        first = env.fake.inject_agent_message(conversation.id, "/refund 9")  # the agent's very first message
        message = await next_message(receive)
        assert (message.message_id, message.role, message.text) == (first.id, "agent", "/refund 9")
        assert message.metadata["genesys_communication_id"] == conversation.communication_id
        sink = ConversationsReplySink(env.conversations, compile_text, on_sent=ingest.mark_sent)
        await sink.send(OutboundReply(conversation.id, TestReply("refund done"), "c1", message))
        assert env.fake.transcript(conversation.id)[-1].text == "refund done"
        assert len(env.fake.requests_to(GENERIC)) == 1  # looked up once, then cached
        second = env.fake.inject_agent_message(conversation.id, "/status 1")
        assert (await next_message(receive)).message_id == second.id
        assert len(env.fake.requests_to(GENERIC)) == 1


async def test_a_new_agent_participant_refreshes_the_cached_communication() -> None:
    async with genesys_env() as env, ingesting(env) as (ingest, receive):
        conversation = env.fake.start_conversation(queue_id="q1")
        env.fake.inject_agent_message(conversation.id, "/a")
        old = (await next_message(receive)).metadata["genesys_communication_id"]
        new_agent = env.fake.connect_agent(conversation.id)  # a transfer: new participant, new communication
        env.fake.inject_agent_message(conversation.id, "/b")
        message = await next_message(receive)
        assert message.metadata["genesys_communication_id"] == new_agent.communication_id != old
        assert message.participant_id == new_agent.participant_id


async def test_a_404_on_send_asks_the_generic_conversation_again() -> None:
    async with genesys_env() as env:
        conversation = env.fake.start_conversation(queue_id="q1")
        sink = ConversationsReplySink(env.conversations, compile_text)
        stale = conversation.communication_id
        env.fake.connect_agent(conversation.id, publish=False)
        inbound = InboundMessage(
            "genesys", conversation.id, "m-1", "p-1", "agent", "/x", 0.0, metadata={"genesys_communication_id": stale}
        )
        await sink.send(OutboundReply(conversation.id, TestReply("after transfer"), "c1", inbound))
        assert env.fake.transcript(conversation.id)[-1].text == "after transfer"
        assert [r.status for r in env.fake.requests_to(SEND)] == [404, 200]


async def test_customer_messages_from_the_bot_phase_never_run_after_the_transfer() -> None:
    async with genesys_env() as env, ingesting(env) as (ingest, receive):
        conversation = env.fake.start_conversation(queue_id="q1", with_agent=False)  # in a bot flow
        answered_by_bot = env.fake.inject_customer_message("/status 1", conversation_id=conversation.id, queue_id="q1")
        await trio.sleep(0.05)
        env.fake.connect_agent(conversation.id)  # transferred: the event lists the bot-phase message again
        await nothing_more(receive, 0.5)
        after = env.fake.inject_customer_message("/status 2", conversation_id=conversation.id, queue_id="q1")
        assert (await next_message(receive)).message_id == after.id
        await nothing_more(receive)
        assert answered_by_bot.id in ingest.seen


async def test_unknown_content_and_enum_values_are_skipped_and_never_stall_ingest() -> None:
    async with genesys_env() as env, ingesting(env) as (ingest, receive):
        conversation = env.fake.start_conversation(queue_id="q1")
        env.fake.add_message(
            conversation,
            "customer",
            "",
            content=[{"contentType": "Reactions", "reactions": [{"reactionType": "Like", "count": 1}]}],
        )
        env.fake.add_message(
            conversation,
            "customer",
            "/located",
            content=[{"contentType": "Location", "location": {"latitude": 1.0, "longitude": 2.0}}],
        )
        typed = env.fake.add_message(conversation, "customer", "/after")
        env.fake.publish_conversation(conversation)
        got = [await next_message(receive), await next_message(receive)]
        assert [m.text for m in got] == ["/located", "/after"] and got[1].message_id == typed.id
        await nothing_more(receive)


async def test_an_unreadable_message_is_retried_a_few_times_in_the_background_then_marked_seen() -> None:
    async with (
        genesys_env() as env,
        ingesting(env, fetch_attempts=3, backoff_base=0.4, backoff_max=0.8) as (ingest, receive),
    ):
        stuck = env.fake.start_conversation(queue_id="q1")
        bad = env.fake.add_message(stuck, "customer", "/never")
        env.fake.fail_next(400, method="GET", path=f"/messages/{bad.id}$", times=100)
        env.fake.publish_conversation(stuck)
        await trio.sleep(0.1)
        started = trio.current_time()
        other = env.fake.inject_customer_message("/other", queue_id="q1")  # another conversation, meanwhile
        assert (await next_message(receive, 2)).message_id == other.id
        assert trio.current_time() - started < 0.4  # not behind the stuck conversation's retries
        await wait_for(lambda: bad.id in ingest.seen, 5)
        reads = [r for r in env.fake.requests if r.path.endswith(f"/messages/{bad.id}")]
        assert len(reads) == 3
        await nothing_more(receive)


async def test_channels_are_recreated_before_their_token_expires() -> None:
    # the fake ends a channel's socket when the token that created it expires (an assumption, marked there)
    async with genesys_env(token_ttl=3.0) as env, ingesting(env) as (ingest, receive):
        await trio.sleep(4.5)
        assert ingest.reconnects == 0 and ingest.channels_created >= 2
        message = env.fake.inject_customer_message("/fresh", queue_id="q1")
        assert (await next_message(receive)).message_id == message.id


async def test_no_longer_subscribed_and_token_revoked_recreate_the_channel() -> None:
    async with genesys_env() as env, ingesting(env) as (ingest, receive):
        for round_, topic in enumerate(("v2.system.no_longer_subscribed", "v2.system.token_revoked"), 2):
            env.fake.send_system_event(topic)
            await wait_for(lambda: ingest.channels_created == round_)
        assert ingest.reconnects == 0 and env.tokens.fetch_count == 2  # token_revoked: a new token
        message = env.fake.inject_customer_message("/still", queue_id="q1")
        assert (await next_message(receive)).message_id == message.id
        await nothing_more(receive)


async def test_topics_past_1000_are_split_across_channels() -> None:
    async with genesys_env() as env:
        queues = [f"q{i}" for i in range(1500)]
        ingest = NotificationIngest(env.api, env.conversations, queue_ids=queues, backoff_base=0.05, backoff_max=0.2)
        send, receive = trio.open_memory_channel[InboundMessage](10)
        async with trio.open_nursery() as nursery:
            with trio.fail_after(10):
                await nursery.start(ingest.serve, send)
            assert sorted(len(c.topics) for c in env.fake.channels.values()) == [500, 1000]
            message = env.fake.inject_customer_message("/far", queue_id="q1400")
            assert (await next_message(receive)).message_id == message.id
            assert ingest.connected
            nursery.cancel_scope.cancel()


async def test_messages_older_than_max_message_age_never_run() -> None:
    async with genesys_env() as env, ingesting(env, max_message_age=60) as (ingest, receive):
        conversation = env.fake.start_conversation(queue_id="q1")
        conversation.agents[0].connected_at = time.time() - 3600
        old_agent = env.fake.add_message(conversation, "agent", "/old", timestamp=time.time() - 600)
        new = env.fake.inject_agent_message(conversation.id, "/new")
        assert (await next_message(receive)).message_id == new.id
        await nothing_more(receive)
        assert old_agent.id in ingest.seen
