"""The JSON Schema (`commandlang schema`) agrees with lint: it accepts the sample and rejects what lint rejects."""

from __future__ import annotations

import json

import jsonschema
import pytest

from commandlang.linting import lint_file
from commandlang.registry.schema import registry_schema
from commandlang.registry.yamlsource import parse_yaml
from tests.helpers import ROOT, run_cli

VALIDATOR = jsonschema.Draft7Validator(registry_schema())


def as_json(text: str):
    """YAML as an editor's YAML 1.2 reader sees it (keys stay strings: `on:` is not true)."""
    data, problems = parse_yaml(text)
    assert problems == []
    return json.loads(json.dumps(data))


def schema_errors(text: str) -> list[str]:
    return [error.message for error in VALIDATOR.iter_errors(as_json(text))]


def lint_codes(write_registry, text: str) -> list[str]:
    spec, found = lint_file(str(write_registry(text)), env={})
    return [d.code for d in found if d.severity == "error"]


def test_schema_is_valid_draft7() -> None:
    jsonschema.Draft7Validator.check_schema(registry_schema())


def test_cli_prints_the_schema() -> None:
    result = run_cli("schema")
    assert result.returncode == 0
    assert json.loads(result.stdout) == registry_schema()


def test_sample_registry_validates() -> None:
    assert schema_errors((ROOT / "commands.yaml").read_text(encoding="utf-8")) == []


BASE = "version: 1\ncommands:\n  ping:\n    summary: Ping\n"

VALID = [
    BASE,
    BASE + "    args: {n: int, tags: 'list[str]', c: {type: enum, choices: [a, b], default: a}}\n",
    BASE + "    examples: [/ping, {input: /ping, role: customer, expect: {reply_text: pong}}]\n",
    "version: 1\nsettings: {percent_decode: true, unknown_command: ignore, max_length: 100}\ncommands: {}\n",
    "version: 1\nbackends:\n  b: {base_url: 'https://x.example', timeout: 500ms, auth: {type: genesys},"
    " retry: {attempts: 2, on: [503], backoff: 1s}}\ncommands: {}\n",
    "version: 1\nbackends:\n  b: {base_url: 'http://x', max_connections: 8, max_response_bytes: 65536}\ncommands: {}\n",
    "version: 1\nsettings: {roles: [supervisor]}\ncommands:\n  ping:\n    summary: Ping\n    roles: [agent, supervisor]\n"
    "    args: {n: int}\n    approve: {when: '{{ args.n > 100 }}', roles: [supervisor], timeout: 10m}\n"
    "    examples: [{input: /ping n=1, role: supervisor}]\n",
]


@pytest.mark.parametrize("text", VALID)
def test_valid_registries_pass_both(write_registry, text: str) -> None:
    assert schema_errors(text) == []
    assert lint_codes(write_registry, text) == []


