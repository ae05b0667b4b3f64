"""What a display needs to know about the registry's commands: each argument's type, list-ness, sensitivity.

The agent panel humanises arguments with it (a `duration` of 14400 is "4 h", a `decimal` "19.99" keeps its
digits, a `date` is written in the agent's language); a sync record carries only the values, and a count
and a number of seconds look alike. Nothing here is secret: no backend, template or default value.
"""

from __future__ import annotations

from typing import Any

from .model import RegistrySpec

__all__ = ["registry_outline"]


def registry_outline(spec: RegistrySpec) -> dict[str, Any]:
    """`{"commands": {name: {"summary", "usage", "read_only", "acks", "args": {arg: {"type", "list", "sensitive"}}}}}`."""
    commands: dict[str, Any] = {}
    for name, command in spec.commands.items():
        commands[name] = {
            "summary": command.summary,
            "usage": command.usage(),
            # Running it again changes nothing a customer or a backend would notice: no request, or a GET/HEAD.
            # The panel offers "Send to customer" after the fact only for these (sending means running again).
            "read_only": command.request is None or command.request.method.upper() in ("GET", "HEAD"),
            # The customer is told it is on its way while it runs (`ack:`): the panel says so on the card of a
            # command it did not run itself (the text is a template over the arguments, and stays out of here)
            "acks": command.ack is not None,
            "args": {
                arg.name: {"type": arg.type.name, "list": arg.type.is_list, "sensitive": arg.sensitive}
                for arg in command.args
            },
        }
    return {"commands": commands}
