"""Diagnostics and the exceptions that carry them.

One `Diagnostic` value describes every problem commandlang finds, whether in a
chat message (the parser and the binder) or in a registry (the loader and
lint). Errors are values first; exceptions only carry them.

`CommandError`, `RegistryError` and `TemplateError` carry diagnostics; they
hang under `CommandlangError`, whose whole tree is drawn in `commandlang.errors`.

Lines and columns are 1-based. For chat text, `line` is always 1 and `column`
counts characters of the text the user sent (before normalisation).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from .errors import CommandlangError
from .texts import MessageText

__all__ = [
    "Diagnostic",
    "Severity",
    "CommandlangError",
    "CommandError",
    "RegistryError",
    "TemplateError",
]

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem: what (`code`, `message`), where (`file`, `line`, `column`) and how to fix it (`hint`)."""

    code: str
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    hint: str | None = None
    severity: Severity = "error"
    argument: str | None = None
    # What the author or user probably meant, in full (e.g. command names for `unknown_command`): a
    # reply offers each as a quick reply. Left out of `to_json` when empty.
    suggestions: tuple[str, ...] = ()
    # The message and hint as translatable texts (`commandlang.texts`), for a chat reply in another
    # language; `message` and `hint` stay the English text everywhere else. Not part of equality or JSON.
    text: MessageText | None = field(default=None, repr=False, compare=False)
    hint_text: MessageText | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, code: str, text: MessageText, hint: MessageText | str | None = None, **fields: Any) -> "Diagnostic":
        """A diagnostic whose message (and hint, unless it is plain text such as a usage line) can be translated."""
        hint_text = hint if isinstance(hint, MessageText) else None
        return cls(
            code=code,
            message=str(text),
            hint=str(hint) if hint is not None else None,
            text=text,
            hint_text=hint_text,
            **fields,
        )

    def location(self) -> str:
        """`path:line:col` as compilers and linters print it (missing parts left out)."""
        parts = [self.file or "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def format_line(self) -> str:
        """The ruff/flake8 style line lint prints: `path:line:col: CODE message`."""
        text = f"{self.location()}: {self.code} {self.message}"
        if self.hint:
            text += f" (hint: {self.hint})"
        return text

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict of every field (`suggestions` only when there are some)."""
        data = asdict(self)
        del data["text"], data["hint_text"]
        if not self.suggestions:
            del data["suggestions"]
        else:
            data["suggestions"] = list(self.suggestions)
        return data


class CommandError(CommandlangError):
    """A chat message that names a command but cannot run as written."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


class RegistryError(CommandlangError):
    """A registry (commands.yaml) that cannot be used; `.diagnostics` says why."""

    def __init__(self, diagnostics: tuple[Diagnostic, ...] | list[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        first = self.diagnostics[0].format_line() if self.diagnostics else "invalid registry"
        more = len(self.diagnostics) - 1
        super().__init__(first + (f" (and {more} more)" if more > 0 else ""))


class TemplateError(CommandlangError):
    """A template that fails to render at run time (an author's mistake, not the user's)."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic
