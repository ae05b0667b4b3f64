"""Static checks of one Jinja template string with Jinja's own parser: no example, no backend answer.

`check_source(source, scope)` parses the string (`jinja2.Environment.parse`)
and walks `jinja2.nodes`, reporting every name the template reads that does
not resolve: top-level variables, `args.X` against the command's arguments,
`result.X` against its `result:` declaration (unchecked without one), macros
of `_macros.j2` (and of imported files), filters, tests, and the targets of
`import` / `include`. Findings carry the line and column *inside the string*;
`file_position` maps them into the YAML file that holds the string.

Guards are honoured, so `{% if args.order is defined %}{{ args.order }}` and
`args.x | default('')` in a template shared by several commands are not
reported.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any, Mapping

import jinja2
from jinja2 import meta, nodes

from ..registry.model import Position

__all__ = ["Scope", "SourceFinding", "check_source", "file_position", "macro_names"]

_DICT_METHODS = frozenset({"get", "items", "keys", "values"})


@dataclass(frozen=True, slots=True)
class Scope:
    """What a template string may read: the variables, and for the checked ones, their fields."""

    variables: frozenset[str]  # top-level names (context variables and $for names)
    fields: Mapping[str, frozenset[str]]  # a variable -> its known fields (args, result when declared, macros)
    filters: frozenset[str]
    tests: frozenset[str]
    templates: frozenset[str]  # the files in templates/ an import or include may name
    file_macros: Mapping[str, frozenset[str]]  # template file -> the macros it defines


@dataclass(frozen=True, slots=True)
class SourceFinding:
    """One problem inside a template string; `line` and `column` are 1-based within the string."""

    code: str
    message: str
    line: int
    column: int
    hint: str | None = None


class _AnyFilter(dict[str, Any]):
    """Every name is a filter (or test), so Jinja's scope tracker never stops at an unknown one: we report those."""

    def get(self, key: Any, default: Any = None) -> Any:
        return super().get(key, _anything)

    def __contains__(self, key: object) -> bool:
        return True


def _anything(*args: Any, **kwargs: Any) -> Any:
    return None


def _parse_env() -> jinja2.Environment:
    env = jinja2.Environment()
    env.filters = _AnyFilter(env.filters)
    env.tests = _AnyFilter(env.tests)
    return env


_ENV = _parse_env()


def macro_names(source: str) -> frozenset[str]:
    """The macros a template file defines (empty when it does not parse; its own check reports that)."""
    try:
        return frozenset(m.name for m in _ENV.parse(source).find_all(nodes.Macro))
    except jinja2.TemplateSyntaxError:
        return frozenset()


def check_source(source: str, scope: Scope) -> list[SourceFinding]:
    """Every unresolved name, filter, test, macro or template of one template string."""
    try:
        tree = _ENV.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        line = max(1, min(exc.lineno or 1, source.count("\n") + 1))
        text = source.splitlines()[line - 1] if source.splitlines() else ""
        column = max(text.rfind("{{"), text.rfind("{%")) + 1 or 1
        return [
            SourceFinding(
                "template_syntax",
                f"template syntax error: {exc.message}",
                line,
                column,
                "Every {{ needs its }}, every {% tag %} its end tag, and strings their closing quote.",
            )
        ]
    walker = _Walker(source, scope, tree)
    walker.names()
    walker.visit(tree, frozenset())
    return walker.found


