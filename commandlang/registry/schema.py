"""The JSON Schema of commands.yaml, for editors (yaml-language-server) and for lint.

The loader takes its lists of known keys from here (`known_keys`), so the
schema an editor uses and the keys lint accepts cannot drift apart; a test
validates registries against both.
"""

from __future__ import annotations

from typing import Any

from .model import ARG_TYPES

__all__ = ["registry_schema", "known_keys"]

_DURATION = {
    "description": "Seconds, or a duration like 500ms, 5s, 2m, 1h, 1d",
    "anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": r"^\s*[0-9.]+\s*(ms|s|m|h|d)?\s*$"}],
}
_TYPE_NAMES = list(ARG_TYPES) + [f"list[{t}]" for t in ARG_TYPES]
#: A `result:` field has an argument's type, or `object` / `list[object]` for structured values (not checked inside).
_RESULT_TYPES = _TYPE_NAMES + ["object", "list[object]"]
_TEMPLATE = {"description": "A Jinja template string, or a YAML structure whose strings are templates"}
_REPLY = {
    "description": "A template file in templates/, an inline reply mapping, or a mapping of language to either",
    "anyOf": [{"type": "string"}, {"type": "object"}],
}

#: A text in the default language, or one per declared language (`{en: ..., de: ...}`).
_LOCALIZED_TEXT = {
    "description": "Text, or a mapping of language (from settings.languages) to text",
    "anyOf": [
        {"type": "string"},
        {
            "type": "object",
            "propertyNames": {"pattern": "^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$"},
            "additionalProperties": {"type": "string"},
        },
    ],
}

_DEFINITIONS: dict[str, Any] = {
    "settings": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "percent_decode": {"type": "boolean", "default": False},
            "unknown_command": {"enum": ["reply", "ignore"], "default": "reply"},
            "max_length": {"type": "integer", "minimum": 1, "maximum": 100000, "default": 4000},
            "languages": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string", "pattern": "^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$"},
                "default": ["en"],
                "description": "BCP 47 language tags (en, de, fr-ca); the first is the default",
            },
            "currency": {
                "type": "string",
                "pattern": "^[A-Z]{3}$",
                "description": "ISO 4217 code the money filter uses when a template gives none",
            },
        },
    },
    "auth": {
        "type": "object",
        "additionalProperties": False,
        "required": ["type"],
        "properties": {"type": {"enum": ["none", "bearer", "genesys"]}, "token": {"type": "string"}},
    },
    "retry": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "attempts": {"type": "integer", "minimum": 1, "maximum": 10},
            "on": {"type": "array", "items": {"type": "integer", "minimum": 400, "maximum": 599}},
            "backoff": _DURATION,
            "max_backoff": _DURATION,
        },
    },
    "backend": {
        "type": "object",
        "additionalProperties": False,
        "required": ["base_url"],
        "properties": {
            "base_url": {"type": "string", "description": "http(s) URL; ${VAR} and ${VAR:-default} are expanded"},
            "timeout": _DURATION,
            "headers": {"type": "object", "additionalProperties": {"type": "string"}},
            "auth": {"$ref": "#/definitions/auth"},
            "retry": {"$ref": "#/definitions/retry"},
            "max_response_bytes": {
                "type": "integer",
                "minimum": 1,
                "description": "a larger answer is refused, not read (default 1 MiB)",
            },
            "max_connections": {
                "type": "integer",
                "minimum": 1,
                "maximum": 1000,
                "description": "open connections to this backend at most (default 100)",
            },
        },
    },
    "arg": {
        "anyOf": [
            {"enum": _TYPE_NAMES, "description": "Shorthand: just the type"},
            {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "type": {"enum": _TYPE_NAMES, "default": "str"},
                    "positional": {"type": "boolean"},
                    "required": {"type": "boolean"},
                    "default": {},
                    "min": {},
                    "max": {},
                    "min_length": {"type": "integer", "minimum": 0},
                    "max_length": {"type": "integer", "minimum": 0},
                    "pattern": {"type": "string"},
                    "choices": {"type": "array"},
                    "help": _LOCALIZED_TEXT,
                    "sensitive": {"type": "boolean"},
                },
            },
        ]
    },
    "request": {
        "type": "object",
        "additionalProperties": False,
        "required": ["backend"],
        "properties": {
            "backend": {"type": "string"},
            "method": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "get", "post", "put", "patch", "delete"]},
            "path": {"type": "string"},
            "query": {"type": "object"},
            "json": _TEMPLATE,
            "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
    "reply": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"success": _REPLY, "error": _REPLY},
    },
    "example": {
        "anyOf": [
            {"type": "string"},
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["input"],
                "properties": {
                    "input": {"type": "string"},
                    "role": {"enum": ["agent", "customer"]},
                    "backend": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "status": {"type": "integer"},
                            "json": {},
                            "text": {"type": "string"},
                            "headers": {"type": "object"},
                        },
                    },
                    "expect": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "request": {"type": "object"},
                            "reply_text": {"type": "string"},
                            "error": {"type": "string", "description": "the error code the example must fail with"},
                        },
                    },
                },
            },
        ]
    },
    "command": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "summary": _LOCALIZED_TEXT,
            "description": _LOCALIZED_TEXT,
            "aliases": {"type": "array", "items": {"type": "string"}},
            "roles": {"type": "array", "items": {"enum": ["agent", "customer"]}},
            "args": {"type": "object", "additionalProperties": {"$ref": "#/definitions/arg"}},
            "request": {"$ref": "#/definitions/request"},
            "reply": {"$ref": "#/definitions/reply"},
            "confirm": _REPLY,
            "ack": _REPLY,
            "timeout": _DURATION,
            "result": {
                "type": "object",
                "description": "The fields the backend answers with (name: type), so lint can check result.X in templates",
                "additionalProperties": {"enum": _RESULT_TYPES},
            },
            "examples": {"type": "array", "items": {"$ref": "#/definitions/example"}},
            "genesys": {"$ref": "#/definitions/genesys"},
        },
    },
    "genesys": {
        "type": "object",
        "additionalProperties": False,
        "description": "How the command behaves on a Genesys Bot Connector",
        "properties": {
            "ends_bot_session": {
                "type": "boolean",
                "default": False,
                "description": "answer Complete with this command's intent and its arguments as "
                "entities, so the flow continues past the bot",
            },
        },
    },
}


def registry_schema() -> dict[str, Any]:
    """The JSON Schema (draft-07) of commands.yaml."""
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://commandlang.dev/schema/commands.json",
        "title": "commandlang registry (commands.yaml)",
        "type": "object",
        "additionalProperties": False,
        "required": ["version", "commands"],
        "properties": {
            "version": {"const": 1},
            "settings": {"$ref": "#/definitions/settings"},
            "backends": {"type": "object", "additionalProperties": {"$ref": "#/definitions/backend"}},
            "commands": {"type": "object", "additionalProperties": {"$ref": "#/definitions/command"}},
        },
        "definitions": _DEFINITIONS,
    }


def known_keys(definition: str) -> tuple[str, ...]:
    """The keys a mapping of this kind may hold (`top`, `settings`, `backend`, `arg`, `command`, ...)."""
    if definition == "top":
        return tuple(registry_schema()["properties"])
    if definition in ("example.backend", "example.expect"):
        part = definition.split(".")[1]
        return tuple(_DEFINITIONS["example"]["anyOf"][1]["properties"][part]["properties"])
    schema = _DEFINITIONS[definition]
    if "anyOf" in schema:
        schema = next(s for s in schema["anyOf"] if s.get("type") == "object")
    return tuple(schema["properties"])
