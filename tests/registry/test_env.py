"""`${VAR}` and `${VAR:-default}` in registry values, from the `env=` of `load_registry`."""

from __future__ import annotations

import pytest

import commandlang

REGISTRY = """\
version: 1
backends:
  orders:
    base_url: ${ORDERS_API:-http://127.0.0.1:8700/v1/}
    headers: {X-Api-Key: "${ORDERS_KEY:-}", X-Both: "${A}-${B:-b}"}
    auth: {type: bearer, token: "${ORDERS_TOKEN}"}
commands:
  ping: {summary: Ping}
"""


@pytest.fixture
def load(write_registry):
    path = write_registry(REGISTRY)
    return lambda env: commandlang.load_registry(path, env=env).spec


def test_defaults_apply_when_unset(load) -> None:
    spec = load({})
    backend = spec.backends["orders"]
    assert backend.base_url == "http://127.0.0.1:8700/v1"  # trailing slash dropped
    assert backend.headers["X-Api-Key"] == ""
    assert backend.headers["X-Both"] == "-b"
    assert backend.auth.token == ""
    assert spec.missing_env == ("A", "ORDERS_TOKEN")


def test_values_come_from_env(load) -> None:
    spec = load(
        {
            "ORDERS_API": "https://orders.example.com/api",
            "ORDERS_KEY": "k1",
            "ORDERS_TOKEN": "t0k",
            "A": "a",
            "B": "bee",
        }
    )
    backend = spec.backends["orders"]
    assert backend.base_url == "https://orders.example.com/api"
    assert dict(backend.headers) == {"X-Api-Key": "k1", "X-Both": "a-bee"}
    assert backend.auth.token == "t0k"
    assert spec.missing_env == ()


def test_empty_value_takes_the_default(load) -> None:
    assert load({"ORDERS_API": ""}).backends["orders"].base_url == "http://127.0.0.1:8700/v1"


def test_env_defaults_to_os_environ(write_registry, monkeypatch) -> None:
    monkeypatch.setenv("ORDERS_API", "https://from-environ.example.com")
    path = write_registry(REGISTRY)
    assert commandlang.load_registry(path).spec.backends["orders"].base_url == "https://from-environ.example.com"


def test_token_never_shows_in_repr(load) -> None:
    spec = load({"ORDERS_TOKEN": "s3cr3t-token", "ORDERS_KEY": "s3cr3t-key"})
    assert "s3cr3t" not in repr(spec.backends["orders"])


def test_an_interpolated_url_is_still_checked(write_registry) -> None:
    path = write_registry(REGISTRY)
    with pytest.raises(commandlang.RegistryError) as caught:
        commandlang.load_registry(path, env={"ORDERS_API": "ftp://nope"})
    assert [d.code for d in caught.value.diagnostics] == ["invalid_url"]
