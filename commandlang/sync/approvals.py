"""`POST /sync/approvals/{id}`: the panel's Approve and Deny buttons.

The panel shows a command's `approval` object (`{"id", "roles", "requested_by", "expires_at"}`,
on a state record `awaiting_approval`) to whoever may answer it and posts here:

    POST /sync/approvals/a1b2c3d4e5f6
    Authorization: Bearer <sync token>
    {"decision": "approve" | "deny", "reason": "over the limit" | null}

The sync token says who answers (`agent`) and with which roles (its `roles` claim, default
`["agent"]`; `commandlang token --role supervisor`); it must be allowed to watch the command's
conversation or queue. Answers, each `{"command": <state record or null>, "replies": [...]}` or
`{"error": reason}`:
- 200: answered; `command` is the record as it stands after the answer (`completed`, `rejected`, or
  still running if the backend is slow: its later states arrive on the sync socket);
- 400 a body that is not one of the above; 401 a missing, bad or expired token (checked on the
  request's head, before the body is read); 403 a token out of scope, the requester answering their
  own request, or an approver without one of the roles (the approval keeps waiting); 404 no
  approval waits under that id (answered, expired, or never); 409 answered meanwhile by someone else;
  503 the service is busy (try again).
The answer runs through the pipeline like `/approve ID` typed in chat (channel `panel`, in the
requester's conversation, so that conversation's commands still run one at a time).
"""

from __future__ import annotations

import re
import time
from typing import Callable

from ..errors import SyncError
from ..jsonsafe import UnsafeJson, loads_bounded
from ..runtime.approvals import ApprovalDesk
from ..runtime.http import Request, Response, RouteSpec, json_response
from ..runtime.messages import InboundMessage, Submit
from ..runtime.questions import approval_key
from ..runtime.store import Store
from .tokens import SyncToken, TokenError, verify_token

__all__ = ["PanelApprovals", "PATH"]

PATH = "/sync/approvals/"
MAX_BODY = 4096  # a decision and a reason of at most 500 characters, even \u-escaped
_ID = re.compile(r"[0-9a-f]{1,64}")
_BEARER = re.compile(r"Bearer\s+(\S+)", re.IGNORECASE)


class PanelApprovals:
    """The route; `submit` is the pipeline's door, `store` where approvals wait."""

    def __init__(
        self,
        secret: str,
        store: Store,
        submit: Submit,
        *,
        wait: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret
        self._store = store
        self._submit = submit
        self._wait = wait
        self._clock = clock

    def route(self) -> RouteSpec:
        """Authenticated on the head (the bearer token), so its body does not count as unauthenticated."""
        return RouteSpec(
            "POST", PATH, self.handle, admit=self.admit, authenticates=True, max_body=MAX_BODY, prefix=True
        )

    def _token(self, request: Request) -> SyncToken:
        match = _BEARER.fullmatch(request.headers.get("authorization", "").strip())
        if match is None:
            raise SyncError("send Authorization: Bearer <sync token>")
        return verify_token(self._secret, match.group(1), now=self._clock)

    def admit(self, request: Request) -> Response | None:
        try:
            self._token(request)
        except (TokenError, SyncError) as exc:
            return json_response(401, {"error": str(exc)})
        return None

    async def handle(self, request: Request) -> Response:
        try:
            token = self._token(request)
        except (TokenError, SyncError) as exc:  # only reachable without the route's admission
            return json_response(401, {"error": str(exc)})
        approval_id = request.path.removeprefix(PATH)
        if not _ID.fullmatch(approval_id):
            return json_response(404, {"error": "no approval waits under this id"})
        try:
            body = loads_bounded(request.body)
        except (UnsafeJson, ValueError):
            return json_response(400, {"error": 'the body must be JSON: {"decision": "approve" | "deny"}'})
        decision = body.get("decision") if isinstance(body, dict) else None
        reason = body.get("reason") if isinstance(body, dict) else None
        if decision not in ("approve", "deny") or not (reason is None or isinstance(reason, str)):
            return json_response(400, {"error": 'decision must be "approve" or "deny", and reason a string or null'})
        waiting = await self._store.get_question(approval_key(approval_id), self._clock())
        if waiting is None:
            return json_response(404, {"error": "no approval waits under this id (answered, expired, or never)"})
        in_scope = token.allows(f"conversation:{waiting.conversation_id}") or (
            waiting.queue_id is not None and token.allows(f"queue:{waiting.queue_id}")
        )
        if not in_scope:
            return json_response(403, {"error": "this token may not watch the command's conversation or queue"})
        refusal = ApprovalDesk.refusal(waiting, frozenset((token.agent,)), frozenset(token.roles))
        if refusal is not None:
            return json_response(403, {"error": refusal})
        text = f"/{decision} {approval_id}" + (f" {' '.join(reason.split())}" if reason else "")
        message = InboundMessage(
            channel="panel",
            conversation_id=waiting.conversation_id,
            message_id=f"approval:{approval_id}",  # a second click is a duplicate, not a second answer
            participant_id=token.agent,
            role="agent" if "agent" in token.roles else token.roles[0],
            text=text,
            timestamp=self._clock(),
            queue_id=waiting.queue_id,
            roles=token.roles,
        )
        job = await self._submit(message, None)
        await job.wait(self._wait)
        replies = [reply.to_json() for reply in job.detach()]
        if job.refused:
            return json_response(503, {"command": None, "replies": replies}, {"retry-after": "5"})
        if job.record is None:
            return json_response(409, {"command": None, "replies": replies or [], "error": "answered already"})
        return json_response(200, {"command": job.record.to_json(), "replies": replies})
