"""`SeenIds`: a bounded set of message ids, oldest forgotten first (the ingest's own dedupe)."""

from __future__ import annotations

from collections import OrderedDict

__all__ = ["SeenIds"]


class SeenIds:
    """A bounded set of message ids, oldest forgotten first."""

    def __init__(self, capacity: int = 50_000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._ids

    def add(self, message_id: str) -> None:
        """Remember `message_id` (forgetting the oldest beyond capacity)."""
        self._ids[message_id] = None
        self._ids.move_to_end(message_id)
        while len(self._ids) > self._capacity:
            self._ids.popitem(last=False)
