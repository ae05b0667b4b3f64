"""Where a reply's choices lead: every quick reply, button or card-action payload bound at lint time.

A payload is usually a template (`/status {{ args.order }}`). It is rendered
with *probes* in place of what only the run knows (arguments, the backend's
answer, the user): a probe prints as a placeholder word, and whatever
argument that word lands in is taken to hold a valid value of its type. The
text is then parsed and bound against the registry: a missing argument, an
unknown option, a positional too many or a literal value that does not
convert is what the customer would meet on pressing the button.

A `$when` is evaluated the same way, except that anything depending on a
probe counts as "maybe": only a condition false for every run (say
`command.name == 'status'` in a shared error reply) skips the payload.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Iterable

from ..binding.bind import Binder
from ..diagnostics import CommandError
from ..registry.model import CommandSpec, RegistrySpec, TypeSpec
from ..syntax.parser import SyntaxOptions, default_parser
from ..syntax.tree import Invocation, ListValue
from .context import command_info
from .templates import _SINGLE_EXPRESSION, TemplateEngine

__all__ = ["PayloadChecker", "PayloadFinding"]

_WORD = "zqprobez"  # what a probe prints as: a bare word no registry value is likely to hold
_BUILT_IN = frozenset({"help", "confirm", "cancel", "approve", "deny"})  # answered by the runtime itself


class _Maybe(Exception):
    """A `$when` depends on what only the run knows."""


class _Probe:
    """Stands for any value of the run; in strict mode (for `$when`) any question about it is unanswerable."""

    def __init__(self, strict: bool) -> None:
        self._strict = strict

    def __getattr__(self, name: str) -> "_Probe":
        if name.startswith("_"):
            raise AttributeError(name)
        return self

    def __getitem__(self, key: Any) -> "_Probe":
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> "_Probe":
        return self

    def __str__(self) -> str:
        return _WORD

    def __bool__(self) -> bool:
        if self._strict:
            raise _Maybe()
        return True  # a payload is checked with its optional parts present

    def __iter__(self) -> Any:
        if self._strict:
            raise _Maybe()
        return iter(())

    def __eq__(self, other: object) -> bool:
        if self._strict:
            raise _Maybe()
        return False

    __hash__ = object.__hash__

    def __lt__(self, other: object) -> bool:
        if self._strict:
            raise _Maybe()
        return False

    __le__ = __gt__ = __ge__ = __lt__

    def __contains__(self, item: object) -> bool:
        if self._strict:
            raise _Maybe()
        return False


@dataclass(frozen=True, slots=True)
class PayloadFinding:
    """A payload that would not run: code `payload_incomplete` (a missing argument), `payload_invalid` or `reply_payload`."""

    code: str
    message: str
    argument: str | None = None


def _loose(spec: RegistrySpec) -> RegistrySpec:
    """The registry with every non-bool argument a plain unconstrained `str`: binds whatever a probe stands for."""
    commands = {}
    for name, command in spec.commands.items():
        args = tuple(
            arg
            if arg.type.name == "bool"
            else dataclasses.replace(
                arg,
                type=TypeSpec("str", arg.type.is_list),
                min=None,
                max=None,
                min_length=None,
                max_length=None,
                pattern=None,
                choices=None,
                default=None,
            )
            for arg in command.args
        )
        commands[name] = dataclasses.replace(command, args=args)
    return dataclasses.replace(spec, commands=MappingProxyType(commands))


class PayloadChecker:
    """Binds reply payloads of one registry; build one per registry."""

    def __init__(self, spec: RegistrySpec, engine: TemplateEngine, macros: Any = None) -> None:
        self.spec = spec
        self.engine = engine
        self.macros = macros
        self.binder = Binder(spec)
        self.loose = Binder(_loose(spec))
        self.parser = default_parser()
        self.options = SyntaxOptions(percent_decode=spec.settings.percent_decode, max_length=spec.settings.max_length)

    def variables(self, command: CommandSpec, loop_names: Iterable[str], strict: bool) -> dict[str, Any]:
        """The context a payload is rendered with: the command's own name, probes for the rest."""
        probe = _Probe(strict)
        variables: dict[str, Any] = {
            "args": {arg.name: probe for arg in command.args},
            "raw_args": {arg.name: probe for arg in command.args},
            "result": probe,
            "status": probe,
            "error": {"code": probe, "message": probe},
            "command": command_info(command),
            "user": {"id": probe, "role": probe},
            "conversation_id": probe,
            "confirm_token": probe,
            "loop_index": probe,
        }
        if self.macros is not None:
            variables["macros"] = self.macros
        variables.update({name: probe for name in loop_names})
        return variables

    def never(self, conditions: Iterable[str], command: CommandSpec, loop_names: Iterable[str]) -> bool:
        """True when one of the `$when` conditions is false whatever the run holds."""
        variables = self.variables(command, loop_names, strict=True)
        for condition in conditions:
            single = _SINGLE_EXPRESSION.match(condition.strip())
            try:
                if not self.engine.compile_expression(single.group("expr") if single else condition)(**variables):
                    return True
            except Exception:  # noqa: BLE001 - _Maybe, or a template error the name check reports
                continue
        return False

    def check(self, payload: str, command: CommandSpec, loop_names: Iterable[str] = ()) -> PayloadFinding | None:
        """What pressing a choice that sends `payload` would fail with; None when it binds (or is not a command)."""
        try:
            text = (
                self.engine.compile_string(payload).render(self.variables(command, loop_names, strict=False))
                if "{" in payload
                else payload
            )
            invocation = self.parser.parse(text, self.options)
        except Exception:  # noqa: BLE001 - a template or syntax problem is reported by the other checks
            return None
        if invocation is None or _WORD in invocation.name:
            return None
        shown = text.strip().replace(_WORD, "…")  # a probe reads as "some value" to the author
        if invocation.name in _BUILT_IN:
            return self._built_in(invocation)
        try:
            self.loose.bind(invocation)
        except CommandError as exc:
            code = exc.diagnostic.code
            if code == "unknown_command":
                return PayloadFinding(
                    "reply_payload", f"sends /{invocation.name}, which is not a command of this registry"
                )
            name = f"/{invocation.name}"
            if code == "missing_argument":
                return PayloadFinding(
                    "payload_incomplete",
                    f"sends {shown!r}, but {name} needs {exc.diagnostic.argument}",
                    exc.diagnostic.argument,
                )
            return PayloadFinding(
                "payload_invalid", f"sends {shown!r}, which fails: {exc.diagnostic.message}", exc.diagnostic.argument
            )
        try:
            self.binder.bind(invocation)
        except CommandError as exc:
            if not _from_probe(invocation, exc.diagnostic.column):
                return PayloadFinding(
                    "payload_invalid",
                    f"sends {shown!r}, which fails: {exc.diagnostic.message}",
                    exc.diagnostic.argument,
                )
        return None

    def _built_in(self, invocation: Invocation) -> PayloadFinding | None:
        if invocation.name != "help" or not invocation.positionals:
            return None
        first = invocation.positionals[0].value
        name = " ".join(first.texts) if isinstance(first, ListValue) else first.text
        if (
            _WORD in name
            or self.spec.resolve(name.lower()) is not None
            or "." in name
            or any(c.startswith(name.lower() + ".") for c in self.spec.commands)
        ):
            return None
        return PayloadFinding("reply_payload", f"sends /help {name}, but {name} is not a command of this registry")


def _from_probe(invocation: Invocation, column: int | None) -> bool:
    """True when the error's column falls in a value a probe filled (its real value is only known at run time)."""
    if column is None:
        return True
    for item in invocation.items:
        value = getattr(item, "value", None)
        if value is None or isinstance(value, bool):
            continue
        if item.start < column <= item.end + 1:
            texts = value.texts if isinstance(value, ListValue) else [value.text]
            return any(_WORD in text for text in texts)
    return False
