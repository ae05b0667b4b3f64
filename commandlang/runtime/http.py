"""The runtime's HTTP face: a small ASGI app, served under Trio by our HTTP/1.1 server (`http1.py`).

Routes are a table of (method, path) -> handler; channels and the sync
panel add theirs. Handlers take a `Request` (method, path, query, headers,
body already read) and return a `Response`; streaming handlers (server-sent
events) get the ASGI `send` directly.

What an unauthenticated caller can make the app hold is bounded here, for
every route at once:
- a route may `admit` a request on its head alone (method, path, headers):
  a webhook call without well-formed, fresh signature headers is refused
  before one byte of its body is read;
- each route has its own body limit (413 beyond it);
- a body must arrive whole within `body_timeout` seconds (408), so a body
  sent a byte a second is cut;
- the bytes held at once by bodies that are not yet authenticated (every
  route whose `admit` does not itself authenticate) are capped by
  `BodyBudget` (503 beyond it).
Every such refusal says `connection: close`, so the socket goes with it.
How many connections may be open at once is `runtime/listener.py`'s job.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from typing import Any, Awaitable, Callable, Mapping
from urllib.parse import parse_qs

import trio

from .http1 import WHOLE_BODY
from .listener import ConnectionGate, ConnectionLimits, serve_app

__all__ = [
    "Request",
    "Response",
    "send_response",
    "HttpApp",
    "BodyBudget",
    "Route",
    "RouteSpec",
    "answer_lifespan",
    "json_response",
    "read_body",
    "serve_http",
]

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
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8", "replace")
    return Response(status, body, {"content-type": "application/json", **(headers or {})})


def text_response(status: int, text: str, content_type: str = "text/plain; charset=utf-8") -> Response:
    return Response(status, text.encode(), {"content-type": content_type})


Handler = Callable[[Request], Awaitable[Response]]
Admit = Callable[[Request], "Response | None"]  # sees the request with an empty body; a Response refuses it
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
StreamHandler = Callable[[Request, Receive, Send], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """A route as a channel declares it; `HttpApp.mount` adds it.

    `prefix`: every path under `path`; `stream`: `handler` is a `StreamHandler` (server-sent events).
    `admit` and `authenticates` as for `HttpApp.route`; `max_body` None keeps `route`'s (or
    `route_prefix`'s) default limit.
    """

    method: str
    path: str
    handler: Any  # a Handler, or a StreamHandler when `stream`
    admit: Admit | None = None
    authenticates: bool = False
    max_body: int | None = None
    prefix: bool = False
    stream: bool = False


@dataclass(frozen=True, slots=True)
class Route:
    """A handler with what it may be sent.

    `admit` looks at the request's head before the body is read. `authenticates` says that a request
    `admit` let through is authenticated (a secret header was checked), so its body does not count
    against the `BodyBudget`; a route whose authentication needs the body (an HMAC over it) leaves it
    False."""

    handler: Handler | None = None
    stream: StreamHandler | None = None
    max_body: int = MAX_BODY
    admit: Admit | None = None
    authenticates: bool = False


class BodyBudget:
    """The bytes held at once by request bodies not yet authenticated, capped at `limit`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0
        self.peak = 0

    def take(self, size: int) -> bool:
        if self.held + size > self.limit:
            return False
        self.held += size
        self.peak = max(self.peak, self.held)
        return True

    def give(self, size: int) -> None:
        self.held -= size


_CLOSE = {"connection": "close"}
_NO_EXTENSIONS: Mapping[str, Any] = {}


