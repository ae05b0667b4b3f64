"""Binding: an `Invocation` and a registry -> a typed `Call` (pure: no I/O)."""

from .bind import Binder
from .call import Call, mask
from ..registry.types import ConversionError, Today, convert, to_json

__all__ = ["Binder", "Call", "ConversionError", "Today", "convert", "mask", "to_json"]
