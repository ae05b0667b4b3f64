"""The Bot Connector payloads, typed and pure: the bot list, a message to the bot, the bot's answer.

Sources (shared/genesys/SOURCES.md 3b):
- Digital Bot Connector (v2): "Digital Bot Connector (v2) Customer API Spec", copied in
  `DOAGenesys/DigitalBotConnector_v2_OpenAIResponsesAPI:docs.txt` (the fixtures in
  tests/channels/genesys/fixtures/ are its examples). Bot list `{"entities": [Bot]}`; limits of 50
  versions a bot, 50 intents a version, 50 entities an intent; id, name, provider, version, intent
  and entity names up to 100 characters and description up to 256, "displayable characters without
  leading or trailing whitespace".
- classic Bot Connector: the SDK's `BotList` (`chatBots`: `BotConnectorBot`, whose versions hold
  `BotIntent`s with `slots: {NAME: BotSlot}`); it has no `provider`.
- `OutgoingMessageRequest` is the SDK's model (the public API). Its `errorInfo` is the SDK's generic
  `ErrorInfo` `{message, code}`, while the DBC spec's example of the same body writes
  `{errorCode, errorMessage}`: the sources disagree, so we never send an `errorInfo` there.
`from_json` refuses what Genesys would refuse; `to_json` writes exactly the documented fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ._validate import ModelError, drop_none, obj, opt_int, opt_list, opt_str, opt_str_map, req_enum, req_str
from .content import BOT_STATES, InputMessage, ReplyMessage

__all__ = [
    "BASE_ENTITY_TYPES",
    "ENTITY_TYPES",
    "MAX_NAME",
    "MAX_DESCRIPTION",
    "MAX_ITEMS",
    "BotEntity",
    "BotIntent",
    "BotVersion",
    "Bot",
    "BotEntityValue",
    "ErrorInfo",
    "BotConnectorRequest",
    "BotConnectorResponse",
    "OutgoingBotMessage",
    "dbc_bot_list",
    "classic_bot_list",
]

BASE_ENTITY_TYPES = ("String", "Integer", "Decimal", "Duration", "Boolean", "Currency", "Datetime")
#: Architect's entity types (DBC spec `BotEntityType`; the same list as the SDK's `BotEntity.type` allowed values).
ENTITY_TYPES = BASE_ENTITY_TYPES + tuple(f"{t}Collection" for t in BASE_ENTITY_TYPES)
MAX_NAME = 100
MAX_DESCRIPTION = 256
MAX_ITEMS = 50  # bots in a list, versions in a bot, intents in a version, entities in an intent


def _name(d: Mapping[str, Any], key: str, where: str, limit: int = MAX_NAME, *, required: bool = True) -> str | None:
    """A Genesys display name: at most `limit` characters, printable, no outer whitespace."""
    value = req_str(d, key, where, allow_empty=False) if required else opt_str(d, key, where)
    if value is None:
        return None
    if len(value) > limit:
        raise ModelError(f"{where}.{key}: {len(value)} characters, at most {limit}")
    if value != value.strip() or not value.isprintable():
        raise ModelError(
            f"{where}.{key}: {value!r} must be displayable characters without leading or trailing whitespace"
        )
    return value


def _at_most(items: list[Any], where: str) -> list[Any]:
    if len(items) > MAX_ITEMS:
        raise ModelError(f"{where}: {len(items)} items, Genesys takes at most {MAX_ITEMS}")
    return items


@dataclass(frozen=True, slots=True)
class BotEntity:
    """A slot of an intent: its name and Architect type."""

    name: str
    type: str

    @classmethod
    def from_json(cls, data: Any, where: str = "entity") -> BotEntity:
        d = obj(data, where)
        return cls(_name(d, "name", where) or "", req_enum(d, "type", where, ENTITY_TYPES))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type}


@dataclass(frozen=True, slots=True)
class BotIntent:
    """An intent the bot may return, with the entities that go with it."""

    name: str
    entities: tuple[BotEntity, ...] = ()

    @classmethod
    def from_json(cls, data: Any, where: str = "intent") -> BotIntent:
        d = obj(data, where)
        entities = tuple(
            BotEntity.from_json(e, f"{where}.entities[{i}]")
            for i, e in enumerate(_at_most(opt_list(d, "entities", where), f"{where}.entities"))
        )
        if len({e.name for e in entities}) != len(entities):
            raise ModelError(f"{where}.entities: names must be unique")
        return cls(_name(d, "name", where) or "", entities)

    @classmethod
    def from_classic(cls, data: Any, where: str = "intent") -> BotIntent:
        d = obj(data, where)
        slots = d.get("slots") or {}
        if not isinstance(slots, Mapping):
            raise ModelError(f"{where}.slots: expected an object of BotSlot")
        entities = []
        for key, slot in _at_most(list(slots.items()), f"{where}.slots"):
            entity = BotEntity.from_json(slot, f"{where}.slots.{key}")
            if entity.name != key:
                raise ModelError(f"{where}.slots.{key}: the key must be the slot's name ({entity.name!r})")
            entities.append(entity)
        return cls(_name(d, "name", where) or "", tuple(entities))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "entities": [e.to_json() for e in self.entities]}

    def to_classic(self) -> dict[str, Any]:
        return {"name": self.name, "slots": {e.name: e.to_json() for e in self.entities}}


@dataclass(frozen=True, slots=True)
class BotVersion:
    """One version of a bot: its languages (lower-case tags) and intents."""

    version: str
    supported_languages: tuple[str, ...]
    intents: tuple[BotIntent, ...]

    @classmethod
    def _from(cls, data: Any, where: str, intent: Any) -> BotVersion:
        d = obj(data, where)
        languages = opt_list(d, "supportedLanguages", where)
        if not languages or not all(isinstance(x, str) and x and x == x.lower() for x in languages):
            raise ModelError(f"{where}.supportedLanguages: a non-empty list of lower-case language tags")
        raw = d.get("intents")
        intents = tuple(
            intent(x, f"{where}.intents[{i}]")
            for i, x in enumerate(_at_most(opt_list(d, "intents", where), f"{where}.intents"))
        )
        if raw is None or not intents:
            raise ModelError(f"{where}.intents: at least one intent")
        if len({x.name for x in intents}) != len(intents):
            raise ModelError(f"{where}.intents: names must be unique")
        return cls(_name(d, "version", where) or "", tuple(languages), intents)

    @classmethod
    def from_json(cls, data: Any, where: str = "version") -> BotVersion:
        return cls._from(data, where, BotIntent.from_json)

    @classmethod
    def from_classic(cls, data: Any, where: str = "version") -> BotVersion:
        return cls._from(data, where, BotIntent.from_classic)

    def intent(self, name: str | None) -> BotIntent | None:
        return next((i for i in self.intents if i.name == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "supportedLanguages": list(self.supported_languages),
            "intents": [i.to_json() for i in self.intents],
        }

    def to_classic(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "supportedLanguages": list(self.supported_languages),
            "intents": [i.to_classic() for i in self.intents],
        }


@dataclass(frozen=True, slots=True)
class Bot:
    """A bot as Architect lists it (DBC `Bot`; classic `BotConnectorBot`, which has no provider)."""

    id: str
    name: str
    versions: tuple[BotVersion, ...]
    provider: str | None = None
    description: str | None = None

    @classmethod
    def from_json(cls, data: Any, where: str = "Bot", *, classic: bool = False) -> Bot:
        d = obj(data, where)
        parse = BotVersion.from_classic if classic else BotVersion.from_json
        versions = tuple(
            parse(v, f"{where}.versions[{i}]")
            for i, v in enumerate(_at_most(opt_list(d, "versions", where), f"{where}.versions"))
        )
        if not versions:
            raise ModelError(f"{where}.versions: at least one version")
        if classic and "provider" in d:
            raise ModelError(f"{where}.provider: BotConnectorBot has no such field")
        return cls(
            _name(d, "id", where) or "",
            _name(d, "name", where) or "",
            versions,
            None if classic else _name(d, "provider", where),
            _name(d, "description", where, MAX_DESCRIPTION, required=False),
        )

    def version(self, name: str | None) -> BotVersion | None:
        return next((v for v in self.versions if v.version == name), None)

    def to_json(self) -> dict[str, Any]:
        return drop_none(
            {
                "id": self.id,
                "name": self.name,
                "provider": self.provider,
                "description": self.description,
                "versions": [v.to_json() for v in self.versions],
            }
        )

    def to_classic(self) -> dict[str, Any]:
        return drop_none(
            {
                "id": self.id,
                "name": self.name,
                "description": self.description,
                "versions": [v.to_classic() for v in self.versions],
            }
        )


def dbc_bot_list(bots: tuple[Bot, ...]) -> dict[str, Any]:
    """`GET {base}/bots`: `{"entities": [Bot]}`."""
    return {"entities": [b.to_json() for b in _at_most(list(bots), "entities")]}


def classic_bot_list(bots: tuple[Bot, ...]) -> dict[str, Any]:
    """The body of `PUT /api/v2/integrations/botconnector/{integrationId}/bots` (`BotList`)."""
    return {"chatBots": [b.to_classic() for b in _at_most(list(bots), "chatBots")]}


@dataclass(frozen=True, slots=True)
class BotEntityValue:
    """An entity's value in an answer: `value` (a string) for a simple type, `values` for a collection."""

    name: str
    type: str
    value: str | None = None
    values: tuple[str, ...] | None = None

    @classmethod
    def from_json(cls, data: Any, where: str = "entity") -> BotEntityValue:
        d = obj(data, where)
        kind = req_enum(d, "type", where, ENTITY_TYPES)
        if kind.endswith("Collection"):
            values = opt_list(d, "values", where)
            if "values" not in d or not all(isinstance(v, str) for v in values) or "value" in d:
                raise ModelError(f"{where}: a {kind} carries `values`, an array of strings")
            return cls(req_str(d, "name", where, allow_empty=False), kind, None, tuple(values))
        if "values" in d:
            raise ModelError(f"{where}: a {kind} carries one `value`, not `values`")
        return cls(req_str(d, "name", where, allow_empty=False), kind, req_str(d, "value", where))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.values is not None:
            data["values"] = list(self.values)
        else:
            data["value"] = self.value
        return data


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """Why a bot answered `Failed`: `{errorCode, errorMessage}` (DBC spec; the classic sample writes the same)."""

    code: str
    message: str

    @classmethod
    def from_json(cls, data: Any, where: str = "errorInfo") -> ErrorInfo:
        d = obj(data, where)
        unknown = set(d) - {"errorCode", "errorMessage"}
        if unknown:  # {code, message} is the SDK's generic ErrorInfo, not what the bot answers
            raise ModelError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}; errorCode and errorMessage only")
        return cls(req_str(d, "errorCode", where), req_str(d, "errorMessage", where))

    def to_json(self) -> dict[str, str]:
        return {"errorCode": self.code, "errorMessage": self.message}


