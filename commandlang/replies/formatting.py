"""Template filters that format values for the conversation's language (Babel's CLDR data).

- `number(value, digits=None)`: `1234.5` -> `1,234.5` (en), `1.234,5` (de), `1 234,5` (fr).
- `money(amount, currency=None)`: `19.99 | money("EUR")` -> `€19.99` (en), `19,99 €` (de); without a
  currency, the registry's `settings.currency`; with neither, a template error (lint reports it first).
- `date(value, format="medium")`, `datetime(value, format="medium")`: a date, a datetime or its ISO text
  (`result.eta` as the backend sent it); formats `short`, `medium`, `long`, `full`.
- `duration(value)`: seconds (an argument's JSON form) or a timedelta -> `1 hour and 30 minutes` /
  `1 Stunde und 30 Minuten`, every unit exact (never rounded as Babel's own `format_timedelta` does).

The language is the template variable `language` (the conversation's resolved tag); a tag Babel does
not know falls back to its primary language, then English.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

import jinja2
from babel.dates import format_date, format_datetime, format_timedelta
from babel.lists import format_list
from babel.numbers import format_currency, format_decimal

from ..registry.languages import locale_for

__all__ = ["format_filters", "FILTER_NAMES", "CURRENCY_FILTERS"]

#: The filters this module adds; those that need a currency.
FILTER_NAMES = ("number", "money", "date", "datetime", "duration")
CURRENCY_FILTERS = frozenset({"money"})
_FORMATS = ("short", "medium", "long", "full")


def _language(context: Any) -> str | None:
    value = context.get("language")
    return value if isinstance(value, str) else None


def _number_value(value: Any, what: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{what} needs a number, got {value!r}")
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{what} needs a number, got {value!r}") from None


def _when(value: Any, kind: type, what: str) -> Any:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{what} needs an ISO {kind.__name__} like 2026-12-01, got {value!r}") from None
        return parsed.date() if kind is date and len(value.strip()) <= 10 else parsed
    if isinstance(value, (date, datetime)):
        return value
    raise ValueError(f"{what} needs a {kind.__name__}, got {value!r}")


def _check_format(format: str, what: str) -> str:
    if format not in _FORMATS:
        raise ValueError(f"{what}: format must be one of {', '.join(_FORMATS)}, not {format!r}")
    return format


def format_filters(default_currency: str | None) -> dict[str, Callable[..., str]]:
    """The filters, with `money`'s currency default bound (`settings.currency`)."""

    @jinja2.pass_context
    def number(context: Any, value: Any, digits: int | None = None) -> str:
        amount = _number_value(value, "number")
        pattern = None if digits is None else "#,##0." + "0" * int(digits) if int(digits) > 0 else "#,##0"
        return str(format_decimal(amount, format=pattern, locale=locale_for(_language(context))))

    @jinja2.pass_context
    def money(context: Any, amount: Any, currency: str | None = None) -> str:
        code = currency or default_currency
        if not code:
            raise ValueError("money needs a currency: money('EUR'), or settings.currency in the registry")
        return str(format_currency(_number_value(amount, "money"), code, locale=locale_for(_language(context))))

    @jinja2.pass_context
    def date_filter(context: Any, value: Any, format: str = "medium") -> str:
        when = _when(value, date, "date")
        day = when.date() if isinstance(when, datetime) else when
        return str(format_date(day, format=_check_format(format, "date"), locale=locale_for(_language(context))))

    @jinja2.pass_context
    def datetime_filter(context: Any, value: Any, format: str = "medium") -> str:
        when = _when(value, datetime, "datetime")
        if not isinstance(when, datetime):
            when = datetime(when.year, when.month, when.day)
        return str(
            format_datetime(when, format=_check_format(format, "datetime"), locale=locale_for(_language(context)))
        )

    @jinja2.pass_context
    def duration(context: Any, value: Any) -> str:
        seconds = value.total_seconds() if isinstance(value, timedelta) else float(_number_value(value, "duration"))
        locale = locale_for(_language(context))
        parts = []
        rest = int(seconds)
        for size in (86400, 3600, 60, 1):
            count, rest = divmod(rest, size)
            if count:
                parts.append(format_timedelta(timedelta(seconds=count * size), threshold=1, locale=locale))
        if not parts:  # under a second (fractions of a second are not shown otherwise)
            parts.append(format_timedelta(timedelta(seconds=seconds), threshold=1, locale=locale))
        return str(format_list(parts, style="standard", locale=locale))  # "1 hour and 30 minutes"

    return {"number": number, "money": money, "date": date_filter, "datetime": datetime_filter, "duration": duration}
