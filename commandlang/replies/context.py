"""The variables a reply template sees, built so that secrets stay masked by default.

Template variables (all kinds unless noted):

- `args`: the typed arguments (int, Decimal, date, ...), defaults filled;
  sensitive ones masked (`****1234`).
- `raw_args`: the same, unmasked. Only in `success`, `confirm` and `ack`
  replies: writing `raw_args.card` is the explicit opt-in. Error replies
  never get it (lint reports a template that tries).
- `result`: the backend's JSON answer (or its text), `None` before a call.
- `status`: the backend's HTTP status, or `None`.
- `error`: `{code, message}` for error replies, else `None`. The message has
  URLs, tracebacks and sensitive values removed.
- `command`: `name`, `summary`, `usage`; `{{ command }}` prints the name.
- `user`: `{id, role}` of the participant who sent the command.
- `conversation_id`: the conversation's id.
- `confirm_token`: the token of a pending confirmation (confirm replies).
- `macros`: the macros of `templates/_macros.j2`, when that file exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

from ..binding.call import mask
from ..registry.types import to_json
from ..registry.model import CommandSpec

__all__ = ["CommandInfo", "ReplyContext", "ReplyKind", "KNOWN_VARIABLES", "template_variables", "safe_message", "scrub",
           "context_for_answer"]

ReplyKind = Literal["success", "error", "confirm", "ack"]

#: Every top-level name a reply template may use (lint reports any other).
KNOWN_VARIABLES = frozenset(
    {"args", "raw_args", "result", "status", "error", "command", "user", "conversation_id", "confirm_token", "macros", "loop_index"}
)

_URL = re.compile(r"\b(?:https?|wss?|ftp)://[^\s\"'<>)\]]+", re.IGNORECASE)
_TRACEBACK = re.compile(r"Traceback \(most recent call last\):.*", re.DOTALL)
_FILE_LINE = re.compile(r'File "[^"]+", line \d+.*')
MAX_ERROR_MESSAGE = 300


@dataclass(frozen=True, slots=True)
class CommandInfo:
    """What a template knows of the command; prints as its name."""

    name: str
    summary: str
    usage: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class ReplyContext:
    """The facts of one command run that a reply may show; `args` are the raw typed values."""

    args: Mapping[str, Any] = field(default_factory=dict)
    result: Any = None
    status: int | None = None
    error: Mapping[str, Any] | None = None  # {"code": ..., "message": ...}
    user: Mapping[str, Any] = field(default_factory=lambda: {"id": None, "role": None})
    conversation_id: str | None = None
    confirm_token: str | None = None

    @classmethod
    def coerce(cls, value: "ReplyContext | Mapping[str, Any] | None") -> "ReplyContext":
        """A `ReplyContext` from itself, a mapping of its fields, or None."""
        if value is None:
            return cls()
        if isinstance(value, ReplyContext):
            return value
        known = {k: v for k, v in value.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def sensitive_values(spec: CommandSpec, args: Mapping[str, Any]) -> list[str]:
    """The text forms of the sensitive arguments' values, longest first (for scrubbing)."""
    found: list[str] = []
    for arg in spec.args:
        if arg.sensitive and args.get(arg.name) is not None:
            value = args[arg.name]
            for item in value if isinstance(value, (list, tuple)) else [value]:
                text = str(to_json(item))
                if len(text) >= 3:  # masking "1" everywhere would garble every number
                    found.append(text)
    return sorted(set(found), key=len, reverse=True)


def scrub(value: Any, secrets: list[str]) -> Any:
    """`value` with every occurrence of each secret replaced by its mask (strings inside structures too)."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, mask(secret))
        return value
    if isinstance(value, Mapping):
        return {k: scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(v, secrets) for v in value]
    return value


def safe_message(text: Any, secrets: list[str] | None = None) -> str:
    """An error message fit for a chat user: no URL, no traceback, no secret, at most 300 characters."""
    message = "" if text is None else str(text)
    message = _TRACEBACK.sub("", message)
    message = _FILE_LINE.sub("", message)
    message = _URL.sub("[link removed]", message)
    message = scrub(message, secrets or [])
    message = " ".join(message.split())
    if len(message) > MAX_ERROR_MESSAGE:
        message = message[: MAX_ERROR_MESSAGE - 1].rstrip() + "…"
    return message


def command_info(spec: CommandSpec) -> CommandInfo:
    return CommandInfo(name=spec.name, summary=spec.summary, usage=spec.usage())


def template_variables(spec: CommandSpec, context: ReplyContext, kind: ReplyKind, macros: Any = None) -> dict[str, Any]:
    """The variables a `kind` reply template of `spec` is rendered with."""
    sensitive = {a.name for a in spec.args if a.sensitive}
    masked = {name: (mask(value) if name in sensitive else value) for name, value in context.args.items()}
    variables: dict[str, Any] = {
        "args": masked,
        "result": context.result,
        "status": context.status,
        "error": None,
        "command": command_info(spec),
        "user": {"id": context.user.get("id"), "role": context.user.get("role")},
        "conversation_id": context.conversation_id,
        "confirm_token": context.confirm_token,
    }
    if kind == "error":
        secrets = sensitive_values(spec, context.args)
        raw_error = context.error or {}
        variables["error"] = {"code": str(raw_error.get("code") or "error"),
                              "message": safe_message(raw_error.get("message"), secrets)}
        variables["result"] = scrub(context.result, secrets)  # a backend may echo a card number back
    else:
        variables["raw_args"] = dict(context.args)
    if macros is not None:
        variables["macros"] = macros
    return variables


def context_for_answer(args: Mapping[str, Any], answer: Mapping[str, Any], user: Mapping[str, Any] | None = None,
                       conversation_id: str | None = None) -> tuple[ReplyKind, ReplyContext]:
    """The reply kind and context for a backend answer `{status, json | text}` (an example's canned `backend`).

    A status of 400 or more, or the default contract's `{"status": "error"}`,
    is a failure: kind `error` with `error = {code: http_<status> | backend_error, message}`.
    """
    status = int(answer.get("status", 200) or 200)
    body = answer.get("json", answer.get("text"))
    who = dict(user) if user is not None else {"id": None, "role": None}
    failed = status >= 400 or (isinstance(body, Mapping) and body.get("status") == "error")
    if not failed:
        return "success", ReplyContext(args=args, result=body, status=status, user=who, conversation_id=conversation_id)
    message = body.get("message") if isinstance(body, Mapping) else None
    code = f"http_{status}" if status >= 400 else "backend_error"
    return "error", ReplyContext(args=args, result=body, status=status, user=who, conversation_id=conversation_id,
                                 error={"code": code, "message": message})
