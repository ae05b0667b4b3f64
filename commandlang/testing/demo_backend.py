"""A demo backend for the sample commands: a real HTTP service with fault injection.

An ASGI app (`DemoBackend`) served by hypercorn under Trio. It keeps its data
in memory and serves, under `/v1`:

    GET  /v1/orders/{order}                  order status
    POST /v1/orders/{order}/refunds          create a refund (idempotent per Idempotency-Key)
    POST /v1/callbacks                       schedule a callback
    POST /v1/tickets/{ticket}/close          close a ticket
    PUT  /v1/orders/{order}/address          change an order's delivery address
    POST /v1/commands/{name}                 the default contract: {"status", "message", "data"}
    GET  /v1/healthz

Faults, for tests and drills, come from the request header `X-Demo-Fault`
(`latency=2.0`, `status=503;retry_after=1`, `status=429`, `reset`,
`malformed`, `oversize`, `oversize=2000000;chunked`, `slow_body=3`,
`contract_error=Out of stock`; several joined with `;`) or from a plan
(`backend.plan(Fault(...), times=N)`) applied to the next N requests. Every
request is recorded (`backend.requests`) so tests can check what arrived.

Run it alone with `commandlang demo-backend --port 8700`; embed it with
`await nursery.start(serve_demo_backend, "127.0.0.1", 0)` (reports the port).
"""

from __future__ import annotations

import email.utils
import functools
import itertools
import json
import math
import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qsl, unquote

import trio

from ..runtime.http import answer_lifespan, read_body

__all__ = ["DemoBackend", "Fault", "RecordedRequest", "parse_fault", "serve_demo_backend"]

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_MAX_REQUEST_BODY = 1024 * 1024
_CATALOGUE = (
    ("Wireless earbuds", "39.99"),
    ("Phone case", "12.50"),
    ("USB-C cable", "9.99"),
    ("Smart watch", "149.00"),
)
_BASE = "/v1"


@dataclass(frozen=True, slots=True)
class Fault:
    """What to do wrong with one request. Unset fields mean "behave"."""

    latency: float = 0.0  # seconds to wait before answering
    status: int | None = None  # answer this status with a JSON error body
    retry_after: str | None = None  # Retry-After value sent with `status` (seconds or an HTTP date)
    reset: bool = False  # drop the connection mid-answer (status line and 4 of 1000 promised body bytes sent)
    malformed: bool = False  # 200 with a body that claims to be JSON and is not
    oversize: int | None = None  # 200 with a JSON body of this many bytes
    chunked: bool = False  # with oversize: no Content-Length, so the client only finds out while reading
    slow_body: float = 0.0  # send the body in pieces over this many seconds
    contract_error: str | None = None  # default contract: answer {"status": "error", "message": ...}
    path_prefix: str | None = None  # plans only: apply only to paths starting with this


