"""`commandlang genesys check`: a preflight against the configured Genesys Cloud org, as a checklist.

    commandlang genesys check [--public-url https://HOST] [--json] [--timeout 60]
    python -m commandlang.cli.genesys_check ...

Reads the same `GENESYS_*` environment as `commandlang serve` and tries, with the real
credentials, what each path will do (docs/genesys.md explains every line):

- a token from the OAuth client (client credentials);
- the Notification path (when `GENESYS_QUEUE_IDS` / `GENESYS_USER_IDS` are set): each queue
  exists (`GET /api/v2/routing/queues/{queueId}`); a notification channel can be created and the
  topics the service subscribes to are Permitted (each `ChannelTopic.state`, and its
  `missingPermissions` when Rejected; the subscriptions are deleted afterwards, the channel
  expires unused); the Conversations API calls the path makes are authorised;
- the Bot Connector path: a connection secret is set; the late-reply API is authorised; with
  `--public-url`, the Digital Bot Connector URI answers `GET {url}/genesys/dbc/bots` with the
  secret header (and refuses a request without it).

"Authorised" is probed with a harmless call per API: a made-up conversation or session id, so
nothing is read or sent to anyone. A 404 or 400 for the made-up id means the call got past
Genesys's permission check (that Genesys checks permissions before it looks the id up is an
assumption, not in a source); a 403 names the missing permission from the ErrorBody.

Exit codes: 0 every line passed, 1 something failed (each ✗ line says what to fix), 2 bad usage
or settings that cannot be read.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from dataclasses import asdict, dataclass
from typing import Any, Mapping

import httpx
import trio

from .common import ArgumentParser

__all__ = ["main", "CheckLine", "run_checks"]


@dataclass(frozen=True)
class CheckLine:
    """One line of the checklist: `ok` False says what to `fix`."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


def _probes(conversation: str, other: str) -> list[tuple[str, str, str, Any]]:
    """(what it is for, method, path, body): the Conversations API calls the Notification path makes."""
    base = f"/api/v2/conversations/messages/{conversation}"
    return [
        (
            "agent's communication id (GET /api/v2/conversations/{id})",
            "GET",
            f"/api/v2/conversations/{conversation}",
            None,
        ),
        ("message text (GET .../messages/{id}/messages/{messageId})", "GET", f"{base}/messages/{other}", None),
        (
            "agent replies (POST .../communications/{id}/messages)",
            "POST",
            f"{base}/communications/{other}/messages",
            {"textBody": "commandlang genesys check"},
        ),
        (
            "image replies (POST .../messages/media/uploads)",
            "POST",
            f"{base}/communications/{other}/messages/media/uploads",
            {"fileName": "check.png", "contentLengthBytes": 1},
        ),
    ]


async def _probe(api: Any, name: str, method: str, path: str, body: Any) -> CheckLine:
    from ..channels.genesys import GenesysApiError, GenesysPermissionError

    try:
        await api.request(method, path, json=body, idempotent=True)
    except GenesysPermissionError as exc:
        return CheckLine(
            name,
            False,
            f"403 {exc.error.code if exc.error else ''}".strip(),
            f"give the OAuth client's role the permission {exc.missing}",
        )
    except GenesysApiError as exc:
        if exc.status in (400, 404):  # the made-up id was looked up: the permission check passed
            return CheckLine(name, True, f"authorised (a made-up id answered {exc.status})")
        return CheckLine(
            name,
            False,
            f"answered {exc.status or 'nothing'} ({exc})",
            "try again; if it stays, check the region and Genesys's status page",
        )
    return CheckLine(name, True, "authorised")


async def _queues(api: Any, queue_ids: tuple[str, ...]) -> list[CheckLine]:
    from ..channels.genesys import GenesysApiError, GenesysPermissionError

    lines = []
    for queue_id in queue_ids:
        name = f"queue {queue_id} exists"
        try:
            queue = await api.get_json(f"/api/v2/routing/queues/{queue_id}")
        except GenesysPermissionError as exc:
            lines.append(CheckLine(name, False, "403", f"give the OAuth client's role the permission {exc.missing}"))
        except GenesysApiError as exc:
            fix = (
                ("fix GENESYS_QUEUE_IDS: it takes queue ids, not names (GET /api/v2/routing/queues lists them)")
                if exc.status == 404
                else "try again"
            )
            lines.append(CheckLine(name, False, f"answered {exc.status}", fix))
        else:
            lines.append(
                CheckLine(name, True, f"found ({queue.get('name', '?')})" if isinstance(queue, dict) else "found")
            )
    return lines


