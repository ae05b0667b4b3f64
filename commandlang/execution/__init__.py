"""Execution: a bound call -> an HTTP request to its backend -> a typed `Outcome`.

`prepare_request` (pure) builds the request; `Executor` sends it with deadlines,
retries and idempotency keys over `H11Transport`, our pooled h11 transport.
"""

from .executor import Executor, TransportFactory
from .outcome import ERROR_CODES, BackendError, BadResponse, Outcome, Success, Timeout, Unreachable
from .request import PreparedRequest, TokenProvider, encode_path_segment, prepare_request
from .transport import H11Transport, PoolLimits

__all__ = [
    "ERROR_CODES",
    "BackendError",
    "BadResponse",
    "Executor",
    "H11Transport",
    "Outcome",
    "PoolLimits",
    "PreparedRequest",
    "Success",
    "Timeout",
    "TokenProvider",
    "TransportFactory",
    "Unreachable",
    "encode_path_segment",
    "prepare_request",
]
