"""Invocation + registry -> `Call`, or a `CommandError` a chat user can act on."""

from __future__ import annotations

import difflib
import re
from datetime import timedelta
from functools import lru_cache
from typing import Any, Callable

from ..diagnostics import CommandError, Diagnostic
from ..registry.model import ArgSpec, CommandSpec, RegistrySpec
from ..syntax.tree import Flag, Invocation, ListValue, Option, Positional, Value
from .call import Call, mask
from ..registry.types import CONVERTERS, ConversionError, Today, convert, describe, to_json

__all__ = ["Binder"]


class _CommandTable:
    """Per-command lookups, built once per registry so binding is a few dict reads."""

    __slots__ = ("spec", "by_key", "by_name", "positionals", "defaults", "required", "passes", "scalar_converters")

    def __init__(self, spec: CommandSpec) -> None:
        self.spec = spec
        self.by_key = {arg.name.lower(): arg for arg in spec.args}
        self.by_name = {arg.name: arg for arg in spec.args}
        self.positionals = spec.positionals
        self.defaults = {arg.name: _default(arg) for arg in spec.args}
        self.required = tuple(arg.name for arg in spec.args if arg.required)
        self.passes = {arg.name: _passes(arg) for arg in spec.args if arg.constrained}
        self.scalar_converters = {
            arg.name: CONVERTERS[arg.type.name]
            for arg in spec.args
            if not arg.type.is_list and arg.type.name in CONVERTERS
        }


def _default(arg: ArgSpec) -> Any:
    if arg.has_default:
        return arg.default
    if arg.type.name == "bool" and not arg.type.is_list:
        return False
    return None