def parse_fault(text: str) -> Fault:
    """`status=503;retry_after=1` -> Fault(status=503, retry_after="1"). Unknown keys are ignored."""
    fault = Fault()
    for part in text.split(";"):
        key, _, value = part.strip().partition("=")
        key, value = key.strip().lower(), value.strip()
        try:
            if key == "latency":
                fault = replace(fault, latency=float(value))
            elif key == "status":
                fault = replace(fault, status=int(value))
            elif key == "retry_after":
                fault = replace(fault, retry_after=value)
            elif key == "retry_after_date":  # an HTTP date this many seconds from now
                fault = replace(fault, retry_after=email.utils.formatdate(time.time() + float(value), usegmt=True))
            elif key == "reset":
                fault = replace(fault, reset=True)
            elif key == "malformed":
                fault = replace(fault, malformed=True)
            elif key == "oversize":
                fault = replace(fault, oversize=int(value) if value else 2 * 1024 * 1024)
            elif key == "chunked":
                fault = replace(fault, chunked=True)
            elif key == "slow_body":
                fault = replace(fault, slow_body=float(value) if value else 2.0)
            elif key == "contract_error":
                fault = replace(fault, contract_error=value or "The backend refused this command")
        except ValueError:
            continue  # a drill typo must not take the demo down
    return fault


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """A request as the demo backend received it (`path` is the raw, still-encoded path)."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: dict[str, str] = field(repr=False)
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class _Reset(Exception):
    """Raised inside the app to make hypercorn drop the connection."""


class DemoBackend:
    """The ASGI app and its in-memory state (orders, refunds, callbacks, tickets, requests seen)."""

    def __init__(self, *, record_limit: int = 10_000) -> None:
        self.requests: deque[RecordedRequest] = deque(maxlen=record_limit)
        self._plan: deque[Fault] = deque()
        self._ids = itertools.count(1001)
        self.refunds: dict[str, dict[str, Any]] = {}
        self._refunds_by_key: dict[str, dict[str, Any]] = {}
        self.callbacks: dict[str, dict[str, Any]] = {}
        self.tickets: dict[str, str] = {}
        self.addresses: dict[str, dict[str, Any]] = {}

    # -- fault plans ------------------------------------------------------
    def plan(self, fault: Fault, times: int = 1) -> None:
        """Apply `fault` to the next `times` requests (matching `fault.path_prefix` if set)."""
        self._plan.extend([fault] * times)

    def clear_plan(self) -> None:
        self._plan.clear()

    def _planned(self, path: str) -> Fault | None:
        for index, fault in enumerate(self._plan):
            if fault.path_prefix is None or path.startswith(fault.path_prefix):
                del self._plan[index]
                return fault
        return None

    def requests_to(self, path_prefix: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.startswith(path_prefix)]

    # -- ASGI -------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = await read_body(receive, _MAX_REQUEST_BODY) or b""  # an oversized body is dropped, not kept
        raw_path = scope.get("raw_path") or scope["path"].encode()
        path = raw_path.decode("latin-1").split("?", 1)[0]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = tuple(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        self.requests.append(RecordedRequest(scope["method"], path, query, headers, body))

        fault = self._planned(path) or Fault()
        if "x-demo-fault" in headers:
            fault = parse_fault(headers["x-demo-fault"])
        if fault.latency > 0:
            await trio.sleep(fault.latency)
        if fault.reset:
            # an app error before the answer starts makes hypercorn send a 500, so start one
            # (with a length it will never reach) and fail mid-body: the connection is dropped
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"1000")],
                }
            )
            await send({"type": "http.response.body", "body": b'{"st', "more_body": True})
            raise _Reset("fault: reset")
        if fault.status is not None:
            extra = [(b"retry-after", fault.retry_after.encode())] if fault.retry_after else []
            await _send_json(
                send, fault.status, {"status": "error", "message": f"Injected fault: HTTP {fault.status}"}, extra
            )
            return
        if fault.malformed:
            await _send_bytes(send, 200, b'{"status": "success", "data": {"order": 12', b"application/json")
            return
        if fault.oversize is not None:
            await _send_oversize(send, fault.oversize, chunked=fault.chunked)
            return

        status, answer = self._route(scope["method"], path, query, headers, body, fault)
        payload = json.dumps(answer).encode()
        if fault.slow_body > 0:
            await _send_slowly(send, status, payload, fault.slow_body)
        else:
            await _send_bytes(send, status, payload, b"application/json")

    # -- the endpoints ----------------------------------------------------
    def _route(
        self, method: str, path: str, query: tuple, headers: dict[str, str], body: bytes, fault: Fault
    ) -> tuple[int, Any]:
        if not path.startswith(_BASE + "/"):
            return 404, {"message": "Not found"}
        parts = [unquote(p) for p in path[len(_BASE) + 1 :].split("/")]
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return 400, {"message": "The request body is not JSON"}
        key = headers.get("idempotency-key")
        match method, parts:
            case "GET", ["healthz"]:
                return 200, {"status": "ok"}
            case "GET", ["orders", order]:
                return self._order(order)
            case "POST", ["orders", order, "refunds"]:
                return self._refund(order, data, key)
            case "POST", ["callbacks"]:
                return self._callback(data)
            case "POST", ["tickets", ticket, "close"]:
                if self.tickets.get(ticket) == "closed":
                    return 409, {"message": f"Ticket {ticket} is already closed"}
                self.tickets[ticket] = "closed"
                fields = data if isinstance(data, dict) else {}
                return 200, {
                    "ticket": int(ticket) if ticket.isdigit() else ticket,
                    "status": "closed",
                    "resolution": fields.get("resolution"),
                    "note": fields.get("note"),
                    "tags": fields.get("tags") or [],
                }
            case "PUT", ["orders", order, "address"]:
                if not order.isdigit():
                    return 404, {"message": f"Order {order} was not found"}
                self.addresses[order] = data if isinstance(data, dict) else {}
                return 200, {"order": int(order), "address": self.addresses[order], "status": "updated"}
            case "POST", ["commands", name]:
                return self._command(name, data, fault)
            case "GET", ["echo", *rest]:
                return 200, {"segments": rest, "query": dict(query)}
        return 404, {"message": f"No endpoint {method} {path}"}

    def _order(self, order: str) -> tuple[int, Any]:
        if not order.isdigit():
            return 404, {"message": f"Order {order} was not found"}
        number = int(order)
        statuses = ("processing", "shipped", "out for delivery", "delivered")
        status = statuses[number % len(statuses)]
        carrier = "DHL" if number % 2 else "UPS"
        # the fields the sample reply template (templates/order_status.yaml) shows
        items: list[dict[str, Any]] = [
            {"name": name, "qty": 1 + (number + index) % 3, "price": price}
            for index, (name, price) in enumerate(_CATALOGUE[: 1 + number % len(_CATALOGUE)])
        ]
        return 200, {
            "order": number,
            "status": status,
            "carrier": carrier,
            "eta": None if status == "delivered" else "2026-12-0%d" % (1 + number % 9),
            "tracking_url": f"https://tracking.example.com/{carrier.lower()}/{number}"
            if status in statuses[1:3]
            else None,
            "items": items,
            "total": "%.2f" % sum(float(item["price"]) * item["qty"] for item in items),
        }

    def _refund(self, order: str, data: Any, key: str | None) -> tuple[int, Any]:
        if not order.isdigit():
            return 404, {"message": f"Order {order} was not found"}
        if key and key in self._refunds_by_key:
            return 201, self._refunds_by_key[key]  # the same refund again, not a second one
        amount = data.get("amount") if isinstance(data, dict) else None
        fields = data if isinstance(data, dict) else {}
        refund: dict[str, Any] = {
            "refund_id": f"R-{next(self._ids)}",
            "order": int(order),
            "amount": amount,
            "reason": fields.get("reason"),
            "notify": bool(fields.get("notify")),
            "status": "created",
        }
        self.refunds[refund["refund_id"]] = refund
        if key:
            self._refunds_by_key[key] = refund
        return 201, refund

    def _callback(self, data: Any) -> tuple[int, Any]:
        if not isinstance(data, dict) or not data.get("phone"):
            return 422, {"message": "A phone number is needed for a callback"}
        callback = {
            "callback_id": f"CB-{next(self._ids)}",
            "phone": data["phone"],
            "when": data.get("when"),
            "within_seconds": data.get("within_seconds"),
            "topic": data.get("topic", "other"),
            "status": "scheduled",
        }
        self.callbacks[callback["callback_id"]] = callback
        return 201, callback

    def _command(self, name: str, data: Any, fault: Fault) -> tuple[int, Any]:
        args = data.get("args", {}) if isinstance(data, dict) else {}
        if fault.contract_error:
            return 200, {"status": "error", "message": fault.contract_error, "data": {}}
        return 200, {"status": "success", "message": f"{name} done", "data": {"command": name, "args": args}}


# -- ASGI helpers --------------------------------------------------------------
async def _send_bytes(send: Send, status: int, body: bytes, content_type: bytes, extra: list | None = None) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_json(send: Send, status: int, answer: Any, extra: list | None = None) -> None:
    await _send_bytes(send, status, json.dumps(answer).encode(), b"application/json", extra)


async def _send_oversize(send: Send, size: int, *, chunked: bool) -> None:
    headers = [(b"content-type", b"application/json")]
    if not chunked:
        headers.append((b"content-length", str(size).encode()))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    # a JSON string of `size` bytes in 64 KiB pieces: valid JSON if anyone reads it all
    piece = 65536
    sent = 0
    first = True
    while sent < size:
        n = min(piece, size - sent)
        if first:
            chunk = b'"' + b"x" * (n - 1)
            first = False
        else:
            chunk = b"x" * n
        if sent + n == size:
            chunk = chunk[:-1] + b'"'
        sent += n
        await send({"type": "http.response.body", "body": chunk, "more_body": sent < size})


async def _send_slowly(send: Send, status: int, body: bytes, seconds: float) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    pieces = max(2, min(len(body), 10))
    step = math.ceil(len(body) / pieces)
    for start in range(0, len(body), step):
        await trio.sleep(seconds / pieces)
        await send(
            {"type": "http.response.body", "body": body[start : start + step], "more_body": start + step < len(body)}
        )


async def serve_demo_backend(
    host: str = "127.0.0.1",
    port: int = 8700,
    *,
    backend: DemoBackend | None = None,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the demo backend until cancelled; `task_status.started(port)` reports the bound port (port 0: a free one)."""
    from hypercorn.config import Config
    from hypercorn.trio import serve

    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = None  # injected resets raise inside the app on purpose; no tracebacks on stderr
    config.keep_alive_timeout = 5.0
    app = backend if backend is not None else DemoBackend()

    async with trio.open_nursery() as nursery:
        # hypercorn types an ASGI app with its own TypedDict scopes and events; ours takes plain dicts
        binds = await nursery.start(functools.partial(serve, app, config))  # type: ignore[arg-type]
        bound_port = int(binds[0].rsplit(":", 1)[1])
        task_status.started(bound_port)
