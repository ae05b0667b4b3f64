"""What `commandlang genesys check` asks of an org, on the fake: queues that exist, APIs an OAuth client may not use.

    fake.org.add_queue("q1", "Support")                                # GET /api/v2/routing/queues/q1 -> Queue
    fake.org.deny("GET", r"^/api/v2/routing/queues/", "routing:queue:view")   # 403 missing.permissions
    fake.deny_topics(r"v2\\.routing\\.queues\\..*", "routing:queue:view")        # (state.py) topic Rejected

A denial answers every matching request (unlike `fail_next`, which is used up): a role the OAuth
client lacks stays lacking. The 403 is the ErrorBody of SOURCES.md 4 (`missing.permissions`) with
the permission in `messageParams.permissions`, which is where our client reads it from; the exact
message text of the real 403 is not in a source (it follows the fake's existing injected 403).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from .conversation import error_body
from .people import FakeUser

if TYPE_CHECKING:
    from .state import FakeGenesys

__all__ = ["FakeOrg", "forbidden", "get_queue", "entity_id"]


@dataclass(frozen=True)
class _Denial:
    method: str | None
    path: re.Pattern[str]
    permission: str


@dataclass
class FakeOrg:
    """The org's configuration the fake answers from: its queues and the permissions the client lacks."""

    queues: dict[str, str] = field(default_factory=dict)  # queue id -> name
    denials: list[_Denial] = field(default_factory=list)
    users: dict[str, FakeUser] = field(default_factory=dict)  # people.py: users/me, users/{id}, their queues

    def add_user(
        self,
        user_id: str,
        name: str | None = None,
        *,
        groups: Iterable[str] = (),
        roles: Iterable[str] = (),
        queues: Iterable[str] = (),
    ) -> FakeUser:
        """A user; groups and roles by name (their ids are `entity_id(name)`), queues by id (added if new)."""
        user = FakeUser(
            user_id,
            name or user_id,
            [(entity_id(g), g) for g in groups],
            [(entity_id(r), r) for r in roles],
            list(queues),
        )
        for queue in queues:
            self.queues.setdefault(queue, queue)
        self.users[user_id] = user
        return user

    def add_queue(self, queue_id: str, name: str | None = None) -> None:
        """A queue that `GET /api/v2/routing/queues/{queueId}` finds."""
        self.queues[queue_id] = name or queue_id

    def deny(self, method: str | None, path: str, permission: str) -> None:
        """Every request matching `method` (None: any) and `path` (regex) gets 403 naming `permission`."""
        self.denials.append(_Denial(method.upper() if method else None, re.compile(path), permission))

    def denied(self, method: str, path: str) -> str | None:
        """The permission that refuses this request, if any."""
        return next(
            (d.permission for d in self.denials if (d.method is None or d.method == method) and d.path.search(path)),
            None,
        )


def entity_id(name: str) -> str:
    """The fake's stable id for a group or role name (a UUID, as Genesys's are)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fake-genesys:{name}"))


def forbidden(fake: "FakeGenesys", method: str, path: str) -> tuple[int, Any, dict[str, str]] | None:
    """The 403 answer (status, ErrorBody, headers) when the org denies this request."""
    permission = fake.org.denied(method, path) if path.startswith("/api/v2/") else None
    if permission is None:
        return None
    return (
        403,
        error_body(
            403,
            "missing.permissions",
            f"Unable to perform the requested action. You are missing the following permission(s): [{permission}]",
            messageParams={"permissions": permission},
        ),
        {},
    )


async def get_queue(fake: "FakeGenesys", req: Any) -> tuple[int, Any]:
    """`GET /api/v2/routing/queues/{queueId}`: the SDK's `Queue` model, minimal fields (id, name, selfUri)."""
    queue_id = req.params["queueId"]
    name = fake.org.queues.get(queue_id)
    if name is None:
        return 404, error_body(404, "not.found", f"Queue {queue_id} not found")
    return 200, {"id": queue_id, "name": name, "selfUri": f"/api/v2/routing/queues/{queue_id}"}
