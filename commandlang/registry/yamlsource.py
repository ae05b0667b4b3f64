"""Read YAML safely and keep the position of every node.

`read_yaml` returns plain Python values in which mappings are `LMap` and
sequences `LList`, each remembering where it and its children stand, so the
loader and lint can point at `commands.yaml:12:7`. It refuses what would
hurt a service: files over a size limit, invalid UTF-8, alias bombs, deep
nesting; each becomes a `Diagnostic`, never an exception.
"""

from __future__ import annotations

from typing import Any

import yaml

from ..diagnostics import Diagnostic
from .model import Position

__all__ = ["LList", "LMap", "YamlLimits", "read_yaml", "parse_yaml"]

MAX_BYTES = 4 * 1024 * 1024
MAX_NODES = 200_000
MAX_DEPTH = 64


class LMap(dict[str, Any]):
    """A mapping that knows where it, its keys and its values stand."""

    pos: Position
    key_pos: dict[str, Position]
    value_pos: dict[str, Position]
    raw: dict[str, str]  # the scalar text as written, for values YAML would otherwise retype


class LList(list[Any]):
    """A sequence that knows where it and its items stand."""

    pos: Position
    item_pos: list[Position]
    raw: list[str | None]


class YamlLimits:
    max_bytes = MAX_BYTES
    max_nodes = MAX_NODES
    max_depth = MAX_DEPTH


