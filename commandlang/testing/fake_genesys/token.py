"""The fake's `POST /oauth/token`: client credentials with HTTP Basic, form-encoded, short-lived tokens;
and the browser's authorization code with PKCE (people.py), which carries no client secret."""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any
from urllib.parse import parse_qs

from .state import FakeGenesys

__all__ = ["token_endpoint"]


def _oauth_error(status: int, error: str, description: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": error, "description": description, "error_description": description}


def token_endpoint(fake: FakeGenesys, method: str, headers: dict[str, str], raw: bytes) -> tuple[int, Any]:
    """`POST /oauth/token`: (status, JSON body)."""
    if method != "POST":
        return _oauth_error(405, "invalid_request", "use POST")
    if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return _oauth_error(400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded")
    form = parse_qs(raw.decode("latin-1"))
    if form.get("grant_type") == ["authorization_code"]:
        from .people import authorization_code_grant

        return authorization_code_grant(fake, raw)
    if form.get("grant_type") != ["client_credentials"]:
        return _oauth_error(
            400, "unsupported_grant_type", "grant_type must be client_credentials or authorization_code"
        )
    auth = headers.get("authorization", "")
    if not auth.lower().startswith("basic "):
        return _oauth_error(401, "invalid_client", "HTTP Basic client credentials are required")
    try:
        client_id, _, secret = base64.b64decode(auth[6:].strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return _oauth_error(401, "invalid_client", "malformed Basic credentials")
    if not (hmac.compare_digest(client_id, fake.client_id) and hmac.compare_digest(secret, fake.client_secret)):
        return _oauth_error(401, "invalid_client", "client credentials are invalid")
    token, ttl = fake.issue_token()
    return 200, {"access_token": token, "token_type": "bearer", "expires_in": ttl}
