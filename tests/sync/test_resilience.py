"""Hub restarts, slow consumers, heartbeats and client reconnects, on real sockets."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import replace
from functools import partial
from pathlib import Path

import trio

from commandlang.runtime.sqlite import SqliteStore
from commandlang.sync import Snapshot, StateChange, SyncClient
from commandlang.sync.hub import SyncHub

from .support import SECRET, FakeRuntime, running_hub, token

FINAL = ("completed", "failed", "timed_out", "cancelled")


def masked_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """A client frame (clients must mask), for the raw-socket peers below."""
    mask = os.urandom(4)
    size = len(payload)
    header = bytes((0x80 | opcode,)) + (
        bytes((0x80 | size,)) if size < 126 else bytes((0x80 | 126,)) + size.to_bytes(2, "big")
    )
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def server_frames(data: bytes) -> list[tuple[int, bytes]]:
    """(opcode, payload) of the unmasked frames a server sent."""
    frames, at = [], 0
    while at + 2 <= len(data):
        opcode, size = data[at] & 0x0F, data[at + 1] & 0x7F
        at += 2
        if size == 126:
            size, at = int.from_bytes(data[at : at + 2], "big"), at + 2
        elif size == 127:
            size, at = int.from_bytes(data[at : at + 8], "big"), at + 8
        frames.append((opcode, data[at : at + size]))
        at += size
    return frames


async def raw_session(port: int, hello: dict | None) -> trio.SocketStream:
    """Handshake and hello (unless None) by hand; then the test decides what (not) to send and read."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    await stream.send_all(
        f"GET /sync HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        response += await stream.receive_some(4096)
    assert response.startswith(b"HTTP/1.1 101")
    if hello is not None:
        await stream.send_all(masked_frame(json.dumps(hello).encode()))
    return stream


async def test_hub_killed_mid_stream_and_restarted_on_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    subscriptions = [["*"], ["conversation:c0"], ["conversation:c1", "queue:q2"], ["queue:q0"], ["queue:q1"]] * 4
    received: list[list[StateChange]] = [[] for _ in subscriptions]
    runtime: FakeRuntime | None = None
    port = 0

    async def hub_life(*, task_status: trio.TaskStatus[tuple[SqliteStore, SyncHub]]) -> None:
        nonlocal port
        store = SqliteStore(str(path))
        async with trio.open_nursery() as nursery:
            await nursery.start(store.run)
            hub = SyncHub(store, SECRET, ping_interval=0.5)
            port = await nursery.start(hub.serve, "127.0.0.1", port)
            task_status.started((store, hub))

    async def watch(index: int, scopes: list[str], ready: trio.Semaphore) -> None:
        async with SyncClient(
            f"ws://127.0.0.1:{port}/sync",
            token(*scopes, agent=f"agent-{index}"),
            scopes,
            min_backoff=0.02,
            max_backoff=0.2,
        ) as client:
            async for event in client:
                if isinstance(event, Snapshot):
                    assert event.seq == 0 and not received[index], "only the first connection needs a snapshot"
                    ready.release()
                else:
                    received[index].append(event)

    operations = [(f"k{n}", status) for status in ("pending", "executing", "final") for n in range(20)]
    async with trio.open_nursery() as clients:
        with trio.CancelScope() as first_life:
            async with trio.open_nursery() as hubs:
                store, hub = await hubs.start(hub_life)
                runtime = FakeRuntime(store, hub)
                ready = trio.Semaphore(0)
                for index, scopes in enumerate(subscriptions):
                    clients.start_soon(watch, index, scopes, ready)
                for _ in subscriptions:
                    await ready.acquire()
                for command_id, status in operations[:30]:
                    await _apply(runtime, command_id, status)
                # durable but never published: the process dies between the commit and the broadcast
                await store.append(runtime.records["k10"].moved("executing", 5000))
                first_life.cancel()  # kill: sockets dropped, no close frames
        async with trio.open_nursery() as hubs:
            store, hub = await hubs.start(hub_life)
            runtime.store, runtime.hub = store, hub
            runtime.records["k10"] = await store.get("k10")  # type: ignore[assignment]
            for command_id, status in operations[30:]:
                if (command_id, status) != ("k10", "executing"):
                    await _apply(runtime, command_id, status)
            everything = await store.events_after(0, 10_000)
            expected = [[e.seq for e in everything if _in_scope(scopes, e.record)] for scopes in subscriptions]
            with trio.fail_after(10):
                while any(len(got) < len(want) for got, want in zip(received, expected)):
                    await trio.sleep(0.02)
            await trio.sleep(0.1)
            clients.cancel_scope.cancel()
            hubs.cancel_scope.cancel()
    finals = {e.record.id: e.record.status for e in everything}
    for scopes, got, want in zip(subscriptions, received, expected):
        assert [event.seq for event in got] == want, scopes  # no gap, no duplicate, in order
        last = {event.command_id: event.status for event in got}
        assert last == {cid: status for cid, status in finals.items() if cid in last} and set(last.values()) <= set(
            FINAL
        )


