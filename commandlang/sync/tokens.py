"""Signed sync tokens: who an agent is, which scopes it may watch, until when.

A token is `base64url(payload) + "." + base64url(HMAC-SHA256(secret, payload))`
where `payload` is compact JSON `{"agent", "scopes", "exp"}`, plus `"roles"` when the agent holds
more than the agent role (e.g. `["agent", "supervisor"]`: who may answer approvals; a token without
the claim is `["agent"]`, so tokens issued before it keep their meaning). It is not
encrypted (an agent may read its own scopes); it cannot be forged or altered
without the secret. The secret is always passed in (`COMMANDLANG_SYNC_SECRET`
is read by the CLI and the runtime, never here) so tests and several hubs in
one process do not share hidden state.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass
from typing import Callable, Iterable

from ..errors import SyncError
from ..registry.loader import ROLE_NAME  # a token's roles are the registry's role names

__all__ = [
    "SyncToken",
    "TokenError",
    "TokenMalformed",
    "TokenBadSignature",
    "TokenExpired",
    "issue_token",
    "verify_token",
    "check_role",
    "check_scope",
    "scope_allows",
    "parse_ttl",
]

_SCOPE = re.compile(r"^(?:\*|conversation:[^\s]+|queue:[^\s]+)$")
DEFAULT_ROLES = ("agent",)
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_TTL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class TokenError(SyncError):
    """A token that must be refused (the hub closes with 4401 and this message as the reason)."""


class TokenMalformed(TokenError):
    """Not a token at all: wrong shape, bad base64, bad JSON or missing fields."""


class TokenBadSignature(TokenError):
    """Well formed, but not signed with our secret (forged, altered or another deployment's)."""


class TokenExpired(TokenError):
    """Signed by us, but its `exp` has passed."""


@dataclass(frozen=True, slots=True)
class SyncToken:
    """A verified token's claims."""

    agent: str
    scopes: tuple[str, ...]
    exp: float
    roles: tuple[str, ...] = DEFAULT_ROLES

    def allows(self, scope: str) -> bool:
        """True when this token may subscribe to `scope`."""
        return scope_allows(self.scopes, scope)


def check_scope(scope: str) -> str:
    """Return `scope` if it is `*`, `conversation:<id>` or `queue:<id>`; raise ValueError otherwise."""
    if not isinstance(scope, str) or not _SCOPE.match(scope):
        raise ValueError(f"bad scope {scope!r}: expected conversation:<id>, queue:<id> or *")
    return scope


def check_role(role: str) -> str:
    """Return `role` if it is a role name (lower-case, like `supervisor`); raise ValueError otherwise."""
    if not isinstance(role, str) or not ROLE_NAME.fullmatch(role):
        raise ValueError(f"bad role {role!r}: expected a lower-case name like supervisor")
    return role


def scope_allows(granted: Iterable[str], wanted: str) -> bool:
    """`*` grants everything; otherwise the exact scope must have been granted."""
    granted = tuple(granted)
    return "*" in granted or wanted in granted


def parse_ttl(text: str) -> float:
    """'8h', '30m', '45s', '2d' or plain seconds -> seconds (> 0)."""
    match = _TTL.match(text)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"bad ttl {text!r}: expected a positive number with s, m, h or d (e.g. 8h)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    """Decode unpadded base64url, accepting only the one spelling `_b64encode` gives.

    Base64 leaves 2 or 4 bits of the last character unused; a decoder that
    ignores them reads up to 16 spellings as one token. Each spelling is a
    distinct string to anything keyed on the token text, so we refuse all but
    the canonical one (and padding, whitespace and `+/`, which the pattern excludes).
    """
    if not _BASE64URL.fullmatch(text):
        raise TokenMalformed("token is not base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise TokenMalformed("token is not base64url") from exc
    if _b64encode(data) != text:
        raise TokenMalformed("token is not canonical base64url")
    return data


def _key(secret: str | bytes) -> bytes:
    key = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    if not key:
        raise ValueError("the sync secret is empty")
    return key


def issue_token(
    secret: str | bytes,
    agent: str,
    scopes: Iterable[str],
    ttl: float,
    *,
    roles: Iterable[str] = DEFAULT_ROLES,
    now: Callable[[], float] = time.time,
) -> str:
    """A token for `agent`, holding `roles`, to watch `scopes` for `ttl` seconds."""
    scopes = tuple(check_scope(scope) for scope in scopes)
    held = tuple(dict.fromkeys(check_role(role) for role in roles))
    if not held:
        raise ValueError("a token needs at least one role")
    if not agent:
        raise ValueError("agent id is empty")
    if not scopes:
        raise ValueError("a token needs at least one scope")
    claims: dict[str, object] = {"agent": agent, "scopes": list(scopes), "exp": int(now() + ttl)}
    if held != DEFAULT_ROLES:
        claims["roles"] = list(held)
    payload = json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    signature = hmac.new(_key(secret), payload, hashlib.sha256).digest()
    return f"{_b64encode(payload)}.{_b64encode(signature)}"


def verify_token(secret: str | bytes, token: object, *, now: Callable[[], float] = time.time) -> SyncToken:
    """The claims of a token signed with `secret` and not expired; raises a `TokenError` otherwise."""
    if not isinstance(token, str) or token.count(".") != 1 or len(token) > 8192:
        raise TokenMalformed("token is malformed")
    encoded_payload, encoded_signature = token.split(".")
    payload = _b64decode(encoded_payload)
    signature = _b64decode(encoded_signature)
    expected = hmac.new(_key(secret), payload, hashlib.sha256).digest()
    # Signature first (in constant time), so nothing about an unsigned payload is ever trusted.
    if not hmac.compare_digest(expected, signature):
        raise TokenBadSignature("token signature is not valid")
    try:
        claims = json.loads(payload)
        agent, scopes, exp = claims["agent"], claims["scopes"], claims["exp"]
    except (ValueError, TypeError, KeyError) as exc:
        raise TokenMalformed("token payload is malformed") from exc
    if not isinstance(agent, str) or not isinstance(scopes, list) or not isinstance(exp, (int, float)):
        raise TokenMalformed("token payload is malformed")
    roles = claims.get("roles", list(DEFAULT_ROLES))
    if not isinstance(roles, list) or not roles:
        raise TokenMalformed("token payload is malformed")
    try:
        scopes = tuple(check_scope(scope) for scope in scopes)
        roles = tuple(check_role(role) for role in roles)
    except ValueError as exc:
        raise TokenMalformed(str(exc)) from exc
    if now() >= exp:
        raise TokenExpired("token has expired")
    return SyncToken(agent, scopes, float(exp), roles)
