"""Build `ArgSpec`s from a command's `args:` mapping, with a diagnostic for each mistake."""

from __future__ import annotations

import difflib
import re
from typing import Any, Callable

from .types import ConversionError, convert
from .model import ARG_TYPES, ArgSpec, Position, TypeSpec
from .schema import known_keys
from .yamlsource import LList, LMap

__all__ = ["build_args", "parse_type", "ARG_NAME"]

ARG_NAME = re.compile(r"[^\W\d_][\w-]*")
_LIST_TYPE = re.compile(r"list\[\s*(\w+)\s*\]")
_BOUNDED = ("int", "float", "decimal", "date", "datetime", "duration")

Report = Callable[..., None]


def parse_type(text: str) -> TypeSpec | None:
    """`int` or `list[int]`; None when it names no type."""
    text = text.strip()
    match = _LIST_TYPE.fullmatch(text)
    if match:
        return TypeSpec(match.group(1), True) if match.group(1) in ARG_TYPES else None
    return TypeSpec(text) if text in ARG_TYPES else None


def _raw_text(mapping: LMap, key: str) -> str | None:
    """The scalar as written (so `default: 0.10` stays exact and `yes` stays a word)."""
    value = mapping.get(key)
    if isinstance(value, (LMap, LList)):
        return None
    if value is None:
        return None
    return mapping.raw.get(key, str(value))


def build_args(args: Any, pos: Position, report: Report) -> tuple[ArgSpec, ...]:
    if args is None:
        return ()
    if not isinstance(args, LMap):
        report("wrong_type", "args must be a mapping of argument name to type or settings", pos)
        return ()
    built: list[ArgSpec] = []
    seen: dict[str, str] = {}
    for name, value in args.items():
        name_pos = args.key_pos[name]
        if not ARG_NAME.fullmatch(name):
            report(
                "invalid_name",
                f"argument name {name!r} must start with a letter and hold only letters, digits, _ or -",
                name_pos,
            )
            continue
        if name.lower() in seen:
            report(
                "duplicate_name",
                f"argument {name} is declared twice (also as {seen[name.lower()]}); option names ignore case",
                name_pos,
            )
            continue
        seen[name.lower()] = name
        spec = _build_arg(name, value, args.value_pos[name], report)
        if spec is not None:
            built.append(spec)
    _check_positional_order(built, report)
    return tuple(built)


def _build_arg(name: str, value: Any, pos: Position, report: Report) -> ArgSpec | None:
    if value is None or isinstance(value, str):
        type_spec = parse_type(value or "str")
        if type_spec is None:
            _unknown_type(str(value), pos, report)
            return None
        if type_spec.name == "enum":
            report("missing_key", f"{name}: an enum needs choices; write {{type: enum, choices: [a, b]}}", pos)
            return None
        return ArgSpec(name=name, type=type_spec, position=pos)
    if not isinstance(value, LMap):
        report("wrong_type", f"{name}: an argument is a type name (like int) or a mapping of settings", pos)
        return None
    for key in value:
        if key not in known_keys("arg"):
            _unknown_key(key, "arg", value.key_pos[key], report, f"argument {name}")
    type_text = value.get("type", "str")
    type_spec = parse_type(str(type_text)) if isinstance(type_text, str) else None
    if type_spec is None:
        _unknown_type(str(type_text), value.value_pos.get("type", pos), report)
        return None

    def here(key: str) -> Position:
        return value.value_pos.get(key, pos)

    choices = None
    if "choices" in value:
        raw_choices = value["choices"]
        if not isinstance(raw_choices, LList) or not raw_choices:
            report("wrong_type", f"{name}: choices must be a non-empty list", here("choices"))
            return None
        texts = [raw if raw is not None else str(item) for item, raw in zip(raw_choices, raw_choices.raw)]
        if type_spec.name == "enum":
            choices = tuple(texts)
            if len({c.casefold() for c in choices}) != len(choices):
                report(
                    "invalid_choice",
                    f"{name}: two choices differ only in case; users type them case-insensitively",
                    here("choices"),
                )
        else:
            converted = []
            for text, item_pos in zip(texts, raw_choices.item_pos):
                result = _convert(type_spec.name, text, None, item_pos, report, f"{name}: choice")
                if result is not _FAILED:
                    converted.append(result)
            choices = tuple(converted)
    elif type_spec.name == "enum":
        report("missing_key", f"{name}: an enum needs choices, like choices: [email, sms]", pos)
        return None

    def flag(key: str) -> bool:
        found = value.get(key, False)
        if not isinstance(found, bool):
            report("wrong_type", f"{name}: {key} must be true or false", here(key))
            return False
        return found

    def length(key: str) -> int | None:
        found = value.get(key)
        if found is None:
            return None
        if not isinstance(found, int) or isinstance(found, bool) or found < 0:
            report("wrong_type", f"{name}: {key} must be a whole number of characters", here(key))
            return None
        return found

    bounds: dict[str, Any] = {}
    for key in ("min", "max"):
        if key not in value:
            continue
        bound_text = _raw_text(value, key)
        if bound_text is None:
            report("wrong_type", f"{name}: {key} must be a single value", here(key))
        elif type_spec.is_list:
            bounds[key] = _convert("int", bound_text, None, here(key), report, f"{name}: {key} (a list length)")
        elif type_spec.name in _BOUNDED:
            bounds[key] = _convert(type_spec.name, bound_text, None, here(key), report, f"{name}: {key}")
        else:
            report(
                "invalid_constraint",
                f"{name}: {key} applies to numbers, dates, durations and list lengths, not {type_spec}",
                here(key),
                hint="Use min_length / max_length for text.",
            )
        if bounds.get(key) is _FAILED:
            bounds.pop(key)
    if "min" in bounds and "max" in bounds and bounds["min"] > bounds["max"]:
        report("invalid_constraint", f"{name}: min is greater than max", here("min"))

    pattern = value.get("pattern")
    if pattern is not None:
        try:
            re.compile(str(pattern))
        except re.error as exc:
            report("invalid_pattern", f"{name}: pattern is not a valid regular expression: {exc.msg}", here("pattern"))
            pattern = None

    spec = ArgSpec(
        name=name,
        type=type_spec,
        positional=flag("positional"),
        required=flag("required"),
        min=bounds.get("min"),
        max=bounds.get("max"),
        min_length=length("min_length"),
        max_length=length("max_length"),
        pattern=str(pattern) if pattern is not None else None,
        choices=choices,
        # a per-language mapping is filled in by the loader (`registry/languages.py`)
        help=str(value["help"]) if value.get("help") is not None and not isinstance(value["help"], LMap) else None,
        sensitive=flag("sensitive"),
        position=pos,
    )
    if "default" in value:
        default = _default(spec, value, here("default"), report)
        if default is not _FAILED:
            if spec.required:
                report(
                    "required_with_default",
                    f"{name} is required, so its default is never used",
                    here("default"),
                    severity="warning",
                    hint="Drop required: true or the default.",
                )
            spec = _replace_default(spec, default)
    return spec