REJECTED = [
    # (YAML, the code lint gives)
    ("version: 1\ncomands: {}\ncommands: {}\n", "unknown_key"),
    ("version: 1\nsettings: {percent_decoding: true}\ncommands: {}\n", "unknown_key"),
    ("version: 1\nsettings: {percent_decode: sometimes}\ncommands: {}\n", "wrong_type"),
    ("version: 1\nsettings: {unknown_command: shout}\ncommands: {}\n", "wrong_type"),
    ("version: 1\nsettings: {max_length: 0}\ncommands: {}\n", "wrong_type"),
    ("version: 1\nsettings: {max_length: many}\ncommands: {}\n", "wrong_type"),
    ("version: 1\nbackends: {b: {base_url: 'http://x', timout: 5s}}\ncommands: {}\n", "unknown_key"),
    ("version: 1\nbackends: {b: {base_url: 'http://x', auth: {type: oauth}}}\ncommands: {}\n", "wrong_type"),
    ("version: 1\nbackends: {b: {base_url: 'http://x', retry: {attempts: 0}}}\ncommands: {}\n", "wrong_type"),
    ("version: 1\nbackends: {b: {base_url: 'http://x', retry: {on: [200]}}}\ncommands: {}\n", "wrong_type"),
    ("version: 1\nbackends: {b: {base_url: 'http://x', retry: {tries: 3}}}\ncommands: {}\n", "unknown_key"),
    ("version: 1\nbackends: {b: {base_url: 'http://x', timeout: soon}}\ncommands: {}\n", "invalid_duration"),
    ("version: 1\nbackends: {b: {timeout: 5s}}\ncommands: {}\n", "missing_key"),
    ("version: 1\nbackends: {b: {base_url: 'http://x', max_connections: 0}}\ncommands: {}\n", "wrong_type"),
    ("version: 1\nbackends: {b: {base_url: 'http://x', max_connections: lots}}\ncommands: {}\n", "wrong_type"),
    ("version: 1\nbackends: {b: {base_url: 'http://x', max_response_bytes: 1MB}}\ncommands: {}\n", "wrong_type"),
    (BASE + "    sumary: x\n", "unknown_key"),
    (BASE + "    roles: [Admin]\n", "unknown_role"),
    (BASE + "    roles: agent\n", "wrong_type"),
    (BASE + "    approve: {when: '{{ args.n > 1 }}'}\n", "missing_key"),
    (BASE + "    approve: {roles: [agent], timeout: later}\n", "invalid_duration"),
    (BASE + "    approve: {roles: [agent], whom: x}\n", "unknown_key"),
    ("version: 1\nsettings: {roles: [Supervisor]}\ncommands: {}\n", "invalid_name"),
    ("version: 1\nsettings: {roles: supervisor}\ncommands: {}\n", "wrong_type"),
    (BASE + "    timeout: forever\n", "invalid_duration"),
    (BASE + "    args: {n: intt}\n", "unknown_type"),
    (BASE + "    args: {n: {type: intt}}\n", "unknown_type"),
    (BASE + "    args: {n: {type: int, hlp: x}}\n", "unknown_key"),
    (BASE + "    args: {n: {type: int, required: sure}}\n", "wrong_type"),
    (BASE + "    args: {n: {type: str, max_length: many}}\n", "wrong_type"),
    (BASE + "    args: [n]\n", "wrong_type"),
    (BASE + "    args: {n: {type: enum, choices: x}}\n", "wrong_type"),
    (BASE + "    request: {backend: b, method: FETCH}\n", "wrong_type"),
    (BASE + "    request: {method: GET}\n", "missing_key"),
    (BASE + "    reply: {sucess: ok.yaml}\n", "unknown_key"),
    (BASE + "    examples: [{input: /ping, expect: {reply: x}}]\n", "unknown_key"),
    (BASE + "    examples: [{input: /ping, backend: {code: 200}}]\n", "unknown_key"),
    (BASE + "    examples: [{input: /ping, role: Admin}]\n", "unknown_role"),
    (BASE + "    examples: [{input: /ping, role: [agent]}]\n", "wrong_type"),
    (BASE + "    examples: [{input: /ping, expect: constraint}]\n", "wrong_type"),
    (BASE + "    examples: [{input: /ping, backend: 200}]\n", "wrong_type"),
    (BASE + "    aliases: p\n", "wrong_type"),
    (BASE + "    aliases: 1\n", "wrong_type"),
    ("version: 2\ncommands: {}\n", "unsupported_version"),
    ("commands: {}\n", "unsupported_version"),
    ("version: 1\n", "missing_key"),
]


@pytest.mark.parametrize(("text", "code"), REJECTED)
def test_schema_rejects_what_lint_rejects(write_registry, text: str, code: str) -> None:
    assert schema_errors(text), "the schema accepts it"
    assert code in lint_codes(write_registry, text)


def test_the_schema_file_the_sample_registry_points_at_exists_and_is_current() -> None:
    """commands.yaml says `$schema=commandlang-schema.json`: that file ships beside it, regenerated by
    `commandlang schema --write commandlang-schema.json` whenever the registry format changes."""
    from pathlib import Path

    from commandlang.cli.schema import schema_text

    root = Path(__file__).resolve().parents[2]
    assert "$schema=commandlang-schema.json" in (root / "commands.yaml").read_text()
    assert (root / "commandlang-schema.json").read_text() == schema_text(), (
        "regenerate it: commandlang schema --write commandlang-schema.json"
    )


def test_schema_write_writes_the_file(tmp_path) -> None:
    from tests.helpers import run_cli

    target = tmp_path / "schema.json"
    result = run_cli("schema", "--write", str(target))
    assert result.returncode == 0 and result.stdout.strip() == f"wrote {target}"
    assert json.loads(target.read_text())["$schema"].startswith("http")
    assert run_cli("schema", "--write", str(tmp_path / "missing" / "x.json")).returncode == 2
