"""Which store serves a state-store URL: one registry dict, `{scheme: factory}`.

`COMMANDLANG_STORE` (`--store`) names the store by URL:

- `sqlite:///srv/commandlang/state.db` (an absolute path, as in `file:` URLs) or
  `sqlite:state.db` (relative to the working directory): the embedded SQLite file;
- `redis://[:password@]host[:port][/db]`, `rediss://...` (TLS), `unix:///path/redis.sock`: Redis,
  shared by several replicas.

The older settings stay as aliases: `COMMANDLANG_REDIS_URL` (a Redis URL) and
`COMMANDLANG_DB` (a SQLite path). When several are set, `COMMANDLANG_STORE`
wins, then `COMMANDLANG_REDIS_URL`, then `COMMANDLANG_DB` (whose default,
`./commandlang.db`, applies when none is set).

Adding a store: its module, and one line in `STORES` below whose factory
imports it (so a deployment without its client library never imports it).
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import quote, unquote, urlsplit

from .config import ConfigError, ServiceConfig
from .store import Store

__all__ = ["STORES", "StoreOptions", "open_store", "sqlite_path", "store_url"]


@dataclass(frozen=True, slots=True)
class StoreOptions:
    """What a factory may use beside the URL: the service's clock, and a shared store's replica settings."""

    clock: Callable[[], float] = time.time
    replica_id: str = field(default_factory=socket.gethostname)
    replica_lease: float = 15.0


def sqlite_path(url: str) -> str:
    """The file a `sqlite:` URL names; `ConfigError` for one that names none (a host, options)."""
    parts = urlsplit(url)
    if parts.netloc or parts.query or parts.fragment or not parts.path:
        raise ConfigError(f"{url}: a SQLite store is sqlite:///absolute/path.db or sqlite:relative/path.db")
    return unquote(parts.path)


def _sqlite(url: str, options: StoreOptions) -> Store:
    from .sqlite import SqliteStore

    return SqliteStore(sqlite_path(url), clock=options.clock)


def _redis(url: str, options: StoreOptions) -> Store:
    try:
        from .redis_store import RedisStore
    except ImportError:  # coredis is an extra: most deployments are one process with SQLite
        raise ConfigError(
            "a Redis store is configured but the Redis client is not installed: pip install 'commandlang[redis]'"
        ) from None
    return RedisStore(url, replica_id=options.replica_id, lease=options.replica_lease, clock=options.clock)


#: URL scheme -> the factory of the store that serves it.
STORES: dict[str, Callable[[str, StoreOptions], Store]] = {
    "sqlite": _sqlite,
    "redis": _redis,
    "rediss": _redis,
    "unix": _redis,
}


def store_url(config: ServiceConfig) -> tuple[str, str]:
    """(the store URL, the setting it came from), the aliases applied; `ConfigError` when no store serves it."""
    if config.store:
        url, setting = config.store, "COMMANDLANG_STORE"
    elif config.redis_url:
        url, setting = config.redis_url, "COMMANDLANG_REDIS_URL"
    else:  # quoted: a path is not a URL, and '%', '?' or '#' in it must stay part of the file name
        url, setting = ("sqlite://" if config.db.startswith("/") else "sqlite:") + quote(config.db), "COMMANDLANG_DB"
    scheme = urlsplit(url).scheme.lower() if ":" in url else ""
    if scheme not in STORES:
        hint = "" if scheme else "; a file is sqlite:///absolute/path.db or sqlite:relative/path.db"
        raise ConfigError(f"{setting}={_masked(url)}: no store serves {scheme or url!r} ({', '.join(STORES)}){hint}")
    if scheme == "sqlite":
        try:
            sqlite_path(url)  # said now, before anything starts
        except ConfigError as exc:
            raise ConfigError(f"{setting}={exc}") from None
    return url, setting


def open_store(config: ServiceConfig, clock: Callable[[], float] = time.time) -> Store:
    """The store `config` names, not yet running (start its `run`)."""
    url, _ = store_url(config)
    options = StoreOptions(
        clock=clock, replica_id=config.replica_id or socket.gethostname(), replica_lease=config.replica_lease
    )
    return STORES[urlsplit(url).scheme.lower()](url, options)


def _masked(url: str) -> str:
    """`url` with the password of its user part hidden: an error message is shown and logged."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=f"{parts.username or ''}:****@{host}").geturl()
