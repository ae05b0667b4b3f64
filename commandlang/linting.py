"""Lint: checks that look across a registry (backends, path placeholders,
subcommands, examples that must parse and bind, templates).

It composes the pipeline's pure stages, so it sits above them: `lint_spec`
runs after the loader; `lint_file` runs both and is what `commandlang lint`,
`load_registry` and hot reload use.
"""

from __future__ import annotations

import re
from typing import Callable, Mapping

from .binding.bind import Binder
from .diagnostics import CommandError, Diagnostic, Severity
from .registry.loader import load_spec
from .registry.model import Position, RegistrySpec
from .syntax.parser import SyntaxOptions, default_parser

__all__ = ["lint_file", "lint_spec", "ExtraCheck"]

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")

#: Further checks (the replies add template checks) take the spec and return findings.
ExtraCheck = Callable[[RegistrySpec], list[Diagnostic]]


def _at(
    spec: RegistrySpec,
    pos: Position | None,
    code: str,
    message: str,
    *,
    hint: str | None = None,
    severity: Severity = "error",
) -> Diagnostic:
    return Diagnostic(
        code=code,
        message=message,
        file=pos.file if pos else spec.path,
        line=pos.line if pos else None,
        column=pos.column if pos else None,
        hint=hint,
        severity=severity,
    )


def lint_spec(spec: RegistrySpec) -> list[Diagnostic]:
    """Cross-node checks of a built spec."""
    found: list[Diagnostic] = []
    for command in spec.commands.values():
        request = command.request
        if request is not None:
            if request.backend not in spec.backends:
                known = ", ".join(sorted(spec.backends)) or "none are declared"
                found.append(
                    _at(
                        spec,
                        request.backend_position or request.position,
                        "unknown_backend",
                        f"{command.name}: request.backend {request.backend!r} is not declared under backends",
                        hint=f"backends: {known}",
                    )
                )
            for placeholder in _PLACEHOLDER.findall(request.path or ""):
                if command.arg(placeholder.strip()) is None:
                    found.append(
                        _at(
                            spec,
                            request.position,
                            "unknown_placeholder",
                            f"{command.name}: request.path placeholder {{{placeholder}}} names no argument",
                            hint="Use {name} of a declared argument.",
                        )
                    )
        head, _, tail = command.name.rpartition(".")
        parent = spec.commands.get(head) if head else None
        if parent is not None and parent.positionals:
            found.append(
                _at(
                    spec,
                    command.position,
                    "ambiguous_subcommand",
                    f"/{head} {tail} runs {command.name}, so /{head} can never take {tail!r} as its "
                    f"{parent.positionals[0].name}",
                    severity="warning",
                    hint=f"Rename {command.name}, or give /{head} options instead of positionals.",
                )
            )

    binder = Binder(spec)
    parser = default_parser()
    options = SyntaxOptions(percent_decode=spec.settings.percent_decode, max_length=spec.settings.max_length)
    for command in spec.commands.values():
        for example in command.examples:
            expected_error = (example.expect or {}).get("error")
            try:
                invocation = parser.parse(example.input, options)
                if invocation is None:
                    found.append(
                        _at(
                            spec,
                            example.position,
                            "example_error",
                            f"{command.name}: example {example.input!r} is not a command",
                            hint="Examples start with /name.",
                        )
                    )
                    continue
                call = binder.bind(invocation, role=example.role)
            except CommandError as exc:
                if exc.diagnostic.code != expected_error:
                    found.append(
                        _at(
                            spec,
                            example.position,
                            "example_error",
                            f"{command.name}: example {example.input!r} fails: {exc.diagnostic.message}",
                            hint=exc.diagnostic.hint,
                        )
                    )
                continue
            if expected_error:
                found.append(
                    _at(
                        spec,
                        example.position,
                        "example_error",
                        f"{command.name}: example {example.input!r} should fail with {expected_error} but binds",
                    )
                )
            elif call.command != command.name:
                found.append(
                    _at(
                        spec,
                        example.position,
                        "example_error",
                        f"{command.name}: example {example.input!r} runs /{call.command} instead",
                    )
                )
    return found


def lint_file(
    path: str, env: Mapping[str, str] | None = None, *, extra: tuple[ExtraCheck, ...] = (), text: str | None = None
) -> tuple[RegistrySpec | None, list[Diagnostic]]:
    """Load and check one registry file; the spec is None when it cannot be built at all."""
    spec, found = load_spec(path, env, text=text)
    if spec is None:
        return None, found
    found = found + lint_spec(spec)
    for check in extra:
        found.extend(check(spec))
    found = list(dict.fromkeys(found))  # a check passed in `extra` too (template checks) reports once
    found.sort(key=lambda d: (d.file or "", d.line or 0, d.column or 0, d.code))
    return spec, found
