"""The bot-flow driver: POSTs Bot Connector requests to a bot the way Genesys's bot flow does.

Each customer message goes into the fake conversation (so the transcript
shows it), then to the bot as a `BotConnectorRequest`; the bot's answer is
validated with our `BotConnectorResponse` model (what Genesys would not
accept raises `BotFlowError`) and its `replyMessages` appear in the transcript
as bot messages.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import trio

from ...channels.genesys.models import BotConnectorResponse, ModelError
from .state import FakeGenesys

__all__ = ["BotFlowDriver", "BotTurn", "BotFlowError"]


class BotFlowError(AssertionError):
    """The bot answered something Genesys would reject (or not in time)."""


@dataclass(frozen=True)
class BotTurn:
    """One exchange: the customer's message, the HTTP status and the validated answer."""

    conversation_id: str
    message_id: str
    status: int
    response: BotConnectorResponse | None
    raw: Any

    @property
    def texts(self) -> list[str]:
        """The text of each reply message the customer was shown."""
        return [m.text or "" for m in self.response.reply_messages] if self.response else []


class BotFlowDriver:
    """Drive a Bot Connector bot at `bot_url` with the shared secret in `secret_header`."""

    def __init__(self, fake: FakeGenesys, bot_url: str, *, secret: str, secret_header: str = "Authorization",
                 bot_id: str = "commandlang-bot", queue_id: str | None = None, timeout: float = 10.0,
                 with_agent: bool = True, http: httpx.AsyncClient | None = None) -> None:
        self.fake = fake
        self.bot_url = bot_url
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
        content = [{"contentType": "ButtonResponse",
                    "buttonResponse": {"type": "QuickReply", "text": text, "payload": payload}}]
        return await self._turn({"type": "Structured", "content": content}, text, content, conversation_id)

    async def _turn(self, input_message: dict[str, Any], text: str, content: list[dict[str, Any]] | None,
                    conversation_id: str | None) -> BotTurn:
        fake = self.fake
        conversation = fake.conversations.get(conversation_id or "") or fake.start_conversation(
            queue_id=self.queue_id, conversation_id=conversation_id, with_agent=self.with_agent)
        fake.bot_sessions[self.session_id(conversation.id)] = conversation.id
        message = fake.add_message(conversation, "customer", text, content=content)
        request = {"botId": self.bot_id, "botVersion": "1.0", "botSessionId": self.session_id(conversation.id),
                   "messageId": message.id, "inputMessage": input_message, "languageCode": "en-us",
                   "botSessionTimeout": 4320, "genesysConversationId": conversation.id, "parameters": {}}
        headers = {self.secret_header: self.secret} if self.secret else {}
        client = self._http or httpx.AsyncClient()
        try:
            with trio.move_on_after(self.timeout) as waited:
                answer = await client.post(self.bot_url, json=request, headers=headers)
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
        except ModelError as exc:
            raise BotFlowError(f"Genesys would reject the bot's answer: {exc}") from None
        for reply in response.reply_messages:
            fake.add_message(conversation, "bot", reply.text or "", content=[c.to_json() for c in reply.content])
        return BotTurn(conversation.id, message.id, 200, response, raw)
