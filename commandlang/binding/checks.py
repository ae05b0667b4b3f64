"""Constraint checks as predicates, built once per argument: binding a valid value costs one call.

`bind._check_constraints` stays the definition and words the error; the
binder calls it only when a predicate here says the value fails.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from ..registry.model import ArgSpec

__all__ = ["UNBOUNDED", "passes"]

UNBOUNDED = ("str", "email", "url", "uuid", "enum", "bool")  # the types min and max do not apply to


def passes(arg: ArgSpec) -> Callable[[Any], bool]:
    """True exactly when `bind._check_constraints` lets the value through: its checks without their messages.

    Built once per argument, so binding a valid value costs one call; only a
    failing value goes through `bind._check_constraints`, for the message.
    tests/binding/test_constraint_checks.py checks both agree.
    """
    if not arg.type.is_list:
        return _scalar_passes(arg, bounds=arg.type.name not in UNBOUNDED)
    each, low, high = _scalar_passes(arg, bounds=False), arg.min, arg.max
    if each is _anything:
        return lambda value: not (low is not None and len(value) < low) and not (high is not None and len(value) > high)
    return lambda value: (
        not (low is not None and len(value) < low)
        and not (high is not None and len(value) > high)
        and all(map(each, value))
    )


def _anything(value: Any) -> bool:
    return True


def _scalar_passes(arg: ArgSpec, *, bounds: bool) -> Callable[[Any], bool]:
    checks: list[Callable[[Any], bool]] = []
    low, high, shortest, longest = arg.min, arg.max, arg.min_length, arg.max_length
    if bounds and low is not None:
        checks.append(lambda value: not value < low)
    if bounds and high is not None:
        checks.append(lambda value: not value > high)
    if shortest is not None:
        checks.append(lambda value: not isinstance(value, str) or len(value) >= shortest)
    if longest is not None:
        checks.append(lambda value: not isinstance(value, str) or len(value) <= longest)
    if arg.pattern is not None:
        fullmatch = re.compile(arg.pattern).fullmatch
        checks.append(lambda value: not isinstance(value, str) or fullmatch(value) is not None)
    choices = arg.choices
    if choices is not None and arg.type.name != "enum":
        checks.append(lambda value: value in choices)
    if not checks:
        return _anything
    if len(checks) == 1:
        return checks[0]
    return lambda value: all(check(value) for check in checks)