_FAILED = object()


def _convert(type_name: str, text: str, choices: Any, pos: Position, report: Report, what: str) -> Any:
    try:
        return convert(type_name, text, choices=choices)
    except ConversionError as exc:
        report(
            "invalid_default" if "default" in what else "invalid_constraint",
            f"{what} must be {exc.expected}, got {text!r}",
            pos,
        )
        return _FAILED


def _default(spec: ArgSpec, value: LMap, pos: Position, report: Report) -> Any:
    raw = value["default"]
    if raw is None:
        return None
    if spec.type.is_list:
        items = raw if isinstance(raw, LList) else None
        texts = (
            [r if r is not None else str(i) for i, r in zip(items, items.raw)]
            if items is not None
            else [_raw_text(value, "default") or ""]
        )
        out = [_convert(spec.type.name, t, spec.choices, pos, report, f"{spec.name}: default") for t in texts]
        return _FAILED if _FAILED in out else out
    text = _raw_text(value, "default")
    if text is None:
        report("invalid_default", f"{spec.name}: default must be a single {spec.type} value", pos)
        return _FAILED
    converted = _convert(spec.type.name, text, spec.choices, pos, report, f"{spec.name}: default")
    if (
        converted is not _FAILED
        and spec.choices is not None
        and spec.type.name != "enum"
        and converted not in spec.choices
    ):
        report("invalid_default", f"{spec.name}: default {text!r} is not one of its choices", pos)
        return _FAILED
    return converted


def _replace_default(spec: ArgSpec, default: Any) -> ArgSpec:
    from dataclasses import replace

    return replace(spec, has_default=True, default=default)


def _check_positional_order(args: list[ArgSpec], report: Report) -> None:
    optional_seen: ArgSpec | None = None
    for arg in args:
        if not arg.positional:
            continue
        if arg.required and optional_seen is not None and arg.position is not None:
            report(
                "positional_order",
                f"required positional {arg.name} follows optional positional {optional_seen.name}",
                arg.position,
                severity="warning",
                hint="Put required positionals first.",
            )
        if not arg.required:
            optional_seen = arg


def _unknown_type(text: str, pos: Position, report: Report) -> None:
    names = list(ARG_TYPES) + [f"list[{t}]" for t in ARG_TYPES]
    close = difflib.get_close_matches(text, names, n=1, cutoff=0.5)
    report(
        "unknown_type",
        f"unknown argument type {text!r}",
        pos,
        hint=f"did you mean {close[0]}?" if close else "types: " + ", ".join(ARG_TYPES) + ", list[T]",
    )


def _unknown_key(key: str, definition: str, pos: Position, report: Report, where: str) -> None:
    close = difflib.get_close_matches(key, known_keys(definition), n=1, cutoff=0.6)
    report(
        "unknown_key",
        f"unknown key {key!r} in {where}",
        pos,
        hint=f"did you mean {close[0]}?" if close else "known keys: " + ", ".join(known_keys(definition)),
    )
