"""Bad registry input never crashes or hangs: each gets a clear finding, and the CLI exits 2."""

from __future__ import annotations

import time

import pytest

import commandlang
from commandlang import RegistryError
from commandlang.linting import lint_file
from tests.helpers import run_cli


def _bomb() -> str:
    lines = ["version: 1", 'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 9):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")
    lines += ["commands:", "  x:", "    summary: *l8"]
    return "\n".join(lines) + "\n"


UNUSABLE = [
    # (name, content, code, line, column)
    ("empty", b"", "empty_registry", 1, 1),
    ("comments only", b"# nothing here\n", "empty_registry", 1, 1),
    ("list at top level", b"- version: 1\n- commands: {}\n", "wrong_type", 1, 1),
    ("a scalar", b"just some text\n", "wrong_type", 1, 1),
    ("invalid UTF-8", b"version: 1\ncommands:\n  x:\n    summary: caf\xe9 au lait\n", "invalid_utf8", 4, 17),
    ("invalid UTF-8 on line 1", b"\xff\xfe", "invalid_utf8", 1, 1),
    ("binary junk", bytes(range(256)) * 16, "invalid_utf8", 2, 118),
    ("a NUL byte", b"version: 1\ncommands: {x: {summary: a\x00b}}\n", "yaml_syntax", 2, 26),
    ("YAML syntax", b"version: 1\ncommands:\n  x: [\n", "yaml_syntax", 4, 1),
    ("a tab indent", b"version: 1\ncommands:\n\tx: {}\n", "yaml_syntax", 3, 1),
    ("alias bomb", _bomb().encode(), "too_large", None, None),
    ("deep flow sequences", b"version: 1\ncommands: " + b"[" * 10_000 + b"]" * 10_000 + b"\n", "too_deep", 2, 75),
    (
        "deep flow mappings",
        b"version: 1\ncommands: " + b"{a: " * 10_000 + b"1" + b"}" * 10_000 + b"\n",
        "too_deep",
        2,
        264,
    ),
    (
        "deep block mappings",
        ("version: 1\ncommands:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(1_000))).encode(),
        "too_deep",
        66,
        129,
    ),  # where the nesting passes 64 levels
    ("over 4 MiB", b"version: 1\ncommands: {}\n#" + b"x" * (4 * 1024 * 1024) + b"\n", "too_large", 1, 1),
]


@pytest.mark.parametrize(
    ("content", "code", "line", "column"), [case[1:] for case in UNUSABLE], ids=[case[0] for case in UNUSABLE]
)
def test_unusable_registry_gets_one_clear_finding(tmp_path, content: bytes, code: str, line, column) -> None:
    path = tmp_path / "commands.yaml"
    path.write_bytes(content)
    started = time.perf_counter()
    spec, found = lint_file(str(path), env={})
    assert time.perf_counter() - started < 10  # a clear error, not a hang (typically well under 2 s)
    assert spec is None
    assert [d.code for d in found] == [code]
    assert found[0].file == str(path)
    assert "\n" not in found[0].message
    if line is not None:
        assert (found[0].line, found[0].column) == (line, column)
    with pytest.raises(RegistryError) as caught:
        commandlang.load_registry(path, env={})
    assert [d.code for d in caught.value.diagnostics] == [code]


@pytest.mark.parametrize("case", ["empty", "list at top level", "invalid UTF-8", "alias bomb"])
def test_cli_exits_2_on_unusable_input(tmp_path, case: str) -> None:
    content = next(c[1] for c in UNUSABLE if c[0] == case)
    (tmp_path / "commands.yaml").write_bytes(content)
    result = run_cli("lint", "commands.yaml", cwd=tmp_path)
    assert result.returncode == 2
    code = next(c[2] for c in UNUSABLE if c[0] == case)
    assert result.stdout.startswith("commands.yaml:") and f": {code} " in result.stdout
    assert "Traceback" not in result.stderr


def test_missing_file(tmp_path) -> None:
    result = run_cli("lint", "nope.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout.startswith("nope.yaml: unreadable ")


def test_an_unusable_file_beside_a_good_one_still_exits_2(tmp_path, write_registry) -> None:
    good = write_registry("version: 1\ncommands:\n  ping: {summary: Ping}\n", "good.yaml")
    bad = write_registry("", "bad.yaml")
    assert run_cli("lint", str(good), str(bad)).returncode == 2
    assert run_cli("lint", str(good)).returncode == 0


def test_a_long_number_in_yaml_is_a_finding_not_a_crash(write_registry) -> None:
    digits = "9" * 5000
    path = write_registry(
        f"version: 1\nsettings: {{max_length: {digits}}}\ncommands:\n  x:\n    args:\n"
        f"      n: {{type: int, max: {digits}}}\n"
    )
    spec, found = lint_file(str(path), env={})
    assert [(d.code, d.line) for d in found] == [("wrong_type", 2), ("invalid_constraint", 6)]


def test_utf8_bom_is_accepted(write_registry, tmp_path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes("\ufeffversion: 1\ncommands:\n  ping: {summary: Ping}\n".encode())
    assert commandlang.load_registry(path, env={}).parse("/ping").command == "ping"


def test_registry_error_is_raised_for_findings(write_registry) -> None:
    path = write_registry("version: 1\ncommands:\n  x:\n    args: {n: intt}\n")
    with pytest.raises(RegistryError) as caught:
        commandlang.load_registry(path, env={})
    assert [(d.code, d.line, d.column) for d in caught.value.diagnostics] == [("unknown_type", 4, 15)]
    assert "unknown_type" in str(caught.value)


def test_warnings_do_not_stop_loading(write_registry) -> None:
    path = write_registry(
        "version: 1\ncommands:\n  x:\n    args:\n      a: {type: int, positional: true}\n"
        "      b: {type: int, positional: true, required: true}\n"
    )
    registry = commandlang.load_registry(path, env={})
    assert [d.code for d in registry.warnings] == ["positional_order"]


def test_a_missing_closing_brace_is_reported_where_it_is_missing(tmp_path) -> None:
    """PyYAML notices a missing `}` on the next line; the finding points at the end of the line that lacks it."""
    from commandlang.linting import lint_file

    path = tmp_path / "commands.yaml"
    path.write_text(
        "version: 1\ncommands:\n  x:\n    request: {backend: orders, path: /x\n    summary: hi\n", encoding="utf-8"
    )
    spec, found = lint_file(str(path), env={})
    assert spec is None
    assert [(d.code, d.line, d.column) for d in found] == [("yaml_syntax", 4, 40)]
    assert "never closed" in found[0].message and "Add }" in (found[0].hint or "")
