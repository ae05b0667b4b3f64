"""The bot-flow driver: calls a bot the way Genesys's bot flow does, for either Bot Connector product.

Each customer message goes into the fake conversation (so the transcript
shows it), then to the bot:
- `product="classic"`: one POST to the Handle Utterance URI (`bot_url`);
- `product="dbc"` (Digital Bot Connector v2, `bot_url` is the base URI): first
  `GET {base}/bots` and `GET {base}/bots/{botId}` as Architect does when the
  flow is published (the bot, its version and intents must be there), then
  `POST {base}/messages` for each message.
The answer is checked as Genesys checks it (our `BotConnectorResponse` model:
botState, attachments only in Text messages, `errorInfo {errorCode,
errorMessage}`, Complete with an intent) and, with a bot list known (always for
v2; for classic once one was pushed with `PUT .../botconnector/{id}/bots`),
`Complete` must name a declared intent and its entities declared ones. An
answer Genesys would refuse takes the flow's failure path: none of its
messages are shown (`BotTurn.path == "failure"`); with `raise_on_invalid`
(the default) the driver raises `BotFlowError` instead, so a test notices.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import trio

from ...channels.genesys.models import Bot, BotConnectorResponse, BotVersion, ModelError
from .state import FakeGenesys
from ...errors import FakeGenesysError

__all__ = ["BotFlowDriver", "BotTurn", "BotFlowError"]


class BotFlowError(FakeGenesysError, AssertionError):
    """The bot answered something Genesys would reject (or not in time)."""


@dataclass(frozen=True)
class BotTurn:
    """One exchange: the customer's message, the HTTP status and the validated answer."""

    conversation_id: str
    message_id: str
    status: int
    response: BotConnectorResponse | None
    raw: Any
    invalid: str | None = None  # why Genesys would refuse the answer (then the flow takes its failure path)

    @property
    def texts(self) -> list[str]:
        """The text of each reply message the customer was shown."""
        return [m.text or "" for m in self.response.reply_messages] if self.response else []

    @property
    def path(self) -> str:
        """Where the flow goes: `bot` (MoreData, the bot session goes on), `intent:NAME` (Complete), `failure`."""
        if self.response is None or self.response.bot_state == "Failed":
            return "failure"
        return f"intent:{self.response.intent}" if self.response.bot_state == "Complete" else "bot"


