"""Image attachments are fetched to upload as media, streamed under MAX_IMAGE_BYTES: an oversized
one stays a link and is never read whole (nor past the cap)."""

from __future__ import annotations

import functools

import httpx
import trio

from commandlang.channels.genesys import fetch_image_attachments
from commandlang.channels.genesys.channel import MAX_IMAGE_BYTES
from commandlang.replies.model import Attachment, Reply

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))
CHUNK = b"x" * 65536


class ImageServer:
    """Answers GET with a small PNG, or an endless chunked body, or a huge declared Content-Length;
    counts the body bytes it got to send before the client hung up."""

    def __init__(self) -> None:
        self.sent = 0
        self.hung_up = trio.Event()

    async def handle(self, stream: trio.SocketStream) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            data = await stream.receive_some(4096)
            if not data:
                return
            head += data
        path = head.split(b" ", 2)[1]
        try:
            if path == b"/small.png":
                await stream.send_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: %d\r\n\r\n%s" % (len(PNG), PNG)
                )
                return
            if path == b"/declared.png":  # says it is too big, then sends nothing more: read nothing, wait for nothing
                await stream.send_all(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (MAX_IMAGE_BYTES * 10))
            else:  # no length: an endless chunked body
                await stream.send_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                with trio.fail_after(10):
                    while True:
                        await stream.send_all(b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK))
                        self.sent += len(CHUNK)
            with trio.fail_after(10):
                await stream.receive_some(1)  # returns b"" once the client hangs up
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            self.hung_up.set()


async def fetch(path: str) -> tuple[list, ImageServer]:
    server = ImageServer()
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(functools.partial(trio.serve_tcp, server.handle, 0, host="127.0.0.1"))
        url = f"http://127.0.0.1:{listeners[0].socket.getsockname()[1]}{path}"
        reply = Reply(text="Your receipt", attachments=(Attachment(url, filename="r.png", mime="image/png"),))
        with trio.fail_after(5):
            async with httpx.AsyncClient(trust_env=False) as http:
                files = await fetch_image_attachments(http, reply)
            await server.hung_up.wait()
        nursery.cancel_scope.cancel()
    return files, server


async def test_a_small_image_is_fetched_whole() -> None:
    files, _ = await fetch("/small.png")
    assert [(f.file_name, f.data, f.mime) for f in files] == [("r.png", PNG, "image/png")]


async def test_an_endless_image_is_cut_off_at_the_cap_and_stays_a_link() -> None:
    files, server = await fetch("/endless.png")
    assert files == []
    # the client hung up once past the cap: the server got no further than its socket buffers allow
    assert MAX_IMAGE_BYTES < server.sent < MAX_IMAGE_BYTES + 16 * 1024 * 1024


async def test_an_image_declared_too_big_is_refused_before_its_body() -> None:
    files, _ = await fetch("/declared.png")  # within fail_after(5), though the server would wait 10 s for more
    assert files == []