class Binder:
    """Binds invocations against one registry; build one per registry version."""

    def __init__(self, registry: RegistrySpec) -> None:
        self.registry = registry
        self._tables = {name: _CommandTable(spec) for name, spec in registry.commands.items()}
        self._commands = dict(registry.commands)  # plain dicts: faster than the spec's read-only proxies
        self._aliases = dict(registry.aliases)
        # Names that have subcommands: only these pay for the `/ticket close` lookup.
        self._parents = frozenset(name.rpartition(".")[0] for name in registry.commands if "." in name)

    # -- the command -----------------------------------------------------
    def _resolve(self, invocation: Invocation, role: str | None) -> tuple[CommandSpec, int]:
        """The command and how many leading positionals its name took (1 for `/ticket close`)."""
        name = invocation.name
        commands, aliases = self._commands, self._aliases
        base = commands.get(aliases.get(name, name))
        parent = base.name if base is not None else name
        if name in self._parents or parent in self._parents:
            first = next((item.value for item in invocation.items if type(item) is Positional), None)
            if type(first) is Value and not first.quoted:
                for prefix in (name, parent):
                    sub_name = f"{prefix}.{first.text.lower()}"
                    sub = commands.get(aliases.get(sub_name, sub_name))
                    if sub is not None:
                        return self._allowed(sub, invocation, role), 1
        if base is None:
            raise self._unknown(invocation, role)
        return (base if role is None else self._allowed(base, invocation, role)), 0

    def _allowed(self, spec: CommandSpec, invocation: Invocation, role: str | None) -> CommandSpec:
        if role is not None and role not in spec.roles:
            who = " or ".join(f"an {r}" if r[0] in "aeiou" else f"a {r}" for r in sorted(spec.roles))
            raise _error(
                "not_allowed",
                invocation.name_span.column,
                f"/{spec.name} can only be run by {who}.",
                None,
                "Type /help to see the commands you can use.",
            )
        return spec

    def _unknown(self, invocation: Invocation, role: str | None) -> CommandError:
        name = invocation.name
        visible = [s for s in self.registry.commands.values() if role is None or role in s.roles]
        prefix = name + "."
        subs = sorted(s.name[len(prefix) :] for s in visible if s.name.startswith(prefix))
        if subs:
            listed = ", ".join(f"/{name} {sub}" for sub in subs)
            return _error(
                "unknown_command",
                invocation.name_span.column,
                f"/{name} needs a subcommand: {listed}.",
                None,
                f"Type /help {subs[0] and name + '.' + subs[0]} for details.",
            )
        names = {s.name: s.name for s in visible}
        names.update({alias: canonical for alias, canonical in self.registry.aliases.items() if canonical in names})
        close = difflib.get_close_matches(name, list(names), n=3, cutoff=0.6)
        suggestions = list(dict.fromkeys(names[c] for c in close))
        message = f"/{name} is not a command."
        if suggestions:
            message += " Did you mean " + " or ".join(f"/{s}" for s in suggestions) + "?"
        return CommandError(
            Diagnostic(
                code="unknown_command",
                message=message,
                line=1,
                column=invocation.name_span.column,
                hint="Type /help to list the commands.",
                suggestions=tuple(suggestions),
            )
        )

    # -- the arguments ---------------------------------------------------
    def bind(self, invocation: Invocation, *, role: str | None = None, today: Today | None = None) -> Call:
        """Bind an invocation; `role` (agent|customer) is checked when given."""
        spec, skip = self._resolve(invocation, role)
        table = self._tables[spec.name]
        given: dict[str, tuple[Any, int]] = {}  # arg name -> (converted value, column)
        scalar = table.scalar_converters
        slots = table.positionals
        index = -skip
        for item in invocation.items:
            if isinstance(item, Flag):
                self._flag(given, table, item, spec)
                continue
            if isinstance(item, Option):
                arg = table.by_key.get(item.key) or self._arg(table, item.key, item.column, spec)
                if arg.name in given and not arg.type.is_list:
                    raise _duplicate(arg, item.column)  # where the repeated option starts, as in --raw
            else:
                index += 1
                if index <= 0:
                    continue  # the subcommand's name
                if index <= len(slots):
                    arg = slots[index - 1]
                elif slots and slots[-1].type.is_list:
                    arg = slots[-1]  # a trailing list argument takes the rest
                else:
                    raise _too_many(spec, slots, item)
            value = item.value
            converter = scalar.get(arg.name)
            if converter is not None and type(value) is Value and arg.name not in given:
                # The common case, inlined: one scalar value for an argument not yet given.
                try:
                    given[arg.name] = (converter(value.text, today), value.start + 1)
                except ConversionError:
                    _convert_one(arg, value, today)  # raises with the argument's message
            else:
                self._give(given, arg, value, value.start + 1, today)

        args = dict(table.defaults)
        passes = table.passes
        for name, (value, column) in given.items():
            check = passes.get(name)
            if check is not None and not check(value):
                _check_constraints(table.by_name[name], value, column)  # raises, saying which check failed
            args[name] = value
        for name in table.required:
            if name not in given:
                arg = table.by_name[name]
                raise _error(
                    "missing_argument",
                    len(invocation.text.rstrip()) + 1,
                    f"/{spec.name} needs {arg.name} ({describe(arg.type.name, arg.choices)}).",
                    arg.name,
                    f"Usage: {spec.usage()}",
                )
        return Call(spec.name, args, spec, invocation)

    def _flag(self, given: dict[str, tuple[Any, int]], table: _CommandTable, item: Flag, spec: CommandSpec) -> None:
        arg = self._arg(table, item.name, item.column, spec)
        if arg.type.name != "bool" or arg.type.is_list:
            raise _error(
                "not_a_flag",
                item.column,
                f"{arg.name} is not a yes/no flag; give it a value like {arg.name}=<{arg.type}>.",
                arg.name,
                f"Usage: {spec.usage()}",
            )
        if arg.name in given:
            raise _duplicate(arg, item.column)
        given[arg.name] = (item.value, item.column)

    def _arg(self, table: _CommandTable, key: str, column: int, spec: CommandSpec) -> ArgSpec:
        arg = table.by_key.get(key)
        if arg is None:
            close = difflib.get_close_matches(key, list(table.by_key), n=1, cutoff=0.6)
            message = f"/{spec.name} has no option {key}."
            if close:
                message += f" Did you mean {table.by_key[close[0]].name}?"
            raise _error("unknown_option", column, message, key, f"Usage: {spec.usage()}")
        return arg

    def _give(
        self,
        given: dict[str, tuple[Any, int]],
        arg: ArgSpec,
        value: Value | ListValue,
        column: int,
        today: Today | None,
    ) -> None:
        if type(value) is Value and not arg.type.is_list:
            converter = CONVERTERS.get(arg.type.name)
            try:
                converted = converter(value.text, today) if converter else _convert_one(arg, value, today)
            except ConversionError:
                converted = _convert_one(arg, value, today)  # raises with the message
        else:
            converted = _convert(arg, value, today)
        if arg.name in given:
            if not arg.type.is_list:
                raise _duplicate(arg, column)
            converted = given[arg.name][0] + converted
            column = given[arg.name][1]
        given[arg.name] = (converted, column)


def _too_many(spec: CommandSpec, slots: tuple[ArgSpec, ...], item: Positional) -> CommandError:
    if slots:
        expected = f"takes {len(slots)} value{'s' if len(slots) != 1 else ''} before its options"
    else:
        expected = "takes no positional values"
    return _error(
        "too_many_positionals",
        item.column,
        f"/{spec.name} {expected}; {_shown(item.value)} is one too many.",
        None,
        f"Usage: {spec.usage()}",
    )


def _shown(value: Value | ListValue) -> str:
    text = value.text if isinstance(value, Value) else "[" + ", ".join(value.texts) + "]"
    return '"' + (text if len(text) <= 40 else text[:37] + "...") + '"'


