"""Execution: a bound call -> an HTTP request to its backend -> a typed `Outcome`.

`prepare_request` (pure) builds the request; `Executor` sends it with deadlines,
retries and idempotency keys over `H11Transport`, our pooled h11 transport
(through its own `request` door: a `Target` in, a `RawResponse` out).
"""

from .executor import Executor, TransportFactory
from .outcome import ERROR_CODES, BackendError, BadResponse, Outcome, Success, Timeout, Unreachable
from .request import PreparedRequest, TokenProvider, encode_path_segment, prepare_request
from .target import Target
from .transport import H11Transport, PoolLimits, RawResponse

__all__ = [
    "ERROR_CODES",
    "BackendError",
    "BadResponse",
    "Executor",
    "H11Transport",
    "Outcome",
    "PoolLimits",
    "PreparedRequest",
    "RawResponse",
    "Success",
    "Target",
    "Timeout",
    "TokenProvider",
    "TransportFactory",
    "Unreachable",
    "encode_path_segment",
    "prepare_request",
]
