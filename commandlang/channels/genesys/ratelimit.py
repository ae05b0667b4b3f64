"""The client-side rate budget of the Genesys API client (`GENESYS_API_RATE`, runtime.md 2).

Genesys limits an OAuth client-credentials client to `client.credentials.token.rate.per.minute`
requests, 300 by default (SOURCES.md 4: *Secondary*, a forum post quoting the limits page;
the developer-center page itself was not read). Its 429 says "Rate limit exceeded the
maximum [300] requests within [60] seconds" (V-official, old swagger). Whether that window
is fixed or sliding is in no source, so the limiter is a *sliding window*: at most `limit`
requests in any `window` seconds. That never exceeds the limit under either reading (every
fixed window is also a window), at the price of no extra burst at a window's edge.

- **FIFO**: one `trio.Lock` (Trio's locks are fair: waiters get it in the order they asked);
  the holder waits for its slot, records it, and lets the next one in.
- **Every wait under the caller's deadline**: before queueing, the caller's slot is computed
  from the window and the queue ahead of it; if it falls after the caller's effective Trio
  deadline the caller fails at once (`RateBudgetExceeded`) instead of hanging until cancelled.
  A caller cancelled while queued simply leaves the queue: no slot is used up.
- **Bounded queue**: more than `max_queue` callers waiting is refused (`RateBudgetExceeded`).
- **Shared pause**: a 429 means the org's budget is spent for everyone using this client
  (the limit is per client, not per request path), so `pause(seconds)` holds every caller.
- `slack` widens the window a little: the server counts arrivals, we count departures, and a
  request held a few milliseconds longer in a connection pool than the one `limit` before it
  would otherwise land inside the server's window.

The OAuth token endpoint is not counted: no source says `/oauth/token` draws on the API
budget (the limit above is named for requests made *with* a client-credentials token).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Callable

import trio

from ...errors import ChannelError

__all__ = ["SlidingWindowLimiter", "RateBudgetExceeded", "DEFAULT_API_RATE", "DEFAULT_MAX_QUEUE"]

#: requests a minute: the documented client-credentials default (SOURCES.md 4, Secondary)
DEFAULT_API_RATE = 300
#: callers that may wait for a slot at once; more are refused rather than held without bound
DEFAULT_MAX_QUEUE = 1000


class RateBudgetExceeded(ChannelError):
    """A request cannot get a slot in time (its deadline would pass while queued) or the queue is full."""


class SlidingWindowLimiter:
    """At most `limit` acquisitions in any `window` (+ `slack`) seconds, handed out first come, first served."""

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        *,
        max_queue: int = DEFAULT_MAX_QUEUE,
        slack: float | None = None,
        clock: Callable[[], float] = trio.current_time,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a rate limit needs limit >= 1 and window > 0")
        self.limit = limit
        # 2% of the window by default (1.2 s a minute): a request's trip to the server, with room to spare
        self.window = window + (window * 0.02 if slack is None else slack)
        self.max_queue = max_queue
        self._clock = clock
        self._sent: deque[float] = deque(maxlen=limit)  # the last `limit` slots, oldest first
        self._lock = trio.Lock()
        self._waiting = 0
        self._paused_until = -math.inf
        self.granted = 0  # slots handed out (metrics and the bench)
        self.refused = 0  # callers failed fast (deadline or full queue)
        self.waited = 0.0  # seconds spent waiting for slots, summed over callers

    def __repr__(self) -> str:
        return f"SlidingWindowLimiter({self.limit} per {self.window:.3g}s, waiting={self._waiting})"

    @property
    def waiting(self) -> int:
        """Callers queued for a slot right now (the one holding the lock included)."""
        return self._waiting

    def pause(self, seconds: float) -> None:
        """Hold every caller for `seconds` from now (a 429: the shared budget is spent). Pauses only grow."""
        self._paused_until = max(self._paused_until, self._clock() + max(0.0, seconds))

    def eta(self, position: int, now: float | None = None) -> float:
        """When the caller `position` places behind the queue's head would get its slot, with no new pause.

        Slot i (counting the recorded ones first) is `start` while fewer than `limit` exist, else
        `window` after slot i - limit; unrolled, that is closed form (no loop over the queue).
        """
        now = self._clock() if now is None else now
        start = max(now, self._paused_until)
        sent = len(self._sent)
        i = sent + position
        if i < self.limit:
            return start
        r, q = i % self.limit, i // self.limit
        if r < sent:
            return max(start, self._sent[r] + self.window) + self.window * (q - 1)
        return start + self.window * q

    async def acquire(self) -> None:
        """Wait (FIFO) for a slot; `RateBudgetExceeded` at once if it would come after the caller's deadline."""
        now = self._clock()
        if self._waiting >= self.max_queue:
            self.refused += 1
            raise RateBudgetExceeded(
                f"{self._waiting} requests already wait for the Genesys API budget "
                f"({self.limit} per {self.window:.0f}s); not queueing more"
            )
        at = self.eta(self._waiting, now)
        deadline = trio.current_effective_deadline()
        if at > deadline:
            self.refused += 1
            raise RateBudgetExceeded(
                f"the Genesys API budget ({self.limit} per {self.window:.0f}s) has no slot for "
                f"{at - now:.1f}s, after this request's deadline ({max(0.0, deadline - now):.1f}s)"
            )
        self._waiting += 1
        try:
            async with self._lock:
                while True:  # a pause can arrive while we sleep: look again when we wake
                    now = self._clock()
                    at = self.eta(0, now)
                    if at <= now:
                        break
                    if at > trio.current_effective_deadline():
                        self.refused += 1
                        raise RateBudgetExceeded(
                            f"the Genesys API is paused for {at - now:.1f}s (a 429), past this request's deadline"
                        )
                    self.waited += at - now
                    await trio.sleep_until(at)
                self._sent.append(now)
                self.granted += 1
        finally:
            self._waiting -= 1
