"""The Python API: `load_registry`, `Registry.parse`, `parse_raw` (spec section 4)."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import date
from typing import Any, Mapping

from .binding.bind import Binder
from .binding.call import Call
from .diagnostics import CommandError, Diagnostic, RegistryError
from .linting import ExtraCheck, lint_file
from .registry.complete import Completer, Completion, Suggestion
from .registry.languages import fallback_chain, resolve_language
from .registry.model import RegistrySpec, Roles
from .registry.types import Today
from .syntax.parser import SyntaxOptions, default_parser
from .syntax.tree import Invocation, Option

__all__ = ["Registry", "load_registry", "parse_raw"]


class Registry:
    """A loaded, valid registry: parses chat text into typed `Call`s."""

    def __init__(self, spec: RegistrySpec, warnings: tuple[Diagnostic, ...] = ()) -> None:
        self.spec = spec
        self.warnings = warnings
        self._binder = Binder(spec)
        self._parser = default_parser()
        self._options = SyntaxOptions(percent_decode=spec.settings.percent_decode, max_length=spec.settings.max_length)
        self._completer = Completer(spec)
        # one per declared language asked for, made on first use (their summaries and help translated)
        self._completers: dict[str, Completer] = {}

    def parse_invocation(self, text: str) -> Invocation | None:
        """The untyped invocation, with this registry's settings; None when not a command."""
        return self._parser.parse(text, self._options)

    def bind(
        self, invocation: Invocation, *, role: Roles = None, today: date | None = None, language: str | None = None
    ) -> Call:
        return self._binder.bind(invocation, role=role, today=Today(today) if today else None, language=language)

    def parse(
        self, text: str, *, role: Roles = None, today: date | None = None, language: str | None = None
    ) -> Call | None:
        """Parse and bind chat text: a `Call`, None when the text is not a command.

        Raises `CommandError` (with `.diagnostic`) when it names a command but
        cannot run as written. `role` (a role, or the set a person holds) is checked when given;
        `today` anchors `today`/`tomorrow`/`yesterday` (default: the local date); `language` (one of
        `settings.languages`) lets decimals be typed the local way (`19,99` in German).
        """
        invocation = self._parser.parse(text, self._options)
        if invocation is None:
            return None
        return self._binder.bind(invocation, role=role, today=Today(today) if today else None, language=language)

    def complete(
        self, text: str, cursor: int | None = None, *, role: str | None = None, language: str | None = None
    ) -> list[Suggestion]:
        """Suggestions at `cursor` (a character offset, default: the end) for `role` (agent|customer;
        None: every role): commands and aliases, argument names, choices, typed placeholders.

        Each `Suggestion.insert` replaces the current token (`completion` says where it starts). Pure
        and fast enough for every keystroke; never raises, whatever the text or the cursor. `language`
        (any tag; resolved against `settings.languages`, `de-CH` -> `de`) gives the details in that
        language where the registry translates a command's `summary` or an argument's `help`; the
        names, inserts and usage lines never change with it.
        """
        return list(self.completion(text, cursor, role=role, language=language).suggestions)

    def completion(
        self, text: str, cursor: int | None = None, *, role: str | None = None, language: str | None = None
    ) -> Completion:
        """`complete` with the replaced span (`start`, `end`) and the usage line of the command typed."""
        return self._completer_in(language).complete(text, cursor, role)

    def _completer_in(self, language: str | None) -> Completer:
        languages = self.spec.settings.languages
        tag = resolve_language(language, languages)  # the default language when `language` is None
        if not languages or tag == languages[0]:
            return self._completer
        completer = self._completers.get(tag)
        if completer is None:  # at most one per declared language
            chain = fallback_chain(tag)
            commands = {name: command.in_language(chain) for name, command in self.spec.commands.items()}
            completer = self._completers[tag] = Completer(replace(self.spec, commands=commands))
        return completer


def load_registry(
    path: str | os.PathLike[str] = "commands.yaml",
    *,
    env: Mapping[str, str] | None = None,
    extra_checks: tuple[ExtraCheck, ...] = (),
) -> Registry:
    """Load, lint and build a registry; `RegistryError(.diagnostics)` when it has errors.

    `env` is the environment for `${VAR}` (default: `os.environ`). Warnings do
    not stop loading; they are kept on `Registry.warnings`.
    """
    spec, found = lint_file(os.fspath(path), env, extra=extra_checks)
    errors = [d for d in found if d.severity == "error"]
    if spec is None or errors:
        raise RegistryError(errors or found)
    return Registry(spec, tuple(found))


def parse_raw(text: str, *, percent_decode: bool = False, max_length: int = 4000) -> dict[str, Any] | None:
    """The untyped invocation of `commandlang parse --raw` as JSON data; None when not a command.

    Raises `CommandError` on a syntax error (and `duplicate_option` when a
    scalar option is repeated).
    """
    invocation = default_parser().parse(text, SyntaxOptions(percent_decode=percent_decode, max_length=max_length))
    if invocation is None:
        return None
    try:
        return invocation.raw_json()
    except ValueError as exc:
        item = exc.args[0]
        key = item.key if isinstance(item, Option) else item.name
        hint = "Give it once, or use a list: key=[a, b]." if isinstance(item, Option) else "Give it once."
        raise CommandError(
            Diagnostic(
                "duplicate_option",
                f"{key} is given more than once.",
                line=1,
                column=item.span.column,
                hint=hint,
                argument=key,
            )
        ) from None
