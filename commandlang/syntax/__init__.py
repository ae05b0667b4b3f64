"""Syntax: chat text -> untyped `Invocation` (pure: no I/O)."""

from .parser import SyntaxOptions, SyntaxParser, default_parser, parse_invocation
from .tree import Flag, Invocation, ListValue, Option, Positional, Span, Value

__all__ = [
    "Flag",
    "Invocation",
    "ListValue",
    "Option",
    "Positional",
    "Span",
    "SyntaxOptions",
    "SyntaxParser",
    "Value",
    "default_parser",
    "parse_invocation",
]
