"""The store chosen by URL: `--store`/COMMANDLANG_STORE, its aliases, and the one error for a URL nobody serves."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from commandlang.cli.serve import main as serve_main
from commandlang.runtime.config import ConfigError, ServiceConfig
from commandlang.runtime.redis_store import RedisStore
from commandlang.runtime.sqlite import SqliteStore
from commandlang.runtime.store import SharedStore
from commandlang.runtime.stores import open_store, store_url

from tests.redis_server import RedisServer
from tests.runtime.support import running_service, stored_rows


def config(**settings: str) -> ServiceConfig:
    return ServiceConfig.from_sources({}, env=settings)


@pytest.mark.parametrize(
    "url, path",
    [
        ("sqlite:///srv/commandlang/state.db", "/srv/commandlang/state.db"),
        ("sqlite:state.db", "state.db"),
        ("sqlite:data/state.db", "data/state.db"),
        ("sqlite:/srv/state.db", "/srv/state.db"),
        ("sqlite:///srv/my%20state.db", "/srv/my state.db"),
        ("SQLite:///srv/state.db", "/srv/state.db"),
    ],
)
def test_a_sqlite_url_names_the_file(url: str, path: str) -> None:
    store = open_store(config(COMMANDLANG_STORE=url))
    assert isinstance(store, SqliteStore) and store.path == path
    assert store.describe() == f"{os.path.abspath(path)} (SQLite, WAL)"
    assert not isinstance(store, SharedStore)


@pytest.mark.parametrize(
    "url", ["redis://localhost:6379/0", "rediss://:pw@redis.example:6380", "unix:///run/redis.sock"]
)
def test_redis_urls_open_the_shared_store(url: str) -> None:
    store = open_store(replace(config(COMMANDLANG_STORE=url), replica_id="web-1"))
    assert isinstance(store, RedisStore) and store.url == url and isinstance(store, SharedStore)
    assert store.describe() == "Redis, shared (replica web-1)"  # never the URL: it may carry a password


def test_the_older_settings_are_aliases_and_the_store_url_wins(tmp_path) -> None:
    assert store_url(config()) == ("sqlite:./commandlang.db", "COMMANDLANG_DB")
    odd = str(tmp_path / "odd?#%name.db")
    assert open_store(config(COMMANDLANG_DB=odd)).path == odd  # a path, not a URL
    assert open_store(config(COMMANDLANG_DB="rel.db")).path == "rel.db"
    both = config(COMMANDLANG_DB=str(tmp_path / "old.db"), COMMANDLANG_REDIS_URL="redis://r:6379")
    assert store_url(both) == ("redis://r:6379", "COMMANDLANG_REDIS_URL")
    every = config(
        COMMANDLANG_DB=str(tmp_path / "old.db"),
        COMMANDLANG_REDIS_URL="redis://r:6379",
        COMMANDLANG_STORE="sqlite:new.db",
    )
    assert store_url(every) == ("sqlite:new.db", "COMMANDLANG_STORE")
    flag = ServiceConfig.from_sources({"store": "sqlite:flag.db"}, env={"COMMANDLANG_STORE": "sqlite:env.db"})
    assert open_store(flag).path == "flag.db"


@pytest.mark.parametrize(
    "url, message",
    [
        ("foo://x", "COMMANDLANG_STORE=foo://x: no store serves 'foo' (sqlite, redis, rediss, unix)"),
        (
            "postgres://u:secret@db/x",
            "COMMANDLANG_STORE=postgres://u:****@db/x: no store serves 'postgres' (sqlite, redis, rediss, unix)",
        ),
        (
            "/srv/state.db",
            "COMMANDLANG_STORE=/srv/state.db: no store serves '/srv/state.db' (sqlite, redis, rediss, unix); "
            "a file is sqlite:///absolute/path.db or sqlite:relative/path.db",
        ),
        (
            "sqlite://host/state.db",
            "COMMANDLANG_STORE=sqlite://host/state.db: a SQLite store is sqlite:///absolute/path.db "
            "or sqlite:relative/path.db",
        ),
        ("sqlite:", "COMMANDLANG_STORE=sqlite:: a SQLite store is"),
    ],
)
def test_a_url_nobody_serves_is_one_clear_error(url: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        open_store(config(COMMANDLANG_STORE=url))
    assert str(raised.value).startswith(message)
    assert "secret" not in str(raised.value)


def test_serve_refuses_it_with_exit_2_before_starting(capsys: pytest.CaptureFixture[str]) -> None:
    assert serve_main(["--store", "foo://x"]) == 2
    assert capsys.readouterr().err == (
        "commandlang serve: COMMANDLANG_STORE=foo://x: no store serves 'foo' (sqlite, redis, rediss, unix)\n"
    )


async def test_the_service_runs_on_the_sqlite_file_its_url_names(tmp_path: Path) -> None:
    async with running_service(tmp_path, store=f"sqlite://{tmp_path}/chosen.db") as run:
        assert f"state store: {tmp_path}/chosen.db (SQLite, WAL)" in run.out.getvalue().splitlines()
        assert (await run.webhook("/note hello")).json()["command"]["status"] == "completed"
    assert (tmp_path / "chosen.db").exists() and not (tmp_path / "state.db").exists()  # --store wins over --db
    assert [row["command"] for row in await stored_rows(f"sqlite:///{tmp_path}/chosen.db")] == ["note"]


async def test_the_service_runs_on_the_redis_its_url_names(tmp_path: Path, redis: RedisServer) -> None:
    async with running_service(tmp_path, store=redis.url, replica_id="r-7") as run:
        assert "state store: Redis, shared (replica r-7)" in run.out.getvalue().splitlines()
        assert (await run.webhook("/note hello")).json()["command"]["status"] == "completed"
    assert not (tmp_path / "state.db").exists()
    assert [row["command"] for row in await stored_rows(redis.url)] == ["note"]
