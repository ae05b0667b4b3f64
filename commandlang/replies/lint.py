"""Lint for reply templates: what would fail at run time, found before a user sees it.

`check_templates(spec, template_dir)` reports, each at `file:line:col` of the
YAML string that holds the template (or the command when that is unknown):

- `template_missing`: a reply names a file in templates/ that does not exist
  (also a `$layout` or an `{% import %}`/`{% include %}` target);
- `template_syntax`: a Jinja syntax error (line inside the string added);
- `template_unknown_variable`: a top-level name that is not in the context
  (`args`, `result`, ... see `replies.context`), nor a `$for` variable;
- `template_raw_in_error`: `raw_args` in an error reply (never allowed);
- `reply_shape`: a key a reply cannot have, found statically or by rendering
  an example's canned backend answer;
- `reply_url`: a literal `url` or `image` that the URL rule refuses
  (`scrub.is_allowed_link`: https, or http to a loopback host), which the
  reply would drop at run time;
- `example_reply`: an example with a canned answer whose reply fails to render;
- `reply_limit` (warning): an example's reply that a channel would truncate;
- `reply_payload` (warning): an example's reply offers a choice that sends an unknown command.
"""

from __future__ import annotations

import os
import re
from typing import Any, Mapping

import jinja2
from jinja2 import meta

from ..binding.bind import Binder
from ..diagnostics import CommandError, Diagnostic, TemplateError
from ..registry.model import CommandSpec, Position, RegistrySpec
from ..registry.yamlsource import LList, LMap, read_yaml
from ..syntax.parser import SyntaxOptions, default_parser
from .context import KNOWN_VARIABLES, ReplyContext, context_for_answer
from .limits import GENESYS_LIMITS, TEXT_LIMITS, enforce_limits
from .model import REPLY_KEYS, ReplyShapeError
from .render import MACROS_FILE, ReplyRenderer, is_template_file
from .scrub import Scrubber, is_allowed_link
from .templates import _FOR, _SINGLE_EXPRESSION

__all__ = ["check_templates", "check_registry_templates"]

_KINDS = ("success", "error", "confirm", "ack")
#: The keys whose literal value is a URL a reply sends (link buttons and actions, images, attachments).
_URL_KEYS = frozenset({"url", "image"})
_ITEM_KEYS = {
    "quick_replies": ("label", "payload", "image"),
    "buttons": ("kind", "label", "payload", "url"),
    "actions": ("kind", "label", "payload", "url"),
    "cards": ("title", "description", "image", "default_action", "actions"),
    "attachments": ("url", "media_type", "filename", "mime"),
}


def check_registry_templates(spec: RegistrySpec) -> list[Diagnostic]:
    """`check_templates` with the registry's own templates/ (the `ExtraCheck` form lint takes)."""
    return check_templates(spec, spec.template_dir)


def check_templates(spec: RegistrySpec, template_dir: str | None = None) -> list[Diagnostic]:
    """Every template problem of a registry's replies; see the module docstring for the codes."""
    template_dir = template_dir if template_dir is not None else spec.template_dir
    checker = _Checker(spec, template_dir)
    for command in sorted(spec.commands.values(), key=lambda c: c.name):
        for kind in _KINDS:
            if checker.declared(command, kind):
                checker.broken.add((command.name, kind))  # already reported: not again per example
        checker.examples(command)
    return checker.found


