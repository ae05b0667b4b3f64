"""An approval flow in German: the requester's waiting reply and its quick replies, the refusals, the
approver's answers and the requester's news are German built-in texts, while the stored record keeps
its English (as every stored text does)."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from commandlang.runtime.metrics import Metrics

from .approval_support import REGISTRY, calls
from .support import running_service
from .test_approval_pipeline import REGISTRY as PIPELINE_REGISTRY
from .test_approval_pipeline import Events, Sink, message, pipeline_on

IN_GERMAN = ("settings: {roles: [supervisor]}", "settings: {roles: [supervisor], languages: [en, de]}")
GERMAN = REGISTRY.replace(*IN_GERMAN)
GERMAN_PIPELINE = PIPELINE_REGISTRY.replace(*IN_GERMAN)


async def test_an_approval_in_german_speaks_german_to_everyone(tmp_path) -> None:
    async with running_service(tmp_path, GERMAN) as run:
        asked = (await run.webhook("/credit 7 amount=150", conversation="de-1", language="de")).json()
        (waiting,) = asked["replies"]
        code = asked["command"]["approval"]["id"]
        assert waiting["text"] == (
            f"/credit wartet auf Freigabe durch: supervisor (Freigabecode {code}); "
            "ohne Antwort innerhalb von 30 Minuten wird der Befehl nicht ausgeführt."
        )
        assert [q["label"] for q in waiting["quick_replies"]] == ["Freigeben", "Ablehnen"]

        mine = (await run.webhook(f"/approve {code}", conversation="de-1", language="de")).json()
        assert mine["replies"][0]["text"] == (
            "Sie haben /credit selbst angefordert: Eine andere Person muss es freigeben (supervisor)."
        )
        agent = (await run.webhook(f"/approve {code}", participant="agent-2", language="de")).json()
        assert agent["replies"][0]["text"] == "Nur die Rolle supervisor darf /credit freigeben; Ihre Rolle: agent."
        how = (await run.webhook("/approve", participant="sup-1", role="supervisor", language="de")).json()
        assert how["replies"][0]["text"] == "Um eine Freigabe zu beantworten, tippen Sie /approve und den Freigabecode."

        denied = (
            await run.webhook(f"/deny {code} zu hoch", participant="sup-1", role="supervisor", language="de")
        ).json()
        assert denied["replies"][0]["text"] == "Abgelehnt: /credit, angefordert von agent-1, wird nicht ausgeführt."
        assert denied["command"]["error"] == {"code": "approval_denied", "message": "Denied by sup-1: zu hoch"}
        gone = (await run.webhook(f"/approve {code}", participant="sup-1", role="supervisor", language="de")).json()
        assert gone["replies"][0]["text"] == (
            "Mit diesem Code wartet nichts auf Freigabe: Es wurde schon beantwortet oder ist abgelaufen."
        )

        again = (await run.webhook("/credit 7 amount=150", conversation="de-1", language="de")).json()
        approved = (
            await run.webhook(
                f"/approve {again['command']['approval']['id']}", participant="sup-1", role="supervisor", language="de"
            )
        ).json()
        assert approved["replies"][0]["text"] == "Freigegeben: /credit, angefordert von agent-1, wird jetzt ausgeführt."
        assert calls(run) == 1


@pytest.mark.mock_clock
@pytest.mark.deadline(4 * 3600)
async def test_the_requester_hears_of_a_timeout_in_their_language(tmp_path: Path) -> None:
    events, sink, metrics = Events(), Sink(), Metrics()
    async with pipeline_on(tmp_path, events, sink, metrics, GERMAN_PIPELINE) as pipeline:
        asked = await pipeline.submit(message("/credit 250", language="de"))
        await asked.done.wait()
        await trio.sleep(31 * 60)
        ended = await events.store.get(asked.record.id)  # type: ignore[union-attr]
        assert ended is not None and ended.error == {
            "code": "approval_timeout",
            "message": "Nobody approved it within 30 minutes.",
        }
        (told,) = sink.sent
        assert told.reply.text == (
            "Ihr Befehl /credit wurde nicht ausgeführt. Niemand hat ihn innerhalb von 30 Minuten freigegeben."
        )
