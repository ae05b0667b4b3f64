"""The public Python API (spec section 4) and the import layering of the pure stages."""

from __future__ import annotations

import ast
import inspect
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest

import commandlang
from tests.conftest import SAMPLE

PACKAGE = Path(commandlang.__file__).resolve().parent

PUBLIC = {
    "Call",
    "CommandError",
    "CommandlangError",
    "Diagnostic",
    "Invocation",
    "Registry",
    "RegistryError",
    "Suggestion",
    "TemplateError",
    "lint_file",
    "load_registry",
    "parse_raw",
}


def test_all_lists_exactly_the_public_names() -> None:
    assert set(commandlang.__all__) == PUBLIC
    assert len(commandlang.__all__) == len(PUBLIC)
    for name in commandlang.__all__:
        assert getattr(commandlang, name) is not None
    exported = {name for name in dir(commandlang) if not name.startswith("_")}
    submodules = {name for name in exported if inspect.ismodule(getattr(commandlang, name))}
    assert exported - submodules == PUBLIC


def test_public_callables_are_documented() -> None:
    for name in commandlang.__all__:
        assert inspect.getdoc(getattr(commandlang, name)), name


def test_load_registry_and_parse() -> None:
    registry = commandlang.load_registry(SAMPLE, env={})
    assert isinstance(registry, commandlang.Registry)
    call = registry.parse("/refund 12345 amount=19.99")
    assert isinstance(call, commandlang.Call)
    assert call.command == "refund"
    assert call.args == {"order": 12345, "amount": Decimal("19.99"), "reason": "unspecified", "notify": True}
    assert call.to_json() == {
        "command": "refund",
        "args": {"order": 12345, "amount": "19.99", "reason": "unspecified", "notify": True},
    }
    assert registry.parse("hello") is None


def test_load_registry_accepts_str_and_path() -> None:
    assert commandlang.load_registry(str(SAMPLE), env={}).parse("/ping").command == "ping"


def test_python_value_types(write_registry) -> None:
    path = write_registry(
        "version: 1\ncommands:\n  t:\n    args: {i: int, f: float, d: decimal, b: bool, day: date, at: datetime,"
        " dur: duration, id: uuid, s: str, l: 'list[int]'}\n"
    )
    call = commandlang.load_registry(path, env={}).parse(
        "/t i=1 f=1.5 d=2.50 --b day=today at=2026-01-31T10:00 dur=90s id=123E4567E89B12D3A456426614174000 s=x l=[1,2]",
        today=date(2026, 1, 31),
    )
    expected_types = {
        "i": int,
        "f": float,
        "d": Decimal,
        "b": bool,
        "day": date,
        "at": datetime,
        "dur": timedelta,
        "id": UUID,
        "s": str,
        "l": list,
    }
    assert {name: type(value) for name, value in call.args.items()} == expected_types
    assert call.args["day"] == date(2026, 1, 31)
    assert call.to_json()["args"]["id"] == "123e4567-e89b-12d3-a456-426614174000"


def test_parse_raw() -> None:
    assert commandlang.parse_raw("/x a=1") == {"command": "x", "positionals": [], "options": {"a": "1"}, "flags": {}}
    assert commandlang.parse_raw("no") is None


def test_command_error_diagnostic() -> None:
    registry = commandlang.load_registry(SAMPLE, env={})
    with pytest.raises(commandlang.CommandError) as caught:
        registry.parse("/refund 12345 amount=abc")
    diagnostic = caught.value.diagnostic
    assert isinstance(diagnostic, commandlang.Diagnostic)
    assert (diagnostic.code, diagnostic.column, diagnostic.argument) == ("invalid_value", 22, "amount")
    assert diagnostic.message == 'amount must be a decimal number like 19.99, got "abc"'
    assert str(caught.value) == diagnostic.message


def test_registry_error_diagnostics(write_registry) -> None:
    path = write_registry("version: 1\ncommands:\n  x: {sumary: x}\n")
    with pytest.raises(commandlang.RegistryError) as caught:
        commandlang.load_registry(path, env={})
    assert isinstance(caught.value.diagnostics, tuple)
    assert [(d.code, d.line, d.column) for d in caught.value.diagnostics] == [("unknown_key", 3, 7)]


def test_errors_share_one_root() -> None:
    for error in (commandlang.CommandError, commandlang.RegistryError, commandlang.TemplateError):
        assert issubclass(error, commandlang.CommandlangError)
    assert issubclass(commandlang.CommandlangError, Exception)
    assert not issubclass(commandlang.CommandError, commandlang.RegistryError)


def test_one_except_catches_everything(write_registry) -> None:
    with pytest.raises(commandlang.CommandlangError):
        commandlang.load_registry(write_registry(""), env={})
    with pytest.raises(commandlang.CommandlangError):
        commandlang.parse_raw('/x "open')


# -- layering ---------------------------------------------------------------------------


def _imports(package: str) -> set[str]:
    """Absolute module names imported anywhere in a subpackage of commandlang."""
    found: set[str] = set()
    for path in (PACKAGE / package).rglob("*.py"):
        module = "commandlang." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = module.split(".")
                    base = parts[: len(parts) - node.level + (1 if is_package else 0)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                found.add(target)
                found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


FORBIDDEN = ("trio", "httpx", "commandlang.execution", "commandlang.runtime", "commandlang.channels")


@pytest.mark.parametrize("package", ["syntax", "registry", "binding"])
def test_pure_stages_do_no_io(package: str) -> None:
    imports = _imports(package)
    assert imports  # the walk saw the files
    bad = {name for name in imports if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)}
    assert bad == set()


def test_syntax_imports_only_diagnostics_and_resources_of_ours() -> None:
    ours = {name for name in _imports("syntax") if name.startswith("commandlang.")}
    # commandlang.texts: the translatable form of diagnostic messages, a leaf module like diagnostics
    outside = {
        name
        for name in ours
        if not name.startswith(
            ("commandlang.syntax", "commandlang.diagnostics", "commandlang.resources", "commandlang.texts")
        )
    }
    assert outside == set()
    assert "commandlang.diagnostics" in ours


def test_layering_check_sees_relative_imports() -> None:
    # guard against a walker that silently resolves nothing: binding imports the registry and syntax
    imports = _imports("binding")
    assert "commandlang.registry.model" in imports and "commandlang.syntax.tree" in imports


STAGES = ["syntax", "registry", "binding", "replies", "execution", "runtime", "channels", "sync"]


@pytest.mark.parametrize("package", ["syntax", "registry", "binding"])
def test_imports_never_point_back_up_the_pipeline(package: str) -> None:
    later = STAGES[STAGES.index(package) + 1 :]
    ours = {name for name in _imports(package) if name.startswith("commandlang.")}
    bad = {name for name in ours if name.split(".")[1] in later or name.split(".")[1] in ("cli", "api", "linting")}
    assert bad == set()
