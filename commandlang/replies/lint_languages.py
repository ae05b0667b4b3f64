"""Lint findings about a registry's languages (`settings.languages`), beside `replies/lint.py`'s template checks.

- `missing_template` (warning): a reply file the default language uses has no `templates/LANG/NAME`
  for a declared language (that language gets the default's file).
- `missing_translation` (warning): a command's summary, description, argument help, or inline
  confirm / ack / reply has no text for a declared language (it gets the default language's).
- `no_builtin_catalog` (warning): a declared language whose built-in texts (help, errors, Confirm /
  Cancel) do not ship: they are English for it.
- `money_needs_currency` (error): a template writes `| money` without a currency while
  `settings.currency` is unset; it would fail at run time (and send the default reply).
"""

from __future__ import annotations

import os
import re
from typing import Any, Iterator

from ..diagnostics import Diagnostic
from ..registry.languages import fallback_chain
from ..registry.model import CommandSpec, Position, RegistrySpec
from .i18n import has_catalog
from .render import is_template_file, language_file

__all__ = ["check_languages", "language_variants"]

#: `| money` not followed by `(`: the currency comes from nowhere in the template.
_MONEY_WITHOUT_CURRENCY = re.compile(r"\|\s*money\b(?!\s*\()")
_TEMPLATE_SUFFIXES = (".yaml", ".yml", ".j2")


def _finding(
    code: str, message: str, pos: Position | None, spec: RegistrySpec, *, hint: str, severity: str
) -> Diagnostic:
    return Diagnostic(
        code=code,
        message=message,
        file=(pos.file if pos and pos.file else None) or spec.path,
        line=pos.line if pos else None,
        column=pos.column if pos else None,
        hint=hint,
        severity=severity,  # type: ignore[arg-type]
    )


def language_variants(spec: RegistrySpec, command: CommandSpec) -> Iterator[tuple[str, CommandSpec]]:
    """Each declared language but the default, with the command's texts in it."""
    for language in spec.settings.languages[1:]:
        yield language, command.in_language(fallback_chain(language))


def _declared(command: CommandSpec) -> dict[str, Any]:
    return {
        "reply.success": command.reply.success,
        "reply.error": command.reply.error,
        "confirm": command.confirm,
        "ack": command.ack,
    }


def check_languages(spec: RegistrySpec, template_dir: str | None) -> list[Diagnostic]:
    """The findings listed in the module docstring."""
    found: list[Diagnostic] = []
    names = {"de": "German", "fr": "French", "es": "Spanish", "nl": "Dutch", "en": "English"}
    for language in spec.settings.languages:
        if not has_catalog(language):
            found.append(
                _finding(
                    "no_builtin_catalog",
                    f"settings.languages: the built-in texts (help, errors, Confirm / Cancel) are not translated "
                    f"into {language}; conversations in it get them in English",
                    None,
                    spec,
                    hint="Add commandlang/locale/" + language + "/LC_MESSAGES/commandlang.po (see docs/registry.md).",
                    severity="warning",
                )
            )
    for command in sorted(spec.commands.values(), key=lambda c: c.name):
        default = _declared(command)
        for language, localized in language_variants(spec, command):
            shown = names.get(language.split("-")[0], language)
            for part, value in _declared(localized).items():
                if value is None:
                    continue
                if is_template_file(value):
                    name = value.strip()
                    # a file named for this language alone is checked like any declared file (lint.py)
                    if value is default[part] and language_file(template_dir, name, language) is None:
                        found.append(
                            _finding(
                                "missing_template",
                                f"{command.name}: {part} has no {language} template: templates/{language}/{name} "
                                f"does not exist, so {shown} conversations get templates/{name}",
                                command.position,
                                spec,
                                hint=f"Create templates/{language}/{name}.",
                                severity="warning",
                            )
                        )
                elif value is default[part]:
                    found.append(_untranslated(spec, command, part, language))
            for part in ("summary", "description"):
                if getattr(command, part) and getattr(localized, part) is getattr(command, part):
                    found.append(_untranslated(spec, command, part, language))
            for arg, local_arg in zip(command.args, localized.args):
                if arg.help and local_arg.help is arg.help:
                    found.append(_untranslated(spec, command, f"args.{arg.name}.help", language))
    if spec.settings.currency is None:
        found.extend(_money_without_currency(spec, template_dir))
    return found


def _untranslated(spec: RegistrySpec, command: CommandSpec, part: str, language: str) -> Diagnostic:
    default = spec.settings.default_language
    return _finding(
        "missing_translation",
        f"{command.name}: {part} has no {language} text (conversations in {language} get the {default} one)",
        command.position,
        spec,
        hint=f"Write it per language: {part.split('.')[-1]}: {{{default}: ..., {language}: ...}}.",
        severity="warning",
    )


def _money_without_currency(spec: RegistrySpec, template_dir: str | None) -> list[Diagnostic]:
    """`| money` with no currency in the registry file or any template file (line and column exact)."""
    files = [spec.path] if spec.path and os.path.isfile(spec.path) else []
    if template_dir and os.path.isdir(template_dir):
        for root, _dirs, names in os.walk(template_dir):
            files += [os.path.join(root, n) for n in sorted(names) if n.endswith(_TEMPLATE_SUFFIXES)]
    found = []
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
        for number, line in enumerate(lines, start=1):
            code = line.split("#", 1)[0] if path == spec.path else line  # the registry's YAML comments
            for match in _MONEY_WITHOUT_CURRENCY.finditer(code):
                found.append(
                    Diagnostic(
                        code="money_needs_currency",
                        message="`money` has no currency here and settings.currency is not set",
                        file=path,
                        line=number,
                        column=match.start() + 1,
                        hint='Write money("EUR"), or set settings.currency: EUR in the registry.',
                    )
                )
    return found