async def _topics(api: Any, topics: list[str]) -> list[CheckLine]:
    from ..channels.genesys import GenesysApiError, GenesysPermissionError

    try:
        channel = await api.post_json("/api/v2/notifications/channels", None)
    except GenesysPermissionError as exc:
        return [CheckLine("notification channel created", False, "403", f"give the role the permission {exc.missing}")]
    except GenesysApiError as exc:
        return [CheckLine("notification channel created", False, f"answered {exc.status}", "try again")]
    lines = [CheckLine("notification channel created", True, str(channel.get("id")))]
    path = f"/api/v2/notifications/channels/{channel.get('id')}/subscriptions"
    try:
        listing = await api.request("PUT", path, json=[{"id": t} for t in topics])
        entities = {e.get("id"): e for e in (listing.json() or {}).get("entities", []) if isinstance(e, dict)}
    except GenesysApiError as exc:
        return lines + [CheckLine("topics subscribed", False, f"answered {exc.status} ({exc})", "see the error")]
    finally:
        with trio.move_on_after(10) as cleanup:  # leave nothing subscribed behind (the channel expires unused)
            cleanup.shield = True
            try:
                await api.request("DELETE", path)
            except GenesysApiError:
                pass
    for topic in topics:
        entity = entities.get(topic)
        if entity is None:
            lines.append(CheckLine(f"topic {topic}", False, "not in Genesys's answer", "check the queue and user ids"))
        elif entity.get("state") == "Permitted":
            lines.append(CheckLine(f"topic {topic}", True, "Permitted"))
        else:
            missing = ", ".join(entity.get("missingPermissions") or []) or "none named"
            lines.append(
                CheckLine(
                    f"topic {topic}",
                    False,
                    f"{entity.get('state')}: {entity.get('rejectionReason', '')}",
                    f"give the OAuth client's role the permission(s): {missing}",
                )
            )
    return lines


async def _bot_uri(http: httpx.AsyncClient, public_url: str, settings: Any) -> list[CheckLine]:
    url = f"{public_url}/genesys/dbc/bots"
    name = f"Digital Bot Connector URI {public_url}/genesys/dbc answers"
    try:
        with trio.fail_after(15):
            answer = await http.get(url, headers={settings.bot_secret_header: settings.bot_secret})
            anonymous = await http.get(url)
    except (httpx.HTTPError, trio.TooSlowError) as exc:
        return [
            CheckLine(
                name,
                False,
                f"GET {url}: {type(exc).__name__}",
                "check the URL, DNS, the TLS certificate and the proxy in front of commandlang serve",
            )
        ]
    try:
        bots = answer.json().get("entities") if answer.status_code == 200 else None
    except (ValueError, AttributeError):
        bots = None
    lines = [
        CheckLine(name, True, f"{len(bots)} bot(s) listed")
        if isinstance(bots, list) and bots
        else CheckLine(
            name,
            False,
            f"GET {url} answered {answer.status_code}",
            "check GENESYS_BOT_SECRET and "
            "GENESYS_BOT_SECRET_HEADER match the integration's Credentials, and that the proxy forwards "
            "/genesys/dbc/ to commandlang serve",
        )
    ]
    refused = anonymous.status_code in (401, 403)
    lines.append(
        CheckLine(
            "the bot URI refuses a request without the secret",
            refused,
            f"answered {anonymous.status_code}",
            "" if refused else "the URI must not answer without the secret: is something else serving it?",
        )
    )
    return lines


