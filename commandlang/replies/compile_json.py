"""Reply -> the JSON form for the webhook channel and the local demo page (see `Reply.to_json`)."""

from __future__ import annotations

from typing import Any

from .limits import JSON_LIMITS, ChannelLimits, enforce_limits
from .model import Reply

__all__ = ["compile_json"]


def compile_json(reply: Reply, limits: ChannelLimits = JSON_LIMITS) -> dict[str, Any]:
    """The reply's JSON form after fitting it into `limits` (generous: it only stops runaway lists)."""
    return enforce_limits(reply, limits)[0].to_json()
