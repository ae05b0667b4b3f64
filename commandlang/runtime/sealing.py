"""The sealing of a waiting question's typed text at rest (language.md section 2: sensitive values
never reach the state store in the clear).

A question keeps the command exactly as typed (its answer binds it again on the registry of that
moment), so `/pay card=4111...` waiting for a confirmation or an approval would leave the card number
in the SQLite file or in Redis. `QuestionSeal.seal` replaces the text with an AES-GCM ciphertext before
the question is handed to a store; `QuestionSeal.open` gives it back once the question is taken. The
associated data is the question's identity (kind, token, channel, conversation, participant), so a
sealed text moved onto another question does not open. The stores keep the sealed string as any other.

The key: `COMMANDLANG_QUESTION_KEY` (32 bytes, base64); unset, derived with HKDF-SHA256 from
`COMMANDLANG_SYNC_SECRET`; neither set, a random key for this process. A question sealed under another
key (a restart with a random key, another replica, a rotated key) cannot be opened: its answer gets
"please send the command again" and its record ends `rejected` (`question_unreadable`).

No I/O here: pure functions over bytes, used by the runtime's confirm and approval steps.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass, replace
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..errors import ConfigError
from ..texts import N_
from .questions import Question

__all__ = [
    "QuestionSeal",
    "KeySource",
    "SEALED_PREFIX",
    "UNREADABLE_CODE",
    "UNREADABLE_REPLY",
    "UNREADABLE_RESEND",
    "UNREADABLE_WHY",
]

SEALED_PREFIX = "sealed:v1:"  # a typed command always starts with its prefix (`/`), never with this
UNREADABLE_CODE = "question_unreadable"  # the `rejected` record's code of a question that cannot be opened
# the answer to a question that cannot be opened, to whoever answered it (and to an approval's requester)
UNREADABLE_REPLY = N_("This question can no longer be answered here; please send the command again.")
UNREADABLE_RESEND = N_("Please send the command again.")
UNREADABLE_WHY = "The question could not be read (sealed with another key): it was not run."  # the record's, in English
KeySource = Literal["question_key", "sync_secret", "random"]
_HKDF_INFO = b"commandlang question text v1"
_NONCE_BYTES = 12  # AES-GCM's standard nonce; random per sealing (2**32 sealings per key stay safe)


def _associated_data(question: Question) -> bytes:
    """What binds a ciphertext to its question: the same text under another question does not open."""
    parts = [question.kind, question.token, question.channel, question.conversation_id, question.participant_id]
    return json.dumps(parts, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class QuestionSeal:
    """Seals and opens questions' texts with one AES-256-GCM key (`source`: where the key came from)."""

    key: bytes
    source: KeySource = "question_key"

    def __post_init__(self) -> None:
        if len(self.key) != 32:
            raise ConfigError("COMMANDLANG_QUESTION_KEY must be 32 bytes (base64-encoded)")

    def __repr__(self) -> str:  # never the key
        return f"QuestionSeal(source={self.source!r})"

    @staticmethod
    def random() -> QuestionSeal:
        """A key for this process only: questions it seals open nowhere else, nor after a restart."""
        return QuestionSeal(os.urandom(32), "random")

    @staticmethod
    def from_settings(question_key: str, sync_secret: str) -> QuestionSeal:
        """The key of `COMMANDLANG_QUESTION_KEY`, else derived from `COMMANDLANG_SYNC_SECRET`, else random."""
        if question_key:
            try:
                key = base64.b64decode(question_key.strip(), validate=True)
            except (binascii.Error, ValueError):
                raise ConfigError("COMMANDLANG_QUESTION_KEY is not valid base64 (32 bytes expected)") from None
            return QuestionSeal(key, "question_key")
        if sync_secret:
            hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO)
            return QuestionSeal(hkdf.derive(sync_secret.encode()), "sync_secret")
        return QuestionSeal.random()

    def seal(self, question: Question) -> Question:
        """`question` with its text sealed (a text sealed already stays as it is)."""
        if question.text.startswith(SEALED_PREFIX):
            return question
        nonce = os.urandom(_NONCE_BYTES)
        sealed = AESGCM(self.key).encrypt(nonce, question.text.encode("utf-8"), _associated_data(question))
        return replace(question, text=SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii"))

    def open(self, question: Question) -> Question | None:
        """`question` with its text in the clear; None when it cannot be opened (sealed under another key,
        or for another question). A text stored in the clear by an older version is returned as it is."""
        if not question.text.startswith(SEALED_PREFIX):
            return question  # an older version's question: read once, never written again in the clear
        try:
            blob = base64.urlsafe_b64decode(question.text[len(SEALED_PREFIX) :])
            nonce, sealed = blob[:_NONCE_BYTES], blob[_NONCE_BYTES:]
            text = AESGCM(self.key).decrypt(nonce, sealed, _associated_data(question)).decode("utf-8")
        except (InvalidTag, ValueError, binascii.Error):
            return None
        return replace(question, text=text)
