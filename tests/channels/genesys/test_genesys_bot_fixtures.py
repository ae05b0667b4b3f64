"""The DBC spec's own examples (fixtures/) round-trip through our models; the SDK agrees with what we send."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from commandlang.channels.genesys.models import (
    Bot,
    BotConnectorRequest,
    BotConnectorResponse,
    ModelError,
    OutgoingBotMessage,
    classic_bot_list,
    dbc_bot_list,
)
from .sdk_bot_oracle import sdk_problems

FIXTURES = Path(__file__).parent / "fixtures"


def _load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _bot_list(data: Any) -> dict[str, Any]:
    return dbc_bot_list(tuple(Bot.from_json(b) for b in data["entities"]))


def _classic(data: Any) -> dict[str, Any]:
    return classic_bot_list(tuple(Bot.from_json(b, classic=True) for b in data["chatBots"]))


ROUND_TRIPS: dict[str, Callable[[Any], Any]] = {
    "dbc_bot_list.json": _bot_list,
    "dbc_bot_details.json": lambda d: Bot.from_json(d).to_json(),
    "dbc_incoming_request.json": lambda d: BotConnectorRequest.from_json(d).to_json(),
    "dbc_incoming_response.json": lambda d: BotConnectorResponse.from_json(d).to_json(),
    **{
        name: (lambda d: OutgoingBotMessage.from_json(d).to_json())
        for name in (
            "dbc_outgoing_body.json",
            "dbc_outgoing_quick_reply.json",
            "dbc_outgoing_card.json",
            "dbc_outgoing_carousel.json",
            "dbc_outgoing_attachment.json",
            "dbc_outgoing_failed.json",
        )
    },
    "classic_put_bots.json": _classic,
}


def test_every_fixture_is_covered() -> None:
    assert {p.name for p in FIXTURES.glob("*.json")} == set(ROUND_TRIPS) | {"dbc_outgoing_response.json"}


@pytest.mark.parametrize("name", sorted(ROUND_TRIPS))
def test_spec_example_round_trips_through_our_models(name: str) -> None:
    data = _load(name)
    assert ROUND_TRIPS[name](data) == data


@pytest.mark.parametrize(
    "name",
    [
        "dbc_outgoing_body.json",
        "dbc_outgoing_quick_reply.json",
        "dbc_outgoing_card.json",
        "dbc_outgoing_carousel.json",
        "dbc_outgoing_attachment.json",
    ],
)
def test_spec_outgoing_examples_agree_with_the_sdk_model(name: str) -> None:
    assert sdk_problems("OutgoingMessageRequest", _load(name)) == []
    assert sdk_problems("OutgoingMessageResponse", _load("dbc_outgoing_response.json")) == []


def test_the_sources_disagree_on_outgoing_error_info_so_we_never_send_it() -> None:
    """The DBC spec's Failed example writes errorInfo {errorCode, errorMessage}; the SDK's ErrorInfo is
    {message, code}. Our answers to POST /messages use the spec's shape; late messages carry no errorInfo."""
    failed = _load("dbc_outgoing_failed.json")
    assert sdk_problems("OutgoingMessageRequest", failed) == [
        "$.errorInfo.errorCode: unknown field (not in the SDK's ErrorInfo)",
        "$.errorInfo.errorMessage: unknown field (not in the SDK's ErrorInfo)",
    ]


def test_the_classic_example_agrees_with_the_sdk_bot_list() -> None:
    assert sdk_problems("BotList", _load("classic_put_bots.json")) == []


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d["replyMessages"][0].update(type="Structured"), "travels in a message of type Text"),
        (lambda d: d["replyMessages"][0]["content"][0]["attachment"].pop("filename"), "filename"),
        (lambda d: d.pop("intent"), "intent is required with botState Complete"),
        (lambda d: d.update(errorInfo={"code": "x", "message": "y"}), "errorCode and errorMessage only"),
        (lambda d: d.update(confidence=2), "from 0 to 1"),
    ],
)
def test_what_genesys_refuses_our_models_refuse(change: Callable[[Any], Any], words: str) -> None:
    data = _load("dbc_outgoing_attachment.json")
    change(data)
    with pytest.raises(ModelError, match=words):
        BotConnectorResponse.from_json(data)


def test_bot_list_limits_and_names_are_checked() -> None:
    bot = _load("dbc_bot_details.json")
    intents = bot["versions"][0]["intents"]
    too_many = {**bot, "versions": [{**bot["versions"][0], "intents": [{"name": f"i{n}"} for n in range(51)]}]}
    with pytest.raises(ModelError, match="at most 50"):
        Bot.from_json(too_many)
    for name in ("x" * 101, " padded", "tab\there"):
        with pytest.raises(ModelError):
            Bot.from_json({**bot, "versions": [{**bot["versions"][0], "intents": [{**intents[0], "name": name}]}]})
    with pytest.raises(ModelError, match="256"):
        Bot.from_json({**bot, "description": "d" * 257})
    with pytest.raises(ModelError, match="Money"):
        Bot.from_json(
            {
                **bot,
                "versions": [
                    {**bot["versions"][0], "intents": [{"name": "i", "entities": [{"name": "e", "type": "Money"}]}]}
                ],
            }
        )
