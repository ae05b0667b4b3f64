"""Tokens: round trip, forgery, tampering, expiry, malformed input; the `commandlang token` CLI."""

from __future__ import annotations

import base64
import json

import pytest

from commandlang.cli import main as cli_main
from commandlang.sync.tokens import (
    TokenBadSignature,
    TokenExpired,
    TokenMalformed,
    issue_token,
    parse_ttl,
    scope_allows,
    verify_token,
)


def test_round_trip_carries_agent_scopes_and_expiry() -> None:
    token = issue_token("s3cret", "agent-7", ["conversation:c1", "queue:q1"], 60, now=lambda: 1000.0)
    claims = verify_token("s3cret", token, now=lambda: 1030.0)
    assert claims.agent == "agent-7" and claims.scopes == ("conversation:c1", "queue:q1") and claims.exp == 1060
    assert claims.allows("queue:q1") and not claims.allows("queue:q2") and not claims.allows("*")


def test_star_grants_every_scope() -> None:
    assert scope_allows(["*"], "conversation:x") and scope_allows(["*"], "*")


def test_forged_tampered_expired_and_malformed_tokens_are_refused() -> None:
    token = issue_token("s3cret", "a", ["conversation:c1"], 60, now=lambda: 1000.0)
    with pytest.raises(TokenBadSignature):
        verify_token("another-secret", token, now=lambda: 1000.0)
    payload, signature = token.split(".")
    widened = base64.urlsafe_b64encode(json.dumps({"agent": "a", "scopes": ["*"], "exp": 9e9}).encode()).rstrip(b"=")
    with pytest.raises(TokenBadSignature):
        verify_token("s3cret", f"{widened.decode()}.{signature}", now=lambda: 1000.0)
    with pytest.raises(TokenExpired):
        verify_token("s3cret", token, now=lambda: 1060.0)
    for bad in (None, 42, "", "abc", "a.b.c", "!!.??", f"{payload}.", "e30." + signature):
        with pytest.raises((TokenMalformed, TokenBadSignature)):
            verify_token("s3cret", bad, now=lambda: 1000.0)


def test_bad_scopes_and_ttls_are_rejected_at_issue() -> None:
    for scope in ("conversation:", "queue", "agent:1", "conversation:a b"):
        with pytest.raises(ValueError):
            issue_token("s", "a", [scope], 60)
    assert parse_ttl("8h") == 28800 and parse_ttl("30m") == 1800 and parse_ttl("45") == 45 and parse_ttl("2d") == 172800
    for ttl in ("0", "-1h", "8x", "h"):
        with pytest.raises(ValueError):
            parse_ttl(ttl)


def test_cli_issues_a_verifiable_token(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMMANDLANG_SYNC_SECRET", "from-env")
    assert cli_main(["token", "--agent", "ag1", "--scope", "conversation:c1", "--scope", "*", "--ttl", "8h"]) == 0
    claims = verify_token("from-env", capsys.readouterr().out.strip())
    assert claims.agent == "ag1" and claims.scopes == ("conversation:c1", "*")
    assert cli_main(["token", "--agent", "ag1", "--scope", "queue:q", "--secret", "given"]) == 0
    assert verify_token("given", capsys.readouterr().out.strip()).scopes == ("queue:q",)


def test_cli_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMMANDLANG_SYNC_SECRET", raising=False)
    assert cli_main(["token", "--agent", "a", "--scope", "*"]) == 2
    assert "COMMANDLANG_SYNC_SECRET" in capsys.readouterr().err
    assert cli_main(["token", "--agent", "a", "--scope", "bogus", "--secret", "s"]) == 2
    assert cli_main(["token", "--agent", "a", "--scope", "*", "--ttl", "soon", "--secret", "s"]) == 2
    with pytest.raises(SystemExit) as exit_:
        cli_main(["token", "--scope", "*", "--secret", "s"])
    assert exit_.value.code == 2


_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _same_bytes_spellings(part: str) -> list[str]:
    """Every other last character that a lenient base64 decoder reads as the same bytes (the unused low bits)."""
    decode = lambda text: base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))  # noqa: E731
    original = decode(part)
    return [part[:-1] + char for char in _ALPHABET if char != part[-1] and decode(part[:-1] + char) == original]


@pytest.mark.parametrize("agent", ["a", "ag", "age", "agent-7"])  # payload lengths with 0, 2 and 4 unused bits
def test_a_token_has_exactly_one_accepted_spelling(agent: str) -> None:
    token = issue_token("s3cret", agent, ["conversation:c1"], 60, now=lambda: 1000.0)
    assert verify_token("s3cret", token, now=lambda: 1000.0).agent == agent  # the genuine spelling still works
    payload, signature = token.split(".")
    alternatives = [f"{p}.{signature}" for p in _same_bytes_spellings(payload)]
    alternatives += [f"{payload}.{s}" for s in _same_bytes_spellings(signature)]
    assert len(_same_bytes_spellings(signature)) == 3  # a 32-byte HMAC leaves 2 bits unused: 4 spellings in all
    padded = [f"{payload}{'=' * (-len(payload) % 4)}.{signature}=", f"{payload}.{signature}="]
    spaced = [f" {token}", f"{token}\n", f"{payload} .{signature}", f"{payload}.{signature[:5]} {signature[5:]}"]
    standard = [token.replace("-", "+").replace("_", "/")] if ("-" in token or "_" in token) else []
    for spelling in alternatives + padded + spaced + standard:
        assert spelling != token
        with pytest.raises(TokenMalformed):
            verify_token("s3cret", spelling, now=lambda: 1000.0)


def test_flipping_the_unused_low_bits_of_either_part_is_refused() -> None:
    token = issue_token("s3cret", "ag", ["*"], 60, now=lambda: 1000.0)  # payload length % 3 == 1: 4 unused bits
    payload, signature = token.split(".")
    flip = lambda part: part[:-1] + _ALPHABET[_ALPHABET.index(part[-1]) ^ 1]  # noqa: E731 - lowest bit only
    for spelling in (f"{flip(payload)}.{signature}", f"{payload}.{flip(signature)}"):
        with pytest.raises(TokenMalformed, match="canonical"):
            verify_token("s3cret", spelling, now=lambda: 1000.0)


def test_roles_are_an_optional_claim_that_defaults_to_agent() -> None:
    plain = issue_token("s3cret", "agent-7", ["*"], 60, now=lambda: 1000.0)
    assert "roles" not in json.loads(base64.urlsafe_b64decode(plain.split(".")[0] + "=="))  # as before the claim
    assert verify_token("s3cret", plain, now=lambda: 1000.0).roles == ("agent",)
    lead = issue_token("s3cret", "sup-1", ["*"], 60, roles=["agent", "supervisor"], now=lambda: 1000.0)
    assert verify_token("s3cret", lead, now=lambda: 1000.0).roles == ("agent", "supervisor")
    for roles in ([], ["Supervisor"], ["a b"]):
        with pytest.raises(ValueError):
            issue_token("s3cret", "a", ["*"], 60, roles=roles)


def test_cli_gives_a_supervisor_token(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMMANDLANG_SYNC_SECRET", "from-env")
    assert cli_main(["token", "--agent", "sup-1", "--scope", "*", "--role", "supervisor"]) == 0
    assert verify_token("from-env", capsys.readouterr().out.strip()).roles == ("agent", "supervisor")
    assert cli_main(["token", "--agent", "sup-1", "--scope", "*", "--role", "Boss!"]) == 2
    assert "bad role" in capsys.readouterr().err
