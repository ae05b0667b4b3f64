"""From a backend outcome to the user's answer: the reply, the final status and the error.

The error is what the runtime stores as `record.error`, so what sync frames
and webhook answers carry: its message goes through the renderer's
`Scrubber` (no URL, address, stack trace or raw sensitive value), exactly
like the reply's.

One mapping, used by the runtime for real calls and by `commandlang test`
for canned backend answers, so an example passes exactly when the service
would answer the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..binding.call import Call
from ..replies.context import ReplyContext
from ..replies.model import Reply
from ..replies.render import ReplyRenderer
from .outcome import Outcome, Success

__all__ = ["Answer", "answer"]


@dataclass(frozen=True, slots=True)
class Answer:
    """The reply to send, the command's final status, and its scrubbed `{code, message}` error (None on success)."""

    reply: Reply
    status: str  # completed | failed | timed_out
    error: Mapping[str, str] | None


def answer(
    renderer: ReplyRenderer,
    call: Call,
    outcome: Outcome | None,
    *,
    user: Mapping[str, Any],
    conversation_id: str | None,
    language: str | None = None,
) -> Answer:
    """The success or error reply for `outcome` (None: a command without a backend call), in `language`."""
    details: dict[str, Any] = outcome.to_context() if outcome is not None else {}
    error: dict[str, Any] | None = None
    if outcome is not None and not isinstance(outcome, Success):  # Success is the one outcome that is ok
        scrubber = renderer.scrubber.for_call(call.spec, call.args)
        error = {"code": outcome.code, "message": scrubber.message(outcome.user_message)}
    context = ReplyContext(
        args=call.args,
        result=details.get("json"),
        status=details.get("status"),
        error=error,
        user=user,
        conversation_id=conversation_id,
        language=language,
    )
    if error is None:
        return Answer(renderer.render(call.spec, "success", context), "completed", None)
    return Answer(
        renderer.render(call.spec, "error", context), "timed_out" if error["code"] == "timeout" else "failed", error
    )