@dataclass(frozen=True, slots=True)
class BotConnectorRequest:
    """What Genesys POSTs to the bot for each customer message (DBC `IncomingMessagesRequest`)."""

    bot_id: str
    bot_session_id: str
    input_message: InputMessage
    genesys_conversation_id: str
    message_id: str | None = None
    bot_version: str | None = None
    language_code: str | None = None
    bot_session_timeout: int | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Any) -> BotConnectorRequest:
        where = "BotConnectorRequest"
        d = obj(data, where)
        params = d.get("parameters") or {}
        if not isinstance(params, Mapping):
            raise ModelError(f"{where}.parameters: expected a JSON object")
        if "inputMessage" not in d:
            raise ModelError(f"{where}.inputMessage is required")
        return cls(
            req_str(d, "botId", where, allow_empty=False),
            req_str(d, "botSessionId", where, allow_empty=False),
            InputMessage.from_json(d["inputMessage"]),
            req_str(d, "genesysConversationId", where, allow_empty=False),
            opt_str(d, "messageId", where),
            opt_str(d, "botVersion", where),
            opt_str(d, "languageCode", where),
            opt_int(d, "botSessionTimeout", where),
            dict(params),
        )

    def to_json(self) -> dict[str, Any]:
        data = drop_none(
            {
                "botId": self.bot_id,
                "botVersion": self.bot_version,
                "botSessionId": self.bot_session_id,
                "messageId": self.message_id,
                "inputMessage": self.input_message.to_json(),
                "languageCode": self.language_code,
                "botSessionTimeout": self.bot_session_timeout,
                "genesysConversationId": self.genesys_conversation_id,
            }
        )
        if self.parameters:
            data["parameters"] = dict(self.parameters)
        return data