def _convert(arg: ArgSpec, value: Value | ListValue, today: Today | None) -> Any:
    if isinstance(value, ListValue):
        if not arg.type.is_list:
            raise _error(
                "invalid_value",
                value.column,
                f"{arg.name} takes one value, not a list.",
                arg.name,
                "Drop the brackets, or quote the value.",
            )
        converter = CONVERTERS.get(arg.type.name)
        if converter is not None:
            try:
                return [converter(item.text, today) for item in value.items]
            except ConversionError:
                pass  # `_convert_one` below names the item that is wrong
        return [_convert_one(arg, item, today) for item in value.items]
    converted = _convert_one(arg, value, today)
    return [converted] if arg.type.is_list else converted


def _convert_one(arg: ArgSpec, value: Value, today: Today | None) -> Any:
    try:
        return convert(arg.type.name, value.text, choices=arg.choices, today=today)
    except ConversionError as exc:
        shown = "****" if arg.sensitive else _shown(value)[1:-1]
        raise _error(
            "invalid_value", value.column, f'{arg.name} must be {exc.expected}, got "{shown}"', arg.name, None
        ) from None


_UNBOUNDED = ("str", "email", "url", "uuid", "enum", "bool")  # types min/max do not apply to


def _passes(arg: ArgSpec) -> Callable[[Any], bool]:
    """True exactly when `_check_constraints` lets the value through: its checks without their messages.

    Built once per argument, so binding a valid value costs one call; only a
    failing value goes through `_check_constraints`, for the message.
    tests/binding/test_constraint_checks.py checks both agree.
    """
    if not arg.type.is_list:
        return _scalar_passes(arg, bounds=arg.type.name not in _UNBOUNDED)
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
        fullmatch = _compiled(arg.pattern).fullmatch
        checks.append(lambda value: not isinstance(value, str) or fullmatch(value) is not None)
    choices = arg.choices
    if choices is not None and arg.type.name != "enum":
        checks.append(lambda value: value in choices)
    if not checks:
        return _anything
    if len(checks) == 1:
        return checks[0]
    return lambda value: all(check(value) for check in checks)


def _check_constraints(arg: ArgSpec, value: Any, column: int) -> None:
    if arg.type.is_list:
        _bounds(arg, len(value), column, "items")
        for item in value:
            _check_scalar(arg, item, column, bounds=False)
    else:
        _check_scalar(arg, value, column, bounds=True)


def _check_scalar(arg: ArgSpec, value: Any, column: int, *, bounds: bool) -> None:
    if bounds and arg.type.name not in _UNBOUNDED:
        _bounds(arg, value, column, None)
    if isinstance(value, str):
        if arg.min_length is not None and len(value) < arg.min_length:
            raise _constraint(arg, column, f"at least {arg.min_length} characters long", value)
        if arg.max_length is not None and len(value) > arg.max_length:
            raise _constraint(arg, column, f"at most {arg.max_length} characters long", value)
        if arg.pattern is not None and _compiled(arg.pattern).fullmatch(value) is None:
            raise _constraint(arg, column, "in the expected format", value)
    if arg.choices is not None and arg.type.name != "enum" and value not in arg.choices:
        raise _constraint(arg, column, "one of " + ", ".join(str(to_json(c)) for c in arg.choices), value)


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _bounds(arg: ArgSpec, value: Any, column: int, unit: str | None) -> None:
    suffix = f" {unit}" if unit else ""
    if arg.min is not None and value < arg.min:
        raise _constraint(arg, column, f"at least {_human(arg.min)}{suffix}", value, counted=unit is not None)
    if arg.max is not None and value > arg.max:
        raise _constraint(arg, column, f"at most {_human(arg.max)}{suffix}", value, counted=unit is not None)


def _constraint(arg: ArgSpec, column: int, expected: str, value: Any, *, counted: bool = False) -> CommandError:
    shown = f"{value} items" if counted else (mask(value) if arg.sensitive else _human(value))
    if isinstance(shown, str) and len(shown) > 40:
        shown = shown[:37] + "..."
    return _error("constraint", column, f"{arg.name} must be {expected}, got {shown}", arg.name, arg.help)


def _human(value: Any) -> Any:
    """A value as a chat user writes it: durations as 1h30m (their JSON form is seconds), others in JSON form."""
    if not isinstance(value, timedelta):
        return to_json(value)
    seconds, parts = value.total_seconds(), []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            count = int(seconds // size)
            parts.append(f"{count}{unit}")
            seconds -= count * size
    if seconds or not parts:
        parts.append(f"{seconds:g}s")
    return "".join(parts)


def _duplicate(arg: ArgSpec, column: int) -> CommandError:
    return _error(
        "duplicate_option",
        column,
        f"{arg.name} is given more than once.",
        arg.name,
        "Give it once." if not arg.type.is_list else None,
    )


def _error(code: str, column: int, message: str, argument: str | None, hint: str | None) -> CommandError:
    return CommandError(Diagnostic(code=code, message=message, line=1, column=column, hint=hint, argument=argument))
