"""The fake's rate limit: 429 with Genesys's ErrorBody and a `Retry-After` once a client sends too much.

    fake.rate_limit = FakeRateLimit(300)          # Genesys's documented client-credentials default
    fake.rate_limit = FakeRateLimit(20, window=1)  # the bench's scaled-down minute

What is known (SOURCES.md 4): the 429 answers ErrorBody code `too.many.requests` with the message
"Rate limit exceeded the maximum [%s] requests within [%s] seconds" (V-official, old swagger) and
carries `Retry-After` (Secondary); the limit is 300 a minute per client-credentials client
(Secondary). What is not, and is chosen here: the window is *sliding* (the strictest reading: a
client that keeps under it also keeps under fixed windows); only `/api/v2/...` requests with a
valid token count (`/oauth/token` is not an API call, and the media upload URL is another host on
the real service); a refused request does not count; `Retry-After` is whole seconds, rounded up,
until the oldest counted request leaves the window.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING, Any

import trio

if TYPE_CHECKING:
    from .state import FakeGenesys

__all__ = ["FakeRateLimit", "rate_limited"]


class FakeRateLimit:
    """At most `limit` counted requests in any `window` seconds (the fake's clock: Trio's)."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a rate limit needs limit >= 1 and window > 0")
        self.limit, self.window = limit, window
        self._arrivals: deque[float] = deque()
        self.accepted = 0
        self.rejected = 0  # 429s answered

    def admit(self, now: float) -> float | None:
        """None when the request may go on (it is counted); else the seconds to wait."""
        while self._arrivals and self._arrivals[0] <= now - self.window:
            self._arrivals.popleft()
        if len(self._arrivals) < self.limit:
            self._arrivals.append(now)
            self.accepted += 1
            return None
        self.rejected += 1
        return self._arrivals[0] + self.window - now

    @property
    def message(self) -> str:
        window = int(self.window) if float(self.window).is_integer() else self.window
        return f"Rate limit exceeded the maximum [{self.limit}] requests within [{window}] seconds"


def rate_limited(fake: "FakeGenesys", path: str) -> tuple[int, Any, dict[str, str]] | None:
    """The 429 answer (status, ErrorBody, headers) when the fake enforces a limit and `path` is over it."""
    limit = fake.rate_limit
    if limit is None or not path.startswith("/api/v2/"):
        return None
    wait = limit.admit(trio.current_time())
    if wait is None:
        return None
    from .state import new_id

    body = {
        "message": limit.message,
        "code": "too.many.requests",
        "status": 429,
        "contextId": new_id(),
        "details": [],
        "errors": [],
    }  # the ErrorBody fields EXAMPLES.md shows; no messageParams guessed
    return 429, body, {"Retry-After": str(max(1, math.ceil(wait)))}
