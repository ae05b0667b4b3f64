"""Lint: a deliberately broken registry (snapshots of text and JSON output), and the sample linting clean."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from commandlang.linting import lint_file
from tests.helpers import ROOT, run_cli

DATA = Path(__file__).parent / "data"
LINE = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<code>[a-z_]+) (?P<message>.+)$")

#: Every code lint reports on a registry it can still read (the unusable-input codes are in test_bad_input.py).
EXPECTED_CODES = {
    "ambiguous_subcommand",
    "duplicate_key",
    "duplicate_name",
    "example_error",
    "invalid_choice",
    "invalid_constraint",
    "invalid_default",
    "invalid_duration",
    "invalid_key",
    "invalid_name",
    "invalid_pattern",
    "invalid_url",
    "missing_key",
    "positional_order",
    "required_with_default",
    "unknown_backend",
    "unknown_key",
    "unknown_placeholder",
    "unknown_type",
    "unknown_role",
    "unsupported_version",
    "wrong_type",
}


@pytest.fixture(scope="module")
def broken_text() -> "subprocess.CompletedProcess[str]":  # noqa: F821
    return run_cli("lint", "broken.yaml", cwd=DATA)


@pytest.fixture(scope="module")
def broken_json() -> "subprocess.CompletedProcess[str]":  # noqa: F821
    return run_cli("lint", "--format", "json", "broken.yaml", cwd=DATA)


def test_broken_registry_text_output(broken_text, snapshot) -> None:
    assert broken_text.returncode == 1
    assert broken_text.stdout == snapshot


def test_broken_registry_json_output(broken_json, snapshot) -> None:
    assert broken_json.returncode == 1
    assert json.loads(broken_json.stdout) == snapshot


def test_every_line_has_the_flake8_format(broken_text) -> None:
    lines = broken_text.stdout.splitlines()
    assert lines
    source = (DATA / "broken.yaml").read_text(encoding="utf-8").splitlines()
    for line in lines:
        match = LINE.match(line)
        assert match, line
        assert match["path"] == "broken.yaml"
        assert 1 <= int(match["line"]) <= len(source)
        assert 1 <= int(match["col"]) <= len(source[int(match["line"]) - 1]) + 1
    errors = sum(
        1
        for line in lines
        if LINE.match(line)["code"] not in ("positional_order", "required_with_default", "ambiguous_subcommand")
    )
    assert broken_text.stderr.strip() == f"{len(lines)} findings ({errors} errors, {len(lines) - errors} warnings)"


def test_every_lint_code_is_exercised(broken_json) -> None:
    assert {d["code"] for d in json.loads(broken_json.stdout)} == EXPECTED_CODES


def test_json_findings_carry_every_field(broken_json) -> None:
    for finding in json.loads(broken_json.stdout):
        assert set(finding) == {"code", "message", "file", "line", "column", "hint", "severity", "argument"}
        assert finding["severity"] in ("error", "warning")
        assert finding["file"] == "broken.yaml"


@pytest.mark.parametrize(
    ("line", "code", "words"),
    [
        (4, "unknown_key", ["setings", "did you mean settings?"]),
        (13, "unknown_key", ["timout", "did you mean timeout?"]),
        (25, "unknown_key", ["sumary", "did you mean summary?"]),
        (30, "unknown_type", ["decimel", "did you mean decimal?"]),
        (31, "duplicate_name", ["Order", "order"]),
        (36, "invalid_default", ["size", "not one of its choices"]),
        (33, "invalid_default", ["notify", "perhaps"]),
        (38, "invalid_pattern", ["code", "regular expression"]),
        (45, "unknown_backend", ["shipping"]),
        (45, "unknown_placeholder", ["{order_id}"]),
        (51, "example_error", ["not a command"]),
        (52, "example_error", ["never closed"]),
        (70, "ambiguous_subcommand", ["/ticket close"]),
        (79, "duplicate_name", ["order", "status"]),
    ],
)
def test_specific_findings(broken_json, line: int, code: str, words: list[str]) -> None:
    found = [d for d in json.loads(broken_json.stdout) if d["line"] == line and d["code"] == code]
    assert found, (line, code)
    text = found[0]["message"] + " " + (found[0]["hint"] or "")
    for word in words:
        assert word in text


def test_examples_with_an_expected_error(write_registry) -> None:
    path = write_registry(
        "version: 1\ncommands:\n  x:\n    args: {n: {type: int, min: 1}}\n    examples:\n"
        "      - {input: /x n=0, expect: {error: constraint}}\n"  # fails as expected: fine
        "      - {input: /x n=1, expect: {error: constraint}}\n"  # binds: reported
        "      - {input: /x m=1, expect: {error: constraint}}\n"  # fails otherwise: reported
        "      - {input: /x n=1, role: customer}\n"
    )
    spec, found = lint_file(str(path), env={})
    assert [(d.code, d.line) for d in found] == [("example_error", 7), ("example_error", 8)]
    assert "should fail with constraint but binds" in found[0].message
    assert "no option m" in found[1].message


def test_sample_lints_clean() -> None:
    result = run_cli("lint", str(ROOT / "commands.yaml"))
    assert (result.returncode, result.stdout) == (0, "")
    spec, found = lint_file(str(ROOT / "commands.yaml"), env={})
    assert spec is not None and found == []


def test_sample_lints_clean_from_its_folder(tmp_path) -> None:
    shutil.copy(ROOT / "commands.yaml", tmp_path / "commands.yaml")
    shutil.copytree(ROOT / "templates", tmp_path / "templates")  # the sample's replies
    result = run_cli("lint", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert run_cli("lint", "--format", "json", cwd=tmp_path).stdout.strip() == "[]"


def test_several_files_and_warnings_only(write_registry) -> None:
    warn = write_registry(
        "version: 1\ncommands:\n  x:\n    args:\n      a: {type: int, positional: true}\n"
        "      b: {type: int, positional: true, required: true}\n",
        "warn.yaml",
    )
    result = run_cli("lint", str(ROOT / "commands.yaml"), str(warn))
    assert result.returncode == 1
    assert [LINE.match(line)["code"] for line in result.stdout.splitlines()] == ["positional_order"]
