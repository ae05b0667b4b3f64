"""A conversation in German, end to end: over the webhook (its `language` field) and over the Genesys
Digital Bot Connector (`languageCode`), against the sample registry (which speaks English and German)
and the demo backend. The replies are snapshots; the English ones are the sample snapshots elsewhere."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.helpers import ROOT
from tests.runtime.support import running_service

from .genesys.test_genesys_bots_service import bots_service, dbc

SAMPLE = (ROOT / "commands.yaml").read_text(encoding="utf-8")
_TOKEN = re.compile(r"(/(?:confirm|cancel)) \S+")


def _stable(value: Any) -> Any:
    """Replies with the confirmation token (random) written as TOKEN."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    if isinstance(value, str):
        return _TOKEN.sub(r"\1 TOKEN", value)
    return value


async def test_a_german_conversation_over_the_webhook(tmp_path: Path, snapshot: Any) -> None:
    async with running_service(tmp_path, SAMPLE, templates=ROOT / "templates") as run:
        replies = {}
        for key, text in (
            ("status", "/status 42"),
            ("refund_confirm", "/refund 7 amount=5,50"),  # the decimal comma, in German
            ("ambiguous", "/refund 7 amount=1,000"),
            ("unknown", "/refnd 7"),
            ("help", "/help refund"),
            ("constraint", "/refund 7 amount=0"),
        ):
            response = await run.webhook(text, conversation="de-1", language="de-DE")
            assert response.status_code == 200, response.text
            replies[key] = _stable(response.json()["replies"])
        confirm_payload = next(q["payload"] for q in replies["refund_confirm"][0]["quick_replies"])
        assert confirm_payload == "/confirm TOKEN"  # labels are translated, payloads never
        assert replies["refund_confirm"][0]["text"] == "5,50\xa0£ für Bestellung 7 erstatten?"  # German money
        assert "Bestellung 42" in replies["status"][0]["text"]
        assert replies == snapshot


async def test_the_webhook_falls_back_from_an_undeclared_language_to_the_default(tmp_path: Path) -> None:
    async with running_service(tmp_path, SAMPLE, templates=ROOT / "templates") as run:
        swiss = (await run.webhook("/refnd 7", conversation="c-ch", language="de-CH")).json()["replies"]
        assert swiss[0]["text"].startswith("Einen Befehl mit diesem Namen gibt es nicht.")  # de-ch -> de
        french = (await run.webhook("/refnd 7", conversation="c-fr", language="fr")).json()["replies"]
        assert french[0]["text"].startswith("There is no command by that name.")  # fr is not declared: en
        bad = await run.webhook("/ping", conversation="c-x", language="not a tag!")
        assert bad.status_code == 400 and "language" in bad.text


async def test_a_german_conversation_over_the_digital_bot_connector(tmp_path: Path, snapshot: Any) -> None:
    async with bots_service(tmp_path, SAMPLE, templates=ROOT / "templates") as (run, fake):
        flow = dbc(run, fake, language_code="de-de")
        version = await flow.load_bot()
        assert version.supported_languages == ("en", "de")  # the registry's settings.languages
        turn = await flow.send_text("/status 42")
        assert turn.path == "bot"
        error = await flow.send_text("/status 0", conversation_id=turn.conversation_id)
        helped = await flow.send_text("/help", conversation_id=turn.conversation_id)
        assert "Befehle, die Sie nutzen können:" in helped.texts[0]
        assert _stable({"status": turn.raw, "error": error.raw, "help": helped.raw}) == snapshot
