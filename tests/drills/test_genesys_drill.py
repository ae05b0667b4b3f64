"""Genesys drill: customers type commands (Notification API path and Bot Connector path) while the fake
Genesys Cloud expires tokens, answers 429, closes notification sockets (with and without warning) and the
bot flow drops its connections; agent sessions drop and resume meanwhile.

Afterwards, as in the other drills: one final record per customer message, none ran twice (store records
per Genesys message id; the agent-side replies in the fake's transcript), every sync session saw every
state, no secret in the service's output, `/readyz` (Genesys check included) answers again.

Notification events carry message ids, not text, and Genesys does not replay events a closed socket
missed; the service catches up from the next event of the conversation (which lists every message id so
far). So each customer keeps typing after the faults end: their last message's event covers any
message typed while the socket was down.
"""

from __future__ import annotations

import functools
import random
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest
import trio

from commandlang.testing.fake_genesys import serve_fake_genesys
from tests.drills.harness import (
    FINAL,
    Proxy,
    ServiceProcess,
    Watcher,
    check_backend,
    check_logs,
    drill_seconds,
    report,
    start_backend,
)
from tests.drills.test_drills import DEADLINE, _all_final, _caught_up, _cut_now_and_then, _session_problems

CLIENT_ID = "drill-client"
CLIENT_SECRET = "gcs-DRILL-51d0c7a2e9"
BOT_SECRET = "bot-DRILL-c3f8e61b04"
QUEUE = "drill-queue"


def _bot_request(conversation_id: str, message_id: str, text: str) -> dict:
    return {
        "botId": "drill-bot",
        "botVersion": "1.0",
        "botSessionId": f"session-{conversation_id}",
        "messageId": message_id,
        "inputMessage": {"type": "Text", "text": text},
        "languageCode": "en-us",
        "botSessionTimeout": 4320,
        "genesysConversationId": conversation_id,
        "parameters": {},
    }


