"""`Call`: a command with typed arguments, ready to run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ..registry.model import CommandSpec
from ..syntax.tree import Invocation
from ..registry.types import to_json

__all__ = ["Call", "mask"]


def mask(value: Any) -> Any:
    """Mask a sensitive value: `****1234` keeps the last four characters of long values only."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [mask(item) for item in value]
    text = str(to_json(value))
    return "****" + text[-4:] if len(text) >= 12 else "****"


@dataclass(frozen=True, slots=True)
class Call:
    """A bound command: `command` is the canonical name, `args` Python values with defaults filled."""

    command: str
    args: Mapping[str, Any]
    spec: CommandSpec = field(repr=False, compare=False)
    invocation: Invocation | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        """`{"command": ..., "args": {...}}` in the JSON form of spec section 3."""
        return {"command": self.command, "args": {name: to_json(value) for name, value in self.args.items()}}

    def masked_args(self) -> dict[str, Any]:
        """The args' JSON form with sensitive arguments masked: for logs, state and sync."""
        sensitive = {spec.name for spec in self.spec.args if spec.sensitive}
        return {name: mask(value) if name in sensitive else to_json(value) for name, value in self.args.items()}
