"""Logging: one JSON object per line on stderr (or readable text), with the pipeline's context fields.

Secrets never reach a log line: records carry ids and codes, not message
text, tokens or argument values (sensitive args are masked before they are
stored); `redact` scrubs any configured secret that slips into a message, a
context field or a traceback.

One record is one line whatever its fields hold: the JSON form escapes
through `json.dumps` (plus `\\uXXXX` for the C1 and bidi controls it keeps
raw); the text form escapes control characters (CR, LF, the
other C0 and C1 controls, and the bidi controls such as U+202E) as `\\n`,
`\\x1b`, `\\u202e`, so a conversation id like `"c1\\n12:00:00 error forged"`
cannot forge a line or reorder one on a terminal.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any, Iterable, TextIO

__all__ = ["configure_logging", "JsonFormatter", "TextFormatter", "escape_controls"]

CONTEXT_FIELDS = (
    "conversation_id",
    "command_id",
    "command",
    "stage",
    "status",
    "channel",
    "route",
    "attempt",
    "outcome",
    "error",
    "version",
    "backend",
    "port",
)

# C0, DEL, C1, and the Unicode bidi / line controls (LRM, RLM, ALM, embeddings, overrides, isolates, LS, PS).
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# What json.dumps(ensure_ascii=False) leaves raw but a terminal or `splitlines` still obeys (it escapes C0 itself).
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_controls(text: str) -> str:
    """`text` with every control character written as an escape: `\\n`, `\\x1b`, `\\u202e`."""
    return _CONTROLS.sub(_escape_one, text)


def _escape_one(match: re.Match[str]) -> str:
    char = match.group(0)
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


class JsonFormatter(logging.Formatter):
    """One JSON object a line; every value (message, context fields, traceback) has the secrets redacted."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": self.redact(record.getMessage()),
        }
        for name, value in self.context(record):
            data[name] = value
        if record.exc_info:
            data["exc"] = self.redact(self.formatException(record.exc_info))
        # default=: a field that is not JSON (a Decimal, an object) goes as its redacted text, never raw
        line = json.dumps(data, ensure_ascii=False, default=lambda value: self.redact(str(value)))
        return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", line)  # only inside strings: still valid JSON

    def context(self, record: logging.LogRecord) -> list[tuple[str, Any]]:
        """The record's context fields: numbers, booleans and None as they are, anything else as redacted text."""
        fields = []
        for name in CONTEXT_FIELDS:
            if hasattr(record, name):
                value = getattr(record, name)
                if not (value is None or isinstance(value, (bool, int, float))):
                    value = self.redact(value if isinstance(value, str) else str(value))
                fields.append((name, value))
        return fields

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "****")
        return text


class TextFormatter(JsonFormatter):
    """`HH:MM:SS level message  [field=value ...]` for humans: one line per record, control characters escaped."""

    def format(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{name}={escape_controls(str(value))}" for name, value in self.context(record))
        message = escape_controls(self.redact(record.getMessage()))
        line = f"{time.strftime('%H:%M:%S', time.localtime(record.created))} {record.levelname.lower():<7} {message}"
        if extra:
            line += f"  [{extra}]"
        if record.exc_info:
            # a traceback keeps its own lines, each marked as a continuation so none can pass for a record
            trace = self.redact(self.formatException(record.exc_info))
            line += "".join("\n  | " + escape_controls(part) for part in trace.splitlines())
        return line


def configure_logging(
    fmt: str = "json", level: str = "info", *, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> None:
    """Send commandlang's loggers to stderr in `fmt` (json|text), hiding `secrets`."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(TextFormatter(secrets) if fmt == "text" else JsonFormatter(secrets))
    logger = logging.getLogger("commandlang")
    logger.handlers[:] = [handler]
    logger.setLevel(level.upper())
    logger.propagate = False