class _Checker:
    def __init__(self, spec: RegistrySpec, template_dir: str | None) -> None:
        self.spec = spec
        self.template_dir = template_dir
        self.env = jinja2.Environment()  # parsing only; rendering stays in the sandbox
        self.found: list[Diagnostic] = []
        self.seen: set[tuple[str, bool]] = set()  # (file, is_error) already checked
        self.failed_files: set[str] = set()  # files with errors, so every reply using them is broken
        self.broken: set[tuple[str, str]] = set()  # (command, kind) whose template has static errors
        self._lines: dict[str, list[str]] = {}
        self.current = ""  # the reply being checked, for messages
        self._registry_yaml: Any = None  # the registry re-read for positions, on first need
        self.binder = Binder(spec)
        self.parser = default_parser()
        self.options = SyntaxOptions(percent_decode=spec.settings.percent_decode, max_length=spec.settings.max_length)
        self.renderer = ReplyRenderer(template_dir=template_dir, scrubber=Scrubber.for_registry(spec))
        self.has_macros = bool(template_dir) and os.path.exists(os.path.join(template_dir, MACROS_FILE))

    def report(self, code: str, message: str, pos: Position | None, file: str | None = None, *,
               severity: str = "error", hint: str | None = None) -> None:
        self.found.append(Diagnostic(code=code, message=message, file=(pos.file if pos and pos.file else file) or self.spec.path,
                                     line=pos.line if pos else None, column=pos.column if pos else None,
                                     hint=hint, severity=severity))  # type: ignore[arg-type]

    # -- declared templates ----------------------------------------------
    def declared(self, command: CommandSpec, kind: str) -> bool:
        """Check one declared reply; True when it has errors (reported now or for a shared file before)."""
        value = {"success": command.reply.success, "error": command.reply.error, "confirm": command.confirm, "ack": command.ack}[kind]
        if value is None:
            return False
        where = f"{command.name}: {'reply.' + kind if kind in ('success', 'error') else kind}"
        self.current = where
        if is_template_file(value):
            return self.file(value.strip(), kind == "error", where, self.declared_at(command, kind))
        pos = getattr(value, "pos", None) or self.declared_at(command, kind)
        before = len(self.found)
        self.walk(value, pos, None, frozenset(), kind == "error", top=True, where=where)
        return any(d.severity == "error" for d in self.found[before:])

    def declared_at(self, command: CommandSpec, kind: str) -> Position | None:
        """Where `reply.success` / `confirm` / ... of a command is written (the spec keeps only the command's place)."""
        if self._registry_yaml is None:
            self._registry_yaml = read_yaml(self.spec.path)[0] if self.spec.path and os.path.isfile(self.spec.path) else {}
        commands = self._registry_yaml.get("commands") if isinstance(self._registry_yaml, Mapping) else None
        body = _find_command(commands, command.name)
        if isinstance(body, LMap):
            if kind in ("confirm", "ack") and kind in body.value_pos:
                return body.value_pos[kind]
            reply = body.get("reply")
            if isinstance(reply, LMap) and kind in reply.value_pos:
                return reply.value_pos[kind]
        return command.position

    def file(self, name: str, is_error: bool, where: str, pos: Position | None, depth: int = 0) -> bool:
        path = os.path.join(self.template_dir, name) if self.template_dir else None
        if path is None or not os.path.isfile(path):
            self.report("template_missing", f"{where} names templates/{name}, which does not exist", pos,
                        hint=f"Create it in {self.template_dir or 'templates/ next to the registry'}.")
            return True
        if (path, is_error) in self.seen:
            return path in self.failed_files
        self.seen.add((path, is_error))
        before = len(self.found)
        structure, problems = read_yaml(path)
        self.found.extend(problems)
        if structure is None:
            self.failed_files.add(path)
            return True
        if isinstance(structure, LMap) and "$layout" in structure:
            if depth < 3 and self.file(str(structure["$layout"]), is_error, f"{name}: $layout", structure.value_pos["$layout"], depth + 1):
                self.failed_files.add(path)
        self.walk(structure, getattr(structure, "pos", None), path, frozenset(), is_error, top=True, where=name)
        if any(d.severity == "error" for d in self.found[before:]):
            self.failed_files.add(path)
        return path in self.failed_files

    def walk(self, node: Any, pos: Position | None, file: str | None, scope: frozenset[str], is_error: bool, *,
             top: bool = False, where: str = "", list_key: str | None = None) -> None:
        if isinstance(node, str):
            self.string(node, pos, file, scope, is_error)
            return
        if isinstance(node, Mapping):
            if top:
                self.keys(node, REPLY_KEYS + ("$layout",), pos, file, where or "the reply")
            elif list_key in _ITEM_KEYS:
                self.keys(node, _ITEM_KEYS[list_key] + ("$when", "$for"), pos, file, f"an item of {list_key}")
            inner = scope
            if "$for" in node:
                loop = _FOR.match(str(node["$for"]))
                where_for = _value_pos(node, "$for", pos)
                if loop is None:
                    self.report("template_syntax", f"$for must read `name in expression`, got {node['$for']!r}", where_for, file)
                else:
                    self.expression(loop.group("expr"), where_for, file, scope, is_error)
                    inner = scope | {loop.group("name")}
            if "$when" in node and isinstance(node["$when"], str):
                condition = node["$when"].strip()
                single = _SINGLE_EXPRESSION.match(condition)
                self.expression(single.group("expr") if single else condition, _value_pos(node, "$when", pos), file, inner, is_error)
            for key, value in node.items():
                if key in ("$when", "$for", "$layout"):
                    continue
                if key in _URL_KEYS and isinstance(value, str) and "{" not in value and not is_allowed_link(value.strip()):
                    self.report("reply_url", f"{key} {value!r} would be dropped: a reply sends only https links "
                                "(http only to a loopback host)", _value_pos(node, key, pos), file)
                self.walk(value, _value_pos(node, key, pos), file, inner, is_error, list_key=key if isinstance(value, list) else None)
            return
        if isinstance(node, list):
            for index, item in enumerate(node):
                item_pos = node.item_pos[index] if isinstance(node, LList) else pos
                self.walk(item, item_pos, file, scope, is_error, list_key=list_key)

    def keys(self, node: Mapping[str, Any], allowed: tuple[str, ...], pos: Position | None, file: str | None, where: str) -> None:
        for key in node:
            if key not in allowed:
                key_pos = node.key_pos.get(key, pos) if isinstance(node, LMap) else pos
                self.report("reply_shape", f"{where}: unknown key {key!r}", key_pos, file,
                            hint="Allowed: " + ", ".join(k for k in allowed if not k.startswith("$")))

    def expression(self, source: str, pos: Position | None, file: str | None, scope: frozenset[str], is_error: bool) -> None:
        self.string("{{ " + source + " }}", pos, file, scope, is_error)

    def string(self, source: str, pos: Position | None, file: str | None, scope: frozenset[str], is_error: bool) -> None:
        if "{" not in source:
            return
        try:
            ast = self.env.parse(source)
        except jinja2.TemplateSyntaxError as exc:
            line = (pos.line + (exc.lineno or 1) - 1 + self.block_scalar(pos)) if pos else exc.lineno
            column = pos.column if pos and (exc.lineno or 1) == 1 else 1
            self.found.append(Diagnostic("template_syntax", f"template syntax error: {exc.message}",
                                         file=(pos.file if pos and pos.file else file) or self.spec.path, line=line, column=column))
            return
        for name in sorted(meta.find_undeclared_variables(ast) - scope):
            at = self.line_of(source, name, pos)
            if name == "raw_args" and is_error:
                self.report("template_raw_in_error", f"{self.current}: raw_args is not available in error replies (secrets stay masked)", at, file,
                            hint="Use args, which holds the masked values.")
            elif name == "macros" and not self.has_macros:
                self.report("template_missing", f"macros is used but templates/{MACROS_FILE} does not exist", at, file)
            elif name not in KNOWN_VARIABLES:
                self.report("template_unknown_variable", f"{self.current}: unknown variable {name!r} in template", at, file,
                            hint="Known: " + ", ".join(sorted(KNOWN_VARIABLES - {"loop_index"})) + ", or a $for name")
        for target in meta.find_referenced_templates(ast):
            if target and self.template_dir and not os.path.isfile(os.path.join(self.template_dir, target)):
                self.report("template_missing", f"the template imports {target}, which does not exist in templates/", pos, file)

    def line_of(self, source: str, name: str, pos: Position | None) -> Position | None:
        """The position of the line of a multi-line string where `name` first appears."""
        if pos is None or "\n" not in source:
            return pos
        for index, line in enumerate(source.splitlines()):
            if re.search(rf"\b{re.escape(name)}\b", line):
                offset = index + self.block_scalar(pos)
                return Position(pos.file, pos.line + offset, pos.column if offset == 0 else 1)
        return pos

    def block_scalar(self, pos: Position) -> int:
        """1 when the string at `pos` is a `|` or `>` block (its text starts on the next line), else 0."""
        if not pos.file:
            return 0
        if pos.file not in self._lines:
            try:
                with open(pos.file, encoding="utf-8") as handle:
                    self._lines[pos.file] = handle.read().splitlines()
            except OSError:
                self._lines[pos.file] = []
        lines = self._lines[pos.file]
        if 0 < pos.line <= len(lines) and lines[pos.line - 1][pos.column - 1 : pos.column] in ("|", ">"):
            return 1
        return 0

    # -- examples with canned answers --------------------------------------
    def examples(self, command: CommandSpec) -> None:
        binder, parser, options = self.binder, self.parser, self.options
        for example in command.examples:
            if (example.expect or {}).get("error"):
                continue
            try:
                invocation = parser.parse(example.input, options)
                call = binder.bind(invocation, role=example.role) if invocation is not None else None
            except CommandError:
                continue  # the registry lint reports examples that do not bind
            if call is None or call.command != command.name:
                continue
            runs: list[tuple[str, ReplyContext]] = []
            user = {"id": "lint", "role": example.role}
            if command.confirm is not None:
                runs.append(("confirm", ReplyContext(args=call.args, user=user, confirm_token="lint")))
            if command.ack is not None:
                runs.append(("ack", ReplyContext(args=call.args, user=user)))
            if example.backend is not None:
                runs.append(context_for_answer(call.args, example.backend, user))
            for kind, context in runs:
                if (command.name, kind) in self.broken:
                    continue
                self.example_reply(command, kind, context, example.position, example.input)

    def unknown_command_in(self, payload: str) -> str | None:
        """The name a `/...` payload sends when the registry has no such command (nor a group of it)."""
        name = _command_name(payload)
        if name is None or name in _BUILT_IN or self.spec.resolve(name) is not None:
            return None
        if any(existing.startswith(name + ".") for existing in self.spec.commands):
            return None
        return name

    def example_reply(self, command: CommandSpec, kind: str, context: ReplyContext, pos: Position | None, text: str) -> None:
        try:
            reply = self.renderer.render(command, kind, context, strict=True)  # type: ignore[arg-type]
        except TemplateError as exc:
            self.report("example_reply", f"{command.name}: the {kind} reply to example {text!r} fails: {exc.diagnostic.message}", pos)
            return
        except ReplyShapeError as exc:
            self.report("reply_shape", f"{command.name}: the {kind} reply to example {text!r} is not a valid reply: {exc}", pos)
            return
        reported: set[str] = set()
        for label, payload in reply.choices():
            unknown = self.unknown_command_in(payload)
            if unknown and unknown not in reported:
                reported.add(unknown)
                self.report("reply_payload", f"{command.name}: the {kind} reply to example {text!r} offers {label!r}, "
                            f"which sends /{unknown}, not a command of this registry", pos, severity="warning")
        for limits in (GENESYS_LIMITS, TEXT_LIMITS):
            for warning in enforce_limits(reply, limits)[1]:
                self.report("reply_limit", f"{command.name}: the {kind} reply to example {text!r} on {limits.channel}: {warning}",
                            pos, severity="warning")


_BUILT_IN = frozenset({"help", "confirm", "cancel"})


def _command_name(payload: str) -> str | None:
    """The command a payload like `/status 7` sends, lower-case; None when it is not a command."""
    match = re.match(r"\s*/([A-Za-z][\w.-]*)", payload)
    return match.group(1).lower() if match else None


def _find_command(commands: Any, name: str) -> Any:
    """A command's YAML body by canonical (lower-case) name."""
    if not isinstance(commands, Mapping):
        return None
    for key, body in commands.items():
        if str(key).lower() == name:
            return body
    return None


def _value_pos(node: Mapping[str, Any], key: str, default: Position | None) -> Position | None:
    return node.value_pos.get(key, default) if isinstance(node, LMap) else default
