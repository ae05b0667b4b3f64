"""The fake's people and the browser sign-in: users, groups, roles, queue membership, `/oauth/authorize`.

    fake.org.add_user("u-ann", "Ann Agent", queues=["q1"])
    fake.org.add_user("u-lee", "Lee Lead", groups=["Team leads"], roles=["Supervisor"])
    fake.add_browser_client("panel-client", ["http://127.0.0.1:8080/panel/signin.html"], grant="code")
    fake.browser_user = "u-ann"               # who "is signed in" at the fake's login page
    token = fake.issue_user_token("u-ann")    # or the whole browser flow: authorize -> code -> token

Sources (SDK 269 `PureCloudPlatformClientV2`; none of these paths is in openapi-subset.json):
- `GET /api/v2/users/me` -> `UserMe` (users_api `get_users_me`; "not valid when using the Client
  Credentials OAuth grant": the fake answers such a call 400 `bad.request`, the exact real answer is in
  no source read);
- `GET /api/v2/users/{userId}` (`expand=groups,authorization`) -> `User` (`groups[]` are `Group`,
  `authorization.roles[]` are `DomainRole`);
- `GET /api/v2/users/{userId}/queues` -> `UserQueueEntityListing` (`pageSize`, `pageNumber`).
The browser grants follow the JS SDK's `loginImplicitGrant` (`{login}/oauth/authorize` with
`client_id`, `redirect_uri`, `response_type=token`; the token comes back in the URL fragment) in
MyPureCloud/platform-client-sdk-javascript `ApiClient.js`; the authorization code grant with PKCE
(`response_type=code`, `code_challenge`, `code_challenge_method=S256`, then `grant_type=
authorization_code` with `code_verifier` at `/oauth/token`) follows RFC 7636 and RFC 6749 4.1: the
Genesys page for it was not read. Whether the real login page refuses to be framed is in no source;
`fake.login_frame_denied` (default True) answers it with `X-Frame-Options: DENY` and `frame-ancestors
'none'`, as identity providers commonly do, so the panel must use a popup inside the agent desktop.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode

from .conversation import error_body

if TYPE_CHECKING:
    from .state import FakeGenesys

__all__ = ["FakeUser", "FakeBrowserClient", "authorize", "authorization_code_grant", "USER_ROUTES"]

CODE_TTL = 60.0  # seconds an authorization code may wait for its exchange (RFC 6749 4.1.2: "short")
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")  # RFC 7636 4.1


@dataclass
class FakeUser:
    """A Genesys user: name, groups and roles as (id, name), queue ids."""

    id: str
    name: str
    groups: list[tuple[str, str]] = field(default_factory=list)
    roles: list[tuple[str, str]] = field(default_factory=list)
    queues: list[str] = field(default_factory=list)

    def user_json(self, expand: set[str], *, me: bool = False) -> dict[str, Any]:
        """`User` (or `UserMe`) JSON with the expansions asked for."""
        body: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "state": "active",
            "username": f"{self.id}@example.com",
            "selfUri": f"/api/v2/users/{self.id}",
        }
        if "groups" in expand:
            body["groups"] = [{"id": g, "name": n, "selfUri": f"/api/v2/groups/{g}"} for g, n in self.groups]
        if "authorization" in expand:
            body["authorization"] = {"roles": [{"id": r, "name": n} for r, n in self.roles]}
        return body


@dataclass
class FakeBrowserClient:
    """An OAuth client for browsers: its redirect URIs and grant (`code` with PKCE, or `token` implicit)."""

    id: str
    redirect_uris: list[str]
    grant: str = "code"


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    challenge: str
    user_id: str
    expires_at: float


def _page(status: int, text: str, fake: FakeGenesys) -> tuple[int, dict[str, str], bytes]:
    body = f"<!doctype html><title>Genesys Cloud (fake)</title><p>{html.escape(text)}</p>".encode()
    return status, {"content-type": "text/html; charset=utf-8", **_frame_headers(fake)}, body


def _frame_headers(fake: FakeGenesys) -> dict[str, str]:
    if not fake.login_frame_denied:
        return {}
    return {"x-frame-options": "DENY", "content-security-policy": "frame-ancestors 'none'"}


def _redirect(fake: FakeGenesys, location: str) -> tuple[int, dict[str, str], bytes]:
    return 302, {"location": location, "cache-control": "no-store", **_frame_headers(fake)}, b""


def authorize(fake: FakeGenesys, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """`GET /oauth/authorize`: (status, headers, body); a 302 back to the client, or an error page."""
    client = fake.browser_clients.get(query.get("client_id", ""))
    if client is None:
        return _page(400, "Unknown OAuth client", fake)
    redirect_uri = query.get("redirect_uri", "")
    if redirect_uri not in client.redirect_uris:
        # never redirect to an unregistered URI (RFC 6749 4.1.2.1): say so on the login page itself
        return _page(400, "redirect_uri is not one of the client's authorized redirect URIs", fake)
    state = query.get("state")
    response_type = query.get("response_type", "")

    def back(params: dict[str, str], fragment: bool = False) -> tuple[int, dict[str, str], bytes]:
        if state is not None:
            params["state"] = state
        return _redirect(fake, f"{redirect_uri}{'#' if fragment else '?'}{urlencode(params)}")

    wanted = {"code": "code", "token": "token"}.get(response_type)
    if wanted is None or wanted != client.grant:
        return back({"error": "unsupported_response_type"}, fragment=response_type == "token")
    if fake.browser_user is None or fake.browser_user not in fake.org.users:
        return back({"error": "access_denied", "error_description": "nobody signed in"}, fragment=wanted == "token")
    if wanted == "token":
        token, ttl = fake.issue_user_token(fake.browser_user)
        return back({"access_token": token, "token_type": "bearer", "expires_in": str(ttl)}, fragment=True)
    challenge = query.get("code_challenge", "")
    if query.get("code_challenge_method") != "S256" or not challenge:
        return back({"error": "invalid_request", "error_description": "PKCE: code_challenge with S256 is required"})
    code = secrets.token_urlsafe(24)
    fake.auth_codes[code] = _Code(client.id, redirect_uri, challenge, fake.browser_user, fake.clock() + CODE_TTL)
    return back({"code": code})


def authorization_code_grant(fake: FakeGenesys, raw: bytes) -> tuple[int, dict[str, Any]]:
    """`POST /oauth/token` with `grant_type=authorization_code` and a PKCE `code_verifier` (no client secret)."""
    form = {k: v[0] for k, v in parse_qs(raw.decode("latin-1")).items()}
    code = fake.auth_codes.pop(form.get("code", ""), None)  # single use: a replayed code is gone
    verifier = form.get("code_verifier", "")
    if code is None or code.expires_at < fake.clock():
        return 400, _oauth_error("invalid_grant", "the authorization code is unknown, used or expired")
    if form.get("client_id") != code.client_id or form.get("redirect_uri") != code.redirect_uri:
        return 400, _oauth_error("invalid_grant", "client_id or redirect_uri differ from the authorization request")
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    if not _VERIFIER.match(verifier) or not hmac.compare_digest(digest, code.challenge):
        return 400, _oauth_error("invalid_grant", "code_verifier does not match the code_challenge")
    token, ttl = fake.issue_user_token(code.user_id)
    return 200, {"access_token": token, "token_type": "bearer", "expires_in": ttl}


def _oauth_error(error: str, description: str) -> dict[str, Any]:
    return {"error": error, "description": description, "error_description": description}


def _expand(req: Any) -> set[str]:
    return {part.strip() for part in req.query.get("expand", "").split(",") if part.strip()}


async def get_users_me(fake: FakeGenesys, req: Any) -> tuple[int, Any]:
    """`GET /api/v2/users/me`: the bearer's `UserMe` (a client-credentials token is refused)."""
    user_id = fake.user_tokens.get(req.headers.get("authorization", "")[7:].strip())
    if user_id is None:
        return 400, error_body(
            400, "bad.request", "This request is not valid when using the Client Credentials OAuth grant"
        )
    return 200, fake.org.users[user_id].user_json(_expand(req), me=True)