def _answer_fields(d: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The fields an answer and an outgoing message share (DBC `IncomingMessagesResponse`)."""
    raw_state = req_str(d, "botState", where)
    state = {s.lower(): s for s in BOT_STATES}.get(raw_state.lower())  # samples write MOREDATA
    if state is None:
        raise ModelError(f"{where}.botState: {raw_state!r} is not one of {', '.join(BOT_STATES)}")
    key = "replyMessages" if "replyMessages" in d else "replymessages"
    replies = tuple(ReplyMessage.from_json(m, f"{where}.{key}[{i}]") for i, m in enumerate(opt_list(d, key, where)))
    confidence = d.get("confidence")
    if confidence is not None and (
        isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 <= confidence <= 1
    ):
        raise ModelError(f"{where}.confidence: expected a number from 0 to 1")
    intent = opt_str(d, "intent", where)
    if state == "Complete" and not intent:
        # "If no intent is returned Bot Connector will treat that as a non-found intent and take the failure path"
        raise ModelError(f"{where}.intent is required with botState Complete")
    error = ErrorInfo.from_json(d["errorInfo"], f"{where}.errorInfo") if d.get("errorInfo") is not None else None
    entities = tuple(
        BotEntityValue.from_json(e, f"{where}.entities[{i}]") for i, e in enumerate(opt_list(d, "entities", where))
    )
    return {
        "bot_state": state,
        "reply_messages": replies,
        "intent": intent,
        "confidence": confidence,
        "parameters": opt_str_map(d, "parameters", where),
        "error_info": error,
        "entities": entities,
    }


def _answer_json(answer: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"botState": answer.bot_state}
    if answer.reply_messages:
        data["replyMessages"] = [m.to_json() for m in answer.reply_messages]
    if answer.intent is not None:
        data["intent"] = answer.intent
    if answer.confidence is not None:
        data["confidence"] = answer.confidence
    if answer.entities:
        data["entities"] = [e.to_json() for e in answer.entities]
    if answer.parameters:
        data["parameters"] = dict(answer.parameters)
    if answer.error_info is not None:
        data["errorInfo"] = answer.error_info.to_json()
    return data


@dataclass(frozen=True, slots=True)
class BotConnectorResponse:
    """The bot's answer to one message: `botState`, the messages to show, and for Complete the intent."""

    bot_state: str
    reply_messages: tuple[ReplyMessage, ...] = ()
    intent: str | None = None
    confidence: float | None = None
    parameters: Mapping[str, str] = field(default_factory=dict)
    error_info: ErrorInfo | None = None
    entities: tuple[BotEntityValue, ...] = ()

    @classmethod
    def from_json(cls, data: Any) -> BotConnectorResponse:
        """Accepts the casings seen in samples (`replymessages`, `MOREDATA`); we send camel case."""
        return cls(**_answer_fields(obj(data, "BotConnectorResponse"), "BotConnectorResponse"))

    def to_json(self) -> dict[str, Any]:
        return _answer_json(self)


@dataclass(frozen=True, slots=True)
class OutgoingBotMessage:
    """`OutgoingMessageRequest` (SDK model): a bot's message sent later into its open bot session."""

    bot_id: str
    bot_version: str
    bot_session_id: str
    language_code: str
    reply_messages: tuple[ReplyMessage, ...]
    bot_state: str = "MoreData"
    intent: str | None = None
    confidence: float | None = None
    parameters: Mapping[str, str] = field(default_factory=dict)
    error_info: ErrorInfo | None = None
    entities: tuple[BotEntityValue, ...] = ()

    @classmethod
    def from_json(cls, data: Any) -> OutgoingBotMessage:
        where = "OutgoingMessageRequest"
        d = obj(data, where)
        req_enum(d, "botState", where, BOT_STATES)  # the public API is exact about the casing
        fields = _answer_fields(d, where)
        return cls(
            req_str(d, "botId", where, allow_empty=False),
            req_str(d, "botVersion", where, allow_empty=False),
            req_str(d, "botSessionId", where, allow_empty=False),
            req_str(d, "languageCode", where, allow_empty=False),
            **fields,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "botId": self.bot_id,
            "botVersion": self.bot_version,
            "botSessionId": self.bot_session_id,
            "languageCode": self.language_code,
            **_answer_json(self),
        }
