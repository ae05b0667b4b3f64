"""Genesys Cloud channel: OAuth, Bot Connector endpoint, Notification API ingest, Conversations API send.

See `shared/spec/runtime.md` section 2 and `shared/genesys/` for the facts
this follows; `commandlang.testing.fake_genesys` is the fake Genesys Cloud.
"""

from .api import GenesysApiClient, GenesysApiError, GenesysPermissionError
from .botconnector import (
    BotHttpResponse,
    build_bot_response,
    check_bot_secret,
    handle_bot_request,
    parse_bot_request,
    to_inbound_message,
)
from .conversations import ConversationsClient, ConversationsReplySink, MediaFile, split_text
from .notifications import NotificationIngest, message_topics
from .oauth import GenesysAuthError, TokenProvider
from .regions import REGION_DOMAINS, GenesysEndpoints, RegionError, resolve_region
from .channel import GenesysChannel, fetch_image_attachments
from .settings import GenesysSettings
from .api import GenesysRateLimitError
from .ratelimit import RateBudgetExceeded, SlidingWindowLimiter

__all__ = [
    "GenesysApiClient",
    "GenesysApiError",
    "GenesysPermissionError",
    "BotHttpResponse",
    "build_bot_response",
    "check_bot_secret",
    "handle_bot_request",
    "parse_bot_request",
    "to_inbound_message",
    "ConversationsClient",
    "ConversationsReplySink",
    "MediaFile",
    "split_text",
    "NotificationIngest",
    "message_topics",
    "GenesysAuthError",
    "TokenProvider",
    "REGION_DOMAINS",
    "GenesysEndpoints",
    "RegionError",
    "resolve_region",
    "GenesysChannel",
    "GenesysSettings",
    "fetch_image_attachments",
    "GenesysRateLimitError",
    "RateBudgetExceeded",
    "SlidingWindowLimiter",
]
