"""`commandlang lint` exit codes and line format (the broken registry's full output is snapshotted in tests/registry)."""

from __future__ import annotations

import json
import re

from tests.helpers import run_cli

LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<code>[a-z_]+) (?P<message>.+)$")


def test_clean_registry_exits_0(tmp_path) -> None:
    (tmp_path / "commands.yaml").write_text("version: 1\ncommands:\n  ping: {summary: Ping, examples: [/ping]}\n")
    result = run_cli("lint", cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    result = run_cli("lint", "--format", "json", cwd=tmp_path)
    assert (result.returncode, json.loads(result.stdout)) == (0, [])


def test_findings_exit_1_one_line_each(tmp_path) -> None:
    (tmp_path / "commands.yaml").write_text("version: 1\ncommands:\n  ping:\n    sumary: Ping\n    args: {n: intt}\n")
    result = run_cli("lint", "commands.yaml", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert [LINE.match(line).group("path", "line", "col", "code") for line in lines] == [
        ("commands.yaml", "4", "5", "unknown_key"),
        ("commands.yaml", "5", "15", "unknown_type"),
    ]
    assert (
        lines[0] == "commands.yaml:4:5: unknown_key unknown key 'sumary' in command ping (hint: did you mean summary?)"
    )
    assert result.stderr.strip() == "2 findings (2 errors, 0 warnings)"


def test_json_format(tmp_path) -> None:
    (tmp_path / "commands.yaml").write_text("version: 1\ncommands:\n  ping:\n    sumary: Ping\n")
    result = run_cli("lint", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1
    assert json.loads(result.stdout) == [
        {
            "code": "unknown_key",
            "message": "unknown key 'sumary' in command ping",
            "file": "commands.yaml",
            "line": 4,
            "column": 5,
            "hint": "did you mean summary?",
            "severity": "error",
            "argument": None,
        }
    ]


def test_unusable_exits_2(tmp_path) -> None:
    (tmp_path / "commands.yaml").write_bytes(b"version: 1\ncommands:\n  x: {summary: \xff}\n")
    result = run_cli("lint", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout.startswith("commands.yaml:3:16: invalid_utf8 ")


def test_bad_usage_exits_2(tmp_path) -> None:
    assert run_cli("lint", "--format", "xml", cwd=tmp_path).returncode == 2
    assert run_cli("nonsense", cwd=tmp_path).returncode == 2
    assert run_cli(cwd=tmp_path).returncode == 2
    assert run_cli("--help", cwd=tmp_path).returncode == 0
