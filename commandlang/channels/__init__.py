"""Channels: platform events in, replies out (webhook, local demo page, Genesys Cloud).

`CHANNELS` is the one list of them: the service builds each with
`from_config` (the `runtime.messages.Channel` protocol), in this order, and
skips those that answer None (off). Each channel compiles its own replies
(`compile_reply`: `replies.compile_json`, `compile_genesys`, `compile_text` or
any callable). A new channel is its own package here
and one line below; nothing in `runtime/` names it.
"""

from __future__ import annotations

from ..runtime.messages import Channel

from .genesys import GenesysChannel
from .local import LocalChannel
from .webhook import WebhookChannel

__all__ = ["CHANNELS"]

#: name -> channel class (a `runtime.messages.Channel`); the dict order is the start order.
CHANNELS: dict[str, type[Channel]] = {
    "local": LocalChannel,
    "webhook": WebhookChannel,
    "genesys": GenesysChannel,
}
