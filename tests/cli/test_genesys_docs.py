"""docs/genesys.md matches the code: every GENESYS_* setting, the bot URIs, the check's options and topics."""

from __future__ import annotations

from pathlib import Path

from commandlang.channels.genesys import message_topics
from commandlang.cli import genesys_check
from commandlang.runtime.config import SETTINGS, ServiceConfig

DOC = (Path(__file__).resolve().parents[2] / "docs" / "genesys.md").read_text(encoding="utf-8")


def test_every_genesys_setting_the_code_defines_is_in_the_guide() -> None:
    names = [s.env for s in SETTINGS if s.env.startswith("GENESYS_")]
    assert "GENESYS_API_RATE" in names and "GENESYS_MAX_RETRY_AFTER" in names
    missing = [name for name in names if f"`{name}`" not in DOC]
    assert missing == []


def test_the_defaults_the_guide_states_are_the_codes() -> None:
    assert ServiceConfig().genesys_api_rate == 300 and "`GENESYS_API_RATE` (default 300" in DOC
    assert ServiceConfig().genesys_max_retry_after == 120.0 and "(default 120 s)" in DOC
    assert ServiceConfig().genesys_bot_budget == 4.0 and "(default 4 s" in DOC


def test_the_uris_paths_and_topics_are_the_ones_the_code_serves_and_uses() -> None:
    for uri in (
        "`https://HOST/genesys/dbc`",
        "`https://HOST/genesys/bot`",
        "`GET /genesys/dbc/bots`",
        "`GET /genesys/dbc/bots/{botId}`",
        "`POST /genesys/dbc/messages`",
        "`GET /api/v2/ipranges`",
    ):
        assert uri in DOC, uri
    assert "`GET https://HOST/genesys/dbc/bots`" in DOC and "/genesys/dbc/bots" in genesys_check.__doc__
    queue_topic, user_topic = message_topics(["{queueId}"], ["{userId}"])
    assert f"`{queue_topic}`" in DOC and f"`{user_topic}`" in DOC
    for option in ("--public-url", "--json"):
        assert option in DOC and option in genesys_check._parser().format_help()
    assert "commandlang_not_a_command" in DOC and "`bot-connector`" in DOC
