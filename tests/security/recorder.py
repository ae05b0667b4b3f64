"""A backend that records every request it gets and answers the attack suite's scripted ways.

Run as its own process (`python -m tests.security.recorder --port 0`): prints
`listening http://127.0.0.1:PORT`. `GET /__seen` lists what it received so far
(method, path, body); everything else is recorded first, then answered by path:

    /boom/...    500 {"message": "database exploded at 10.1.2.3"}
    /reject/...  400 echoing the `card` of the JSON body: "card <card> was declined by 10.9.8.7"
    /links/...   200 with javascript:, data: and https URLs
    anything     200 {"ok": true, "path": ...}
"""

from __future__ import annotations

import argparse
import functools
import json
from typing import Any

import trio

from commandlang.runtime.http import answer_lifespan

SEEN: list[dict[str, Any]] = []
LEAK_MESSAGE = "database exploded at 10.1.2.3"
LINKS = {
    "js": "javascript:alert(document.cookie)",
    "data": "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "img": "data:image/svg+xml,<svg onload=alert(1)>",
    "vb": "JaVaScRiPt:alert(2)",
    "good": "https://ok.example/x",
}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await answer_lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body") or len(body) > 1 << 20:
            break
    path = scope["path"]
    if path == "/__seen":
        await _json(send, 200, SEEN)
        return
    SEEN.append({"method": scope["method"], "path": path, "body": body.decode("utf-8", "replace")})
    if path.startswith("/boom/"):
        await _json(send, 500, {"message": LEAK_MESSAGE})
    elif path.startswith("/reject/"):
        try:
            card = json.loads(body).get("card")
        except (ValueError, AttributeError):
            card = None
        await _json(send, 400, {"message": f"card {card} was declined by 10.9.8.7"})
    elif path.startswith("/links/"):
        await _json(send, 200, LINKS)
    else:
        await _json(send, 200, {"ok": True, "path": path})


async def _json(send: Any, status: int, data: Any) -> None:
    payload = json.dumps(data).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})


async def main(port: int) -> None:
    from hypercorn.config import Config
    from hypercorn.trio import serve

    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.errorlog = None
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(functools.partial(serve, app, config))
        print(f"listening http://127.0.0.1:{int(binds[0].rsplit(':', 1)[1])}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    trio.run(main, parser.parse_args().port)
