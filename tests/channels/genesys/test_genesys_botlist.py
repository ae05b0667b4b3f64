"""The bot list generated from the registry: intents, typed entities, limits (lint), the CLI, the classic push."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from commandlang.channels.genesys.botlist import NOT_A_COMMAND, BotListError, build_bot, entity_values, findings
from commandlang.channels.genesys.models import classic_bot_list, dbc_bot_list
from commandlang.registry.loader import load_spec
from .genesys_helpers import genesys_env
from .sdk_bot_oracle import sdk_problems
from tests.helpers import ROOT, run_cli

TYPED = """version: 1
commands:
  typed:
    summary: every argument type
    genesys: {ends_bot_session: true}
    args:
      i: int
      d: decimal
      f: float
      b: bool
      du: duration
      da: date
      dt: datetime
      s: str
      e: email
      u: url
      id: uuid
      c: {type: enum, choices: [a, b]}
      li: "list[int]"
      ls: "list[str]"
      ldu: "list[duration]"
      pin: {type: str, sensitive: true}
"""


def _spec(text: str = TYPED, path: str = "commands.yaml"):
    spec, found = load_spec(path, env={}, text=text)
    assert spec is not None and [d for d in found if d.severity == "error"] == [], found
    return spec


def test_commands_become_intents_with_architect_typed_entities_plus_not_a_command() -> None:
    listing = build_bot(_spec(), "v7", bot_id="my-bot")
    body = dbc_bot_list((listing.bot,))
    version = body["entities"][0]["versions"][0]
    assert (body["entities"][0]["id"], version["version"], version["supportedLanguages"]) == ("my-bot", "v7", ["en-us"])
    assert [i["name"] for i in version["intents"]] == ["typed", NOT_A_COMMAND]
    assert {e["name"]: e["type"] for e in version["intents"][0]["entities"]} == {
        "i": "Integer",
        "d": "Decimal",
        "f": "Decimal",
        "b": "Boolean",
        "du": "Duration",
        "da": "Datetime",
        "dt": "Datetime",
        "s": "String",
        "e": "String",
        "u": "String",
        "id": "String",
        "c": "String",
        "li": "IntegerCollection",
        "ls": "StringCollection",
        "ldu": "DurationCollection",
        "pin": "String",
    }
    assert listing.ends_bot_session("typed") and not listing.ends_bot_session(NOT_A_COMMAND)


def test_the_classic_body_is_the_sdks_bot_list() -> None:
    body = classic_bot_list((build_bot(_spec(ROOT.joinpath("commands.yaml").read_text()), "v1").bot,))
    assert sdk_problems("BotList", body) == []
    intents = body["chatBots"][0]["versions"][0]["intents"]
    refund = next(i for i in intents if i["name"] == "refund")
    assert refund["slots"]["order"] == {"name": "order", "type": "Integer"}
    # and the v2 shape's entity types are the SDK's BotEntity types
    for intent in dbc_bot_list((build_bot(_spec(TYPED), "v1").bot,))["entities"][0]["versions"][0]["intents"]:
        assert sdk_problems("list[BotEntity]", intent["entities"]) == []


def test_entity_values_in_the_formats_architect_reads() -> None:
    command = _spec().commands["typed"]
    args = {
        "i": 42,
        "d": "19.99",
        "f": 1.5,
        "b": False,
        "du": 5400,
        "da": "2026-01-31",
        "dt": "2026-01-31T10:00:00",
        "s": "x",
        "li": [1, 2],
        "ldu": [90, 86400 + 1.5],
        "pin": "****",
        "e": None,
    }
    values = {v.name: v.to_json() for v in entity_values(command, args)}
    assert values["b"] == {"name": "b", "type": "Boolean", "value": "false"}
    assert values["du"]["value"] == "PT1H30M" and values["ldu"]["values"] == ["PT1M30S", "P1DT1.5S"]
    assert values["da"]["value"] == "2026-01-31T00:00:00" and values["dt"]["value"] == "2026-01-31T10:00:00"
    assert values["li"] == {"name": "li", "type": "IntegerCollection", "values": ["1", "2"]}
    assert (values["i"]["value"], values["d"]["value"], values["f"]["value"]) == ("42", "19.99", "1.5")
    assert "pin" not in values and "e" not in values  # sensitive never leaves; absent stays absent
    assert sdk_problems("list[BotEntityValue]", list(values.values())) == []


def _too_big() -> str:
    """50 commands (one more than fits beside NOT_A_COMMAND), one with 51 arguments, a reserved and a long name."""
    lines = ["version: 1", "commands:", "  c0:", "    args:"] + [f"      a{n}: int" for n in range(51)]
    lines += [f"  c{n}: {{}}" for n in range(1, 48)]
    lines += [f"  {NOT_A_COMMAND}: {{}}", "  " + "l" * 101 + ": {}"]
    return "\n".join(lines) + "\n"


def test_genesys_limits_are_lint_findings_with_positions_and_hints(tmp_path: Path, snapshot) -> None:
    (tmp_path / "commands.yaml").write_text(_too_big())
    result = run_cli("lint", "commands.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == snapshot
    codes = {d["code"] for d in json.loads(run_cli("lint", "--format", "json", "commands.yaml", cwd=tmp_path).stdout)}
    assert codes == {
        "genesys_too_many_intents",
        "genesys_too_many_entities",
        "genesys_name_too_long",
        "genesys_reserved_intent",
    }


def test_a_registry_over_the_limits_builds_no_bot_list() -> None:
    spec = _spec(_too_big())
    assert all(d.severity == "warning" for d in findings(spec))
    with pytest.raises(BotListError) as caught:
        build_bot(spec, "v1")
    assert {d.severity for d in caught.value.findings} == {"error"} and len(caught.value.findings) == 4
    assert findings(_spec(ROOT.joinpath("commands.yaml").read_text())) == []


def test_cli_prints_the_bot_list_in_both_shapes(tmp_path: Path) -> None:
    (tmp_path / "commands.yaml").write_text(TYPED)
    dbc = run_cli("genesys", "bots", "--registry", "commands.yaml", cwd=tmp_path)
    classic = run_cli("genesys", "bots", "--format", "classic", "--registry", "commands.yaml", cwd=tmp_path)
    assert dbc.returncode == classic.returncode == 0
    assert [i["name"] for i in json.loads(dbc.stdout)["entities"][0]["versions"][0]["intents"]] == [
        "typed",
        NOT_A_COMMAND,
    ]
    assert sdk_problems("BotList", json.loads(classic.stdout)) == []
    (tmp_path / "big.yaml").write_text(_too_big())
    refused = run_cli("genesys", "bots", "--registry", "big.yaml", cwd=tmp_path)
    assert refused.returncode == 1 and "genesys_too_many_intents" in refused.stderr
    assert run_cli("genesys", "nope", cwd=tmp_path).returncode == 2


async def test_push_bots_uploads_the_classic_list_through_the_public_api(tmp_path: Path) -> None:
    import trio

    from commandlang.cli.genesys import push_bots
    from .genesys_helpers import CLIENT_ID, CLIENT_SECRET

    (tmp_path / "commands.yaml").write_text(TYPED)
    async with genesys_env() as env:
        environ = {
            "GENESYS_CLIENT_ID": CLIENT_ID,
            "GENESYS_CLIENT_SECRET": CLIENT_SECRET,
            "GENESYS_API_BASE": env.fake.base_url,
            "GENESYS_LOGIN_BASE": env.fake.base_url,
            "GENESYS_BOT_ID": "cl-bot",
        }
        argv = ["--integration-id", "int-1", "--registry", str(tmp_path / "commands.yaml")]
        code = await trio.to_thread.run_sync(_with_env, environ, push_bots, argv)
        assert code == 0
        stored = env.fake.bot_lists["int-1"]
        assert sdk_problems("BotList", stored) == []
        assert stored["chatBots"][0]["id"] == "cl-bot"
        put = env.fake.requests_to("/api/v2/integrations/botconnector/{integrationId}/bots", "PUT")
        assert [r.status for r in put] == [204]
        environ["GENESYS_CLIENT_SECRET"] = "wrong"
        assert await trio.to_thread.run_sync(_with_env, environ, push_bots, argv) == 1


def _with_env(environ: dict[str, str], main, argv: list[str]) -> int:
    import os

    saved = {k: os.environ.get(k) for k in environ}
    os.environ.update(environ)
    try:
        return main(argv)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def test_supported_languages_are_the_registrys_languages_checked_against_the_sdk() -> None:
    spec = _spec("version: 1\nsettings: {languages: [en-GB, de, fr-ca]}\ncommands: {ping: {}}\n")
    listing = build_bot(spec, "v1", bot_id="my-bot")
    dbc = dbc_bot_list((listing.bot,))
    assert dbc["entities"][0]["versions"][0]["supportedLanguages"] == ["en-gb", "de", "fr-ca"]  # lower-case tags
    classic = classic_bot_list((listing.bot,))
    assert sdk_problems("BotList", classic) == []  # the SDK's BotConnectorBotVersion.supportedLanguages
    assert classic["chatBots"][0]["versions"][0]["supportedLanguages"] == ["en-gb", "de", "fr-ca"]
    # a registry that declares no languages keeps the tag Genesys's examples use
    assert build_bot(_spec(), "v1").bot.versions[0].supported_languages == ("en-us",)
