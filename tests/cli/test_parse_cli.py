"""`commandlang parse` as a subprocess: the exact JSON of spec section 3, exit codes, human output with a caret."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.helpers import ROOT, run_cli


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A folder holding a copy of the sample registry as ./commands.yaml."""
    path = tmp_path_factory.mktemp("cli")
    shutil.copy(ROOT / "commands.yaml", path / "commands.yaml")
    shutil.copytree(ROOT / "templates", path / "templates")  # the sample's replies
    return path


def parse(workdir, *args: str):
    result = run_cli("parse", *args, cwd=workdir)
    assert "Traceback" not in result.stderr
    return result


JSON_CASES = [
    (
        '/refund 12345 amount=19.99 reason="damaged item"',
        {"command": "refund", "args": {"order": 12345, "amount": "19.99", "reason": "damaged item", "notify": True}},
    ),
    (
        "/rf 7 amount=5 --no-notify",
        {"command": "refund", "args": {"order": 7, "amount": "5", "reason": "unspecified", "notify": False}},
    ),
    ("/where 42", {"command": "status", "args": {"order": 42}}),
    (
        "/ticket close 4821 resolution=duplicate tags=[billing, repeat]",
        {
            "command": "ticket.close",
            "args": {"ticket": 4821, "resolution": "duplicate", "note": None, "tags": ["billing", "repeat"]},
        },
    ),
    (
        '/callback "+44 20 7946 0000" when=2026-12-01T14:30 topic=BILLING within=1h30m',
        {
            "command": "callback",
            "args": {
                "phone": "+44 20 7946 0000",
                "when": "2026-12-01T14:30:00",
                "within": 5400,
                "topic": "billing",
                "card": None,
            },
        },
    ),
    ("/ping", {"command": "ping", "args": {}}),
    ("/etc/hosts is broken", {"command": None}),
    ("thanks, bye", {"command": None}),
]


@pytest.mark.parametrize(("text", "expected"), JSON_CASES)
def test_json_success_and_not_a_command(workdir, text: str, expected: dict) -> None:
    result = parse(workdir, "--json", text)
    assert result.returncode == 0
    assert json.loads(result.stdout) == expected
    assert list(json.loads(result.stdout)) == list(expected)  # "command" first, then "args"


ERROR_CASES = [
    (
        "/refund 12345 amount=abc",
        {
            "code": "invalid_value",
            "message": 'amount must be a decimal number like 19.99, got "abc"',
            "column": 22,
            "argument": "amount",
        },
    ),
    ("/refund 12345", {"code": "missing_argument", "column": 14, "argument": "amount"}),
    ("/refnd 1", {"code": "unknown_command", "column": 2, "argument": None}),
    ('/refund 1 reason="x', {"code": "unclosed_quote", "column": 18, "argument": None}),
    ("/refund 1 amount=1 amount=2", {"code": "duplicate_option", "column": 20, "argument": "amount"}),
]


@pytest.mark.parametrize(("text", "expected"), ERROR_CASES)
def test_json_errors(workdir, text: str, expected: dict) -> None:
    result = parse(workdir, "--json", text)
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert list(data) == ["error"]
    assert list(data["error"]) == ["code", "message", "column", "argument"]
    assert {k: data["error"][k] for k in expected} == expected
    assert data["error"]["message"]


def test_unknown_command_json_suggests(workdir) -> None:
    data = json.loads(parse(workdir, "--json", "/refnd 1").stdout)
    assert "did you mean /refund?" in data["error"]["message"].lower()


def test_role(workdir) -> None:
    result = parse(workdir, "--json", "--role", "customer", "/refund 1 amount=1")
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"]["code"] == "not_allowed"
    assert parse(workdir, "--json", "--role", "agent", "/refund 1 amount=1").returncode == 0


def test_language_reads_values_the_local_way_and_keeps_messages_english(workdir) -> None:
    result = parse(workdir, "--json", "--language", "de", "/refund 1 amount=19,99")
    assert result.returncode == 0 and json.loads(result.stdout)["args"]["amount"] == "19.99"
    ambiguous = parse(workdir, "--json", "--language", "de", "/refund 1 amount=1,000")
    error = json.loads(ambiguous.stdout)["error"]
    assert ambiguous.returncode == 1 and error["code"] == "invalid_value"
    assert error["message"] == 'amount: "1,000" could be 1000 or 1; write 1000 or 1.'
    assert parse(workdir, "--json", "/refund 1 amount=19,99").returncode == 1  # the default language is English