class _TooBig(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        self.diagnostic = diagnostic


class _DepthLimitedLoader(yaml.SafeLoader):
    """Stops composing past MAX_DEPTH at once, where the nesting starts going too deep.

    Without it, deep nesting ran into Python's recursion limit (~1000 frames),
    which took seconds to unwind and lost the position.
    """

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH + 1:
                # types-PyYAML leaves Parser.peek_event unannotated (it returns an Event)
                raise _TooDeep(self.peek_event().start_mark)  # type: ignore[no-untyped-call]
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


#: libyaml's parser and composer (C) when PyYAML was built with it: ~5x faster than the pure-Python ones
_FAST_LOADER = getattr(yaml, "CSafeLoader", None) if getattr(yaml, "__with_libyaml__", False) else None
_FALLBACK = object()
_OPEN = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSE = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def _compose_fast(text: str) -> Any:
    """The document's node tree composed by libyaml, or `_FALLBACK` for the pure-Python loader.

    The pure-Python loader stays the one that reports problems (its messages and positions are
    the ones users and tests know): any YAML error here, nesting near the limit (checked on the
    event stream first, so libyaml's recursive composer never meets a nesting bomb), or a PyYAML
    without libyaml falls back to it.
    """
    if _FAST_LOADER is None:
        return _FALLBACK
    try:
        depth = 0
        for event in yaml.parse(text, Loader=_FAST_LOADER):
            if isinstance(event, _OPEN):
                depth += 1
                if depth >= MAX_DEPTH:
                    return _FALLBACK
            elif isinstance(event, _CLOSE):
                depth -= 1
        return yaml.compose(text, Loader=_FAST_LOADER)
    except (yaml.YAMLError, ValueError, RecursionError):
        return _FALLBACK


class _TooDeep(Exception):
    def __init__(self, mark: Any) -> None:
        self.mark = mark


def read_yaml(path: str) -> tuple[Any, list[Diagnostic]]:
    """Read and parse a YAML file; (None, diagnostics) when it cannot be used."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        return None, [
            Diagnostic(
                "unreadable",
                f"cannot read the file: {exc.strerror or exc}",
                file=path,
                hint="Check the path and its permissions.",
            )
        ]
    if len(data) > MAX_BYTES:
        return None, [
            Diagnostic(
                "too_large", f"the file is larger than {MAX_BYTES // (1024 * 1024)} MiB", file=path, line=1, column=1
            )
        ]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [
            Diagnostic(
                "invalid_utf8",
                f"byte 0x{data[exc.start]:02x} is not valid UTF-8",
                file=path,
                line=line,
                column=column,
                hint="Save the file as UTF-8.",
            )
        ]
    return parse_yaml(text, path)


def parse_yaml(text: str, path: str | None = None) -> tuple[Any, list[Diagnostic]]:
    """Parse YAML text with positions; (None, diagnostics) when it cannot be used."""
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        node = _compose_fast(text)
        if node is _FALLBACK:
            node = yaml.compose(text, Loader=_DepthLimitedLoader)
    except _TooDeep as exc:
        return None, [
            Diagnostic(
                "too_deep",
                f"the YAML is nested more than {MAX_DEPTH} levels deep",
                file=path,
                line=exc.mark.line + 1,
                column=exc.mark.column + 1,
            )
        ]
    except yaml.MarkedYAMLError as exc:
        unclosed = _unclosed_flow(exc, text)
        if unclosed is not None:
            message, line, column, hint = unclosed
            return None, [Diagnostic("yaml_syntax", message, file=path, line=line, column=column, hint=hint)]
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        return None, [
            Diagnostic(
                "yaml_syntax",
                f"YAML syntax error: {problem}",
                file=path,
                line=mark.line + 1 if mark else None,
                column=mark.column + 1 if mark else None,
            )
        ]
    except yaml.reader.ReaderError as exc:  # a control character: not a MarkedYAMLError, so locate it here
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        return None, [
            Diagnostic(
                "yaml_syntax",
                f"YAML syntax error: the character U+{exc.character:04X} is not allowed in YAML",
                file=path,
                line=line,
                column=column,
                hint="Remove it, or write it as an escape in a double-quoted string.",
            )
        ]
    except yaml.YAMLError as exc:
        return None, [Diagnostic("yaml_syntax", f"YAML syntax error: {exc}", file=path)]
    except RecursionError:
        return None, [Diagnostic("too_deep", "the YAML is nested too deeply", file=path, line=1, column=1)]
    if node is None:
        return None, []
    builder = _Builder(path)
    try:
        value = builder.build(node, 0)
    except _TooBig as exc:
        return None, [exc.diagnostic]
    return value, builder.diagnostics


class _Builder:
    def __init__(self, path: str | None) -> None:
        self.path = path
        self.count = 0
        self.diagnostics: list[Diagnostic] = []
        self._scalars = yaml.SafeLoader("")

    def pos(self, node: yaml.Node) -> Position:
        return Position(self.path, node.start_mark.line + 1, node.start_mark.column + 1)

    def at(self, node: yaml.Node, code: str, message: str, hint: str | None = None) -> Diagnostic:
        """A diagnostic at `node`'s place in the file."""
        where = self.pos(node)
        return Diagnostic(code, message, file=self.path, line=where.line, column=where.column, hint=hint)

    def build(self, node: yaml.Node, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooBig(
                self.at(node, "too_large", f"the YAML expands to more than {MAX_NODES} nodes (an alias bomb?)")
            )
        if depth > MAX_DEPTH:
            raise _TooBig(self.at(node, "too_deep", f"the YAML is nested more than {MAX_DEPTH} levels deep"))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, depth)
        if isinstance(node, yaml.SequenceNode):
            out = LList()
            out.pos, out.item_pos, out.raw = self.pos(node), [], []
            for child in node.value:
                out.append(self.build(child, depth + 1))
                out.item_pos.append(self.pos(child))
                out.raw.append(child.value if isinstance(child, yaml.ScalarNode) else None)
            return out
        assert isinstance(node, yaml.ScalarNode)  # the composer makes only mapping, sequence and scalar nodes
        return self._scalar(node)

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag == "tag:yaml.org,2002:timestamp":
            return node.value  # dates are read by the argument's own type
        try:
            return self._scalars.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError):  # ValueError: an int of more than 4300 digits
            return node.value

    def _mapping(self, node: yaml.MappingNode, depth: int) -> LMap:
        out = LMap()
        out.pos, out.key_pos, out.value_pos, out.raw = self.pos(node), {}, {}, {}
        pairs = list(node.value)
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in pairs:
            if key_node.tag == "tag:yaml.org,2002:merge":
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for source in sources:
                    if isinstance(source, yaml.MappingNode):
                        merged.extend(source.value)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.diagnostics.append(self.at(key_node, "invalid_key", "a mapping key must be a plain word"))
                continue
            key = str(key_node.value)
            if key in out:
                self.diagnostics.append(
                    self.at(
                        key_node,
                        "duplicate_key",
                        f"{key} is defined twice in this mapping (first at line {out.key_pos[key].line})",
                        hint="Keep one; YAML would silently use the last.",
                    )
                )
            self._put(out, key, key_node, value_node, depth)
        for key_node, value_node in merged:
            key = str(key_node.value)
            if key not in out:
                self._put(out, key, key_node, value_node, depth)
        return out

    def _put(self, out: LMap, key: str, key_node: yaml.Node, value_node: yaml.Node, depth: int) -> None:
        out[key] = self.build(value_node, depth + 1)
        out.key_pos[key] = self.pos(key_node)
        out.value_pos[key] = self.pos(value_node)
        if isinstance(value_node, yaml.ScalarNode):
            out.raw[key] = value_node.value


def _unclosed_flow(exc: yaml.MarkedYAMLError, text: str) -> tuple[str, int, int, str] | None:
    """(message, line, column, hint) for a `{` or `[` never closed on its line; None for other errors.

    PyYAML only notices the missing `}` when it meets the next line's `key:`,
    so it reports that line. The mistake is at the end of the line where the
    bracket opened (when that line holds no closing bracket), so point there.
    """
    problem = exc.problem or ""
    context, start = exc.context_mark, exc.problem_mark
    closer = "}" if "'}'" in problem else "]" if "']'" in problem else None
    if closer is None or context is None or start is None or start.line <= context.line:
        return None
    lines = text.splitlines()
    if context.line >= len(lines):
        return None
    opened = lines[context.line]
    opener = "{" if closer == "}" else "["
    if opened[context.column : context.column + 1] != opener or closer in opened[context.column :]:
        return None
    end = len(opened.rstrip())
    return (
        f"YAML syntax error: the {opener} at column {context.column + 1} is never closed",
        context.line + 1,
        end + 1,
        f"Add {closer} at the end of the line (quote a value that holds : , {{ }} [ or ]).",
    )
