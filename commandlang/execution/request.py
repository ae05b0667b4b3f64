"""A bound `Call` + its `request` spec -> a `PreparedRequest` (pure: no I/O, no clock).

Templates in `query`, `json` and `headers` see the context

    {"args": {name: JSON form of the value}, "command": canonical name}

The JSON form (spec section 2: decimals as strings, dates as ISO strings,
durations as seconds) is what a backend receives in a body anyway, so a
template such as `{"amount": "{{ args.amount }}"}` sends `"19.99"`, exactly as
the default contract would.

Path placeholders `{arg}` are not Jinja: each is replaced by the argument's
JSON form percent-encoded as ONE path segment (`quote(..., safe="")`, with `.`
and `..` encoded too), so no argument can change the host, add or remove path
segments, or start a query or fragment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from json import dumps
from typing import Any, Protocol
from urllib.parse import quote

from ..binding.call import Call
from ..diagnostics import Diagnostic, TemplateError
from ..registry.model import BackendSpec, RegistrySpec, RequestSpec
from ..replies.templates import DROP, TemplateEngine

__all__ = [
    "BODY_METHODS",
    "PreparedRequest",
    "TokenProvider",
    "encode_path_segment",
    "json_body",
    "prepare_request",
    "render_path",
]

#: Methods that carry a body and an `Idempotency-Key`.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_-]*)\}")
_UNSAFE_HEADER = re.compile(r"[\r\n\x00]")


class TokenProvider(Protocol):
    """Supplies OAuth bearer tokens for `auth: {type: genesys}` (the Genesys channel implements it).

    `token()` returns a valid access token (cached, refreshed as needed);
    `invalidate()` drops the cached one after a 401 so the next `token()` fetches anew.
    """

    async def token(self) -> str: ...

    def invalidate(self) -> None: ...


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """One backend request, ready to send; the same value is sent on every attempt.

    `headers` may hold secrets (API keys, bearer tokens): it is left out of `repr`.
    `needs_genesys_token` asks the executor to add the Genesys bearer token per attempt.
    `expects_json` is True for the default contract, whose answer must be JSON.
    """

    backend: str
    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    query: tuple[tuple[str, str], ...] = ()
    json: Any = None
    has_body: bool = False
    idempotency_key: str | None = None
    default_contract: bool = False
    needs_genesys_token: bool = False

    @property
    def expects_json(self) -> bool:
        return self.default_contract

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None


def json_body(
    method: str, value: Any, *, has_body: bool, content_type: bool = True
) -> tuple[bytes | None, list[tuple[bytes, bytes]]]:
    """A JSON body as httpx's `json=` sends it (UTF-8, compact, no NaN), and the headers that frame it.

    The headers are Content-Type (unless `content_type` is False: the caller has its own) when there
    is a body, and Content-Length when there is a body or the method carries one (POST/PUT/PATCH: 0).
    """
    body = (
        dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8") if has_body else None
    )
    headers: list[tuple[bytes, bytes]] = []
    if body is not None and content_type:
        headers.append((b"Content-Type", b"application/json"))
    if body is not None or method in BODY_METHODS:
        headers.append((b"Content-Length", b"%d" % len(body or b"")))
    return body, headers


def encode_path_segment(value: Any) -> str:
    """One path segment from a JSON-form value: nothing in it can act as `/`, `?`, `#` or a dot-segment."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (list, tuple)):
        # a list argument becomes one segment of comma-separated items, each encoded
        return ",".join(encode_path_segment(item) for item in value)
    else:
        text = str(value)
    encoded = quote(text, safe="")
    if encoded in (".", ".."):
        encoded = encoded.replace(".", "%2E")  # URL normalisation would otherwise climb a level
    return encoded


def render_path(template: str, args_json: dict[str, Any], command: str) -> str:
    """Fill `{arg}` placeholders of a path template, each as one encoded segment."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in args_json:
            raise TemplateError(
                Diagnostic("template_error", f"path {template!r} of /{command} names no argument {name!r}")
            )
        value = args_json[name]
        if value is None or value == []:
            raise TemplateError(
                Diagnostic(
                    "template_error",
                    f"path {template!r} of /{command} needs {name!r}, which was not given",
                    argument=name,
                    hint="make the argument required or give it a default",
                )
            )
        return encode_path_segment(value)

    path = _PLACEHOLDER.sub(fill, template)
    return path if path.startswith("/") else "/" + path


def _join(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + path


def _query_pairs(rendered: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    for key, value in rendered.items():
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                continue  # an absent optional argument leaves its parameter out
            if isinstance(item, bool):
                item = "true" if item else "false"
            pairs.append((key, str(item)))
    return tuple(pairs)


def _header_value(name: str, value: Any, command: str) -> str:
    text = "" if value is None else str(value)
    if _UNSAFE_HEADER.search(text):
        # a user value must never split a header or start a new one
        raise TemplateError(Diagnostic("template_error", f"header {name} of /{command} would contain a line break"))
    return text


def prepare_request(
    call: Call,
    registry: RegistrySpec,
    engine: TemplateEngine,
    *,
    idempotency_key: str | None = None,
) -> PreparedRequest:
    """Build the request a call makes. Raises `TemplateError` for a request template that cannot render
    (an author's mistake), `ValueError` when the command has no `request` or names an unknown backend.

    POST/PUT/PATCH carry `Idempotency-Key: <idempotency_key>` when one is given; the executor
    always gives one (the command id), so the key is stable across retries of one command.
    """
    spec: RequestSpec | None = call.spec.request
    if spec is None:
        raise ValueError(f"/{call.command} has no request")
    backend: BackendSpec | None = registry.backends.get(spec.backend)
    if backend is None:
        raise ValueError(f"/{call.command} names unknown backend {spec.backend!r}")
    args_json = call.to_json()["args"]
    context = {"args": args_json, "command": call.command}

    if spec.default_contract:
        method = "POST"
        url = _join(backend.base_url, "/commands/" + encode_path_segment(call.command))
        body: Any = {"args": args_json}
        has_body = True
        query: tuple[tuple[str, str], ...] = ()
    else:
        method = spec.method.upper()
        url = _join(backend.base_url, render_path(spec.path or "/", args_json, call.command))
        rendered_query = engine.render(dict(spec.query), context) if spec.query else {}
        query = _query_pairs(rendered_query if isinstance(rendered_query, dict) else {})
        body = None
        has_body = spec.json is not None
        if has_body:
            body = engine.render(spec.json, context)
            if body is DROP:
                body, has_body = None, False

    headers: dict[str, str] = {"Accept": "application/json"}
    for name, value in backend.headers.items():
        text = _header_value(name, value, call.command)
        if text:  # `${KEY:-}` left empty means "not configured": send nothing rather than an empty key
            headers[name] = text
    for name, value in spec.headers.items():
        text = _header_value(name, engine.render_string(str(value), context), call.command)
        if text:
            headers[name] = text
    if backend.auth.type == "bearer" and backend.auth.token:
        headers["Authorization"] = f"Bearer {backend.auth.token}"
    key = idempotency_key if method in BODY_METHODS and idempotency_key else None
    if key is not None:
        headers["Idempotency-Key"] = key

    return PreparedRequest(
        backend=backend.name,
        method=method,
        url=url,
        headers=tuple(headers.items()),
        query=query,
        json=body,
        has_body=has_body,
        idempotency_key=key,
        default_contract=spec.default_contract,
        needs_genesys_token=backend.auth.type == "genesys",
    )
