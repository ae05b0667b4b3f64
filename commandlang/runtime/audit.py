"""The approvals' audit trail, read from the store's event log: who asked, who answered, when, with what.

Nothing is written twice: every request, approval, denial and timeout is already a state change of
the command's record (with its `approval` object and masked arguments), stored and kept as long as
commands are (`COMMANDLANG_RETENTION`). `audit_entries` picks those changes out of
`Store.events_since`:
- `requested`: the version entering `awaiting_approval` (by the requester; after `awaiting_confirmation` when it was confirmed first);
- `approved`: it leaves `awaiting_approval` with the decision approved (by the approver; it then runs,
  or is rejected when the registry changed so that its text no longer binds);
- `denied`: `rejected` `approval_denied` (by the approver, with the reason);
- `timed_out`: `rejected` `approval_timeout` (nobody answered: no one did it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Mapping

from .store import StateEvent

__all__ = ["AuditEntry", "audit_entries"]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One step of one approval."""

    at: float
    event: str  # requested | approved | denied | timed_out
    command: str
    command_id: str
    conversation_id: str
    by: str | None  # who did it (None for a timeout)
    requested_by: str
    roles: tuple[str, ...]  # who could approve
    args: Mapping[str, Any]  # masked, as stored
    reason: str | None
    approval_id: str
    seq: int

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "event": self.event,
            "command": self.command,
            "command_id": self.command_id,
            "conversation_id": self.conversation_id,
            "by": self.by,
            "requested_by": self.requested_by,
            "roles": list(self.roles),
            "args": dict(self.args),
            "reason": self.reason,
            "approval_id": self.approval_id,
            "seq": self.seq,
        }


def _event(status: str, approval: Mapping[str, Any], error: Mapping[str, str] | None) -> str | None:
    if status == "awaiting_approval":
        return "requested"
    decision = approval.get("decision")
    if status == "pending" and decision == "approved":
        return "approved"
    if status == "rejected":
        return {"approved": "approved", "denied": "denied", "timed_out": "timed_out"}.get(str(decision))
    return None  # executing, final states after an approval: the command's own life, not the approval's


def audit_entries(events: Iterable[StateEvent], command: str | None = None) -> list[AuditEntry]:
    """The approval steps among `events` (of `command` only, when given), in the order they happened."""
    entries = []
    for state in events:
        record = state.record
        approval = record.approval
        if approval is None or (command is not None and record.command != command):
            continue
        event = _event(record.status, approval, record.error)
        if event is None:
            continue
        entries.append(
            AuditEntry(
                at=record.updated_at,
                event=event,
                command=record.command,
                command_id=record.id,
                conversation_id=record.conversation_id,
                by=record.actor if event == "requested" else approval.get("decided_by"),
                requested_by=str(approval.get("requested_by", record.actor)),
                roles=tuple(approval.get("roles") or ()),
                args=record.args,
                reason=approval.get("reason") if event == "denied" else None,
                approval_id=str(approval.get("id", "")),
                seq=state.seq,
            )
        )
    return entries
