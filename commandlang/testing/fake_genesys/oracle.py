"""The fake's oracle: Genesys's own published models (the official Python SDK) judge every payload.

Our fake once agreed with two of our mistakes, so its shapes are no longer
ours to decide: every request body the fake receives, every JSON body it
answers and every topic event it sends is checked against the SDK model
for that endpoint or topic (`swagger_types`, `attribute_map` and the
`allowed_values` each enum setter declares). Unknown fields, wrong JSON
types and enum values the SDK does not list are violations, each with its
JSON path.

Which model belongs to which route comes from `openapi-subset.json`
(`parameters[in=body].schema`, `responses.200.schema`, `x-notification-topics`)
when `../shared` is beside the checkout, else from the SDK's generated API
source (`body: 'Model'` annotations, `response_type='Model'`).

The SDK (`PureCloudPlatformClientV2`) is a test dependency only; the fake
ships in the wheel for users' tests. Without the SDK the oracle is off and
says so once in the log.
"""

from __future__ import annotations

import ast
import inspect
import json
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable, Mapping

__all__ = [
    "Violation",
    "ModelOracle",
    "PayloadOracle",
    "RouteModels",
    "load_oracle",
    "route_models",
    "DEFAULT_SUBSET",
    "SYSTEM_TOPICS",
    "iter_violations",
]

log = logging.getLogger(__name__)

#: `../shared/genesys/openapi-subset.json` beside a checkout (absent in an installed wheel).
DEFAULT_SUBSET = Path(__file__).resolve().parents[3].parent / "shared" / "genesys" / "openapi-subset.json"

# The SDK import takes ~2 s (its package imports every model): done once per process and kept here.
# This cache (the module, and one oracle per subset file) is the only module state; entries never change once set.
_SDK: dict[str, Any] = {}


def _sdk() -> Any | None:
    if "module" not in _SDK:
        try:
            import PureCloudPlatformClientV2 as sdk
        except ImportError:
            sdk = None
            log.warning(
                "PureCloudPlatformClientV2 is not installed: the fake Genesys's SDK oracle is off "
                "(payloads are not checked against Genesys's models)"
            )
        _SDK["module"] = sdk
    return _SDK["module"]


@dataclass(frozen=True, slots=True)
class Violation:
    """One payload the real Genesys would refuse (request) or never send (response, event)."""

    kind: str  # request | response | event
    where: str  # "POST /api/v2/..." or the topic name
    model: str
    path: str  # JSON path, e.g. $.participants[1].messages[0].id
    problem: str

    def __str__(self) -> str:
        return f"{self.kind} {self.where} ({self.model}) {self.path}: {self.problem}"


@dataclass(frozen=True, slots=True)
class _Field:
    attribute: str  # the SDK's python attribute (for the enum lookup)
    type: str
    allowed: tuple[str, ...] | None


_ALLOWED = re.compile(r"allowed_values\s*=\s*(\[.*?\])", re.S)
_LIST = re.compile(r"^list\[(.+)\]$")
_DICT = re.compile(r"^dict\(\s*str\s*,\s*(.+)\)$")


class ModelOracle:
    """Validates JSON values against SDK models by name (`check("MessageData", value)`)."""

    def __init__(self, sdk: Any) -> None:
        self._sdk = sdk
        self._fields: dict[str, dict[str, _Field]] = {}

    def knows(self, model: str) -> bool:
        """Whether the SDK has a model of this name."""
        return isinstance(getattr(self._sdk, model, None), type)

    def fields(self, model: str) -> dict[str, _Field]:
        """JSON key -> field, from the model's `swagger_types`, `attribute_map` and enum setters."""
        known = self._fields.get(model)
        if known is None:
            cls = getattr(self._sdk, model)
            instance = cls()
            known = {
                instance.attribute_map[attr]: _Field(attr, kind, _allowed_values(cls, attr))
                for attr, kind in instance.swagger_types.items()
            }
            self._fields[model] = known
        return known

    def check(self, kind: str, value: Any, path: str = "$") -> list[tuple[str, str]]:
        """(path, problem) for each way `value` differs from the SDK type `kind` (a model name,
        `str`, `int`, `float`, `bool`, `datetime`, `date`, `object`, `list[X]`, `dict(str, X)`)."""
        if value is None:
            return []  # Genesys omits absent fields; the SDK models have no required flags to check
        kind = kind.strip()
        if m := _LIST.match(kind):
            if not isinstance(value, list):
                return [(path, f"expected an array ({kind}), got {_json_type(value)}")]
            return [p for i, item in enumerate(value) for p in self.check(m.group(1), item, f"{path}[{i}]")]
        if m := _DICT.match(kind):
            if not isinstance(value, dict):
                return [(path, f"expected an object ({kind}), got {_json_type(value)}")]
            return [p for k, item in value.items() for p in self.check(m.group(1), item, f"{path}.{k}")]
        scalar = _scalar_problem(kind, value)
        if scalar is not None:
            return [] if scalar == "" else [(path, scalar)]
        if not self.knows(kind):
            # assumption: a type string we cannot read is not judged (none is known in SDK 269)
            return []
        if not isinstance(value, dict):
            return [(path, f"expected an object ({kind}), got {_json_type(value)}")]
        fields = self.fields(kind)
        problems: list[tuple[str, str]] = []
        for key, item in value.items():
            spec = fields.get(key)
            if spec is None:
                problems.append((f"{path}.{key}", f"unknown field (not in the SDK's {kind})"))
                continue
            problems += self.check(spec.type, item, f"{path}.{key}")
            if spec.allowed is not None:
                items = item if isinstance(item, list) else [item]
                for i, one in enumerate(items):
                    # exact match: the SDK's setters compare case-insensitively, the service writes one casing
                    if isinstance(one, str) and one not in spec.allowed:
                        where = f"{path}.{key}[{i}]" if isinstance(item, list) else f"{path}.{key}"
                        problems.append((where, f"{one!r} is not one of {', '.join(spec.allowed)}"))
        return problems