class _Walker:
    def __init__(self, source: str, scope: Scope, tree: nodes.Template) -> None:
        self.lines = source.splitlines() or [""]
        self.scope = scope
        self.found: list[SourceFinding] = []
        self.reported: set[tuple[str, str]] = set()
        # Names the template binds itself ({% set %}, {% for %}, macro arguments, imports) shadow the context.
        self.local = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
        self.aliases: dict[str, str] = {}  # `{% import "x.j2" as m %}`: m -> x.j2
        for node in tree.find_all((nodes.Import, nodes.FromImport)):
            assert isinstance(node, (nodes.Import, nodes.FromImport))  # what find_all was asked for
            target = node.template.value if isinstance(node.template, nodes.Const) else None
            if isinstance(node, nodes.Import):
                self.local.add(node.target)
                if isinstance(target, str):
                    self.aliases[node.target] = target
            else:
                self.local.update(n[1] if isinstance(n, tuple) else n for n in node.names)
        self.tree = tree

    def report(self, code: str, message: str, lineno: int, pattern: str, hint: str | None = None) -> None:
        if (code, message) in self.reported:
            return  # once per string, at its first use
        self.reported.add((code, message))
        line = max(1, min(lineno, len(self.lines)))
        match = re.search(pattern, self.lines[line - 1])
        self.found.append(SourceFinding(code, message, line, match.start() + 1 if match else 1, hint))

    # -- top-level names: Jinja's own scope rules (jinja2.meta) --------------------
    def names(self) -> None:
        unknown = meta.find_undeclared_variables(self.tree) - self.scope.variables
        for name in sorted(unknown):
            lineno = next((n.lineno for n in self.tree.find_all(nodes.Name) if n.name == name), 1)
            self.report(
                "template_unknown_variable",
                f"unknown variable {name!r}",
                lineno,
                rf"\b{re.escape(name)}\b",
                _did_you_mean(name, self.scope.variables - {"loop_index"}, "Known: "),
            )

    # -- fields, macros, filters, tests, files --------------------------------------
    def visit(self, node: nodes.Node, guarded: frozenset[str]) -> None:
        if isinstance(node, nodes.Test) and node.name in ("defined", "undefined"):
            return  # `args.x is defined` is the guard itself
        if isinstance(node, nodes.Filter) and node.name in ("default", "d") and node.node is not None:
            self.filter_name(node)
            for child in (*node.args, *node.kwargs):
                self.visit(child, guarded)
            return  # `args.x | default(...)` expects x may be missing
        if isinstance(node, nodes.Filter):
            self.filter_name(node)
        elif isinstance(node, nodes.Test):
            self.test_name(node)
        elif isinstance(node, (nodes.Getattr, nodes.Getitem)):
            self.field(node, guarded)
        elif isinstance(node, (nodes.Include, nodes.Import, nodes.FromImport)):
            self.template_file(node)
        if isinstance(node, nodes.And):
            self.visit(node.left, guarded)
            self.visit(node.right, guarded | _defined_paths(node.left))
            return
        if isinstance(node, nodes.If):
            self.visit(node.test, guarded)
            inner = guarded | _defined_paths(node.test)
            for child in node.body:
                self.visit(child, inner)
            for child in (*node.elif_, *node.else_):
                self.visit(child, guarded)
            return
        if isinstance(node, nodes.CondExpr):
            self.visit(node.test, guarded)
            self.visit(node.expr1, guarded | _defined_paths(node.test))
            if node.expr2 is not None:
                self.visit(node.expr2, guarded)
            return
        for child in node.iter_child_nodes():
            self.visit(child, guarded)

    def field(self, node: nodes.Getattr | nodes.Getitem, guarded: frozenset[str]) -> None:
        base = node.node
        if not isinstance(base, nodes.Name) or base.name in self.local and base.name not in self.aliases:
            return
        key = (
            node.attr
            if isinstance(node, nodes.Getattr)
            else node.arg.value
            if isinstance(node.arg, nodes.Const)
            else None
        )
        if not isinstance(key, str) or f"{base.name}.{key}" in guarded:
            return
        if base.name in self.aliases:
            known = self.scope.file_macros.get(self.aliases[base.name])
            what = f"a macro of {self.aliases[base.name]}"
        else:
            known = self.scope.fields.get(base.name)
            what = {
                "args": "an argument of this command",
                "result": "a field of this command's result: declaration",
                "macros": "a macro of _macros.j2",
            }.get(base.name, "a field")
        if (
            known is None
            or key in known
            or (key in _DICT_METHODS and base.name != "macros" and base.name not in self.aliases)
        ):
            return
        written = f"{base.name}.{key}"
        self.report(
            "template_unknown_name",
            f"{written} is not {what}",
            node.lineno,
            rf"\b{re.escape(base.name)}\s*(\.\s*|\[\s*['\"]){re.escape(key)}\b",
            _did_you_mean(key, known, "Known: ", prefix=base.name + "."),
        )

    def filter_name(self, node: nodes.Filter) -> None:
        if node.name not in self.scope.filters:
            self.report(
                "template_unknown_filter",
                f"unknown filter {node.name!r}",
                node.lineno,
                rf"\|\s*{re.escape(node.name)}\b",
                _did_you_mean(node.name, self.scope.filters, None),
            )

    def test_name(self, node: nodes.Test) -> None:
        if node.name not in self.scope.tests:
            self.report(
                "template_unknown_test",
                f"unknown test {node.name!r} (after `is`)",
                node.lineno,
                rf"\bis\s+(not\s+)?{re.escape(node.name)}\b",
                _did_you_mean(node.name, self.scope.tests, None),
            )

    def template_file(self, node: nodes.Include | nodes.Import | nodes.FromImport) -> None:
        target = node.template.value if isinstance(node.template, nodes.Const) else None
        if isinstance(target, str) and target not in self.scope.templates:
            verb = "includes" if isinstance(node, nodes.Include) else "imports"
            self.report(
                "template_missing",
                f"the template {verb} {target}, which does not exist in templates/",
                node.lineno,
                re.escape(target),
                _did_you_mean(target, self.scope.templates, "Files: "),
            )
            return
        if isinstance(node, nodes.FromImport) and isinstance(target, str):
            known = self.scope.file_macros.get(target, frozenset())
            for item in node.names:
                name = item[0] if isinstance(item, tuple) else item
                if name not in known:
                    self.report(
                        "template_unknown_name",
                        f"{target} has no macro {name!r}",
                        node.lineno,
                        rf"\b{re.escape(name)}\b",
                        _did_you_mean(name, known, "Macros: "),
                    )


