"""The 13 argument types: text -> Python value, Python value -> JSON form.

Each converter takes the text a user wrote and returns a Python value, or
raises `ConversionError` with what was expected ("a decimal number like
19.99"); the binder adds the argument name and what was given.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Callable
from urllib.parse import urlsplit

from ..errors import CommandlangError
from ..texts import N_, MessageText, msg

__all__ = [
    "CONVERTERS",
    "ConversionError",
    "Today",
    "convert",
    "describe",
    "to_json",
    "EXPECTED",
    "format_duration",
    "describe_text",
]


class ConversionError(CommandlangError, ValueError):
    """The text does not spell a value of the type; `.expected` says what would."""

    def __init__(self, expected: str | MessageText) -> None:
        text = expected if isinstance(expected, MessageText) else msg(expected)
        super().__init__(str(text))
        self.expected = str(text)
        self.expected_text = text  # translatable (`commandlang.texts`)


class AmbiguousNumber(ConversionError):
    """`1,000` or `1.000` typed in a language that writes the decimal comma: a thousand, or one?"""

    def __init__(self, text: str, whole: str, fraction: str) -> None:
        super().__init__(
            msg(N_("a number that reads one way only ({whole} or {fraction})"), whole=whole, fraction=fraction)
        )
        self.text, self.whole, self.fraction = text, whole, fraction


_COMMA_DECIMAL = re.compile(r"([+-]?)([0-9]+),([0-9]+)")
_GROUPED = re.compile(r"([+-]?)([1-9][0-9]{0,2})[.,]([0-9]{3})")


def local_number_text(text: str) -> str:
    """A `decimal` or `float` typed in a language that writes the decimal comma, as the neutral form reads it.

    `19,99` -> `19.99`; `1,000` and `1.000` (1 to 3 digits, not starting with 0, a separator, exactly 3
    digits) raise `AmbiguousNumber`: it may be a thousand or one; anything else is returned unchanged
    (so `1.5` stays 1.5 and `1.234,56` is refused by the converter). The rule is in docs/registry.md.
    """
    grouped = _GROUPED.fullmatch(text)
    if grouped is not None:
        sign, head, tail = grouped.groups()
        fraction = str(Decimal(f"{head}.{tail}").normalize()).replace(".", ",")
        raise AmbiguousNumber(text, f"{sign}{head}{tail}", f"{sign}{fraction}")
    comma = _COMMA_DECIMAL.fullmatch(text)
    if comma is not None:
        return f"{comma.group(1)}{comma.group(2)}.{comma.group(3)}"
    return text


@dataclass(frozen=True, slots=True)
class Today:
    """The calendar day `today`, `tomorrow` and `yesterday` refer to (passed in, never read from a clock here)."""

    day: date


#: What each type accepts, as the error messages and /help say it.
EXPECTED = {
    "str": N_("text"),
    "int": N_("a whole number like 42"),
    "float": N_("a number like 1.5"),
    "decimal": N_("a decimal number like 19.99"),
    "bool": N_("yes or no (true/false, on/off, 1/0)"),
    "date": N_("a date like 2026-01-31, today, tomorrow or yesterday"),
    "datetime": N_("a date and time like 2026-01-31T10:00"),
    "duration": N_("a duration like 90s, 15m, 2h, 1d or 1h30m"),
    "email": N_("an email address like name@example.com"),
    "url": N_("an http or https URL like https://example.com"),
    "uuid": N_("a UUID like 123e4567-e89b-12d3-a456-426614174000"),
    "enum": N_("one of the listed choices"),
}

_INT = re.compile(r"[+-]?[0-9]+(?:_[0-9]+)*")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:_[0-9]+)*(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:_[0-9]+)*(?:\.[0-9]+)?|\.[0-9]+)")
_DURATION = re.compile(r"(?:(?P<n>[0-9]+(?:\.[0-9]+)?)(?P<u>[smhdw]))+", re.IGNORECASE)
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)([smhdw])", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_EMAIL = re.compile(r"[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[^@\s<>(),;:\"\[\]]+")
_BOOLS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}
_RELATIVE_DAYS = {"today": 0, "tomorrow": 1, "yesterday": -1}


def _int(text: str, _: Any) -> int:
    if not _INT.fullmatch(text):
        raise ConversionError(EXPECTED["int"])
    try:
        return int(text)
    except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
        raise ConversionError(N_("a whole number like 42 (this one is too large)")) from None


def _float(text: str, _: Any) -> float:
    if not _FLOAT.fullmatch(text):
        raise ConversionError(EXPECTED["float"])
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ConversionError(N_("a number like 1.5 (this one is too large)"))
    return value


def _decimal(text: str, _: Any) -> Decimal:
    if not _DECIMAL.fullmatch(text):
        raise ConversionError(EXPECTED["decimal"])
    try:
        return Decimal(text.replace("_", ""))
    except InvalidOperation:  # pragma: no cover - the regex admits only valid numbers
        raise ConversionError(EXPECTED["decimal"]) from None


def _bool(text: str, _: Any) -> bool:
    try:
        return _BOOLS[text.lower()]
    except KeyError:
        raise ConversionError(EXPECTED["bool"]) from None


def _date(text: str, today: Today | None) -> date:
    relative = _RELATIVE_DAYS.get(text.lower())
    if relative is not None:
        base = today.day if today else date.today()
        return base + timedelta(days=relative)
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        raise ConversionError(EXPECTED["date"])
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConversionError(
            N_("a date like 2026-01-31, today, tomorrow or yesterday (that day does not exist)")
        ) from None


def _datetime(text: str, _: Any) -> datetime:
    if not re.fullmatch(
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]{1,6})?)?(?:Z|z|[+-][0-9]{2}(?::?[0-9]{2})?)?",
        text,
    ):
        raise ConversionError(EXPECTED["datetime"])
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ConversionError(N_("a date and time like 2026-01-31T10:00 (that moment does not exist)")) from None


def _duration(text: str, _: Any) -> timedelta:
    if not _DURATION.fullmatch(text):
        raise ConversionError(EXPECTED["duration"])
    seconds = sum(float(n) * _UNIT_SECONDS[u.lower()] for n, u in _DURATION_PART.findall(text))
    if seconds > 10**9:
        raise ConversionError(N_("a duration like 90s, 15m, 2h, 1d or 1h30m (this one is too long)"))
    return timedelta(seconds=seconds)


def _email(text: str, _: Any) -> str:
    if not _EMAIL.fullmatch(text):
        raise ConversionError(EXPECTED["email"])
    return text


def _url(text: str, _: Any) -> str:
    try:
        parts = urlsplit(text)
    except ValueError:
        raise ConversionError(EXPECTED["url"]) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or any(c.isspace() for c in text):
        raise ConversionError(EXPECTED["url"])
    return text


def _uuid(text: str, _: Any) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise ConversionError(EXPECTED["uuid"]) from None


CONVERTERS: dict[str, Callable[[str, Any], Any]] = {
    "str": lambda text, _: text,
    "int": _int,
    "float": _float,
    "decimal": _decimal,
    "bool": _bool,
    "date": _date,
    "datetime": _datetime,
    "duration": _duration,
    "email": _email,
    "url": _url,
    "uuid": _uuid,
}


def convert(type_name: str, text: str, *, choices: tuple[Any, ...] | None = None, today: Today | None = None) -> Any:
    """Convert one scalar text to the type's Python value (`enum` needs `choices`)."""
    if type_name == "enum":
        folded = text.casefold()
        for choice in choices or ():
            if str(choice).casefold() == folded:
                return choice
        raise ConversionError(describe_text("enum", choices))
    return CONVERTERS[type_name](text, today)


def describe(type_name: str, choices: tuple[Any, ...] | None = None) -> str:
    """What a type accepts, for messages and /help."""
    return str(describe_text(type_name, choices))


def describe_text(type_name: str, choices: tuple[Any, ...] | None = None) -> MessageText:
    """`describe` as a translatable text."""
    if type_name == "enum" and choices:
        return msg(N_("one of {choices}"), choices=", ".join(str(c) for c in choices))
    return msg(EXPECTED[type_name])


def to_json(value: Any) -> Any:
    """The JSON form of a converted value (spec section 2, "Types and their JSON form")."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, float, str)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        return int(seconds) if seconds == int(seconds) else seconds
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    return str(value)


def format_duration(seconds: float) -> str:
    """Seconds written as the duration syntax people type: 5400 -> 1h30m, 604800 -> 7d, 0.5 -> 0.5s."""
    if seconds != int(seconds):
        return f"{seconds:g}s"
    rest, parts = int(seconds), []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts) or "0s"