RAW_CASES = [
    (
        '/Refund 12345 amount=19.99 --notify --no-email k=[a, "b c"]',
        {
            "command": "refund",
            "positionals": ["12345"],
            "options": {"amount": "19.99", "k": ["a", "b c"]},
            "flags": {"notify": True, "email": False},
        },
    ),
    ("/anything at all", {"command": "anything", "positionals": ["at", "all"], "options": {}, "flags": {}}),
    ("/x k=[a] k=b", {"command": "x", "positionals": [], "options": {"k": ["a", "b"]}, "flags": {}}),
    ("// not a command", {"command": None}),
]


@pytest.mark.parametrize(("text", "expected"), RAW_CASES)
def test_raw_json(tmp_path, text: str, expected: dict) -> None:
    result = run_cli("parse", "--raw", "--json", text, cwd=tmp_path)  # no registry needed
    assert result.returncode == 0
    assert json.loads(result.stdout) == expected


@pytest.mark.parametrize(
    ("text", "code", "column"),
    [("/x a=1 a=2", "duplicate_option", 8), ("/x [a", "unclosed_list", 4), ("/x =1", "empty_key", 4)],
)
def test_raw_json_errors(tmp_path, text: str, code: str, column: int) -> None:
    result = run_cli("parse", "--raw", "--json", text, cwd=tmp_path)
    assert result.returncode == 1
    error = json.loads(result.stdout)["error"]
    assert (error["code"], error["column"]) == (code, column)


def test_registry_option(tmp_path) -> None:
    (tmp_path / "mine.yaml").write_text(
        "version: 1\ncommands:\n  hello: {args: {who: {type: str, positional: true}}}\n"
    )
    result = run_cli("parse", "--registry", "mine.yaml", "--json", "/hello world", cwd=tmp_path)
    assert (result.returncode, json.loads(result.stdout)) == (0, {"command": "hello", "args": {"who": "world"}})


def test_unusable_input_exits_2(tmp_path) -> None:
    assert run_cli("parse", "--json", "/ping", cwd=tmp_path).returncode == 2  # no ./commands.yaml
    (tmp_path / "bad.yaml").write_text("- not a registry\n")
    result = run_cli("parse", "--registry", "bad.yaml", "--json", "/ping", cwd=tmp_path)
    assert result.returncode == 2
    assert "bad.yaml:1:1: wrong_type" in result.stderr
    assert run_cli("parse", cwd=tmp_path).returncode == 2  # no text: bad usage
    assert run_cli("parse", "--role", "admin", "/x", cwd=tmp_path).returncode == 2


def test_huge_message_is_too_long(workdir) -> None:
    result = parse(workdir, "--json", "/refund " + "1" * 100_000)
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"]["code"] == "too_long"


# -- human output -----------------------------------------------------------------------


def test_human_success(workdir) -> None:
    result = parse(workdir, "/rf 7 amount=5")
    assert result.returncode == 0
    assert result.stdout.splitlines()[0] == "command: refund"
    assert "  amount = '5' (decimal)" in result.stdout.splitlines()


def test_human_not_a_command(workdir) -> None:
    result = parse(workdir, "hello there")
    assert result.returncode == 0
    assert "not a command" in result.stdout


@pytest.mark.parametrize(
    ("text", "code", "column"),
    [
        ("/refund 12345 amount=abc", "invalid_value", 22),
        ('/refund 1 reason="x', "unclosed_quote", 18),
        ("/refnd 1", "unknown_command", 2),
        ("/refund 12345", "missing_argument", 14),
    ],
)
def test_human_error_has_a_caret_under_the_column(workdir, text: str, code: str, column: int) -> None:
    result = parse(workdir, text)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"error[{code}]: ")
    assert lines[1] == "  " + text
    assert lines[2] == "  " + " " * (column - 1) + "^"


def test_human_caret_on_a_multi_line_message(workdir) -> None:
    result = parse(workdir, '/refund 1\namount="x')
    lines = result.stdout.splitlines()
    assert lines[1:3] == ['  amount="x', "         ^"]


def test_human_raw(tmp_path) -> None:
    result = run_cli("parse", "--raw", "/x a k=v --no-f", cwd=tmp_path)
    assert result.stdout.splitlines() == ["command: x", "  [0] 'a'", "  k = 'v'", "  --no-f"]


@pytest.mark.parametrize(
    ("text", "shown", "cells"),
    [
        ("\t/refund 1 amount=abc", " /refund 1 amount=abc", 18),  # a tab is shown as one space
        ("/refund 1 reason=\u53d6\u6d88 amount=abc", "/refund 1 reason=\u53d6\u6d88 amount=abc", 29),  # wide: 2 cells
        ("/refund 1\u200b amount=abc", "/refund 1\u200b amount=abc", 17),  # zero-width: no cell
    ],
)
def test_human_caret_lines_up_in_a_terminal(workdir, text: str, shown: str, cells: int) -> None:
    lines = parse(workdir, text).stdout.splitlines()
    assert lines[1] == "  " + shown.replace("\t", " ")
    assert lines[2] == "  " + " " * cells + "^"