async def get_user(fake: FakeGenesys, req: Any) -> tuple[int, Any]:
    """`GET /api/v2/users/{userId}` (`expand=groups,authorization`): `User`."""
    user = fake.org.users.get(req.params["userId"])
    if user is None:
        return 404, error_body(404, "not.found", f"User {req.params['userId']} not found")
    return 200, user.user_json(_expand(req))


async def get_user_queues(fake: FakeGenesys, req: Any) -> tuple[int, Any]:
    """`GET /api/v2/users/{userId}/queues`: `UserQueueEntityListing`, paged."""
    user = fake.org.users.get(req.params["userId"])
    if user is None:
        return 404, error_body(404, "not.found", f"User {req.params['userId']} not found")
    try:
        size = max(1, min(500, int(req.query.get("pageSize", "25"))))
        number = max(1, int(req.query.get("pageNumber", "1")))
    except ValueError:
        return 400, error_body(400, "bad.request", "pageSize and pageNumber must be integers")
    queues = user.queues
    page = queues[(number - 1) * size : number * size]
    entities = [
        {"id": q, "name": fake.org.queues.get(q, q), "joined": True, "selfUri": f"/api/v2/routing/queues/{q}"}
        for q in page
    ]
    count = max(1, -(-len(queues) // size))
    return 200, {"entities": entities, "pageSize": size, "pageNumber": number, "total": len(queues), "pageCount": count}


#: (method, path template, handler) added to the fake's route table (app.py)
USER_ROUTES = [
    ("GET", "/api/v2/users/me", get_users_me),
    ("GET", "/api/v2/users/{userId}/queues", get_user_queues),
    ("GET", "/api/v2/users/{userId}", get_user),
]
