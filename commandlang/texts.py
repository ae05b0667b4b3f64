"""Built-in texts as message ids with parameters, so a reply can show them in the conversation's language.

The pure stages (syntax, registry, binding) build their messages in English:
the CLI, `--json` output, logs and stored records use that English text, which
never changes with the language. Each diagnostic also keeps the same message
as a `MessageText`: its English template (the gettext msgid, with `{name}`
placeholders) and its parameters, so the replies stage can translate it
(`commandlang.replies.i18n`) for the chat user.

Every template is written through `N_` (gettext's "no-op" marker) at the
place it is used, so the catalog test finds each one in the source with
Babel's extractor and checks every shipped catalog translates it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union

__all__ = ["N_", "MessageText", "Alternatives", "msg", "Param"]


def N_(template: str) -> str:
    """Mark `template` as a built-in text to translate; returns it unchanged (the English text)."""
    return template


@dataclass(frozen=True, slots=True)
class Alternatives:
    """Names joined with the language's "or": `/refund or /rf`."""

    items: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MessageText:
    """An English template and its parameters; `str()` gives the English text."""

    template: str
    params: tuple[tuple[str, "Param"], ...] = ()

    def render(self, gettext: Callable[[str], str]) -> str:
        """The text in the language of `gettext` (a translated template falls back to English when it breaks)."""
        values = {name: _value(value, gettext) for name, value in self.params}
        translated = gettext(self.template)
        try:
            return translated.format(**values)
        except (KeyError, IndexError, ValueError):  # a broken translation must not hide the message
            return self.template.format(**values)

    def __str__(self) -> str:
        return self.render(lambda text: text)


Param = Union[str, int, MessageText, Alternatives]

#: How "or" joins alternatives: translated like any other text.
OR = N_(" or ")


def _value(value: Param, gettext: Callable[[str], str]) -> str:
    if isinstance(value, MessageText):
        return value.render(gettext)
    if isinstance(value, Alternatives):
        return gettext(OR).join(value.items)
    return str(value)


def msg(template: str, **params: Param) -> MessageText:
    """`msg(N_("/{command} has no option {option}."), command="refund", option="amout")`."""
    return MessageText(template, tuple(params.items()))
