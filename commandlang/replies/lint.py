"""Lint for reply templates: what would fail at run time, found before a user sees it.

`check_templates(spec, template_dir)` reports, each at `file:line:col` of the
YAML string that holds the template (or the command when that is unknown):

- `template_missing`: a reply names a file in templates/ that does not exist
  (also a `$layout` or an `{% import %}`/`{% include %}` target);
- `template_syntax`: a Jinja syntax error (line inside the string added);
- `template_unknown_variable`: a top-level name that is not in the context
  (`args`, `result`, ... see `replies.context`), nor a `$for` variable;
- `template_unknown_name`: `args.X` the command does not declare, `result.X`
  against its `result:` (unchecked without one), a macro `_macros.j2` lacks;
- `template_unknown_filter`, `template_unknown_test` (`template_check`);
- `payload_incomplete` / `payload_invalid` / `reply_payload` (warnings): a
  choice whose payload would not bind, or names no command (`payload_check`);
- `template_raw_in_error`: `raw_args` in an error reply (never allowed);
- `reply_shape`: a key a reply cannot have, found statically or by rendering
  an example's canned backend answer;
- `reply_url`: a literal `url` or `image` that the URL rule refuses
  (`scrub.is_allowed_link`: https, or http to a loopback host), which the
  reply would drop at run time;
- `example_reply`: an example with a canned answer whose reply fails to render;
- `reply_limit` (warning): an example's reply that a channel would truncate.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Mapping

from ..binding.bind import Binder
from ..diagnostics import CommandError, Diagnostic, TemplateError
from ..registry.model import CommandSpec, Position, RegistrySpec
from ..registry.yamlsource import LList, LMap, read_yaml
from ..syntax.parser import SyntaxOptions, default_parser
from .context import KNOWN_VARIABLES, ReplyContext, context_for_answer
from .limits import GENESYS_LIMITS, TEXT_LIMITS, enforce_limits
from .model import REPLY_KEYS, ReplyShapeError
from .lint_languages import check_languages, language_variants
from .render import MACROS_FILE, ReplyRenderer, declared_reply, is_template_file
from .payload_check import PayloadChecker
from .scrub import Scrubber, is_allowed_link
from .template_check import Scope, check_source, file_position, macro_names
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
    checker.macros_file()
    for command in sorted(spec.commands.values(), key=lambda c: c.name):
        for kind in _KINDS:
            if checker.declared(command, kind):
                checker.broken.add((command.name, kind))  # already reported: not again per example
            for language, localized in language_variants(spec, command):  # its translations, checked alike
                checker.declared(localized, kind, language)
        checker.approval_condition(command)
        checker.examples(command)
    checker.found.extend(check_languages(spec, template_dir))
    return list(dict.fromkeys(checker.found))  # a shared file's structural findings once, not per command


class _Checker:
    def __init__(self, spec: RegistrySpec, template_dir: str | None) -> None:
        self.spec = spec
        self.template_dir = template_dir
        self.found: list[Diagnostic] = []
        self.seen: set[tuple[str, bool, str]] = set()  # (file, is_error, command) already checked
        self.command: CommandSpec | None = None  # the command whose reply is being checked
        self.failed_files: set[str] = set()  # files with errors, so every reply using them is broken
        self.broken: set[tuple[str, str]] = set()  # (command, kind) whose template has static errors
        self._lines: dict[str, list[str]] = {}
        self.current = ""  # the reply being checked, for messages
        self._registry_yaml: Any = None  # the registry re-read for positions, on first need
        self.binder = Binder(spec)
        self.parser = default_parser()
        self.options = SyntaxOptions(percent_decode=spec.settings.percent_decode, max_length=spec.settings.max_length)
        self.renderer = ReplyRenderer(
            template_dir=template_dir, scrubber=Scrubber.for_registry(spec), currency=spec.settings.currency
        )
        self.has_macros = bool(template_dir and os.path.exists(os.path.join(template_dir, MACROS_FILE)))
        self.templates, self.file_macros = _template_files(template_dir)
        self.payloads = PayloadChecker(spec, self.renderer.engine, self._macros_module())

    def _macros_module(self) -> Any:
        """_macros.j2 as templates see it, for rendering payloads; None when absent or broken (reported elsewhere)."""
        try:
            return self.renderer.macros()
        except Exception:  # noqa: BLE001 - a broken macros file must not stop lint; its own check reports it
            return None

    def macros_file(self) -> None:
        """_macros.j2 itself: its filters, tests and names (a broken one fails every reply that uses macros)."""
        if not self.has_macros:
            return
        path = os.path.join(self.template_dir, MACROS_FILE)  # type: ignore[arg-type]
        self.current, self.command = MACROS_FILE, None
        with open(path, encoding="utf-8") as handle:
            source = handle.read()
        self.string(source, Position(path, 1, 1), path, frozenset(), False)

    def report(
        self,
        code: str,
        message: str,
        pos: Position | None,
        file: str | None = None,
        *,
        severity: str = "error",
        hint: str | None = None,
    ) -> None:
        self.found.append(
            Diagnostic(
                code=code,
                message=message,
                file=(pos.file if pos and pos.file else file) or self.spec.path,
                line=pos.line if pos else None,
                column=pos.column if pos else None,
                hint=hint,
                severity=severity,  # type: ignore[arg-type]
            )
        )

    # -- declared templates ----------------------------------------------
    def declared(self, command: CommandSpec, kind: str, language: str | None = None) -> bool:
        """Check one declared reply (in `language`: its own file, `templates/de/NAME`, when there is one);
        True when it has errors (reported now or for a shared file before)."""
        value = declared_reply(command, kind)
        if value is None:
            return False
        where = f"{command.name}: {'reply.' + kind if kind in ('success', 'error') else kind}"
        self.current, self.command = where, command
        if is_template_file(value):
            name = self.renderer.localized_file(value.strip(), language)
            return self.file(name, kind == "error", where, self.declared_at(command, kind))
        pos = getattr(value, "pos", None) or self.declared_at(command, kind)
        before = len(self.found)
        self.walk(value, pos, None, frozenset(), kind == "error", top=True, where=where)
        return any(d.severity == "error" for d in self.found[before:])

    def approval_condition(self, command: CommandSpec) -> None:
        """`approve.when`: an expression over the command's arguments, checked like a `$when`."""
        if command.approve is None or command.approve.when is None:
            return
        self.current, self.command = f"{command.name}: approve.when", command
        when = command.approve.when
        pos = command.approve.when_position or command.approve.position
        if _SINGLE_EXPRESSION.match(when.strip()):
            self.string(when, pos, None, frozenset(), False)
        else:
            self.expression(when, pos, None, frozenset(), False)

    def declared_at(self, command: CommandSpec, kind: str) -> Position | None:
        """Where `reply.success` / `confirm` / ... of a command is written (the spec keeps only the command's place)."""
        if self._registry_yaml is None:
            self._registry_yaml = (
                read_yaml(self.spec.path)[0] if self.spec.path and os.path.isfile(self.spec.path) else {}
            )
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
            self.report(
                "template_missing",
                f"{where} names templates/{name}, which does not exist",
                pos,
                hint=f"Create it in {self.template_dir or 'templates/ next to the registry'}.",
            )
            return True
        # A file shared by commands is checked once per command: `args.X` resolves against each one's arguments.
        seen = (path, is_error, self.command.name if self.command else "")
        if seen in self.seen:
            return path in self.failed_files
        self.seen.add(seen)
        before = len(self.found)
        structure, problems = read_yaml(path)
        self.found.extend(problems)
        if structure is None:
            self.failed_files.add(path)
            return True
        if isinstance(structure, LMap) and "$layout" in structure:
            if depth < 3 and self.file(
                str(structure["$layout"]), is_error, f"{name}: $layout", structure.value_pos["$layout"], depth + 1
            ):
                self.failed_files.add(path)
        self.walk(structure, getattr(structure, "pos", None), path, frozenset(), is_error, top=True, where=name)
        if any(d.severity == "error" for d in self.found[before:]):
            self.failed_files.add(path)
        return path in self.failed_files

    def walk(
        self,
        node: Any,
        pos: Position | None,
        file: str | None,
        scope: frozenset[str],
        is_error: bool,
        *,
        top: bool = False,
        where: str = "",
        list_key: str | None = None,
    ) -> None:
        """Check a reply structure: its keys, every string, every payload; not what a `$when` always drops."""
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
                    self.report(
                        "template_syntax", f"$for must read `name in expression`, got {node['$for']!r}", where_for, file
                    )
                else:
                    self.expression(loop.group("expr"), where_for, file, scope, is_error, offset=loop.start("expr"))
                    inner = scope | {loop.group("name")}
            if "$when" in node and isinstance(node["$when"], str):
                condition = node["$when"]
                if _SINGLE_EXPRESSION.match(condition.strip()):
                    self.string(condition, _value_pos(node, "$when", pos), file, inner, is_error)
                else:
                    self.expression(condition, _value_pos(node, "$when", pos), file, inner, is_error)
                if self.command is not None and self.payloads.never((condition,), self.command, inner):
                    return  # dropped for this command whatever the run holds (`command.name == 'status'`): nothing to check
            if "payload" in node:
                self.payload(node, pos, file, inner)
            for key, value in node.items():
                if key in ("$when", "$for", "$layout"):
                    continue
                if (
                    key in _URL_KEYS
                    and isinstance(value, str)
                    and "{" not in value
                    and not is_allowed_link(value.strip())
                ):
                    self.report(
                        "reply_url",
                        f"{key} {value!r} would be dropped: a reply sends only https links "
                        "(http only to a loopback host)",
                        _value_pos(node, key, pos),
                        file,
                    )
                self.walk(
                    value,
                    _value_pos(node, key, pos),
                    file,
                    inner,
                    is_error,
                    list_key=key if isinstance(value, list) else None,
                )
            return
        if isinstance(node, list):
            for index, item in enumerate(node):
                item_pos = node.item_pos[index] if isinstance(node, LList) else pos
                self.walk(item, item_pos, file, scope, is_error, list_key=list_key)

    def keys(
        self, node: Mapping[str, Any], allowed: tuple[str, ...], pos: Position | None, file: str | None, where: str
    ) -> None:
        for key in node:
            if key not in allowed:
                key_pos = node.key_pos.get(key, pos) if isinstance(node, LMap) else pos
                self.report(
                    "reply_shape",
                    f"{where}: unknown key {key!r}",
                    key_pos,
                    file,
                    hint="Allowed: " + ", ".join(k for k in allowed if not k.startswith("$")),
                )

    def expression(
        self,
        source: str,
        pos: Position | None,
        file: str | None,
        scope: frozenset[str],
        is_error: bool,
        offset: int = 0,
    ) -> None:
        """A bare expression (`$for`'s, `$when`'s) that starts `offset` characters into its YAML string."""
        self.string("{{ " + source + " }}", pos, file, scope, is_error, offset=offset - 3)

    def string(
        self,
        source: str,
        pos: Position | None,
        file: str | None,
        scope: frozenset[str],
        is_error: bool,
        offset: int = 0,
    ) -> None:
        """Check one template string statically (`template_check`), each finding at its place in the file."""
        if "{" not in source:
            return
        lines = self.file_lines(pos.file if pos and pos.file else file)
        for finding in check_source(source, self.scope(scope, is_error)):
            at = file_position(pos, lines, finding.line, finding.column + (offset if finding.line == 1 else 0))
            code, message = finding.code, f"{self.current}: {finding.message}"
            if code == "template_unknown_variable" and finding.message == "unknown variable 'raw_args'" and is_error:
                code, message = (
                    "template_raw_in_error",
                    f"{self.current}: raw_args is not available in error replies (secrets stay masked)",
                )
                finding = dataclasses.replace(finding, hint="Use args, which holds the masked values.")
            elif code == "template_unknown_variable" and finding.message == "unknown variable 'macros'":
                code, message = "template_missing", f"macros is used but templates/{MACROS_FILE} does not exist"
            self.report(code, message, at, file, hint=finding.hint)

    def scope(self, loop_names: frozenset[str], is_error: bool) -> Scope:
        """What a string of the current command's `kind` reply may read."""
        command = self.command
        variables = set(KNOWN_VARIABLES) | loop_names
        if is_error:
            variables.discard("raw_args")
        if not self.has_macros:
            variables.discard("macros")
        fields: dict[str, frozenset[str]] = {
            "command": frozenset({"name", "summary", "usage"}),
            "user": frozenset({"id", "role"}),
        }
        if is_error:
            fields["error"] = frozenset({"code", "message"})
        if command is not None:
            names = frozenset(a.name for a in command.args)
            fields["args"] = names
            if not is_error:
                fields["raw_args"] = names
            if command.result is not None:
                fields["result"] = frozenset(command.result)
        if self.has_macros:
            fields["macros"] = self.file_macros.get(MACROS_FILE, frozenset())
        return Scope(
            variables=frozenset(variables - loop_names) | loop_names,
            fields=fields,
            filters=frozenset(self.renderer.engine.env.filters),
            tests=frozenset(self.renderer.engine.env.tests),
            templates=self.templates,
            file_macros=self.file_macros,
        )

    def payload(
        self, node: Mapping[str, Any], pos: Position | None, file: str | None, loop_names: frozenset[str]
    ) -> None:
        """A choice's payload: does what it sends bind? (`payload_check`)"""
        payload = node.get("payload")
        if self.command is None or not isinstance(payload, str):
            return
        finding = self.payloads.check(payload, self.command, loop_names)
        if finding is not None:
            label = node.get("label")
            what = f"{label!r}" if isinstance(label, str) else "a choice"
            self.report(
                finding.code,
                f"{self.current}: {what} {finding.message}",
                _value_pos(node, "payload", pos),
                file,
                severity="warning",
                hint="A button cannot ask for more: send a command that runs as it is, "
                "or /help NAME to show how to run it.",
            )

    def file_lines(self, path: str | None) -> list[str]:
        """The lines of a registry or template file, for positions inside its strings."""
        if not path:
            return []
        if path not in self._lines:
            try:
                with open(path, encoding="utf-8") as handle:
                    self._lines[path] = handle.read().splitlines()
            except OSError:
                self._lines[path] = []
        return self._lines[path]

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

    def example_reply(
        self, command: CommandSpec, kind: str, context: ReplyContext, pos: Position | None, text: str
    ) -> None:
        try:
            reply = self.renderer.render(command, kind, context, strict=True)  # type: ignore[arg-type]
        except TemplateError as exc:
            self.report(
                "example_reply",
                f"{command.name}: the {kind} reply to example {text!r} fails: {exc.diagnostic.message}",
                pos,
            )
            return
        except ReplyShapeError as exc:
            self.report(
                "reply_shape", f"{command.name}: the {kind} reply to example {text!r} is not a valid reply: {exc}", pos
            )
            return
        except Exception as exc:  # noqa: BLE001 - a broken _macros.j2 and the like: a finding, never a traceback
            message = getattr(exc, "message", None) or str(exc)
            self.report("example_reply", f"{command.name}: the {kind} reply to example {text!r} fails: {message}", pos)
            return
        for limits in (GENESYS_LIMITS, TEXT_LIMITS):
            for warning in enforce_limits(reply, limits)[1]:
                self.report(
                    "reply_limit",
                    f"{command.name}: the {kind} reply to example {text!r} on {limits.channel}: {warning}",
                    pos,
                    severity="warning",
                )


def _template_files(template_dir: str | None) -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    """The files under templates/ (as an import names them) and the macros each `.j2` file defines."""
    names: set[str] = set()
    macros: dict[str, frozenset[str]] = {}
    if not template_dir or not os.path.isdir(template_dir):
        return frozenset(), macros
    for root, _dirs, files in os.walk(template_dir):
        for name in files:
            relative = os.path.relpath(os.path.join(root, name), template_dir).replace(os.sep, "/")
            names.add(relative)
            if name.endswith(".j2"):
                try:
                    with open(os.path.join(root, name), encoding="utf-8") as handle:
                        macros[relative] = macro_names(handle.read())
                except (OSError, UnicodeDecodeError):
                    macros[relative] = frozenset()
    return frozenset(names), macros


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
