"""The fake's public-API side of the classic Bot Connector: the bot list an integration is given.

`PUT /api/v2/integrations/botconnector/{integrationId}/bots` takes a `BotList` (SDK model:
`{"chatBots": [BotConnectorBot]}`, each version's intents with `slots: {NAME: BotSlot}`); the body is
checked with our typed models, which refuse what Genesys would (limits, names, entity types,
a `provider` field BotConnectorBot does not have, a field the model does not know), and stored;
`GET` on the same path answers it back. The SDK types the PUT's answer as `None`: the fake answers
204 with no body (the status is not in a source we read).
"""

from __future__ import annotations

from typing import Any

from ...channels.genesys.models import Bot, ModelError

__all__ = ["put_bots", "get_bots", "BOT_LIST_FIELDS"]

#: The fields of the SDK models a classic bot list may hold (`BotList`, `BotConnectorBot`,
#: `BotConnectorBotVersion`, `BotIntent`, `BotSlot`); `botCompositeTag` and `selfUri` are the server's.
BOT_LIST_FIELDS = {
    "list": {"chatBots"},
    "bot": {"id", "name", "description", "versions"},
    "version": {"version", "supportedLanguages", "intents"},
    "intent": {"name", "slots"},
    "slot": {"name", "type"},
}


def _unknown(data: Any, kind: str, where: str) -> None:
    if isinstance(data, dict):
        extra = set(data) - BOT_LIST_FIELDS[kind]
        if extra:
            raise ModelError(f"{where}: unknown field(s) {', '.join(sorted(extra))}")


def check_bot_list(body: Any) -> list[Bot]:
    """The bots of a `BotList` body; `ModelError` when Genesys would refuse it."""
    _unknown(body, "list", "BotList")
    if not isinstance(body, dict) or not isinstance(body.get("chatBots"), list):
        raise ModelError("BotList.chatBots: an array of BotConnectorBot is required")
    if len(body["chatBots"]) > 50:
        raise ModelError("BotList.chatBots: at most 50 bots")
    for i, bot in enumerate(body["chatBots"]):
        _unknown(bot, "bot", f"chatBots[{i}]")
        for j, version in enumerate(bot.get("versions") or [] if isinstance(bot, dict) else []):
            _unknown(version, "version", f"chatBots[{i}].versions[{j}]")
            for k, intent in enumerate(version.get("intents") or [] if isinstance(version, dict) else []):
                _unknown(intent, "intent", f"chatBots[{i}].versions[{j}].intents[{k}]")
                for name, slot in ((intent.get("slots") or {}) if isinstance(intent, dict) else {}).items():
                    _unknown(slot, "slot", f"chatBots[{i}].versions[{j}].intents[{k}].slots.{name}")
    return [Bot.from_json(b, f"chatBots[{i}]", classic=True) for i, b in enumerate(body["chatBots"])]


async def put_bots(fake: Any, req: Any) -> tuple[int, Any]:
    from .app import ApiError

    body = req.json()
    try:
        check_bot_list(body)
    except ModelError as exc:
        raise ApiError(400, "bad.request", str(exc)) from None
    fake.bot_lists[req.params["integrationId"]] = body
    return 204, None


async def get_bots(fake: Any, req: Any) -> tuple[int, Any]:
    from .app import ApiError

    found = fake.bot_lists.get(req.params["integrationId"])
    if found is None:
        raise ApiError(404, "not.found", f"Integration {req.params['integrationId']} has no bot list")
    return 200, found