class BotFlowDriver:
    """Drive a Bot Connector bot at `bot_url` with the shared secret in `secret_header`."""

    def __init__(
        self,
        fake: FakeGenesys,
        bot_url: str,
        *,
        secret: str,
        secret_header: str = "Authorization",
        bot_id: str = "commandlang-bot",
        queue_id: str | None = None,
        timeout: float = 10.0,
        with_agent: bool = True,
        http: httpx.AsyncClient | None = None,
        product: str = "classic",
        integration_id: str | None = None,
        raise_on_invalid: bool = True,
        language_code: str = "en-us",
    ) -> None:
        if product not in ("classic", "dbc"):
            raise ValueError(f"product {product!r}: classic or dbc")
        self.fake = fake
        self.bot_url = bot_url.rstrip("/")
        self.product = product
        self.integration_id = integration_id  # classic: whose pushed bot list declares the intents
        self.raise_on_invalid = raise_on_invalid
        self.language_code = language_code  # the flow's language, sent on every request (`de-de`, ...)
        self.version: BotVersion | None = None  # v2: the bot version read from the bot list
        self.secret = secret
        self.secret_header = secret_header
        self.bot_id = bot_id
        self.queue_id = queue_id
        self.timeout = timeout  # Genesys gives up on a bot that does not answer in time
        self.with_agent = with_agent  # False: no agent participant yet, as in a real bot flow
        self._http = http
        self._sessions: dict[str, str] = {}

    def session_id(self, conversation_id: str) -> str:
        """The botSessionId used for a conversation (one per conversation)."""
        return self._sessions.setdefault(conversation_id, str(uuid.uuid4()))

    async def send_text(self, text: str, *, conversation_id: str | None = None) -> BotTurn:
        """The customer types `text` (a new conversation unless `conversation_id` is given)."""
        return await self._turn({"type": "Text", "text": text}, text, None, conversation_id)

    async def press_button(self, conversation_id: str, *, text: str, payload: str) -> BotTurn:
        """The customer presses a quick reply / postback button."""
        content = [
            {
                "contentType": "ButtonResponse",
                "buttonResponse": {"type": "QuickReply", "text": text, "payload": payload},
            }
        ]
        return await self._turn({"type": "Structured", "content": content}, text, content, conversation_id)

    async def load_bot(self) -> BotVersion:
        """v2: what Architect reads when the flow is published: the bot list, then the bot."""
        client = self._http or httpx.AsyncClient()
        headers = {self.secret_header: self.secret} if self.secret else {}
        try:
            listing = await client.get(f"{self.bot_url}/bots", headers=headers)
            if listing.status_code != 200:
                raise BotFlowError(f"GET /bots answered {listing.status_code}: Architect cannot list the bots")
            body = listing.json()
            if not isinstance(body, dict) or set(body) != {"entities"} or not isinstance(body["entities"], list):
                raise BotFlowError(f'GET /bots: not a bot list {{"entities": [Bot]}}: {body!r}'[:300])
            try:
                bots = [Bot.from_json(b, f"entities[{i}]") for i, b in enumerate(body["entities"])]
            except ModelError as exc:
                raise BotFlowError(f"GET /bots: Genesys would refuse the bot list: {exc}") from None
            if not any(b.id == self.bot_id for b in bots):
                raise BotFlowError(f"GET /bots lists no bot {self.bot_id!r}")
            one = await client.get(f"{self.bot_url}/bots/{self.bot_id}", headers=headers)
            if one.status_code != 200:
                raise BotFlowError(f"GET /bots/{self.bot_id} answered {one.status_code}")
            try:
                bot = Bot.from_json(one.json())
            except ModelError as exc:
                raise BotFlowError(f"GET /bots/{self.bot_id}: {exc}") from None
        finally:
            if self._http is None:
                await client.aclose()
        self.version = bot.versions[0]  # a flow is published against one version; we take the first
        return self.version

    def _declared(self) -> BotVersion | None:
        if self.product == "dbc":
            return self.version
        pushed = self.fake.bot_lists.get(self.integration_id or "")
        if pushed is None:
            return None
        bot = next((Bot.from_json(b, classic=True) for b in pushed["chatBots"] if b.get("id") == self.bot_id), None)
        return bot.versions[0] if bot is not None else None

    def _check(self, response: BotConnectorResponse) -> str | None:
        """Why Genesys would refuse this (valid-looking) answer given the bot list, if it would."""
        version = self._declared()
        if response.bot_state != "Complete" or version is None:
            return None
        intent = version.intent(response.intent)
        if intent is None:
            return f"intent {response.intent!r} is not declared in bot version {version.version!r}"
        declared = {e.name: e.type for e in intent.entities}
        for entity in response.entities:
            if declared.get(entity.name) != entity.type:
                return f"entity {entity.name}:{entity.type} is not declared on intent {intent.name}"
        return None

    async def _turn(
        self,
        input_message: dict[str, Any],
        text: str,
        content: list[dict[str, Any]] | None,
        conversation_id: str | None,
    ) -> BotTurn:
        fake = self.fake
        if self.product == "dbc" and self.version is None:
            await self.load_bot()
        conversation = fake.conversations.get(conversation_id or "") or fake.start_conversation(
            queue_id=self.queue_id, conversation_id=conversation_id, with_agent=self.with_agent
        )
        fake.bot_sessions[self.session_id(conversation.id)] = conversation.id
        message = fake.add_message(conversation, "customer", text, content=content)
        version = self.version.version if self.version is not None else "1.0"
        request = {
            "botId": self.bot_id,
            "botVersion": version,
            "botSessionId": self.session_id(conversation.id),
            "messageId": message.id,
            "inputMessage": input_message,
            "languageCode": self.language_code,
            "botSessionTimeout": 4320,
            "genesysConversationId": conversation.id,
            "parameters": {},
        }
        headers = {self.secret_header: self.secret} if self.secret else {}
        client = self._http or httpx.AsyncClient()
        try:
            with trio.move_on_after(self.timeout) as waited:
                url = f"{self.bot_url}/messages" if self.product == "dbc" else self.bot_url
                answer = await client.post(url, json=request, headers=headers)
        finally:
            if self._http is None:
                await client.aclose()
        if waited.cancelled_caught:
            fake.bot_exchanges.append((request, 0, None))
            raise BotFlowError(f"the bot did not answer within {self.timeout}s")
        try:
            raw = answer.json()
        except ValueError:
            raw = answer.text
        fake.bot_exchanges.append((request, answer.status_code, raw))
        if answer.status_code != 200:
            return BotTurn(conversation.id, message.id, answer.status_code, None, raw)
        try:
            response = BotConnectorResponse.from_json(raw)
            invalid = self._check(response)
        except ModelError as exc:
            invalid = str(exc)
        if invalid is not None:  # ServiceProviderInvalidResponse: the flow's failure path, nothing shown
            if self.raise_on_invalid:
                raise BotFlowError(f"Genesys would reject the bot's answer: {invalid}")
            return BotTurn(conversation.id, message.id, 200, None, raw, invalid)
        for reply in response.reply_messages:
            fake.add_message(conversation, "bot", reply.text or "", content=[c.to_json() for c in reply.content])
        return BotTurn(conversation.id, message.id, 200, response, raw)
