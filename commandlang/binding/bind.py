"""Invocation + registry -> `Call`, or a `CommandError` a chat user can act on."""

from __future__ import annotations

import difflib
import re
from datetime import timedelta
from functools import lru_cache
from typing import Any

from ..diagnostics import CommandError, Diagnostic
from ..registry.model import ArgSpec, CommandSpec, RegistrySpec, Roles, may_run
from ..syntax.tree import Flag, Invocation, ListValue, Option, Positional, Value
from .call import Call, mask
from .checks import UNBOUNDED, passes
from ..registry.languages import writes_decimal_comma
from ..registry.types import (
    CONVERTERS,
    AmbiguousNumber,
    ConversionError,
    Today,
    convert,
    describe_text,
    local_number_text,
    to_json,
)
from ..texts import N_, Alternatives, MessageText, msg

__all__ = ["Binder"]


class _CommandTable:
    """Per-command lookups, built once per registry so binding is a few dict reads."""

    __slots__ = (
        "spec",
        "by_key",
        "by_name",
        "positionals",
        "defaults",
        "required",
        "passes",
        "scalar_converters",
        "comma_converters",
    )

    def __init__(self, spec: CommandSpec) -> None:
        self.spec = spec
        self.by_key = {arg.name.lower(): arg for arg in spec.args}
        self.by_name = {arg.name: arg for arg in spec.args}
        self.positionals = spec.positionals
        self.defaults = {arg.name: _default(arg) for arg in spec.args}
        self.required = tuple(arg.name for arg in spec.args if arg.required)
        self.passes = {arg.name: passes(arg) for arg in spec.args if arg.constrained}
        self.scalar_converters = {
            arg.name: CONVERTERS[arg.type.name]
            for arg in spec.args
            if not arg.type.is_list and arg.type.name in CONVERTERS
        }
        # In a language that writes the decimal comma, `decimal` and `float` also read `19,99`.
        self.comma_converters = {
            name: (_comma(converter) if table_type in _LOCAL_NUMBERS else converter)
            for name, converter, table_type in (
                (arg.name, self.scalar_converters[arg.name], arg.type.name)
                for arg in spec.args
                if arg.name in self.scalar_converters
            )
        }


_LOCAL_NUMBERS = ("decimal", "float")


