"""What a backend call came to: typed, frozen outcomes (pure: no I/O).

Every outcome has an error `code` (None for success) and a `user_message`:
our own words, or a 4xx backend's own message, which `execution.answer`
scrubs (`replies.scrub`) before a user or the state store sees it. Internal
details for operators go to the logs, not here. `to_context()` is the shape reply templates read.
"""

from __future__ import annotations

from dataclasses import dataclass
import json
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .request import PreparedRequest

__all__ = [
    "classify_response",
    "BackendError",
    "BadResponse",
    "Outcome",
    "Success",
    "Timeout",
    "Unreachable",
    "ERROR_CODES",
]

#: The error codes an outcome can carry, as the reply templates and the state store see them.
ERROR_CODES = ("backend_error", "timeout", "unreachable", "bad_response")

#: A backend's own message (shown to the user after a 4xx, scrubbed); this bounds how much of it.
MAX_BACKEND_MESSAGE = 500


@dataclass(frozen=True, slots=True)
class Success:
    """The backend did the work: `json` holds the parsed body when it was JSON, else `text`."""

    status: int
    json: Any = None
    text: str | None = None
    attempts: int = 1
    ok: bool = True
    code: None = None

    @property
    def message(self) -> str | None:
        """The default contract's `message`, when the backend sent one."""
        if isinstance(self.json, dict) and isinstance(self.json.get("message"), str):
            return self.json["message"]
        return None

    @property
    def user_message(self) -> str:
        return self.message or "Done."

    def to_context(self) -> dict[str, Any]:
        data = self.json.get("data") if isinstance(self.json, dict) and "data" in self.json else self.json
        return {
            "ok": True,
            "code": None,
            "status": self.status,
            "message": self.message,
            "json": self.json,
            "text": self.text,
            "data": data,
            "attempts": self.attempts,
        }


@dataclass(frozen=True, slots=True)
class BackendError:
    """The backend answered but refused or failed: an HTTP error status, or the
    default contract's `{"status": "error", "message": ...}` (then `status` is the HTTP status, often 200).

    `message` is the backend's own `message`, or None. After a 4xx (or a
    default-contract refusal) it is shown to the user, once scrubbed
    (`replies.scrub`); after a 5xx it never is: what a failing server says
    ("database exploded at 10.1.2.3") is for the operator's log only.
    """

    status: int
    message: str | None = None
    json: Any = None
    attempts: int = 1
    ok: bool = False
    code: Literal["backend_error"] = "backend_error"

    @property
    def user_message(self) -> str:
        if self.message and self.status < 500:
            return self.message
        if self.status == 429:
            return "The service is busy right now. Please try again in a minute."
        if self.status >= 500:
            return "The service had a problem and could not do this. Please try again later."
        if self.status in (401, 403):
            return "The service refused this request (not authorised). Please contact your administrator."
        if self.status == 404:
            return "The service could not find what you asked for. Please check the values and try again."
        return f"The service refused this request (error {self.status}). Please check the values and try again."

    def to_context(self) -> dict[str, Any]:
        return {
            "ok": False,
            "code": self.code,
            "status": self.status,
            "message": self.user_message,
            "json": self.json,
            "attempts": self.attempts,
        }


@dataclass(frozen=True, slots=True)
class Timeout:
    """No answer before the command's deadline (or the last attempt's timeout)."""

    attempts: int = 1
    ok: bool = False
    code: Literal["timeout"] = "timeout"
    status: None = None

    @property
    def user_message(self) -> str:
        return "The service took too long to answer. It may still finish; please check before trying again."

    def to_context(self) -> dict[str, Any]:
        return {"ok": False, "code": self.code, "status": None, "message": self.user_message, "attempts": self.attempts}


@dataclass(frozen=True, slots=True)
class Unreachable:
    """No connection could be made or kept (refused, reset, DNS). `reason` is for logs, not users."""

    reason: str = ""
    attempts: int = 1
    ok: bool = False
    code: Literal["unreachable"] = "unreachable"
    status: None = None

    @property
    def user_message(self) -> str:
        return "The service could not be reached. Please try again in a few minutes."

    def to_context(self) -> dict[str, Any]:
        return {"ok": False, "code": self.code, "status": None, "message": self.user_message, "attempts": self.attempts}


@dataclass(frozen=True, slots=True)
class BadResponse:
    """The backend answered with something unusable: not JSON when JSON was expected,
    too large (`too_large`), or broken HTTP. `reason` is for logs, not users."""

    status: int | None
    reason: Literal["not_json", "too_large", "protocol"]
    attempts: int = 1
    ok: bool = False
    code: Literal["bad_response"] = "bad_response"

    @property
    def user_message(self) -> str:
        return "The service sent an answer that could not be understood. Please try again later."

    def to_context(self) -> dict[str, Any]:
        return {
            "ok": False,
            "code": self.code,
            "status": self.status,
            "message": self.user_message,
            "attempts": self.attempts,
        }


Outcome = Success | BackendError | Timeout | Unreachable | BadResponse


def backend_message(body: Any) -> str | None:
    """The backend's `message` from a JSON body, bounded, or None."""
    if isinstance(body, dict):
        message = body.get("message")
        if isinstance(message, str) and message.strip():
            message = message.strip()
            return message if len(message) <= MAX_BACKEND_MESSAGE else message[: MAX_BACKEND_MESSAGE - 1] + "…"
    return None


def classify_response(status: int, content_type: str, body: bytes, prepared: PreparedRequest, number: int) -> Outcome:
    """What a complete backend answer means: success, backend error or bad response.

    The executor and `commandlang test` (canned answers) both read answers through this.
    """
    is_json_type = "json" in content_type.lower()
    parsed: Any = None
    parsed_ok = False
    if body and (is_json_type or prepared.expects_json or status >= 400):
        try:
            parsed = json.loads(body)
            parsed_ok = True
        except (ValueError, UnicodeDecodeError):
            parsed_ok = False
    if status >= 300:
        return BackendError(status, backend_message(parsed), json=parsed if parsed_ok else None, attempts=number)
    if (is_json_type or prepared.expects_json) and body and not parsed_ok:
        return BadResponse(status, "not_json", attempts=number)
    if prepared.expects_json and not body and status != 204:
        return BadResponse(status, "not_json", attempts=number)
    if prepared.default_contract and isinstance(parsed, dict) and parsed.get("status") == "error":
        return BackendError(status, backend_message(parsed), json=parsed, attempts=number)
    if parsed_ok:
        return Success(status, json=parsed, attempts=number)
    return Success(status, text=body.decode("utf-8", errors="replace"), attempts=number)