def _in_scope(scopes: list[str], record) -> bool:  # noqa: ANN001
    return (
        "*" in scopes
        or f"conversation:{record.conversation_id}" in scopes
        or (record.queue_id is not None and f"queue:{record.queue_id}" in scopes)
    )


async def _apply(runtime: FakeRuntime, command_id: str, status: str) -> None:
    n = int(command_id[1:])
    if status == "pending":
        await runtime.create(command_id, f"c{n % 3}", f"q{n % 3}")
    elif status == "final":
        await runtime.move(command_id, FINAL[n % 4])
    else:
        await runtime.move(command_id, status)
    await trio.sleep(0.002)


async def test_a_slow_consumer_is_cut_off_with_4408_without_delaying_others(tmp_path: Path) -> None:
    async with running_hub(tmp_path / "s.db", queue_size=4) as (store, hub, url):
        runtime = FakeRuntime(store, hub)
        hello = {"type": "hello", "token": token("*"), "subscribe": ["*"], "resume_after": None}
        slow = await raw_session(hub.port, hello)  # reads nothing from here on
        async with SyncClient(url, token("*"), ["*"]) as fast:
            assert isinstance(await fast.__anext__(), Snapshot)
            big = "x" * 60_000  # 200 x 60 kB: more than the kernel buffers of one loopback connection
            with trio.fail_after(10):
                for n in range(200):
                    event = await runtime.create(f"k{n}", "c1")
                    await store.append(replace(event.record, id=f"big{n}", args={"note": big}))
                    hub.publish((await store.events_after(event.seq, 1))[0])
                    got = await fast.__anext__()
                    assert got.seq == event.seq  # the fast session keeps up while the slow one is stuck
                    assert (await fast.__anext__()).seq == event.seq + 1
            data = b""
            with trio.fail_after(5):
                while chunk := await slow.receive_some(1 << 20):
                    data += chunk
                    if data.endswith(b"too slow: reconnect and resume"):  # the close frame: answer it
                        await slow.send_all(masked_frame((4408).to_bytes(2, "big"), opcode=0x8))
            assert (0x8, (4408).to_bytes(2, "big") + b"too slow: reconnect and resume") in server_frames(data)
            await slow.aclose()


async def test_a_slow_sync_client_is_cut_off_and_resumes_without_gap(tmp_path: Path) -> None:
    async with running_hub(tmp_path / "s.db", queue_size=4) as (store, hub, url):
        runtime = FakeRuntime(store, hub)
        async with SyncClient(url, token("*"), ["*"], buffer=1, min_backoff=0.01) as client:
            assert isinstance(await client.__anext__(), Snapshot)
            big = {"note": "y" * 60_000}
            for n in range(150):  # the consumer reads nothing meanwhile
                created = await runtime.create(f"k{n}", "c1")
                record = replace(created.record, version=2, status="executing", args=big)
                hub.publish(await store.append(record))
            seqs = [(await client.__anext__()).seq for _ in range(300)]
        assert seqs == list(range(1, 301))
        assert client.connections >= 2  # it was cut off (4408) at least once and resumed


