"""The exception tree: everything commandlang raises on purpose is a `CommandlangError`.

One `except CommandlangError` catches every error we raise by design; anything
else reaching the top (a bare RuntimeError, a KeyError) is a bug and shows its
traceback. Classes that parsed or checked a value keep `ValueError` as a
second base, so code that catches ValueError today still catches them.
Private control-flow signals (`_TooBig`, `_Unreadable`, ...) are not in the
tree on purpose: they never leave their module, and one that did is a bug.

Exception tree::

    CommandlangError                 root of everything commandlang raises on purpose
    +-- CommandError                 a chat message that cannot run (.diagnostic)
    +-- RegistryError                a registry that cannot be used (.diagnostics)
    +-- TemplateError                a reply or request template that cannot render (.diagnostic)
    +-- ConversionError              a value that is not of its argument's type (ValueError)
    |   +-- AmbiguousNumber          `1,000` in a decimal-comma language: a thousand, or one?
    +-- ReplyShapeError              a reply that breaks the reply model's limits (ValueError)
    +-- UnsafeJson                   JSON too deep, too big or with a too-long number (ValueError)
    +-- ConfigError                  a setting or start-up requirement that cannot be met (ValueError)
    +-- BodyTooLarge                 a backend's answer over its size limit (httpx.RemoteProtocolError)
    +-- ServiceError                 the running service and its state store
    |   +-- InboundShapeError        an inbound message of the wrong shape (ValueError)
    |   +-- StoreUnavailable         the store did not answer, could not write, or is closed
    |   +-- ClaimedElsewhere         a message another replica has claimed
    |   +-- StaleTransition          a state change that would move a command backwards
    |   +-- BadRequest               an inbound HTTP request that breaks HTTP/1.1 (.status to answer)
    +-- ChannelError                 a chat platform and talking to it
    |   +-- GenesysApiError          Genesys answered an API call with an error
    |   |   +-- GenesysPermissionError
    |   |   +-- GenesysRateLimitError
    |   +-- GenesysAuthError         no OAuth token for the configured client
    |   +-- RateBudgetExceeded       our own Genesys request budget is spent
    |   +-- RegionError              an unknown Genesys region (ValueError)
    |   +-- BotListError             a registry Genesys cannot list as bot intents (ValueError)
    |   +-- ModelError               a Genesys payload that does not fit its model (ValueError)
    |   +-- CallbackFailed           the webhook's callback URL refused a reply or kept failing
    +-- SyncError                    agent-side state sync
    |   +-- TokenError               a sync token that cannot be used
    |   |   +-- TokenMalformed
    |   |   +-- TokenBadSignature
    |   |   +-- TokenExpired
    |   +-- SyncAuthError            the service refused a SyncClient's token
    |   +-- SessionRefused           a sync session closed for a protocol reason
    +-- SignInError                  POST /sync/token: a platform sign-in that cannot give a sync token
    |   +-- SignInRefused            the platform refused the bearer's token (401)
    |   +-- SignInUnavailable        the platform did not answer, or our look-up budget is spent (503)
    +-- FakeGenesysError             commandlang.testing's fake Genesys
        +-- ApiError                 an error answer from the fake's routes
        +-- BotFlowError             a bot flow that broke the contract (AssertionError)
        +-- PayloadViolations        requests the SDK's models reject (AssertionError)
"""

from __future__ import annotations

__all__ = [
    "CommandlangError",
    "ConfigError",
    "ServiceError",
    "ChannelError",
    "SyncError",
    "SignInError",
    "SignInRefused",
    "SignInUnavailable",
    "FakeGenesysError",
]


class CommandlangError(Exception):
    """The root of every exception commandlang raises on purpose."""


class ConfigError(CommandlangError, ValueError):
    """A setting with a value that cannot be used, or a start-up requirement that is not met; the message
    names the setting and what to do. `commandlang serve` prints it as one line and exits 2."""


class ServiceError(CommandlangError):
    """A problem of the running service: its inbound messages and its state store."""


class ChannelError(CommandlangError):
    """A problem talking to a chat platform (Genesys Cloud today)."""


class SyncError(CommandlangError):
    """A problem of agent-side state sync (tokens, sessions, the client)."""


class SignInError(CommandlangError):
    """A platform sign-in (`POST /sync/token`) that cannot give a sync token. Shared by the sync port
    (`sync/signin.py`) and the platform that implements it (`channels/genesys/people.py`), which never
    import each other; the message is safe to show the agent (never a token)."""


class SignInRefused(SignInError):
    """The platform refused the bearer's access token (expired, revoked, forged): answered 401."""


class SignInUnavailable(SignInError):
    """The platform did not answer in time, or the look-up budget for unauthenticated callers is spent:
    answered 503 with `Retry-After`."""

    def __init__(self, message: str, retry_after: float = 5.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class FakeGenesysError(CommandlangError):
    """Raised by `commandlang.testing`'s fake Genesys (never by the service)."""