def _comma(converter: Any) -> Any:
    return lambda text, today: converter(local_number_text(text), today)


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
    def _resolve(self, invocation: Invocation, role: Roles) -> tuple[CommandSpec, int]:
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

    def _allowed(self, spec: CommandSpec, invocation: Invocation, role: Roles) -> CommandSpec:
        if not may_run(spec.roles, role):
            raise _error(
                "not_allowed",
                invocation.name_span.column,
                _only_for(spec),
                None,
                msg(N_("Type /help to see the commands you can use.")),
            )
        return spec

    def _unknown(self, invocation: Invocation, role: Roles) -> CommandError:
        name = invocation.name
        visible = [s for s in self.registry.commands.values() if may_run(s.roles, role)]
        prefix = name + "."
        subs = sorted(s.name[len(prefix) :] for s in visible if s.name.startswith(prefix))
        if subs:
            listed = ", ".join(f"/{name} {sub}" for sub in subs)
            return _error(
                "unknown_command",
                invocation.name_span.column,
                msg(N_("/{command} needs a subcommand: {subcommands}."), command=name, subcommands=listed),
                None,
                msg(N_("Type /help {command} for details."), command=subs[0] and name + "." + subs[0]),
            )
        names = {s.name: s.name for s in visible}
        names.update({alias: canonical for alias, canonical in self.registry.aliases.items() if canonical in names})
        close = difflib.get_close_matches(name, list(names), n=3, cutoff=0.6)
        suggestions = list(dict.fromkeys(names[c] for c in close))
        message = (
            msg(
                N_("/{command} is not a command. Did you mean {suggestions}?"),
                command=name,
                suggestions=Alternatives(tuple(f"/{s}" for s in suggestions)),
            )
            if suggestions
            else msg(N_("/{command} is not a command."), command=name)
        )
        return CommandError(
            Diagnostic.of(
                "unknown_command",
                message,
                msg(N_("Type /help to list the commands.")),
                line=1,
                column=invocation.name_span.column,
                suggestions=tuple(suggestions),
            )
        )

    # -- the arguments ---------------------------------------------------
    def bind(
        self,
        invocation: Invocation,
        *,
        role: Roles = None,
        today: Today | None = None,
        language: str | None = None,
    ) -> Call:
        """Bind an invocation; `role` (a role, or the set a person holds: any one is enough) is checked when
        given. `language` (the conversation's) lets a decimal be typed with the decimal comma where that language writes one (docs/registry.md)."""
        spec, skip = self._resolve(invocation, role)
        table = self._tables[spec.name]
        given: dict[str, tuple[Any, int]] = {}  # arg name -> (converted value, column)
        comma = language is not None and writes_decimal_comma(language)
        scalar = table.comma_converters if comma else table.scalar_converters
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
                    _convert_one(arg, value, today, comma)  # raises with the argument's message
            else:
                self._give(given, arg, value, value.start + 1, today, comma)

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
                    msg(
                        N_("/{command} needs {argument} ({expected})."),
                        command=spec.name,
                        argument=arg.name,
                        expected=describe_text(arg.type.name, arg.choices),
                    ),
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
                msg(
                    N_("{argument} is not a yes/no flag; give it a value like {argument}=<{type}>."),
                    argument=arg.name,
                    type=str(arg.type),
                ),
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
            message = (
                msg(
                    N_("/{command} has no option {option}. Did you mean {suggestion}?"),
                    command=spec.name,
                    option=key,
                    suggestion=table.by_key[close[0]].name,
                )
                if close
                else msg(N_("/{command} has no option {option}."), command=spec.name, option=key)
            )
            raise _error("unknown_option", column, message, key, f"Usage: {spec.usage()}")
        return arg

    def _give(
        self,
        given: dict[str, tuple[Any, int]],
        arg: ArgSpec,
        value: Value | ListValue,
        column: int,
        today: Today | None,
        comma: bool = False,
    ) -> None:
        if type(value) is Value and not arg.type.is_list:
            converted = _convert_one(arg, value, today, comma)
        else:
            converted = _convert(arg, value, today, comma)
        if arg.name in given:
            if not arg.type.is_list:
                raise _duplicate(arg, column)
            converted = given[arg.name][0] + converted
            column = given[arg.name][1]
        given[arg.name] = (converted, column)


def _too_many(spec: CommandSpec, slots: tuple[ArgSpec, ...], item: Positional) -> CommandError:
    if len(slots) == 1:
        template = N_("/{command} takes 1 value before its options; {value} is one too many.")
    elif slots:
        template = N_("/{command} takes {count} values before its options; {value} is one too many.")
    else:
        template = N_("/{command} takes no positional values; {value} is one too many.")
    return _error(
        "too_many_positionals",
        item.column,
        msg(template, command=spec.name, count=len(slots), value=_shown(item.value)),
        None,
        f"Usage: {spec.usage()}",
    )


def _shown(value: Value | ListValue) -> str:
    text = value.text if isinstance(value, Value) else "[" + ", ".join(value.texts) + "]"
    return '"' + (text if len(text) <= 40 else text[:37] + "...") + '"'


def _convert(arg: ArgSpec, value: Value | ListValue, today: Today | None, comma: bool) -> Any:
    if isinstance(value, ListValue):
        if not arg.type.is_list:
            raise _error(
                "invalid_value",
                value.column,
                msg(N_("{argument} takes one value, not a list."), argument=arg.name),
                arg.name,
                msg(N_("Drop the brackets, or quote the value.")),
            )
        converter = CONVERTERS.get(arg.type.name)
        if converter is not None and not (comma and arg.type.name in _LOCAL_NUMBERS):
            try:
                return [converter(item.text, today) for item in value.items]
            except ConversionError:
                pass  # `_convert_one` below names the item that is wrong
        return [_convert_one(arg, item, today, comma) for item in value.items]
    converted = _convert_one(arg, value, today, comma)
    return [converted] if arg.type.is_list else converted


