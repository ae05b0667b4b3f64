"""The chat side of approvals: the `/approve TOKEN` and `/deny TOKEN reason` answers, and the reply
that tells a requester their command waits for an approver (with the answers as quick replies, for a
channel that shows them to an approver watching the conversation).

Pure: the runtime (runtime/approvals.py) decides who may answer and moves the command's state.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .model import QuickReply, Reply

__all__ = ["APPROVE_PAYLOAD", "DENY_PAYLOAD", "ApprovalAnswer", "parse_approval", "roles_phrase", "waiting_reply"]

APPROVE_PAYLOAD = "/approve {token}"
DENY_PAYLOAD = "/deny {token}"
_ANSWER = re.compile(r"^\s*/(approve|deny)(?:\s+(\S+))?(?:\s+(.*?))?\s*$", re.IGNORECASE | re.DOTALL)
MAX_REASON = 500  # characters of a denial's reason kept (it is shown to the requester and audited)


@dataclass(frozen=True, slots=True)
class ApprovalAnswer:
    """`/approve TOKEN` or `/deny TOKEN reason...` as typed; `token` None when it was left out."""

    decision: str  # "approve" | "deny"
    token: str | None
    reason: str | None


def parse_approval(text: str) -> ApprovalAnswer | None:
    """The answer `text` gives to an approval, or None when it is not one."""
    match = _ANSWER.match(text)
    if match is None:
        return None
    reason = (match.group(3) or "").strip()[:MAX_REASON] or None
    return ApprovalAnswer(match.group(1).lower(), match.group(2), reason)


def roles_phrase(roles: Iterable[str]) -> str:
    """`a supervisor`, `a supervisor or a team_lead`: who may approve, as the requester reads it."""
    names = sorted(roles)
    return " or ".join(("an " if name[:1] in "aeiou" else "a ") + name for name in names)


def waiting_reply(command: str, roles: Iterable[str], token: str, timeout: float) -> Reply:
    """The requester's answer while /command waits: who must approve, for how long, and the answers."""
    minutes = max(1, round(timeout / 60))
    return Reply(
        text=(
            f"/{command} is waiting for approval by {roles_phrase(roles)} (approval code {token}); "
            f"without an answer within {minutes} minute{'s' if minutes != 1 else ''} it will not run."
        ),
        quick_replies=(
            QuickReply("Approve", APPROVE_PAYLOAD.format(token=token)),
            QuickReply("Deny", DENY_PAYLOAD.format(token=token)),
        ),
    )