async def test_heartbeat_closes_a_silent_peer(tmp_path: Path) -> None:
    async with running_hub(tmp_path / "s.db", ping_interval=0.1, missed_pongs=3) as (store, hub, url):
        silent = await raw_session(hub.port, {"type": "hello", "token": token("*"), "subscribe": ["*"]})
        data = b""
        with trio.fail_after(3):
            while chunk := await silent.receive_some(65536):
                data += chunk  # never answers the pings
        frames = server_frames(data)
        assert [opcode for opcode, _ in frames].count(0x9) == 3  # three pings, then
        assert frames[-1][0] == 0x8 and frames[-1][1][:2] == (1011).to_bytes(2, "big")
        # a peer that answers pings (trio-websocket does) stays connected
        async with SyncClient(url, token("*"), ["*"]) as client:
            assert isinstance(await client.__anext__(), Snapshot)
            await trio.sleep(0.6)
            await FakeRuntime(store, hub).create("a", "c1")
            assert (await client.__anext__()).command_id == "a" and client.connections == 1


async def test_client_detects_a_dead_hub_and_backs_off_with_jitter() -> None:
    accepted: list[float] = []

    async def mute_hub(stream: trio.SocketStream) -> None:
        # completes the handshake, then never answers anything: the client's pings go unanswered
        accepted.append(trio.current_time())
        request = b""
        while b"\r\n\r\n" not in request:
            request += await stream.receive_some(4096)
        key = [
            line.split(b":", 1)[1].strip()
            for line in request.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key")
        ][0]
        accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
        await stream.send_all(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, mute_hub, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        draws: list[float] = []

        def random() -> float:
            draws.append(0.5)
            return 0.5

        async with SyncClient(
            f"ws://127.0.0.1:{port}/sync",
            token("*"),
            ["*"],
            ping_interval=0.05,
            pong_timeout=0.05,
            min_backoff=0.01,
            max_backoff=0.04,
            random=random,
        ) as client:
            with trio.fail_after(5):
                while len(accepted) < 5:
                    await trio.sleep(0.01)
            assert client.connections == 0  # the mute hub never sent a frame
        nursery.cancel_scope.cancel()
    assert len(draws) >= 4  # one jittered delay per reconnect, no cap on attempts


async def test_a_client_away_longer_than_the_log_gets_a_fresh_snapshot_not_a_gap(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    async with running_hub(path) as (store, hub, url):
        runtime = FakeRuntime(store, hub)
        await runtime.create("a", "c1")
        client = SyncClient(url, token("*"), ["*"], min_backoff=0.01, max_backoff=0.05)
        async with client:
            first = await client.__anext__()
            assert isinstance(first, Snapshot) and [c["id"] for c in first.commands] == ["a"]
            await hub.aclose()  # the client keeps retrying meanwhile
            await runtime.move("a", "executing")
            await runtime.move("a", "completed")
            await runtime.create("b", "c1")
            await store.prune(older_than=runtime.now - 0.5)  # the log now starts after what the client has
            again = SyncHub(store, SECRET)
            async with trio.open_nursery() as nursery:
                await nursery.start(again.serve, "127.0.0.1", hub.port)
                with trio.fail_after(5):
                    fresh = await client.__anext__()
                assert isinstance(fresh, Snapshot) and fresh.seq == 4
                # "a" finished before the retention cut, so it is gone; the snapshot replaces the client's view
                assert {c["id"]: c["status"] for c in fresh.commands} == {"b": "pending"}
                runtime.hub = again
                await runtime.move("b", "executing")
                with trio.fail_after(5):
                    assert (await client.__anext__()).seq == 5
                await again.aclose()
    assert client.last_seq == 5
