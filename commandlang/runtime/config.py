"""Every setting of `commandlang serve`: an environment variable, a `--flag`, a default, a help line.

`SETTINGS` is the one table: the CLI builds its flags and `--help` from it,
and `ServiceConfig.from_sources` reads flags over environment over defaults.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Any, Mapping

from ..errors import ConfigError
from ..registry.loader import parse_duration

__all__ = ["SETTINGS", "Setting", "ServiceConfig", "ConfigError"]


@dataclass(frozen=True, slots=True)
class Setting:
    name: str  # the ServiceConfig field, which holds the default
    env: str
    kind: str  # str | int | duration | switch | secret | choice:a,b
    help: str

    @property
    def default(self) -> Any:
        """The default, as `ServiceConfig` declares it (one place for every default)."""
        return ServiceConfig.__dataclass_fields__[self.name].default

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


SETTINGS: tuple[Setting, ...] = (
    Setting("host", "COMMANDLANG_HOST", "str", "address to listen on"),
    Setting("port", "COMMANDLANG_PORT", "int", "HTTP port (0: a free one)"),
    Setting("sync_port", "COMMANDLANG_SYNC_PORT", "int", "WebSocket sync port (0: a free one)"),
    Setting("registry", "COMMANDLANG_REGISTRY", "str", "the registry file"),
    Setting("db", "COMMANDLANG_DB", "str", "SQLite state file (an alias: --store sqlite:PATH wins)"),
    Setting("max_concurrency", "COMMANDLANG_MAX_CONCURRENCY", "int", "commands running at once, across conversations"),
    Setting(
        "conversation_queue", "COMMANDLANG_CONVERSATION_QUEUE", "int", "commands waiting per conversation before 'busy'"
    ),
    Setting(
        "command_timeout", "COMMANDLANG_COMMAND_TIMEOUT", "duration", "deadline of a command without its own timeout"
    ),
    Setting("drain_timeout", "COMMANDLANG_DRAIN_TIMEOUT", "duration", "how long shutdown waits for running commands"),
    Setting("retention", "COMMANDLANG_RETENTION", "duration", "how long finished commands and events are kept"),
    Setting(
        "reload_interval",
        "COMMANDLANG_RELOAD_INTERVAL",
        "duration",
        "how often to check the registry for changes (0: only on SIGHUP)",
    ),
    Setting(
        "webhook_secret",
        "COMMANDLANG_WEBHOOK_SECRET",
        "secret",
        "HMAC secret of the webhook channel (unset: webhook off)",
    ),
    Setting(
        "webhook_callback",
        "COMMANDLANG_WEBHOOK_CALLBACK",
        "str",
        "URL to POST webhook replies to (unset: reply in the response)",
    ),
    Setting(
        "webhook_wait", "COMMANDLANG_WEBHOOK_WAIT", "duration", "how long a webhook response waits for the command"
    ),
    Setting(
        "webhook_tolerance",
        "COMMANDLANG_WEBHOOK_TOLERANCE",
        "duration",
        "how far a webhook timestamp may be from this clock (older: refused as a replay)",
    ),
    Setting(
        "webhook_legacy_signature",
        "COMMANDLANG_WEBHOOK_LEGACY_SIGNATURE",
        "switch",
        "also accept the old body-only webhook signature, without a timestamp (migration only: replayable)",
    ),
    Setting(
        "local_channel",
        "COMMANDLANG_LOCAL_CHANNEL",
        "switch",
        "serve the demo chat page and its channel (on with --demo; never needed in production)",
    ),
    Setting(
        "public_host",
        "COMMANDLANG_PUBLIC_HOST",
        "str",
        "host[:port] browsers reach this service at, beside loopback (the demo page's Host and Origin check)",
    ),
    Setting(
        "max_connections",
        "COMMANDLANG_MAX_CONNECTIONS",
        "int",
        "HTTP connections open at once (lowered to fit the descriptor limit)",
    ),
    Setting(
        "body_timeout",
        "COMMANDLANG_BODY_TIMEOUT",
        "duration",
        "how long a request body may take to arrive whole (408 after)",
    ),
    Setting(
        "body_budget",
        "COMMANDLANG_BODY_BUDGET",
        "int",
        "bytes held at once by request bodies not yet authenticated (503 beyond)",
    ),
    Setting(
        "sync_secret", "COMMANDLANG_SYNC_SECRET", "secret", "HMAC secret of sync tokens (unset: a random one per run)"
    ),
    Setting(
        "question_key",
        "COMMANDLANG_QUESTION_KEY",
        "secret",
        "AES-256 key (32 bytes, base64) sealing waiting questions' typed text in the store "
        "(unset: derived from COMMANDLANG_SYNC_SECRET, else random per run)",
    ),
    Setting(
        "sync_ping_interval", "COMMANDLANG_SYNC_PING_INTERVAL", "duration", "WebSocket ping interval of sync sessions"
    ),
    Setting("log_format", "COMMANDLANG_LOG_FORMAT", "choice:json,text", "log lines as JSON or text"),
    Setting("log_level", "COMMANDLANG_LOG_LEVEL", "choice:debug,info,warning,error", "log level"),
    Setting(
        "redis_url",
        "COMMANDLANG_REDIS_URL",
        "secret",
        "Redis shared by several replicas, instead of the SQLite file (redis://, rediss://, unix://; an alias: --store wins)",
    ),
    Setting(
        "replica_id",
        "COMMANDLANG_REPLICA_ID",
        "str",
        "with Redis: this replica's name, stable across its restarts (unset: the host name)",
    ),
    Setting(
        "replica_lease",
        "COMMANDLANG_REPLICA_LEASE",
        "duration",
        "with Redis: how long a stopped replica's unfinished work waits before another replica marks it interrupted",
    ),
    Setting("demo_backend_port", "COMMANDLANG_DEMO_BACKEND_PORT", "int", "--demo: port of the in-process demo backend"),
    Setting("genesys_region", "GENESYS_REGION", "str", "Genesys Cloud region (mypurecloud.ie, eu_west_1, ...)"),
    Setting("genesys_client_id", "GENESYS_CLIENT_ID", "str", "Genesys OAuth client id"),
    Setting("genesys_client_secret", "GENESYS_CLIENT_SECRET", "secret", "Genesys OAuth client secret"),
    Setting("genesys_queue_ids", "GENESYS_QUEUE_IDS", "str", "comma-separated queue ids to watch"),
    Setting("genesys_user_ids", "GENESYS_USER_IDS", "str", "comma-separated user ids to watch"),
    Setting("genesys_bot_secret", "GENESYS_BOT_SECRET", "secret", "shared secret of the Bot Connector endpoint"),
    Setting(
        "genesys_bot_secret_header", "GENESYS_BOT_SECRET_HEADER", "str", "header carrying the Bot Connector secret"
    ),
    Setting(
        "genesys_bot_budget",
        "GENESYS_BOT_BUDGET",
        "duration",
        "how long a Bot Connector answer may wait for the command",
    ),
    Setting("genesys_bot_id", "GENESYS_BOT_ID", "str", "the id of the bot in the Bot Connector bot list"),
    Setting("genesys_api_base", "GENESYS_API_BASE", "str", "override the Genesys API origin (tests: the fake)"),
    Setting("genesys_login_base", "GENESYS_LOGIN_BASE", "str", "override the Genesys login origin (tests: the fake)"),
    Setting(
        "genesys_api_rate",
        "GENESYS_API_RATE",
        "int",
        "Genesys API requests a minute this process sends at most (0: no client-side limit); the org's client-credentials limit is 300",
    ),
    Setting(
        "genesys_max_retry_after",
        "GENESYS_MAX_RETRY_AFTER",
        "duration",
        "the longest Retry-After of a Genesys 429 waited for (longer: the request fails)",
    ),
    Setting(
        "genesys_supervisor_groups",
        "GENESYS_SUPERVISOR_GROUPS",
        "str",
        "comma-separated Genesys group names or ids whose members are supervisors (watch any queue)",
    ),
    Setting(
        "genesys_supervisor_roles",
        "GENESYS_SUPERVISOR_ROLES",
        "str",
        "comma-separated Genesys role names or ids whose holders are supervisors (watch any queue)",
    ),
    Setting(
        "genesys_panel_client_id",
        "GENESYS_PANEL_CLIENT_ID",
        "str",
        "the Genesys OAuth client (code with PKCE, or implicit) the panel signs agents in with (unset: no sign-in)",
    ),
    Setting(
        "genesys_panel_grant",
        "GENESYS_PANEL_GRANT",
        "choice:code,token",
        "the panel client's grant: code (authorization code with PKCE) or token (implicit)",
    ),
    Setting(
        "genesys_apps_origin",
        "GENESYS_APPS_ORIGIN",
        "str",
        "override the Genesys apps origin allowed to frame the panel (default: https://apps.<region domain>)",
    ),
    Setting(
        "genesys_signin_rate",
        "GENESYS_SIGNIN_RATE",
        "int",
        "users/me look-ups a minute that POST /sync/token may cause (beyond: 503)",
    ),
    Setting("signin_ttl", "COMMANDLANG_SIGNIN_TTL", "duration", "lifetime of a sync token from POST /sync/token"),
    Setting(
        "sync_public_url",
        "COMMANDLANG_SYNC_PUBLIC_URL",
        "str",
        "the wss:// URL browsers reach /sync at (unset: ws://<the request's host>:<sync port>/sync)",
    ),
    Setting(
        "store",
        "COMMANDLANG_STORE",
        "secret",
        "the state store by URL: sqlite:///abs/path.db, sqlite:rel/path.db, redis://, rediss://, unix:// (unset: COMMANDLANG_REDIS_URL, else COMMANDLANG_DB)",
    ),
)


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    sync_port: int = 8081
    registry: str = "./commands.yaml"
    db: str = "./commandlang.db"
    max_concurrency: int = 64
    conversation_queue: int = 32
    command_timeout: float = 30.0
    drain_timeout: float = 20.0
    retention: float = 7 * 86400.0
    reload_interval: float = 1.0
    webhook_secret: str = ""
    webhook_callback: str = ""
    webhook_wait: float = 10.0
    webhook_tolerance: float = 300.0
    webhook_legacy_signature: bool = False
    local_channel: bool = False
    public_host: str = ""
    max_connections: int = 1000
    body_timeout: float = 10.0
    body_budget: int = 16 * 1024 * 1024
    sync_secret: str = ""
    question_key: str = ""
    sync_ping_interval: float = 30.0
    log_format: str = "json"
    log_level: str = "info"
    redis_url: str = ""
    replica_id: str = ""
    replica_lease: float = 15.0
    demo_backend_port: int = 8700
    genesys_region: str = ""
    genesys_client_id: str = ""
    genesys_client_secret: str = ""
    genesys_queue_ids: str = ""
    genesys_user_ids: str = ""
    genesys_bot_secret: str = ""
    genesys_bot_secret_header: str = "Authorization"
    genesys_bot_budget: float = 4.0
    genesys_bot_id: str = "commandlang"
    genesys_api_base: str = ""
    genesys_login_base: str = ""
    genesys_api_rate: int = 300
    genesys_max_retry_after: float = 120.0
    genesys_supervisor_groups: str = ""
    genesys_supervisor_roles: str = ""
    genesys_panel_client_id: str = ""
    genesys_panel_grant: str = "code"
    genesys_apps_origin: str = ""
    genesys_signin_rate: int = 120
    signin_ttl: float = 900.0
    sync_public_url: str = ""
    demo: bool = False
    # The demo page may send the agent role (from a client on this machine): --demo sets it; it has no
    # environment variable or flag of its own, so no deployment turns it on by accident.
    local_agent_role: bool = False
    store: str = ""

    def __repr__(self) -> str:  # secrets stay out of logs and tracebacks
        shown = {
            f.name: ("****" if _secret(f.name) and getattr(self, f.name) else getattr(self, f.name))
            for f in fields(self)
        }
        return "ServiceConfig(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"

    @property
    def genesys_enabled(self) -> bool:
        return bool(self.genesys_client_id and (self.genesys_region or self.genesys_api_base))

    def secrets(self) -> list[str]:
        return [getattr(self, s.name) for s in SETTINGS if s.kind == "secret" and getattr(self, s.name)]

    @classmethod
    def from_sources(cls, flags: Mapping[str, Any], env: Mapping[str, str] | None = None) -> ServiceConfig:
        """Flags (not None) over environment variables over defaults; `ConfigError` names a bad one."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {"demo": bool(flags.get("demo")), "local_agent_role": bool(flags.get("demo"))}
        for setting in SETTINGS:
            raw = flags.get(setting.name)
            source = setting.flag
            if raw is None and setting.env in env:
                raw, source = env[setting.env], setting.env
            values[setting.name] = setting.default if raw is None else _convert(setting, raw, source)
        return cls(**values)


def _secret(name: str) -> bool:
    return any(s.name == name and s.kind == "secret" for s in SETTINGS)


def _convert(setting: Setting, raw: Any, source: str) -> Any:
    if setting.kind == "int":
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{source} must be a whole number, got {raw!r}") from None
        if value < 0:
            raise ConfigError(f"{source} must not be negative")
        return value
    if setting.kind == "duration":
        seconds = parse_duration(raw)
        if seconds is None:
            raise ConfigError(f"{source} must be a duration like 20s, 500ms or 7d, got {raw!r}")
        return seconds
    if setting.kind == "switch":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "on", "true", "yes"):
            return True
        if text in ("0", "off", "false", "no", ""):
            return False
        raise ConfigError(f"{source} must be on or off (1/0, true/false), got {raw!r}")
    if setting.kind.startswith("choice:"):
        choices = setting.kind.split(":", 1)[1].split(",")
        if str(raw).lower() not in choices:
            raise ConfigError(f"{source} must be one of {', '.join(choices)}, got {raw!r}")
        return str(raw).lower()
    return str(raw)
