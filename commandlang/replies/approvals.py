"""The chat side of approvals: the `/approve TOKEN` and `/deny TOKEN reason` answers, and the reply
that tells a requester their command waits for an approver (with the answers as quick replies, for a
channel that shows them to an approver watching the conversation).

Pure: the runtime (runtime/approvals.py) decides who may answer and moves the command's state.
Every text here is a built-in text (`N_`), shown in the language of whoever reads it; role names
are the registry's identifiers and stay as declared.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..texts import OR, N_
from .i18n import Translator, translator
from .model import QuickReply, Reply

__all__ = ["APPROVE_PAYLOAD", "DENY_PAYLOAD", "ApprovalAnswer", "parse_approval", "roles_phrase", "waiting_reply"]

ENGLISH = translator("en")

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


def roles_phrase(roles: Iterable[str], t: Translator = ENGLISH) -> str:
    """`a supervisor`, `a supervisor or a team_lead`: who may approve, as the requester reads it."""
    # i18n: {role} is a role's name as the registry declares it (supervisor, team_lead); it is not translated
    a_role, an_role = N_("a {role}"), N_("an {role}")
    return t.gettext(OR).join(t(an_role if name[:1] in "aeiou" else a_role, role=name) for name in sorted(roles))


def waiting_reply(command: str, roles: Iterable[str], token: str, timeout: float, t: Translator = ENGLISH) -> Reply:
    """The requester's answer while /command waits: who must approve, for how long, and the answers."""
    minutes = max(1, round(timeout / 60))
    template = (
        N_(
            "/{command} is waiting for approval by {roles} (approval code {token}); "
            "without an answer within {minutes} minute it will not run."
        )
        if minutes == 1
        else N_(
            "/{command} is waiting for approval by {roles} (approval code {token}); "
            "without an answer within {minutes} minutes it will not run."
        )
    )
    return Reply(
        text=t(template, command=command, roles=roles_phrase(roles, t), token=token, minutes=minutes),
        quick_replies=(
            QuickReply(t(N_("Approve")), APPROVE_PAYLOAD.format(token=token)),
            QuickReply(t(N_("Deny")), DENY_PAYLOAD.format(token=token)),
        ),
    )