def _defined_paths(test: nodes.Node) -> frozenset[str]:
    """`args.x` for each `args.x is defined` joined by `and` in a condition: guarded where it holds."""
    if isinstance(test, nodes.And):
        return _defined_paths(test.left) | _defined_paths(test.right)
    if (
        isinstance(test, nodes.Test)
        and test.name == "defined"
        and isinstance(test.node, nodes.Getattr)
        and isinstance(test.node.node, nodes.Name)
    ):
        return frozenset({f"{test.node.node.name}.{test.node.attr}"})
    return frozenset()


def _did_you_mean(name: str, known: Any, listing: str | None, prefix: str = "") -> str | None:
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    if close:
        return f"did you mean {prefix}{close[0]}?"
    if listing and known:
        return listing + ", ".join(sorted(known)[:12])
    return None


def file_position(pos: Position | None, lines: list[str], line: int, column: int) -> Position | None:
    """Where (line, column) of a template string stands in the YAML file whose string starts at `pos`.

    A `|` or `>` block's text starts on the next line at its indentation; a
    quoted scalar's after its quote. Escapes and folded lines make the column
    approximate, the line stays right for block scalars.
    """
    if pos is None:
        return None
    text = lines[pos.line - 1] if 0 < pos.line <= len(lines) else ""
    head = text[pos.column - 1 : pos.column]
    if head in ("|", ">"):
        at = pos.line + line
        body = lines[at - 1] if 0 < at <= len(lines) else ""
        return Position(pos.file, at, len(body) - len(body.lstrip()) + column)
    if line == 1:
        return Position(pos.file, pos.line, pos.column + (1 if head in ("'", '"') else 0) + column - 1)
    at = pos.line + line - 1
    body = lines[at - 1] if 0 < at <= len(lines) else ""
    return Position(pos.file, at, len(body) - len(body.lstrip()) + column)
