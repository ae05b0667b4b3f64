"""`GENESYS_*` settings and the channel's parts assembled from them (for the runtime service)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from .api import DEFAULT_MAX_RETRY_AFTER
from .botconnector import BOT_SECRET_HEADER, DEFAULT_BOT_BUDGET
from .ratelimit import DEFAULT_API_RATE
from .botlist import DEFAULT_BOT_ID
from .botmodels import MAX_NAME
from .people import DEFAULT_SIGNIN_RATE
from .regions import GenesysEndpoints, resolve_region

__all__ = ["GenesysSettings"]


def _ids(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


@dataclass(frozen=True)
class GenesysSettings:
    """The channel's settings (runtime.md 2). `repr` never shows the secrets."""

    endpoints: GenesysEndpoints
    client_id: str
    client_secret: str = field(repr=False)
    queue_ids: tuple[str, ...] = ()
    user_ids: tuple[str, ...] = ()
    bot_secret: str = field(default="", repr=False)
    bot_secret_header: str = BOT_SECRET_HEADER
    bot_budget: float = DEFAULT_BOT_BUDGET
    api_rate: int = DEFAULT_API_RATE  # requests a minute, 0: no client-side limit (ratelimit.py)
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER  # seconds of a 429's Retry-After waited for at most
    bot_id: str = DEFAULT_BOT_ID  # the id of the one bot in the bot list (case-sensitive for Genesys)
    # sign-in (POST /sync/token, people.py) and the panel as an interaction widget
    supervisor_groups: tuple[str, ...] = ()
    supervisor_roles: tuple[str, ...] = ()
    panel_client_id: str = ""
    panel_grant: str = "code"  # code (with PKCE) | token (implicit)
    signin_rate: int = DEFAULT_SIGNIN_RATE

    def __post_init__(self) -> None:
        # the DBC spec: a bot id is up to 100 displayable characters without leading or trailing whitespace
        if (
            not self.bot_id
            or len(self.bot_id) > MAX_NAME
            or self.bot_id != self.bot_id.strip()
            or not self.bot_id.isprintable()
        ):
            raise ValueError(
                f"GENESYS_BOT_ID {self.bot_id!r}: 1 to {MAX_NAME} displayable characters, "
                "no leading or trailing whitespace"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> GenesysSettings:
        """Read `GENESYS_REGION`, `GENESYS_CLIENT_ID`, ... (raises `RegionError`/`ValueError` with the setting's name)."""
        endpoints = resolve_region(
            env.get("GENESYS_REGION"),
            api_base=env.get("GENESYS_API_BASE") or None,
            login_base=env.get("GENESYS_LOGIN_BASE") or None,
            apps=env.get("GENESYS_APPS_ORIGIN") or None,
        )
        client_id, secret = env.get("GENESYS_CLIENT_ID", ""), env.get("GENESYS_CLIENT_SECRET", "")
        if not client_id or not secret:
            raise ValueError("GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET must be set")
        budget = env.get("GENESYS_BOT_BUDGET")
        return cls(
            endpoints,
            client_id,
            secret,
            _ids(env.get("GENESYS_QUEUE_IDS")),
            _ids(env.get("GENESYS_USER_IDS")),
            env.get("GENESYS_BOT_SECRET", ""),
            env.get("GENESYS_BOT_SECRET_HEADER") or BOT_SECRET_HEADER,
            float(budget) if budget else DEFAULT_BOT_BUDGET,
            _api_rate(env.get("GENESYS_API_RATE")),
            _max_retry_after(env.get("GENESYS_MAX_RETRY_AFTER")),
            env.get("GENESYS_BOT_ID") or DEFAULT_BOT_ID,
            _ids(env.get("GENESYS_SUPERVISOR_GROUPS")),
            _ids(env.get("GENESYS_SUPERVISOR_ROLES")),
            env.get("GENESYS_PANEL_CLIENT_ID", ""),
            _grant(env.get("GENESYS_PANEL_GRANT")),
            _signin_rate(env.get("GENESYS_SIGNIN_RATE")),
        )

    @classmethod
    def from_config(cls, config: Any) -> GenesysSettings:
        """From the runtime's `ServiceConfig` (its `genesys_*` fields)."""
        env = {
            name: str(getattr(config, name.lower(), "") or "")
            for name in (
                "GENESYS_REGION",
                "GENESYS_CLIENT_ID",
                "GENESYS_CLIENT_SECRET",
                "GENESYS_QUEUE_IDS",
                "GENESYS_USER_IDS",
                "GENESYS_BOT_SECRET",
                "GENESYS_BOT_SECRET_HEADER",
                "GENESYS_BOT_BUDGET",
                "GENESYS_BOT_ID",
                "GENESYS_API_BASE",
                "GENESYS_LOGIN_BASE",
                "GENESYS_MAX_RETRY_AFTER",
                "GENESYS_SUPERVISOR_GROUPS",
                "GENESYS_SUPERVISOR_ROLES",
                "GENESYS_PANEL_CLIENT_ID",
                "GENESYS_PANEL_GRANT",
                "GENESYS_APPS_ORIGIN",
                "GENESYS_SIGNIN_RATE",
            )
        }
        env["GENESYS_API_RATE"] = str(getattr(config, "genesys_api_rate", DEFAULT_API_RATE))  # 0 is a value: off
        return cls.from_env(env)


def _per_minute(name: str, value: str | None, default: int, what: str, minimum: int, floor: str) -> int:
    """A `GENESYS_*` count a minute: `default` when unset; not a whole number or below `minimum` is refused."""
    if not value:
        return default
    try:
        rate = int(value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number of {what} a minute, got {value!r}") from None
    if rate < minimum:
        raise ValueError(f"{name} {floor}")
    return rate


def _api_rate(value: str | None) -> int:
    return _per_minute(
        "GENESYS_API_RATE", value, DEFAULT_API_RATE, "requests", 0, "must not be negative (0: no client-side limit)"
    )


def _grant(value: str | None) -> str:
    grant = (value or "code").strip().lower()
    if grant not in ("code", "token"):
        raise ValueError(f"GENESYS_PANEL_GRANT must be code (PKCE) or token (implicit), got {value!r}")
    return grant


def _signin_rate(value: str | None) -> int:
    return _per_minute("GENESYS_SIGNIN_RATE", value, DEFAULT_SIGNIN_RATE, "look-ups", 1, "must be at least 1")


def _max_retry_after(value: str | None) -> float:
    from ...registry.loader import parse_duration

    if not value:
        return DEFAULT_MAX_RETRY_AFTER
    seconds = parse_duration(value)
    if seconds is None or seconds < 0:
        raise ValueError(f"GENESYS_MAX_RETRY_AFTER must be a duration like 120s or 2m, got {value!r}")
    return seconds
