"""commandlang: grammar-driven slash commands for customer-service chat.

    import commandlang
    registry = commandlang.load_registry("commands.yaml")
    call = registry.parse("/refund 12345 amount=19.99")   # None when not a command
    call.command, call.args, call.to_json()

See README.md for the language and the registry format.
"""

from .api import Registry, load_registry, parse_raw
from .binding.call import Call
from .diagnostics import CommandError, CommandlangError, Diagnostic, RegistryError, TemplateError
from .linting import lint_file
from .registry.complete import Suggestion
from .syntax.tree import Invocation

__version__ = "0.1.0"

__all__ = [
    "Call",
    "CommandError",
    "CommandlangError",
    "Diagnostic",
    "Invocation",
    "Registry",
    "RegistryError",
    "Suggestion",
    "TemplateError",
    "lint_file",
    "load_registry",
    "parse_raw",
]
