"""Log lines as an operator reads them: one record is one line, and configured secrets never show."""

from __future__ import annotations

import io
import json
import logging
from decimal import Decimal

import pytest

from commandlang.runtime.logs import configure_logging

SECRET = "whsec-SECRET-0xC0FFEE"
FORGED_ID = "c1\n12:00:00 error   forged: admin logged in"


@pytest.fixture()
def capture():
    """Configure commandlang's logging like `serve` does, into a buffer; restore the handlers afterwards."""
    logger = logging.getLogger("commandlang")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    buffers: list[io.StringIO] = []

    def configure(fmt: str) -> io.StringIO:
        buffer = io.StringIO()
        configure_logging(fmt, "debug", secrets=[SECRET], stream=buffer)
        buffers.append(buffer)
        return buffer

    yield configure
    logger.handlers[:], logger.level, logger.propagate = saved


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize(
    "hostile",
    [
        FORGED_ID,
        "c1\r\n12:00:00 error forged",
        "c1\x1b[2Kforged",
        "c1\x85forged",
        "c1\u2028forged",
        "c1\u202eforged",
        "c1\u2066x\u2069",
        "c1\x00\x7f",
    ],
)
def test_a_conversation_id_cannot_forge_or_hide_a_line(capture, fmt: str, hostile: str) -> None:
    buffer = capture(fmt)
    logging.getLogger("commandlang.runtime").warning(
        "message from %s", hostile, extra={"conversation_id": hostile, "stage": "parse"}
    )
    output = buffer.getvalue()
    assert output.count("\n") == 1 and output.endswith("\n")  # one record, one line
    line = output[:-1]
    assert not any(ch in line for ch in "\r\x1b\x85\u2028\u202e\u2066\x00\x7f")
    if fmt == "json":
        data = json.loads(line)
        assert data["conversation_id"] == hostile and data["msg"] == f"message from {hostile}"  # escaped, not lost


def test_the_text_form_shows_the_escapes(capture) -> None:
    buffer = capture("text")
    logging.getLogger("commandlang.runtime").info("got %s", "a\u202eb", extra={"conversation_id": FORGED_ID})
    line = buffer.getvalue().rstrip("\n")
    assert "got a\\u202eb" in line and "conversation_id=c1\\n12:00:00 error   forged: admin logged in" in line


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_secrets_are_redacted_in_context_fields_and_tracebacks_too(capture, fmt: str) -> None:
    buffer = capture(fmt)
    log = logging.getLogger("commandlang.runtime")
    log.info("signed with %s", SECRET, extra={"route": f"/hook?secret={SECRET}", "error": RuntimeError(SECRET)})
    try:
        raise ValueError(f"bad secret {SECRET}\nsecond line")
    except ValueError:
        log.exception("failed", extra={"conversation_id": "c1"})
    output = buffer.getvalue()
    assert SECRET not in output and "****" in output
    if fmt == "text":
        lines = output.splitlines()
        assert all(line.startswith("  | ") for line in lines[2:])  # the traceback: continuation lines only
    else:
        assert all(json.loads(line) for line in output.splitlines())


def test_json_fields_that_are_not_strings_stay_json(capture) -> None:
    buffer = capture("json")
    logging.getLogger("commandlang.execution").info(
        "x", extra={"attempt": 2, "port": 8080, "status": None, "outcome": Decimal("1.5"), "version": object()}
    )
    data = json.loads(buffer.getvalue())
    assert data["attempt"] == 2 and data["port"] == 8080 and data["status"] is None
    assert data["outcome"] == "1.5" and isinstance(data["version"], str)
