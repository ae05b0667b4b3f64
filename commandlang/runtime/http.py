"""The runtime's HTTP face: a small ASGI app served by hypercorn under Trio.

Routes are a table of (method, path) -> handler; channels and the sync
panel add theirs. Handlers take a `Request` (method, path, query, headers,
body already read under a size limit) and return a `Response`; streaming
handlers (server-sent events) get the ASGI `send` directly.
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Mapping
from urllib.parse import parse_qs

import trio

__all__ = ["Request", "Response", "HttpApp", "answer_lifespan", "json_response", "read_body", "serve_http"]

log = logging.getLogger("commandlang.http")

MAX_BODY = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    client: str | None = None


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


def json_response(status: int, data: Any, headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str).encode()
    return Response(status, body, {"content-type": "application/json", **(headers or {})})


def text_response(status: int, text: str, content_type: str = "text/plain; charset=utf-8") -> Response:
    return Response(status, text.encode(), {"content-type": content_type})


Handler = Callable[[Request], Awaitable[Response]]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
StreamHandler = Callable[[Request, Receive, Send], Awaitable[None]]


class HttpApp:
    """An ASGI application with a route table."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.streams: dict[tuple[str, str], StreamHandler] = {}
        self.prefixes: list[tuple[str, str, Handler]] = []

    def route(self, method: str, path: str, handler: Handler) -> None:
        self.routes[(method, path)] = handler

    def route_prefix(self, method: str, prefix: str, handler: Handler) -> None:
        self.prefixes.append((method, prefix, handler))

    def stream(self, method: str, path: str, handler: StreamHandler) -> None:
        self.streams[(method, path)] = handler

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]],
                       send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        key = (method, path)
        stream = self.streams.get(key)
        handler = self.routes.get(key) or next(
            (h for m, prefix, h in self.prefixes if m == method and path.startswith(prefix)), None)
        if handler is None and stream is None:
            allowed = sorted({m for m, p in [*self.routes, *self.streams] if p == path})
            if allowed:
                response = json_response(405, {"error": f"use {', '.join(allowed)} on {path}"}, {"allow": ", ".join(allowed)})
            else:
                response = json_response(404, {"error": f"no such path: {path}"})
            await _send(send, response)
            return
        body = await read_body(receive)
        if body is None:
            await _send(send, json_response(413, {"error": f"the body is larger than {MAX_BODY} bytes"}))
            return
        request = Request(
            method=method,
            path=path,
            query={k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode("latin-1")).items()},
            headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])},
            body=body,
            client=scope.get("client", [None])[0] if scope.get("client") else None,
        )
        if stream is not None:
            await stream(request, receive, send)
            return
        try:
            response = await handler(request)  # type: ignore[misc]
        except trio.Cancelled:
            raise
        except Exception:
            log.exception("handler failed", extra={"stage": "http", "path": path})
            response = json_response(500, {"error": "internal error"})
        await _send(send, response)


async def answer_lifespan(receive: Receive, send: Send) -> None:
    """Acknowledge the ASGI lifespan protocol: nothing to set up or tear down in an app itself."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def read_body(receive: Receive, limit: int = MAX_BODY) -> bytes | None:
    """An ASGI request's whole body, or None once it grows past `limit` bytes (nothing unbounded is kept)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _send(send: Callable[[dict[str, Any]], Awaitable[None]], response: Response) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()]
    headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


async def serve_http(app: HttpApp, host: str, port: int, *, shutdown: trio.Event,
                     task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
    """Serve `app` until `shutdown` is set; reports the bound port (port 0: a free one)."""
    from hypercorn.config import Config
    from hypercorn.trio import serve

    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = None
    config.graceful_timeout = 5.0
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(functools.partial(serve, app, config, shutdown_trigger=shutdown.wait))  # type: ignore[arg-type]
        task_status.started(int(binds[0].rsplit(":", 1)[1]))
