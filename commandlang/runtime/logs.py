"""Logging: one JSON object per line on stderr (or readable text), with the pipeline's context fields.

Secrets never reach a log line: records carry ids and codes, not message
text, tokens or argument values (sensitive args are masked before they are
stored); `redact` scrubs any configured secret that slips into a message.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Iterable, TextIO

__all__ = ["configure_logging", "JsonFormatter"]

CONTEXT_FIELDS = ("conversation_id", "command_id", "command", "stage", "status", "channel", "route", "attempt",
                  "outcome", "error", "version", "backend", "port")


class JsonFormatter(logging.Formatter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 4]

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": self.redact(record.getMessage()),
        }
        for name in CONTEXT_FIELDS:
            if hasattr(record, name):
                data[name] = getattr(record, name)
        if record.exc_info:
            data["exc"] = self.redact(self.formatException(record.exc_info))
        return json.dumps(data, ensure_ascii=False, default=str)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "****")
        return text


class TextFormatter(JsonFormatter):
    def format(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{name}={getattr(record, name)}" for name in CONTEXT_FIELDS if hasattr(record, name))
        line = f"{time.strftime('%H:%M:%S', time.localtime(record.created))} {record.levelname.lower():<7} {self.redact(record.getMessage())}"
        if extra:
            line += f"  [{extra}]"
        if record.exc_info:
            line += "\n" + self.redact(self.formatException(record.exc_info))
        return line


def configure_logging(fmt: str = "json", level: str = "info", *, secrets: Iterable[str] = (), stream: TextIO | None = None) -> None:
    """Send commandlang's loggers to stderr in `fmt` (json|text), hiding `secrets`."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(TextFormatter(secrets) if fmt == "text" else JsonFormatter(secrets))
    logger = logging.getLogger("commandlang")
    logger.handlers[:] = [handler]
    logger.setLevel(level.upper())
    logger.propagate = False
