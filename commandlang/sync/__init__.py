"""State sync for agent sessions: the WebSocket hub, its Python client, tokens and the agent panel."""

from .client import Snapshot, StateChange, SyncAuthError, SyncClient
from .hub import SyncHub
from .tokens import SyncToken, TokenError, issue_token, verify_token

__all__ = [
    "SyncHub",
    "SyncClient",
    "Snapshot",
    "StateChange",
    "SyncAuthError",
    "SyncToken",
    "TokenError",
    "issue_token",
    "verify_token",
]
