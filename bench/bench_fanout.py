"""Fan-out benchmark: one state event to N sync sessions, our hub against a plain trio-websocket loop.

    python bench/bench_fanout.py [--sessions 1000] [--rounds 100] [--baseline-rounds 30] [--json]

For each contender the parent process runs the server; a child process (this
file with --child) opens N WebSocket sessions on real loopback sockets and
reads them with a bare epoll loop, so the receiving side costs the server
nothing. Per round the parent sends one event (a realistic ~0.5 kB state
frame); the child notes when the last of the N sessions has the whole frame.
Both sides use CLOCK_MONOTONIC, which Linux shares across processes.

- `hub`: `SyncHub.publish` (frame encoded once, written to each socket without yielding).
- `trio-websocket`: `for ws in sessions: await ws.send_message(text)` on trio-websocket's server.
- `socket.send floor`: the frame encoded once and `sock.send(frame)` on each raw socket in a
  plain loop (the issue's probe): no sessions, scopes or queues; the least any hub can cost here.
- `trio streams` (--with-streams): the frame encoded once, `await stream.send_all(frame)` per
  `trio.SocketStream`: what the supported trio stream API gives without trio-websocket; it
  still yields to the scheduler once per recipient.

All contenders run side by side (each with its own session process) and take
turns round by round, so a machine whose load swings (this one is shared)
hits them alike. Reported per contender: latency until the last session has
the event (p50, p99, max) and server CPU per recipient (process CPU from the
send until the child reported, divided by N; median over rounds). Goal for the hub at
1,000 sessions: p50 <= 35 ms, p99 <= 60 ms, <= 15 us CPU per recipient.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

SECRET = "bench-secret"


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096 <= hard or (soft < hard and hard < 4096):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))


# -- the child: N raw WebSocket sessions read with epoll ---------------------------------------------
def _masked(payload: bytes) -> bytes:
    mask = os.urandom(4)
    size = len(payload)
    length = bytes((0x80 | size,)) if size < 126 else bytes((0x80 | 126,)) + size.to_bytes(2, "big")
    return b"\x81" + length + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def _frames(buffer: bytearray) -> int:
    """Remove whole data frames from the front of `buffer`; returns how many (control frames skipped)."""
    count = 0
    while len(buffer) >= 2:
        size, at = buffer[1] & 0x7F, 2
        if size == 126:
            if len(buffer) < 4:
                break
            size, at = int.from_bytes(buffer[2:4], "big"), 4
        elif size == 127:
            if len(buffer) < 10:
                break
            size, at = int.from_bytes(buffer[2:10], "big"), 10
        if len(buffer) < at + size:
            break
        count += (buffer[0] & 0x0F) in (0x1, 0x2)
        del buffer[: at + size]
    return count


def child(port: int, sessions: int, rounds: int, hello: bytes | None) -> None:
    _raise_fd_limit()
    socks, buffers = [], []
    request = (
        f"GET /sync HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    for _ in range(sessions):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(request.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(4096)
        assert data.startswith(b"HTTP/1.1 101"), data[:80]
        buffer = bytearray(data[data.index(b"\r\n\r\n") + 4 :])
        if hello is not None:
            sock.sendall(_masked(hello))
            while _frames(buffer) < 1:  # the snapshot: the session is live after it
                buffer += sock.recv(65536)
        socks.append(sock)
        buffers.append(buffer)
    # The receiving loop is kept cheap (epoll directly, one recv per ready socket, a whole frame
    # recognised from its header without copying) so the sessions' own cost blurs the servers' little.
    poller = select.epoll(sessions + 8)
    index_of: dict[int, int] = {}
    recv_of: dict[int, object] = {}
    for index, sock in enumerate(socks):
        sock.setblocking(False)
        poller.register(sock.fileno(), select.EPOLLIN)
        index_of[sock.fileno()] = index
        recv_of[sock.fileno()] = sock.recv
    received = [0] * sessions
    completed = [0] * rounds
    first = [0] * rounds
    print("ready", flush=True)
    done_rounds = 0
    monotonic_ns = time.monotonic_ns
    while done_rounds < rounds:
        for fd, _ in poller.poll(30, sessions):
            try:
                data = recv_of[fd](16384)  # type: ignore[operator]  # (a 256 kB buffer costs an mmap per call)
            except BlockingIOError:
                continue
            now = monotonic_ns()
            index = index_of[fd]
            buffer = buffers[index]
            size = data[1] & 0x7F if len(data) >= 2 else 0
            whole = 2 + size if size < 126 else (4 + int.from_bytes(data[2:4], "big") if size == 126 else -1)
            if not buffer and whole == len(data) and data[0] & 0x0F in (0x1, 0x2):
                frames = 1  # the usual case: exactly one whole data frame
            else:
                buffer += data
                frames = _frames(buffer)
            for _ in range(frames):
                round_ = received[index]
                received[index] += 1
                completed[round_] += 1
                if completed[round_] == 1:
                    first[round_], cpu_at_first = now, time.process_time_ns()
                if completed[round_] == sessions:
                    receiving_cpu = time.process_time_ns() - cpu_at_first
                    print(f"done {round_} {now} {first[round_]} {receiving_cpu}", flush=True)
                    done_rounds += 1
    for sock in socks:
        sock.close()


# -- the parent: the servers ----------------------------------------------------------------------------
def _event_record(index: int):  # noqa: ANN202
    from commandlang.runtime.store import CommandRecord

    return CommandRecord(
        id=f"cmd-{index:06d}",
        conversation_id="conv-5c1e2a",
        command="refund",
        args={"order": "12345", "amount": "19.99", "card": "****1111", "reason": "damaged item"},
        status="executing" if index % 2 else "completed",
        actor="agent-42",
        role="agent",
        channel="genesys",
        message_id=f"m-{index}",
        created_at=1.7e9,
        updated_at=1.7e9 + index,
        version=2,
        queue_id="queue-billing",
    )


class _Lines:
    def __init__(self, stream) -> None:  # noqa: ANN001
        self.stream, self.buffer = stream, b""

    async def next(self) -> str:
        while b"\n" not in self.buffer:
            chunk = await self.stream.receive_some(4096)
            if not chunk:
                raise RuntimeError("the session process ended early")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()


def _text(round_: int) -> str:
    from commandlang.runtime.store import StateEvent

    return json.dumps(StateEvent(round_ + 1, _event_record(round_)).to_json(), separators=(",", ":"))


class Contender:
    """One server under test: its session process, and how it sends one event to all its sessions."""

    def __init__(self, name: str, port: int, rounds: int, broadcast, ready, hello: bytes | None = None) -> None:  # noqa: ANN001
        self.name, self.port, self.rounds, self.broadcast, self.ready, self.hello = (
            name,
            port,
            rounds,
            broadcast,
            ready,
            hello,
        )
        self.latencies: list[float] = []
        self.first: list[float] = []  # until the first session had it
        self.receiving_cpu: list[float] = []  # the session process's CPU from first to last arrival
        self.cpu: list[float] = []

    async def spawn(self, sessions: int) -> None:
        import trio

        self.sessions = sessions
        self.process = await trio.lowlevel.open_process(
            [
                sys.executable,
                __file__,
                "--child",
                str(self.port),
                str(sessions),
                str(self.rounds + WARMUP),
                base64.b64encode(self.hello).decode() if self.hello else "-",
            ],
            stdout=subprocess.PIPE,
        )
        self.lines = _Lines(self.process.stdout)

    async def wait_ready(self) -> None:
        assert await self.lines.next() == "ready"
        await self.ready()

    async def one_round(self, round_: int) -> None:
        cpu0, t0 = time.process_time_ns(), time.monotonic_ns()
        await self.broadcast(round_)
        _, got_round, t_last, t_first, receiving_cpu = (await self.lines.next()).split()
        cpu1 = time.process_time_ns()
        assert int(got_round) == round_
        if round_ >= WARMUP:
            self.latencies.append((int(t_last) - t0) / 1e6)
            self.first.append((int(t_first) - t0) / 1e6)
            self.receiving_cpu.append(int(receiving_cpu) / 1e6)
            self.cpu.append((cpu1 - cpu0) / 1e3 / self.sessions)

    def result(self) -> dict:
        latencies = sorted(self.latencies)
        return {
            "rounds": len(latencies),
            "p50_ms": statistics.median(latencies),
            "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
            "max_ms": latencies[-1],
            "cpu_us_per_recipient": statistics.median(self.cpu),
            "first_p50_ms": statistics.median(self.first),
            "receiving_cpu_p50_ms": statistics.median(self.receiving_cpu),
        }


WARMUP = 5


async def start_hub(nursery, directory: str, sessions: int, rounds: int) -> Contender:  # noqa: ANN001
    import trio

    from commandlang.runtime.sqlite import SqliteStore
    from commandlang.runtime.store import StateEvent
    from commandlang.sync.hub import SyncHub
    from commandlang.sync.tokens import issue_token

    store = SqliteStore(os.path.join(directory, "bench.db"))
    await nursery.start(store.run)
    hub = SyncHub(store, SECRET, ping_interval=3600, max_sessions_per_agent=sessions, hello_timeout=60)
    port = await nursery.start(hub.serve, "127.0.0.1", 0)
    token = issue_token(SECRET, "bench", ["queue:queue-billing"], 3600)
    hello = json.dumps(
        {"type": "hello", "token": token, "subscribe": ["queue:queue-billing"], "resume_after": None}
    ).encode()

    async def ready() -> None:
        while hub.session_count < sessions:
            await trio.sleep(0.01)

    async def broadcast(round_: int) -> None:
        hub.publish(StateEvent(round_ + 1, _event_record(round_)))

    return Contender("hub", port, rounds, broadcast, ready, hello)


async def start_floor(nursery, sessions: int, rounds: int) -> Contender:  # noqa: ANN001
    import trio
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import AcceptConnection, Request

    from commandlang.sync.wire import open_listener, text_frame

    socks: list[socket.socket] = []

    async def accept(listener: socket.socket) -> None:
        try:
            while True:
                await trio.lowlevel.wait_readable(listener)
                sock, _ = listener.accept()
                sock.setblocking(True)  # a bench shortcut: the child sends its request right away
                ws = WSConnection(ConnectionType.SERVER)
                while not any(isinstance(event, Request) for event in ws.events()):
                    ws.receive_data(sock.recv(65536))
                sock.sendall(ws.send(AcceptConnection()))
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                socks.append(sock)
        finally:
            for sock in socks:
                sock.close()
            trio.lowlevel.notify_closing(listener)
            listener.close()

    listener = await open_listener("127.0.0.1", 0)
    port = listener.getsockname()[1]
    nursery.start_soon(accept, listener)

    async def ready() -> None:
        while len(socks) < sessions:
            await trio.sleep(0.01)

    async def broadcast(round_: int) -> None:
        frame = text_frame(_text(round_).encode())
        for sock in socks:
            sock.send(frame)  # small frames on idle sockets: never partial here

    return Contender("socket.send floor", port, rounds, broadcast, ready)


async def start_trio_websocket(nursery, sessions: int, rounds: int) -> Contender:  # noqa: ANN001
    import trio
    from trio_websocket import serve_websocket

    connections = []

    async def handler(request) -> None:  # noqa: ANN001
        connections.append(await request.accept())
        await trio.sleep_forever()

    server = await nursery.start(serve_websocket, handler, "127.0.0.1", 0, None)

    async def ready() -> None:
        while len(connections) < sessions:
            await trio.sleep(0.01)

    async def broadcast(round_: int) -> None:
        text = _text(round_)  # the plain loop, with the one obvious saving: the JSON is encoded once
        for ws in connections:
            await ws.send_message(text)

    return Contender("trio-websocket loop", server.port, rounds, broadcast, ready)


async def start_trio_streams(nursery, sessions: int, rounds: int) -> Contender:  # noqa: ANN001
    from functools import partial

    import trio
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import AcceptConnection, Request

    from commandlang.sync.wire import text_frame

    streams = []

    async def handler(stream: trio.SocketStream) -> None:
        ws = WSConnection(ConnectionType.SERVER)
        while not any(isinstance(event, Request) for event in ws.events()):
            ws.receive_data(await stream.receive_some(65536))
        await stream.send_all(ws.send(AcceptConnection()))
        streams.append(stream)
        await trio.sleep_forever()

    listeners = await nursery.start(partial(trio.serve_tcp, handler, 0, host="127.0.0.1", backlog=2048))

    async def ready() -> None:
        while len(streams) < sessions:
            await trio.sleep(0.01)

    async def broadcast(round_: int) -> None:
        frame = text_frame(_text(round_).encode())
        for stream in streams:
            await stream.send_all(frame)

    return Contender("trio streams loop", listeners[0].socket.getsockname()[1], rounds, broadcast, ready)


async def run_all(sessions: int, rounds: int, baseline_rounds: int, with_streams: bool) -> dict:
    import trio

    with tempfile.TemporaryDirectory() as directory:
        async with trio.open_nursery() as nursery:
            contenders = [
                await start_hub(nursery, directory, sessions, rounds),
                await start_floor(nursery, sessions, rounds),
                await start_trio_websocket(nursery, sessions, baseline_rounds),
            ]
            if with_streams:
                contenders.append(await start_trio_streams(nursery, sessions, baseline_rounds))
            try:
                with trio.fail_after(120):
                    for contender in contenders:  # one at a time: the handshakes are not what we measure
                        await contender.spawn(sessions)
                        await contender.wait_ready()
                    for round_ in range(max(c.rounds for c in contenders) + WARMUP):
                        for contender in contenders:
                            if round_ < contender.rounds + WARMUP:
                                await trio.sleep(0.01)
                                await contender.one_round(round_)
            finally:
                for contender in contenders:
                    if getattr(contender, "process", None) is not None:
                        contender.process.kill()
                        await contender.process.wait()
            nursery.cancel_scope.cancel()
    return {contender.name: contender.result() for contender in contenders}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument(
        "--baseline-rounds",
        type=int,
        default=30,
        help="rounds for the plain loops (they are ~5x slower; this keeps a run under a minute)",
    )
    parser.add_argument(
        "--with-streams",
        action="store_true",
        help="also measure a send_all loop over trio streams (frame encoded once)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    _raise_fd_limit()
    import trio

    started = time.monotonic()
    results = trio.run(run_all, args.sessions, args.rounds, args.baseline_rounds, args.with_streams)
    if args.json:
        print(json.dumps({"sessions": args.sessions, "results": results}, indent=2))
        return 0
    print(
        f"{args.sessions} sessions, rounds interleaved ({args.rounds} for the hub and the floor, "
        f"{args.baseline_rounds} for the plain loops, plus {WARMUP} warm-up each), {time.monotonic() - started:.1f}s, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(
        f"{'':22} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'CPU us/recipient':>17} {'first p50 ms':>13} "
        f"{'receiver CPU ms':>16}"
    )
    for name, r in results.items():
        print(
            f"{name:22} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f} {r['max_ms']:8.1f} {r['cpu_us_per_recipient']:17.1f} "
            f"{r['first_p50_ms']:13.2f} {r['receiving_cpu_p50_ms']:16.1f}"
        )
    hub, plain, floor = results["hub"], results["trio-websocket loop"], results["socket.send floor"]
    print(
        f"hub / plain trio-websocket loop: latency p50 {hub['p50_ms'] / plain['p50_ms']:.2f}x, "
        f"CPU per recipient {hub['cpu_us_per_recipient'] / plain['cpu_us_per_recipient']:.2f}x"
    )
    print(
        f"hub / socket.send floor: latency p50 {hub['p50_ms'] / floor['p50_ms']:.2f}x, "
        f"CPU per recipient {hub['cpu_us_per_recipient'] / floor['cpu_us_per_recipient']:.2f}x"
    )
    goal = hub["p50_ms"] <= 35 and hub["p99_ms"] <= 60 and hub["cpu_us_per_recipient"] <= 15
    print(f"goal (p50 <= 35 ms, p99 <= 60 ms, <= 15 us/recipient): {'met' if goal else 'NOT met'}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        port, sessions, rounds, hello = sys.argv[2:6]
        child(int(port), int(sessions), int(rounds), None if hello == "-" else base64.b64decode(hello))
    else:
        sys.exit(main())
