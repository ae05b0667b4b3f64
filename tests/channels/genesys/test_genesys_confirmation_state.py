"""A confirmation over the Genesys Digital Bot Connector: the bot answers the question (MoreData, the
bot session goes on) while the command's record waits `awaiting_confirmation`; the customer's Confirm
quick reply moves that record on to `completed`."""

from __future__ import annotations

from pathlib import Path

from tests.runtime.test_confirmations import CONFIRMED

from .test_genesys_bots_service import bots_service, dbc


async def test_a_question_over_the_bot_connector_is_a_waiting_record_then_runs(tmp_path: Path) -> None:
    async with bots_service(tmp_path, CONFIRMED) as (run, fake):
        flow = dbc(run, fake)
        await flow.load_bot()
        asked = await flow.send_text("/wipe 5")
        assert asked.path == "bot" and asked.texts == ["Wipe order 5?"]
        [waiting] = await run.rows()
        assert (waiting["status"], waiting["role"], waiting["channel"]) == (
            "awaiting_confirmation",
            "customer",
            "genesys",
        )
        assert waiting["confirmation"]["asked_of"] == waiting["actor"]
        confirm = asked.raw["replyMessages"][0]["content"][0]["quickReply"]
        assert confirm["text"] == "Confirm" and confirm["payload"].startswith("/confirm ")
        done = await flow.press_button(asked.conversation_id, text=confirm["text"], payload=confirm["payload"])
        assert done.path == "bot"
        [row] = await run.rows()
        assert (row["id"], row["status"]) == (waiting["id"], "completed")