def _allowed_values(cls: type, attribute: str) -> tuple[str, ...] | None:
    """The enum a property's setter declares (`allowed_values = [...]`), read from its source once."""
    prop = getattr(cls, attribute, None)
    setter = getattr(prop, "fset", None)
    if setter is None:
        return None
    try:
        match = _ALLOWED.search(inspect.getsource(setter))
    except (OSError, TypeError):
        return None
    return tuple(ast.literal_eval(match.group(1))) if match else None


def _json_type(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}.get(
        type(value), type(value).__name__
    )


def _scalar_problem(kind: str, value: Any) -> str | None:
    """None when `kind` is not a scalar type, "" when `value` fits it, else the problem."""
    if kind in ("str", "string"):
        return "" if isinstance(value, str) else f"expected a string, got {_json_type(value)}"
    if kind in ("int", "long"):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return "" if ok else f"expected an integer, got {_json_type(value)}"
    if kind in ("float", "double"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return "" if ok else f"expected a number, got {_json_type(value)}"
    if kind == "bool":
        return "" if isinstance(value, bool) else f"expected a boolean, got {_json_type(value)}"
    if kind in ("datetime", "date"):
        if not isinstance(value, str):
            return f"expected an ISO-8601 {kind} string, got {_json_type(value)}"
        try:
            (datetime if kind == "datetime" else date).fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return f"{value!r} is not an ISO-8601 {kind}"
        return ""
    if kind == "object":
        return ""
    return None


# -- which model goes with which route --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RouteModels:
    """The SDK type strings of one operation's request body and 200 answer (None: no JSON body)."""

    request: str | None
    response: str | None


def _schema_type(schema: Mapping[str, Any] | None) -> str | None:
    if not schema:
        return None
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if schema.get("type") == "array":
        inner = _schema_type(schema.get("items"))
        return f"list[{inner}]" if inner else None
    return {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}.get(schema.get("type", ""))


def _from_subset(subset: Mapping[str, Any]) -> tuple[dict[tuple[str, str], RouteModels], dict[str, str]]:
    routes = {}
    for template, operations in subset.get("paths", {}).items():
        for method, op in operations.items():
            if not isinstance(op, dict):
                continue
            body = next((p.get("schema") for p in op.get("parameters", []) if p.get("in") == "body"), None)
            answer = (op.get("responses", {}).get("200") or {}).get("schema")
            routes[(method.upper(), template)] = RouteModels(_schema_type(body), _schema_type(answer))
    topics = {
        topic: _schema_type(spec.get("eventBodySchema")) or ""
        for topic, spec in subset.get("x-notification-topics", {}).items()
    }
    return routes, {t: m for t, m in topics.items() if m}


_FUNCTION = re.compile(r"\n    def (\w+)\(self(?P<sig>[^)]*)\)(?P<body>.*?)(?=\n    def |\Z)", re.S)


def _from_sdk_apis(sdk: Any) -> dict[tuple[str, str], RouteModels]:
    """Route -> models from the SDK's generated API modules (used when the subset is not at hand)."""
    routes = {}
    apis = Path(sdk.__file__).parent / "apis"
    for name in ("conversations_api.py", "notifications_api.py", "integrations_api.py"):
        source = (apis / name).read_text(encoding="utf-8")
        for m in _FUNCTION.finditer(source):
            path = re.search(r"resource_path = '([^']+)'", m.group("body"))
            method = re.search(r"call_api\(resource_path, '(\w+)'", m.group("body"))
            if not (path and method):
                continue
            body = re.search(r"\bbody: ([^,]+)", m.group("sig"))
            answer = re.search(r"response_type='([^']+)'", m.group("body"))
            request = body.group(1).replace("'", "").strip().replace("List[", "list[") if body else None
            routes[(method.group(1), path.group(1))] = RouteModels(request, answer.group(1) if answer else None)
    return routes


#: Used only when the subset is not at hand; the topic -> eventBody mapping is SOURCES.md 3a
#: (`notificationMappings.json`), which the SDK wheel does not ship.
_FALLBACK_TOPICS = {
    "v2.routing.queues.{id}.conversations.messages": "QueueConversationMessageEventTopicMessageConversation",
    "v2.users.{id}.conversations.messages": "ConversationMessageEventTopicMessageConversation",
    "v2.routing.queues.{id}.conversations": "QueueConversationEventTopicConversation",
    "v2.users.{id}.conversations": "ConversationEventTopicConversation",
}
#: The system topics are handled without subscribing (SOURCES.md 3a); `v2.system.socket_closing` carries
#: `SystemMessageSystemMessage`. Assumption (no source read): `no_longer_subscribed` and `token_revoked`
#: carry the same model.
SYSTEM_TOPICS = {
    t: "SystemMessageSystemMessage"
    for t in ("v2.system.socket_closing", "v2.system.no_longer_subscribed", "v2.system.token_revoked")
}


#: Operations the sign-in needs that openapi-subset.json lacks: their models from the SDK 269 API source
#: (`response_type=` of users_api `get_users_me`, `get_user` and `get_user_queues`).
SIGNIN_ROUTES = {
    ("GET", "/api/v2/users/me"): RouteModels(None, "UserMe"),
    ("GET", "/api/v2/users/{userId}"): RouteModels(None, "User"),
    ("GET", "/api/v2/users/{userId}/queues"): RouteModels(None, "UserQueueEntityListing"),
}


def route_models(
    sdk: Any, subset_path: Path | None = DEFAULT_SUBSET
) -> tuple[dict[tuple[str, str], RouteModels], dict[str, str]]:
    """((METHOD, path template) -> RouteModels, topic template -> eventBody model)."""
    if subset_path is not None and subset_path.exists():
        routes, topics = _from_subset(json.loads(subset_path.read_text(encoding="utf-8")))
    else:
        routes, topics = _from_sdk_apis(sdk), dict(_FALLBACK_TOPICS)
    return {**SIGNIN_ROUTES, **routes}, {**topics, **SYSTEM_TOPICS}


class PayloadOracle:
    """The fake's judge: request, response and event checks by route or topic, as `Violation`s."""

    def __init__(
        self, models: ModelOracle, routes: Mapping[tuple[str, str], RouteModels], topics: Mapping[str, str]
    ) -> None:
        self.models = models
        self.routes = dict(routes)
        self._topics = [
            (re.compile("^" + re.escape(t).replace(r"\{id\}", r"[^.]+") + "$"), m) for t, m in topics.items()
        ]

    def _judge(self, kind: str, where: str, model: str | None, value: Any) -> list[Violation]:
        if model is None:
            return []
        return [Violation(kind, where, model, path, problem) for path, problem in self.models.check(model, value)]

    def request(self, method: str, template: str, body: Any) -> list[Violation]:
        """Violations of a request body against its operation's body model."""
        route = self.routes.get((method, template))
        return self._judge("request", f"{method} {template}", route.request if route else None, body)

    def response(self, method: str, template: str, status: int, body: Any) -> list[Violation]:
        """Violations of an answer: 2xx against the operation's model, errors against ErrorBody."""
        if body is None:
            return []
        if status >= 400:
            model: str | None = "ErrorBody"
        else:
            route = self.routes.get((method, template))
            model = route.response if route else None
        return self._judge("response", f"{method} {template} -> {status}", model, body)

    def event(self, topic: str, body: Any) -> list[Violation]:
        """Violations of a topic event's eventBody (topics without a known model are not judged)."""
        model = next((m for pattern, m in self._topics if pattern.match(topic)), None)
        return self._judge("event", topic, model, body)


def load_oracle(subset_path: Path | None = DEFAULT_SUBSET) -> PayloadOracle | None:
    """The oracle, or None (said once in the log) when the SDK is not installed."""
    sdk = _sdk()
    if sdk is None:
        return None
    key = f"oracle:{subset_path}"
    if key not in _SDK:  # one per process and subset: the models' enum tables are read once, not per fake
        routes, topics = route_models(sdk, subset_path)
        _SDK[key] = PayloadOracle(ModelOracle(sdk), routes, topics)
    return _SDK[key]


def iter_violations(items: Iterable[Violation]) -> str:
    """The violations, one a line (for assertion messages)."""
    return "\n".join(str(v) for v in items)
