"""The variables a reply template sees, built so that secrets stay masked by default.

Template variables (all kinds unless noted):

- `args`: the typed arguments (int, Decimal, date, ...), defaults filled;
  sensitive ones masked (`****1234`).
- `raw_args`: the same, unmasked. Only in `success`, `confirm` and `ack`
  replies: writing `raw_args.card` is the explicit opt-in. Error replies
  never get it (lint reports a template that tries).
- `result`: the backend's JSON answer (or its text), `None` before a call;
  a raw sensitive value the backend echoes is masked.
- `status`: the backend's HTTP status, or `None`.
- `result` in an error reply: strings cleaned of URLs, addresses, tracebacks
  and sensitive values (`replies.scrub`); after a 5xx answer, `None` (what a
  failing server says is for the operator, not the user).
- `error`: `{code, message}` for error replies, else `None`. The message has
  URLs, addresses, tracebacks and sensitive values removed.
- `command`: `name`, `summary`, `usage`; `{{ command }}` prints the name.
- `user`: `{id, role}` of the participant who sent the command.
- `conversation_id`: the conversation's id.
- `confirm_token`: the token of a pending confirmation (confirm replies).
- `macros`: the macros of `templates/_macros.j2`, when that file exists.
- `language`: the conversation's language tag (`de`, `de-ch`), one of `settings.languages`; the
  formatting filters (`number`, `money`, `date`, `datetime`, `duration`) follow it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

from ..binding.call import mask
from ..registry.model import CommandSpec

__all__ = ["CommandInfo", "ReplyContext", "ReplyKind", "KNOWN_VARIABLES", "template_variables", "context_for_answer"]

ReplyKind = Literal["success", "error", "confirm", "ack"]

#: Every top-level name a reply template may use (lint reports any other).
KNOWN_VARIABLES = frozenset(
    {
        "args",
        "raw_args",
        "result",
        "status",
        "error",
        "command",
        "user",
        "conversation_id",
        "confirm_token",
        "macros",
        "loop_index",
        "language",
    }
)


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
    #: The conversation's language, resolved against `settings.languages` (None: the default's texts, English
    #: built-in texts).
    language: str | None = None

    @classmethod
    def coerce(cls, value: "ReplyContext | Mapping[str, Any] | None") -> "ReplyContext":
        """A `ReplyContext` from itself, a mapping of its fields, or None."""
        if value is None:
            return cls()
        if isinstance(value, ReplyContext):
            return value
        known = {k: v for k, v in value.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def command_info(spec: CommandSpec) -> CommandInfo:
    return CommandInfo(name=spec.name, summary=spec.summary, usage=spec.usage())


def template_variables(spec: CommandSpec, context: ReplyContext, kind: ReplyKind, macros: Any = None) -> dict[str, Any]:
    """The variables a `kind` reply template of `spec` is rendered with.

    `context` must already be scrubbed (`ReplyRenderer.render` does it with
    its `Scrubber`): here only the arguments are masked.
    """
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
        "language": context.language or "en",
    }
    if kind == "error":
        raw_error = context.error or {}
        variables["error"] = {"code": str(raw_error.get("code") or "error"), "message": raw_error.get("message") or ""}
    else:
        variables["raw_args"] = dict(context.args)
    if macros is not None:
        variables["macros"] = macros
    return variables


def context_for_answer(
    args: Mapping[str, Any],
    answer: Mapping[str, Any],
    user: Mapping[str, Any] | None = None,
    conversation_id: str | None = None,
) -> tuple[ReplyKind, ReplyContext]:
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
    # like `BackendError.user_message`: what a failing (5xx) server says never reaches a user
    message = body.get("message") if isinstance(body, Mapping) and status < 500 else None
    code = f"http_{status}" if status >= 400 else "backend_error"
    return "error", ReplyContext(
        args=args,
        result=body,
        status=status,
        user=who,
        conversation_id=conversation_id,
        error={"code": code, "message": message},
    )