@pytest.mark.deadline(DEADLINE)
async def test_genesys_faults_tokens_429_socket_closes_and_dropped_bot_connections(tmp_path: Path) -> None:
    seconds = drill_seconds(4.0)
    rng = random.Random(10)
    async with trio.open_nursery() as nursery:
        backend, backend_url = await start_backend(nursery)
        fake = await nursery.start(
            functools.partial(serve_fake_genesys, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        )
        service = ServiceProcess(
            tmp_path,
            backend_url,
            extra_env={
                "GENESYS_CLIENT_ID": CLIENT_ID,
                "GENESYS_CLIENT_SECRET": CLIENT_SECRET,
                "GENESYS_API_BASE": fake.base_url,
                "GENESYS_LOGIN_BASE": fake.base_url,
                "GENESYS_BOT_SECRET": BOT_SECRET,
                "GENESYS_QUEUE_IDS": QUEUE,
            },
        )
        try:
            await service.start()
            proxy = Proxy(service.sync_port)
            await nursery.start(proxy.run)
            watchers = [Watcher("all-1", "*"), Watcher("all-2", "*")]
            for watcher in watchers:
                await nursery.start(watcher.run, f"ws://127.0.0.1:{proxy.port}/sync")
            async with httpx.AsyncClient() as client:
                await service.wait_ready(client)
                injected: dict[str, str] = {}  # Genesys message id -> conversation (notification path)
                bot_sent: dict[str, tuple[str, str]] = {}  # messageId -> (conversation, text) (bot path)
                faults: Counter[str] = Counter()
                dropped: set[str] = set()
                until = trio.current_time() + seconds

                async def customer(index: int) -> None:
                    """Types a command, waits for the answer (or 5 s), types the next; once the faults are over and
                    /readyz says the notification socket is back, types one more (as a customer whose message
                    got no answer does)."""
                    conversation = fake.start_conversation(queue_id=QUEUE)
                    n = 0
                    while True:
                        n += 1
                        answers = sum(1 for m in conversation.messages if m.sender == "agent")
                        text = f"/status {index * 100 + n}" if n % 3 else f'/note "customer {index} note {n}"'
                        after_recovery = last_round.is_set()
                        message = fake.inject_customer_message(text, conversation_id=conversation.id)
                        injected[message.id] = conversation.id
                        with trio.move_on_after(5):
                            while sum(1 for m in conversation.messages if m.sender == "agent") <= answers:
                                await trio.sleep(0.02)
                        if trio.current_time() >= until:
                            if after_recovery:
                                return  # typed once the socket was surely back: its event lists every id so far
                            await last_round.wait()

                async def bot_user(index: int) -> None:
                    conversation = str(uuid.uuid4())
                    n = 0
                    while trio.current_time() < until:
                        n += 1
                        message_id = str(uuid.uuid4())
                        drop = rng.random() < 0.3
                        text = f"/slow {n} delay=0.3" if drop else f"/status {index * 100 + n}"
                        bot_sent[message_id] = (conversation, text)
                        body = _bot_request(conversation, message_id, text)
                        headers = {"Authorization": f"Bearer {BOT_SECRET}"}
                        if drop:  # the bot flow gives up on the connection before the answer
                            with trio.move_on_after(0.05):
                                await client.post(f"{service.base}/genesys/bot", json=body, headers=headers, timeout=10)
                            dropped.add(message_id)
                            faults["bot_connection_dropped"] += 1
                            await trio.sleep(0.5)
                            # Genesys delivers the turn again: the same messageId must not run twice
                            again = await client.post(
                                f"{service.base}/genesys/bot", json=body, headers=headers, timeout=10
                            )
                            assert again.status_code == 200, again.text
                        else:
                            answer = await client.post(
                                f"{service.base}/genesys/bot", json=body, headers=headers, timeout=10
                            )
                            assert answer.status_code == 200 and answer.json()["botState"] == "MoreData", answer.text

                async def genesys_faults() -> None:
                    actions = ("drop_sockets", "expire_tokens", "api_429", "socket_closing")
                    turn = 0
                    while trio.current_time() + 0.6 < until:
                        await trio.sleep(0.6)
                        action = actions[turn % len(actions)]  # each kind, in turn
                        turn += 1
                        faults[action] += 1
                        if action == "expire_tokens":
                            fake.expire_tokens()
                        elif action == "api_429":
                            fake.fail_next(429, path=r"/api/v2/conversations/", times=2, retry_after=1)
                        elif action == "drop_sockets":
                            fake.drop_sockets()
                        else:
                            fake.warn_socket_closing()

                last_round = trio.Event()

                async def after_the_faults() -> None:
                    await trio.sleep_until(until)
                    await service.wait_ready(client)  # /readyz: the notification socket is connected again
                    last_round.set()

                async with trio.open_nursery() as drill:
                    drill.start_soon(genesys_faults)
                    drill.start_soon(after_the_faults)
                    drill.start_soon(_cut_now_and_then, proxy, until, 0.9)
                    for index in range(4):
                        drill.start_soon(customer, index)
                    for index in range(2):
                        drill.start_soon(bot_user, index)
                await _all_final(service)
                with trio.move_on_after(15):  # the last messages' answers reach the transcript
                    while not all(
                        _answered(fake, conversation, message_id)
                        for message_id, conversation in injected.items()
                        if _is_command(fake, conversation, message_id)
                    ):
                        await trio.sleep(0.05)
                await _caught_up(watchers, service)
                ready_after = await service.wait_ready(client)
                ready = (await client.get(f"{service.base}/readyz")).json()

            rows = await service.rows()
            by_message = Counter(row["message_id"] for row in rows)
            expected = list(injected) + list(bot_sent)
            problems = []
            lost = [m for m in expected if by_message[m] == 0]
            twice = [m for m, n in by_message.items() if n > 1]
            if lost:
                where = [
                    (
                        m in bot_sent,
                        m in injected
                        and [x.id for x in fake.conversations[injected[m]].messages if x.sender == "customer"].index(m),
                        m in injected
                        and sum(1 for x in fake.conversations[injected[m]].messages if x.sender == "customer"),
                    )
                    for m in lost
                ]
                problems.append(f"{len(lost)} customer message(s) have no command record: {lost[:5]} {where}")
            if twice:
                problems.append(f"{len(twice)} message(s) ran more than once: {twice[:5]}")
            unfinished = [r for r in rows if r["status"] not in FINAL]
            if unfinished:
                problems.append(f"{len(unfinished)} command(s) not final")
            replies_per_conversation = {
                cid: sum(1 for m in conv.messages if m.sender == "agent")
                for cid, conv in fake.conversations.items()
                if cid in set(injected.values())
            }
            commands_per_conversation = Counter(injected.values())
            extra_replies = {
                c: (replies_per_conversation[c], n)
                for c, n in commands_per_conversation.items()
                if replies_per_conversation[c] > n
            }
            if extra_replies:
                problems.append(f"more agent replies than commands (a command answered twice): {extra_replies}")
            tokens = tuple(fake.tokens)
            problems += await check_backend(backend, service) + check_logs(
                service, (CLIENT_SECRET, BOT_SECRET) + tokens
            )
            problems += await _session_problems(watchers, service)
            if ready.get("checks", {}).get("genesys") is not True:
                problems.append(f"/readyz does not show Genesys connected: {ready}")
            statuses = Counter(row["status"] for row in rows)
            report(
                "genesys faults",
                {
                    "commands": len(rows),
                    "notification_messages": len(injected),
                    "bot_messages": len(bot_sent),
                    "lost": len(lost),
                    "duplicated": len(twice),
                    **{f"status_{k}": v for k, v in sorted(statuses.items())},
                    "faults_injected": sum(faults.values()),
                    **{f"fault_{k}": v for k, v in sorted(faults.items())},
                    "tokens_issued": fake.tokens_issued,
                    "api_429_answered": sum(1 for r in fake.requests if r.status == 429),
                    "api_401_answered": sum(1 for r in fake.requests if r.status == 401),
                    "session_drops": proxy.cuts,
                    "readyz_s": round(ready_after, 2),
                },
            )
            assert not problems, "\n".join(problems)
            assert faults["expire_tokens"] + faults["api_429"] + faults["drop_sockets"] + faults["socket_closing"] >= 3
            assert dropped, "no Bot Connector connection was dropped"
        finally:
            await service.stop()
            nursery.cancel_scope.cancel()


def _is_command(fake, conversation_id: str, message_id: str) -> bool:  # noqa: ANN001
    message = fake.conversations[conversation_id].find(message_id)
    return message is not None and message.text.startswith("/")


def _answered(fake, conversation_id: str, message_id: str) -> bool:  # noqa: ANN001
    """An agent-side message follows the customer's message in the transcript."""
    messages = fake.conversations[conversation_id].messages
    index = next(i for i, m in enumerate(messages) if m.id == message_id)
    return any(m.sender == "agent" for m in messages[index + 1 :])