async def run_checks(settings: Any, http: httpx.AsyncClient, *, public_url: str | None = None) -> list[CheckLine]:
    """Every line of the checklist, in order (stops after the token when there is none)."""
    from ..channels.genesys import GenesysApiClient, GenesysAuthError, SlidingWindowLimiter, TokenProvider
    from ..channels.genesys.notifications import message_topics

    tokens = TokenProvider(
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        login_base=settings.endpoints.login_base,
        http=http,
        max_attempts=2,
        max_backoff=2.0,
    )
    limiter = SlidingWindowLimiter(settings.api_rate, 60.0) if settings.api_rate > 0 else None  # the same budget
    api = GenesysApiClient(
        api_base=settings.endpoints.api_base,
        tokens=tokens,
        http=http,
        max_attempts=2,
        max_backoff=2.0,
        limiter=limiter,
        max_retry_after=settings.max_retry_after,
    )
    try:
        await tokens.token()
    except GenesysAuthError as exc:
        return [
            CheckLine(
                "OAuth token (client credentials)",
                False,
                str(exc),
                "check GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET, GENESYS_REGION, and that the OAuth client's "
                "grant type is Client Credentials",
            )
        ]
    lines = [CheckLine("OAuth token (client credentials)", True, f"from {settings.endpoints.login_base}")]
    if settings.queue_ids or settings.user_ids:
        lines += await _queues(api, settings.queue_ids)
        lines += await _topics(api, message_topics(settings.queue_ids, settings.user_ids))
        made_up, other = str(uuid.uuid4()), str(uuid.uuid4())
        for name, method, path, body in _probes(made_up, other):
            lines.append(await _probe(api, name, method, path, body))
    else:
        lines.append(
            CheckLine("Notification path", True, "not configured (no GENESYS_QUEUE_IDS or GENESYS_USER_IDS): skipped")
        )
    if not settings.bot_secret:
        lines.append(
            CheckLine(
                "Bot Connector secret",
                False,
                "GENESYS_BOT_SECRET is empty: every Bot Connector request is refused",
                "set GENESYS_BOT_SECRET and the same value in the integration's Credentials",
            )
        )
    else:
        lines.append(CheckLine("Bot Connector secret", True, f"set (header {settings.bot_secret_header})"))
    session = {
        "botId": "commandlang-check",
        "botVersion": "1.0",
        "botSessionId": str(uuid.uuid4()),
        "botState": "MoreData",
        "languageCode": "en-us",
        "replyMessages": [{"type": "Text", "text": "commandlang genesys check"}],
    }
    lines.append(
        await _probe(
            api,
            "late bot replies (POST /api/v2/integrations/botconnectors/outgoing/messages)",
            "POST",
            "/api/v2/integrations/botconnectors/outgoing/messages",
            session,
        )
    )
    if public_url:
        lines += await _bot_uri(http, public_url, settings)
    return lines


def _parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="commandlang genesys check",
        description="Check the configured Genesys Cloud org: token, permissions, queues, topics, "
        "the bot URI (reads the GENESYS_* environment).",
    )
    parser.add_argument(
        "--public-url",
        metavar="URL",
        help="the public HTTPS origin of commandlang serve (checks GET URL/genesys/dbc/bots)",
    )
    parser.add_argument("--json", action="store_true", help="print the checklist as JSON")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds for the whole check (default 60)")
    return parser


def _public_url(value: str | None) -> str | None:
    if value is None:
        return None
    url = value.strip().rstrip("/")
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"--public-url must be an http(s) URL, got {value!r}")
    for suffix in ("/genesys/dbc", "/genesys/bot"):  # the integration's URI pasted as is
        if url.endswith(suffix):
            url = url[: -len(suffix)]
    return url


def _print(lines: list[CheckLine], as_json: bool) -> None:
    if as_json:
        print(
            json.dumps(
                {"ok": all(line.ok for line in lines), "checks": [asdict(line) for line in lines]}, ensure_ascii=False
            )
        )
        return
    for line in lines:
        print(f"{'✓' if line.ok else '✗'} {line.name}: {line.detail}")
        if not line.ok and line.fix:
            print(f"    fix: {line.fix}")


def main(argv: list[str], env: Mapping[str, str] | None = None) -> int:
    """Run the checklist; 0 all good, 1 something failed, 2 bad usage or settings."""
    from ..channels.genesys import GenesysSettings, RegionError

    args = _parser().parse_args(argv)
    try:
        settings = GenesysSettings.from_env(os.environ if env is None else env)
        public_url = _public_url(args.public_url)
    except (ValueError, RegionError) as exc:
        print(f"commandlang genesys check: {exc}", file=sys.stderr)
        return 2

    async def run() -> list[CheckLine]:
        async with httpx.AsyncClient() as http:
            with trio.move_on_after(args.timeout) as scope:
                return await run_checks(settings, http, public_url=public_url)
            assert scope.cancelled_caught
            return [
                CheckLine(
                    "the check",
                    False,
                    f"did not finish in {args.timeout:.0f}s",
                    "check the network path to Genesys (proxy, firewall) and --timeout",
                )
            ]

    lines = trio.run(run)
    _print(lines, args.json)
    return 0 if all(line.ok for line in lines) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
