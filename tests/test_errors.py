"""One exception tree (as httpx keeps one): every public exception is a CommandlangError, and the tree
drawn in `commandlang.errors` is the tree the classes form."""

from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
import sys

import commandlang
import commandlang.errors

# execution/ is being reworked on another branch this hour; its BodyTooLarge (an httpx.RemoteProtocolError,
# which the Executor catches as one) joins the tree when that lands.
NOT_YET: set[str] = set()


def _modules() -> list[object]:
    return [
        importlib.import_module(info.name)
        for info in pkgutil.walk_packages(commandlang.__path__, "commandlang.")
        if not info.name.endswith("__main__")
    ]  # running it is the CLI


def _public_exceptions() -> set[type[BaseException]]:
    found = set()
    for module in _modules():
        for name, value in vars(module).items():
            if (
                isinstance(value, type)
                and issubclass(value, BaseException)
                and not name.startswith("_")
                and value.__module__.startswith("commandlang.")
            ):
                found.add(value)
    return found


def _drawn_tree() -> dict[str, str | None]:
    """class name -> parent name, read from the `Exception tree::` drawing in the module docstring."""
    doc = commandlang.errors.__doc__ or ""
    lines = doc.split("Exception tree::", 1)[1].strip("\n").splitlines()
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []  # (depth, name)
    for line in lines:
        if not line.strip():
            break
        marker = line.find("+-- ")
        depth, rest = (0, line.strip()) if marker < 0 else (marker // 4, line[marker + 4 :])
        name = rest.split()[0]
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parents[name] = stack[-1][1] if stack else None
        stack.append((depth, name))
    return parents


def test_every_public_exception_is_a_commandlang_error() -> None:
    outside = {
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in _public_exceptions()
        if not issubclass(cls, commandlang.CommandlangError)
    }
    assert outside == NOT_YET


def test_the_drawn_tree_is_the_tree_the_classes_form() -> None:
    drawn = _drawn_tree()
    classes = {cls for cls in _public_exceptions() if issubclass(cls, commandlang.CommandlangError)}
    actual = {}
    for cls in classes:
        ours = [base for base in cls.__bases__ if issubclass(base, commandlang.CommandlangError)]
        actual[cls.__name__] = ours[0].__name__ if ours else None
    assert len({cls.__name__ for cls in classes}) == len(classes)  # names in the drawing are unambiguous
    assert drawn == actual


def test_checks_that_catch_value_error_still_catch_the_value_errors() -> None:
    from commandlang.channels.genesys.regions import RegionError
    from commandlang.jsonsafe import UnsafeJson
    from commandlang.registry.types import ConversionError
    from commandlang.runtime.config import ConfigError

    for cls in (RegionError, UnsafeJson, ConversionError, ConfigError):
        assert issubclass(cls, ValueError) and issubclass(cls, commandlang.CommandlangError)


def test_serve_reports_a_start_up_problem_in_one_line(tmp_path) -> None:
    env = {
        **os.environ,
        "GENESYS_CLIENT_ID": "id",
        "GENESYS_CLIENT_SECRET": "secret",
        "GENESYS_REGION": "mars-east-1",
        "COMMANDLANG_DB": str(tmp_path / "state.db"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "commandlang", "serve", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "commandlang serve: Genesys settings:" in done.stderr and "mars-east-1" in done.stderr
    assert "Traceback" not in done.stderr
