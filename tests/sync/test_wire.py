"""The hub's socket layer (sync/wire.py) on a real loopback connection: the send queue's bound is in frames."""

from __future__ import annotations

import socket

from commandlang.sync.wire import Peer, text_frame


async def test_coalesced_frames_count_one_by_one_against_the_queue_bound() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    theirs = socket.create_connection(listener.getsockname())
    ours, _ = listener.accept()
    listener.close()
    try:
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        theirs.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        peer = Peer(ours, queue_size=8, send_timeout=5.0)
        batch = b"".join(text_frame(b"x" * 1000) for _ in range(3))  # three frames written together
        accepted = 0
        while peer.send(batch, 3):  # the other end reads nothing: the kernel fills, then the queue
            accepted += 1
            assert peer.queued <= 8
            assert accepted < 1000
        assert peer.queued + 3 > 8  # refused only when three more frames would not fit
        assert peer.send(text_frame(b"y"), 1) == (peer.queued + 1 <= 8)
    finally:
        ours.close()
        theirs.close()
