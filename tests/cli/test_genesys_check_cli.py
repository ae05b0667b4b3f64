"""`commandlang genesys check` against the fake: all good, a rejected topic, a missing queue, a 403, bad settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import partial
from pathlib import Path

import httpx
import pytest
import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from commandlang.channels.genesys import GenesysSettings
from commandlang.cli import genesys_check
from commandlang.cli.genesys_check import run_checks
from commandlang.runtime.http import answer_lifespan
from commandlang.testing.fake_genesys import serve_fake_genesys

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID, CLIENT_SECRET, BOT_SECRET = "check-client", "check-secret", "bot-secret"


def _settings(base_url: str, **extra: str) -> GenesysSettings:
    return GenesysSettings.from_env(
        {
            "GENESYS_CLIENT_ID": CLIENT_ID,
            "GENESYS_CLIENT_SECRET": CLIENT_SECRET,
            "GENESYS_API_BASE": base_url,
            "GENESYS_LOGIN_BASE": base_url,
            "GENESYS_QUEUE_IDS": "q1,q2",
            "GENESYS_BOT_SECRET": BOT_SECRET,
            **extra,
        }
    )


async def _checks(configure=lambda fake: None, public_url: str | None = None, **extra: str):  # noqa: ANN001, ANN202
    async with trio.open_nursery() as nursery:
        fake = await nursery.start(partial(serve_fake_genesys, client_id=CLIENT_ID, client_secret=CLIENT_SECRET))
        fake.org.add_queue("q1", "Support")
        fake.org.add_queue("q2", "Billing")
        configure(fake)
        async with httpx.AsyncClient() as http:
            lines = await run_checks(_settings(fake.base_url, **extra), http, public_url=public_url)
        nursery.cancel_scope.cancel()
    return fake, lines


def _failed(lines) -> list:  # noqa: ANN001
    return [line for line in lines if not line.ok]


async def test_all_good_against_the_fake() -> None:
    fake, lines = await _checks()
    assert _failed(lines) == []
    names = [line.name for line in lines]
    assert names[0] == "OAuth token (client credentials)"
    assert "queue q1 exists" in names and "queue q2 exists" in names
    assert "topic v2.routing.queues.q1.conversations.messages" in names
    assert any(name.startswith("agent replies") for name in names)
    assert any(name.startswith("late bot replies") for name in names)
    channel = fake.requests_to("/api/v2/notifications/channels/{channelId}/subscriptions", "DELETE")
    assert len(channel) == 1  # the subscriptions it made are deleted again
    assert all(not c.topics for c in fake.channels.values())
    assert not fake.conversations and not fake.media  # made-up ids: nothing was read or sent


async def test_a_rejected_topic_names_the_missing_permission() -> None:
    _, lines = await _checks(lambda fake: fake.deny_topics(r"v2\.routing\.queues\.q2\..*", "routing:queue:view"))
    failed = _failed(lines)
    assert [line.name for line in failed] == ["topic v2.routing.queues.q2.conversations.messages"]
    assert failed[0].detail.startswith("Rejected") and "routing:queue:view" in failed[0].fix


async def test_a_missing_queue_says_to_fix_the_queue_ids() -> None:
    _, lines = await _checks(lambda fake: fake.org.queues.pop("q2"))
    failed = _failed(lines)
    assert [line.name for line in failed] == ["queue q2 exists"]
    assert "404" in failed[0].detail and "GENESYS_QUEUE_IDS" in failed[0].fix


async def test_a_403_names_the_permission_of_that_api() -> None:
    def deny(fake) -> None:  # noqa: ANN001
        fake.org.deny("POST", r"/communications/[^/]+/messages$", "conversation:message:create")

    _, lines = await _checks(deny)
    failed = _failed(lines)
    assert [line.name for line in failed] == ["agent replies (POST .../communications/{id}/messages)"]
    assert failed[0].fix == "give the OAuth client's role the permission conversation:message:create"


async def test_wrong_credentials_stop_after_the_token_line() -> None:
    async with trio.open_nursery() as nursery:
        fake = await nursery.start(partial(serve_fake_genesys, client_id=CLIENT_ID, client_secret="another"))
        async with httpx.AsyncClient() as http:
            lines = await run_checks(_settings(fake.base_url), http)
        nursery.cancel_scope.cancel()
    assert len(lines) == 1 and not lines[0].ok and "GENESYS_CLIENT_SECRET" in lines[0].fix


async def test_the_bot_uri_is_asked_for_its_bot_list_with_the_secret() -> None:
    seen: list[dict[str, str]] = []

    async def bots(scope, receive, send) -> None:  # noqa: ANN001 - a stand-in for commandlang serve's /genesys/dbc
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        seen.append({"path": scope["path"], "secret": headers.get("authorization", "")})
        ok = headers.get("authorization") == BOT_SECRET and scope["path"] == "/genesys/dbc/bots"
        body = json.dumps({"entities": [{"id": "commandlang"}]} if ok else {"message": "no"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200 if ok else 403,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = config.errorlog = None
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(serve, bots, config)
        _, lines = await _checks(public_url=genesys_check._public_url(f"{binds[0]}/genesys/dbc/"))
        _, wrong = await _checks(public_url=binds[0], GENESYS_BOT_SECRET="not-it")
        nursery.cancel_scope.cancel()
    assert _failed(lines) == [] and seen[0] == {"path": "/genesys/dbc/bots", "secret": BOT_SECRET}
    assert any(line.name.startswith("Digital Bot Connector URI") and line.detail == "1 bot(s) listed" for line in lines)
    assert [line.name for line in _failed(wrong)][0].startswith("Digital Bot Connector URI")


def test_bad_settings_and_usage_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert genesys_check.main([], env={"GENESYS_REGION": "mypurecloud.ie"}) == 2
    assert "GENESYS_CLIENT_ID" in capsys.readouterr().err
    env = {"GENESYS_CLIENT_ID": "a", "GENESYS_CLIENT_SECRET": "b", "GENESYS_REGION": "mypurecloud.ie"}
    assert genesys_check.main(["--public-url", "ftp://x"], env=env) == 2
    with pytest.raises(SystemExit) as caught:
        genesys_check.main(["--nope"], env=env)
    assert caught.value.code == 2


def test_the_module_runs_on_its_own_against_the_fake_process_with_json_and_exit_codes() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    fake = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "commandlang",
            "fake-genesys",
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            CLIENT_SECRET,
            "--queue",
            "q1=Support",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        base = fake.stdout.readline().split()[-1]  # type: ignore[union-attr]
        check_env = {
            **env,
            "GENESYS_CLIENT_ID": CLIENT_ID,
            "GENESYS_CLIENT_SECRET": CLIENT_SECRET,
            "GENESYS_API_BASE": base,
            "GENESYS_LOGIN_BASE": base,
            "GENESYS_BOT_SECRET": BOT_SECRET,
            "GENESYS_QUEUE_IDS": "q1",
        }
        good = subprocess.run(
            [sys.executable, "-m", "commandlang.cli.genesys_check", "--json"],
            env=check_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert good.returncode == 0, good.stdout + good.stderr
        assert json.loads(good.stdout)["ok"] is True
        bad = subprocess.run(
            [sys.executable, "-m", "commandlang.cli.genesys_check"],
            env={**check_env, "GENESYS_QUEUE_IDS": "q1,missing"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert bad.returncode == 1
        assert "✗ queue missing exists: answered 404" in bad.stdout and "fix: fix GENESYS_QUEUE_IDS" in bad.stdout
        assert "✓ queue q1 exists: found (Support)" in bad.stdout
    finally:
        fake.terminate()
        fake.wait(timeout=10)