class HttpApp:
    """An ASGI application with a route table, bounded as the module docstring says."""

    def __init__(self, *, body_timeout: float = 10.0, body_budget: BodyBudget | None = None) -> None:
        self.routes: dict[tuple[str, str], Route] = {}
        self.prefixes: list[tuple[str, str, Route]] = []
        self.body_timeout = body_timeout
        self.budget = body_budget or BodyBudget(16 * 1024 * 1024)

    def route(
        self,
        method: str,
        path: str,
        handler: Handler,
        *,
        max_body: int = MAX_BODY,
        admit: Admit | None = None,
        authenticates: bool = False,
    ) -> None:
        self.routes[(method, path)] = Route(handler, None, max_body, admit, authenticates)

    def route_prefix(
        self,
        method: str,
        prefix: str,
        handler: Handler,
        *,
        max_body: int = 0,
        admit: Admit | None = None,
        authenticates: bool = False,
    ) -> None:
        """Every path under `prefix` (e.g. `/genesys/dbc/bots/{botId}`); `admit` as for `route`."""
        self.prefixes.append((method, prefix, Route(handler, None, max_body, admit, authenticates)))

    def stream(self, method: str, path: str, handler: StreamHandler, *, admit: Admit | None = None) -> None:
        self.routes[(method, path)] = Route(None, handler, 0, admit)

    def mount(self, spec: RouteSpec) -> None:
        """Add a channel's declared route (`route`, `route_prefix` or `stream`, as `spec` says)."""
        if spec.stream:
            self.stream(spec.method, spec.path, spec.handler, admit=spec.admit)
            return
        add = self.route_prefix if spec.prefix else self.route
        limit = {} if spec.max_body is None else {"max_body": spec.max_body}
        add(spec.method, spec.path, spec.handler, admit=spec.admit, authenticates=spec.authenticates, **limit)

    def _find(self, method: str, path: str) -> Route | None:
        found = self.routes.get((method, path))
        if found is None:
            found = next((r for m, prefix, r in self.prefixes if m == method and path.startswith(prefix)), None)
        return found

    async def __call__(
        self,
        scope: dict[str, Any],
        receive: Callable[[], Awaitable[dict[str, Any]]],
        send: Callable[[dict[str, Any]], Awaitable[None]],
    ) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        route = self._find(method, path)
        if route is None:
            allowed = sorted({m for m, p in self.routes if p == path})
            if allowed:
                response = json_response(
                    405, {"error": f"use {', '.join(allowed)} on {path}"}, {"allow": ", ".join(allowed)}
                )
            else:
                response = json_response(404, {"error": f"no such path: {path}"})
            await send_response(send, response)
            return
        query_string = scope.get("query_string", b"")
        client = scope.get("client")
        head = Request(
            method=method,
            path=path,
            query={k: v[-1] for k, v in parse_qs(query_string.decode("latin-1")).items()} if query_string else {},
            headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])},
            body=b"",
            client=client[0] if client else None,
        )
        if route.admit is not None:
            refusal = route.admit(head)
            if refusal is not None:  # refused on its head: the body is never read
                await send_response(send, replace(refusal, headers={**refusal.headers, **_CLOSE}))
                return
        # `http1.py` hands over a body that came whole with its head: no wait, so no deadline to set
        whole = scope.get("extensions", _NO_EXTENSIONS).get(WHOLE_BODY)
        body = self._check_whole(whole, route) if whole is not None else await self._read_body(receive, route)
        if isinstance(body, Response):
            await send_response(send, body)
            return
        request = Request(method, path, head.query, head.headers, body, head.client)
        if route.stream is not None:
            await route.stream(request, receive, send)
            return
        assert route.handler is not None
        try:
            response = await route.handler(request)
        except trio.Cancelled:
            raise
        except Exception:
            log.exception("handler failed", extra={"stage": "http", "route": path})
            response = json_response(500, {"error": "internal error"})
        await send_response(send, response)

    def _check_whole(self, body: bytes, route: Route) -> bytes | Response:
        """A body already read whole: the same limits as `_read_body` (it holds no budget past this check)."""
        if len(body) > route.max_body:
            return json_response(413, {"error": f"the body is larger than {route.max_body} bytes"}, _CLOSE)
        if not route.authenticates and body:
            if not self.budget.take(len(body)):
                return json_response(
                    503,
                    {"error": "too many unfinished requests: try again in a moment"},
                    {"retry-after": "1", **_CLOSE},
                )
            self.budget.give(len(body))
        return body

    async def _read_body(self, receive: Receive, route: Route) -> bytes | Response:
        """The request's body, or the refusal to send instead (413, 408, 503 over the budget)."""
        counted = not route.authenticates
        chunks: list[bytes] = []
        size = 0
        try:
            with trio.move_on_after(self.body_timeout) as deadline:
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        break
                    chunk = message.get("body", b"")
                    if size + len(chunk) > route.max_body:
                        return json_response(413, {"error": f"the body is larger than {route.max_body} bytes"}, _CLOSE)
                    if counted and chunk and not self.budget.take(len(chunk)):
                        return json_response(
                            503,
                            {"error": "too many unfinished requests: try again in a moment"},
                            {"retry-after": "1", **_CLOSE},
                        )
                    size += len(chunk)
                    chunks.append(chunk)
                    if not message.get("more_body"):
                        break
            if deadline.cancelled_caught:
                return json_response(408, {"error": f"the body did not arrive within {self.body_timeout:g} s"}, _CLOSE)
            return b"".join(chunks)
        finally:
            if counted:
                self.budget.give(size)


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


async def send_response(send: Callable[[dict[str, Any]], Awaitable[None]], response: Response) -> None:
    """Write a whole `Response` through ASGI `send` (for stream handlers that refuse before streaming)."""
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()]
    headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


async def serve_http(
    app: HttpApp,
    host: str,
    port: int,
    *,
    shutdown: trio.Event,
    limits: ConnectionLimits | None = None,
    gate: ConnectionGate | None = None,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve `app` until `shutdown` is set, with at most `limits.max_connections` open connections
    (`runtime/listener.py`); reports the bound port (port 0: a free one)."""
    await serve_app(app, host, port, shutdown=shutdown, limits=limits, gate=gate, task_status=task_status)