def _convert_one(arg: ArgSpec, value: Value, today: Today | None, comma: bool = False) -> Any:
    try:
        text = local_number_text(value.text) if comma and arg.type.name in _LOCAL_NUMBERS else value.text
        return convert(arg.type.name, text, choices=arg.choices, today=today)
    except AmbiguousNumber as exc:
        if arg.sensitive:  # never echo a sensitive value, not even to say it is ambiguous
            raise _error(
                "invalid_value", value.column, msg(N_("{argument} is not valid."), argument=arg.name), arg.name, None
            ) from None
        raise _error(
            "invalid_value",
            value.column,
            msg(
                N_('{argument}: "{value}" could be {whole} or {fraction}; write {whole} or {fraction}.'),
                argument=arg.name,
                value=exc.text,
                whole=exc.whole,
                fraction=exc.fraction,
            ),
            arg.name,
            None,
        ) from None
    except ConversionError as exc:
        shown = "****" if arg.sensitive else _shown(value)[1:-1]
        raise _error(
            "invalid_value",
            value.column,
            msg(
                N_('{argument} must be {expected}, got "{value}"'),
                argument=arg.name,
                expected=exc.expected_text,
                value=shown,
            ),
            arg.name,
            None,
        ) from None


def _check_constraints(arg: ArgSpec, value: Any, column: int) -> None:
    if arg.type.is_list:
        _bounds(arg, len(value), column, "items")
        for item in value:
            _check_scalar(arg, item, column, bounds=False)
    else:
        _check_scalar(arg, value, column, bounds=True)


def _check_scalar(arg: ArgSpec, value: Any, column: int, *, bounds: bool) -> None:
    if bounds and arg.type.name not in UNBOUNDED:
        _bounds(arg, value, column, None)
    if isinstance(value, str):
        if arg.min_length is not None and len(value) < arg.min_length:
            raise _constraint(arg, column, msg(N_("at least {min} characters long"), min=arg.min_length), value)
        if arg.max_length is not None and len(value) > arg.max_length:
            raise _constraint(arg, column, msg(N_("at most {max} characters long"), max=arg.max_length), value)
        if arg.pattern is not None and _compiled(arg.pattern).fullmatch(value) is None:
            raise _constraint(arg, column, msg(N_("in the expected format")), value)
    if arg.choices is not None and arg.type.name != "enum" and value not in arg.choices:
        listed = ", ".join(str(to_json(c)) for c in arg.choices)
        raise _constraint(arg, column, msg(N_("one of {choices}"), choices=listed), value)


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _bounds(arg: ArgSpec, value: Any, column: int, unit: str | None) -> None:
    counted = unit is not None  # a list's length: "at least 2 items"
    if arg.min is not None and value < arg.min:
        low = (
            msg(N_("at least {min} items"), min=arg.min) if counted else msg(N_("at least {min}"), min=_human(arg.min))
        )
        raise _constraint(arg, column, low, value, counted=counted)
    if arg.max is not None and value > arg.max:
        high = msg(N_("at most {max} items"), max=arg.max) if counted else msg(N_("at most {max}"), max=_human(arg.max))
        raise _constraint(arg, column, high, value, counted=counted)


def _constraint(arg: ArgSpec, column: int, expected: MessageText, value: Any, *, counted: bool = False) -> CommandError:
    shown: Any = msg(N_("{count} items"), count=value) if counted else (mask(value) if arg.sensitive else _human(value))
    if not isinstance(shown, MessageText):
        shown = str(shown)
        if len(shown) > 40:
            shown = shown[:37] + "..."
    message = msg(N_("{argument} must be {expected}, got {value}"), argument=arg.name, expected=expected, value=shown)
    return _error("constraint", column, message, arg.name, arg.help)


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
        msg(N_("{argument} is given more than once."), argument=arg.name),
        arg.name,
        msg(N_("Give it once.")) if not arg.type.is_list else None,
    )


def _error(
    code: str, column: int, message: MessageText, argument: str | None, hint: MessageText | str | None
) -> CommandError:
    return CommandError(Diagnostic.of(code, message, hint, line=1, column=column, argument=argument))


def _only_for(spec: CommandSpec) -> MessageText:
    """`/refund can only be run by an agent.`: one text per role set, since articles do not translate alone."""
    roles = sorted(spec.roles)
    if roles == ["agent"]:
        return msg(N_("/{command} can only be run by an agent."), command=spec.name)
    if roles == ["customer"]:
        return msg(N_("/{command} can only be run by a customer."), command=spec.name)
    who = " or ".join(f"an {r}" if r[0] in "aeiou" else f"a {r}" for r in roles)
    return msg(N_("/{command} can only be run by {roles}."), command=spec.name, roles=who)
