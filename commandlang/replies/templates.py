"""Structure-safe templates: YAML gives the structure, Jinja fills in strings.

A template is a YAML value (mapping, list, string, number). Only *strings* are
Jinja templates, so a value coming from a user or a backend can never add a
key, a list item or a quote to the structure; it stays a string where it was
put. Two rules keep templates expressive without writing JSON by hand:

- A string that is exactly one expression, `"{{ args.amount }}"`, yields the
  expression's value itself (a number stays a number, a list a list).
- A mapping may carry `$when: <expression>` (kept only when true) and, inside
  a list, `$for: <name> in <expression>` (repeated once per item, with
  `<name>` bound), after Adaptive Cards' `$when` / `$data`.

Jinja runs sandboxed with `StrictUndefined`: a misspelt variable is an error
the author sees (lint, `commandlang render`), not a silent empty string.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Any, Callable, Mapping, TypeVar

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ..diagnostics import Diagnostic, TemplateError
from .formatting import format_filters

__all__ = ["TemplateEngine", "DROP"]

_SINGLE_EXPRESSION = re.compile(r"^\{\{(?P<expr>(?:(?!\}\}|\{\{|\{%|\{#).)*)\}\}$", re.DOTALL)
_FOR = re.compile(r"^\s*(?P<name>[A-Za-z_]\w*)\s+in\s+(?P<expr>.+)$", re.DOTALL)


class _Drop:
    """Marks a mapping removed by `$when`."""

    def __repr__(self) -> str:
        return "DROP"


DROP = _Drop()


#: The largest string or list a template may build with `*`, and the largest `**` exponent.
MAX_REPEAT = 100_000
MAX_EXPONENT = 1_000


class _BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, plus bounds on `*` and `**` so a template cannot exhaust memory or CPU."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(times, int) and len(seq) * times > MAX_REPEAT:
                    raise jinja2.exceptions.SecurityError(f"`*` would build more than {MAX_REPEAT} items")
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > MAX_EXPONENT:
            raise jinja2.exceptions.SecurityError(f"`**` exponents are limited to {MAX_EXPONENT}")
        return super().call_binop(context, operator, left, right)


_T = TypeVar("_T")


class TemplateEngine:
    """A sandboxed Jinja environment plus a bounded cache of compiled strings."""

    def __init__(self, template_dir: str | None = None, cache_size: int = 2048, *, currency: str | None = None) -> None:
        loader = jinja2.FileSystemLoader(template_dir) if template_dir else None
        self.env = _BoundedSandbox(
            loader=loader, undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False
        )
        # number, money, date, datetime, duration: formatted for the `language` variable (`formatting.py`)
        self.env.filters.update(format_filters(currency))
        self.currency = currency
        self._strings: OrderedDict[str, jinja2.Template] = OrderedDict()
        self._expressions: OrderedDict[str, Any] = OrderedDict()
        self._cache_size = cache_size

    # -- compiling -------------------------------------------------------
    def _cached(self, cache: OrderedDict[str, _T], key: str, build: Callable[[str], _T]) -> _T:
        found = cache.get(key)
        if found is None:
            found = build(key)
            cache[key] = found
            if len(cache) > self._cache_size:
                cache.popitem(last=False)
        return found

    def compile_string(self, source: str) -> jinja2.Template:
        return self._cached(self._strings, source, self.env.from_string)

    def compile_expression(self, source: str) -> Any:
        return self._cached(
            self._expressions, source, lambda s: self.env.compile_expression(s, undefined_to_none=False)
        )

    # -- rendering -------------------------------------------------------
    def render_string(self, source: str, context: Mapping[str, Any]) -> str:
        """Render a string template to text."""
        if "{" not in source:
            return source
        try:
            return self.compile_string(source).render(context)
        except jinja2.TemplateError as exc:
            raise _template_error(exc, source) from None
        except Exception as exc:  # 1/0, 'a' + 1, a huge range: the author's mistake, never a traceback
            raise _runtime_error(exc, source) from None

    def evaluate(self, expression: str, context: Mapping[str, Any]) -> Any:
        try:
            value = self.compile_expression(expression)(**context)
        except jinja2.TemplateError as exc:
            raise _template_error(exc, expression) from None
        except Exception as exc:
            raise _runtime_error(exc, expression) from None
        if isinstance(value, jinja2.Undefined):
            raise TemplateError(Diagnostic("template_error", f"{expression.strip()} is undefined"))
        return value

    def render(self, template: Any, context: Mapping[str, Any]) -> Any:
        """Render a template structure; values from the context never become structure."""
        if isinstance(template, str):
            single = _SINGLE_EXPRESSION.match(template.strip()) if "{{" in template else None
            if single is not None:
                return self.evaluate(single.group("expr"), context)
            return self.render_string(template, context)
        if isinstance(template, Mapping):
            if "$when" in template and not self._truthy(template["$when"], context):
                return DROP
            out: dict[str, Any] = {}
            for key, value in template.items():
                if key in ("$when", "$for"):
                    continue
                rendered = self.render(value, context)
                if rendered is not DROP:
                    out[str(key)] = rendered
            return out
        if isinstance(template, (list, tuple)):
            items: list[Any] = []
            for element in template:
                if isinstance(element, Mapping) and "$for" in element:
                    items.extend(self._repeat(element, context))
                    continue
                rendered = self.render(element, context)
                if rendered is not DROP:
                    items.append(rendered)
            return items
        return template

    def _truthy(self, condition: Any, context: Mapping[str, Any]) -> bool:
        if isinstance(condition, str):
            single = _SINGLE_EXPRESSION.match(condition.strip())
            return bool(self.evaluate(single.group("expr") if single else condition, context))
        return bool(condition)

    def _repeat(self, element: Mapping[str, Any], context: Mapping[str, Any]) -> list[Any]:
        loop = _FOR.match(str(element["$for"]))
        if loop is None:
            raise TemplateError(
                Diagnostic("template_error", f"$for must read `name in expression`, got {element['$for']!r}")
            )
        values = self.evaluate(loop.group("expr"), context)
        if values is None:
            return []
        if isinstance(values, Mapping) or isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise TemplateError(
                Diagnostic("template_error", f"$for needs a list, {loop.group('expr').strip()} is not one")
            )
        body = {k: v for k, v in element.items() if k != "$for"}
        out = []
        for index, value in enumerate(values):
            if index >= 1000:
                break  # a runaway backend list must not build an unbounded reply
            scope = {**context, loop.group("name"): value, "loop_index": index}
            rendered = self.render(body, scope)
            if rendered is not DROP:
                out.append(rendered)
        return out


# Jinja's words for a missing value name Python types ("'None' has no attribute 'refund_id'",
# "'commandlang...LMap object' has no attribute 'x'"): say what the author wrote instead.
_NO_ATTRIBUTE = re.compile(r"^'(?P<owner>[^']*)' has no attribute '(?P<name>[^']*)'$")


def _template_error(exc: jinja2.TemplateError, source: str) -> TemplateError:
    line = getattr(exc, "lineno", None)
    message = exc.message or exc.__class__.__name__
    missing = _NO_ATTRIBUTE.match(message)
    if missing:
        owner, name = missing.group("owner"), missing.group("name")
        message = (
            f"it reads .{name} of a value that is empty (no backend answer, or a field the answer does not have)"
            if owner == "None"
            else f"it reads .{name}, which is not there"
        )
    shown = source if len(source) <= 80 else source[:79] + "…"
    return TemplateError(Diagnostic("template_error", f"{message}, in {shown!r}", line=line))


def _runtime_error(exc: Exception, source: str) -> TemplateError:
    return TemplateError(Diagnostic("template_error", f"{type(exc).__name__}: {exc} in template {source[:80]!r}"))
