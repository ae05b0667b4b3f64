"""The one scrubber for what leaves the process: replies, stored errors (so sync frames and
webhook answers), and the details the operator's log gets.

Pure: no I/O, no Trio. A `Scrubber` knows the registry's backend hosts and,
once narrowed to a call (`for_call`), that call's raw sensitive values. It
has two strengths:

- `mask(value)`: every raw sensitive value, in every string of a structure,
  becomes its mask (`****1234`, as `binding.call.mask` shows it). For what a
  user may legitimately see in full otherwise: success replies, log details.
- `message(text)` / `details(value)`: `mask`, plus no stack trace, no
  `file:line` fragment, no URL, no IPv4/IPv6 literal and no backend host
  name. For what a backend says when it fails, before any user or any
  stored record sees it. `message` also folds whitespace and bounds length.

The URL rule for links a reply sends (`is_allowed_link`) lives here too:
`https` anywhere, `http` only to a loopback host.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping
from urllib.parse import urlsplit

from ..binding.call import mask
from ..registry.model import CommandSpec, RegistrySpec
from ..registry.types import to_json

__all__ = [
    "Scrubber",
    "sensitive_values",
    "is_allowed_link",
    "LINK_REMOVED",
    "ADDRESS_REMOVED",
    "MAX_MESSAGE",
    "is_loopback_host",
]

LINK_REMOVED = "[link removed]"
ADDRESS_REMOVED = "[address removed]"
#: A scrubbed message is at most this long (a chat line, not a log dump).
MAX_MESSAGE = 300
#: Shorter sensitive values are not searched for: masking "1" everywhere would garble every number.
MIN_SECRET_LENGTH = 3

_TRACEBACK = re.compile(r"Traceback \(most recent call last\):.*", re.DOTALL)
_PY_FRAME = re.compile(r'File "[^"]*", line \d+[^\n]*')
_JVM_FRAME = re.compile(r"\bat [\w$.<>/]+\([^)\n]*\)")  # Java, .NET and Node frames: `at a.b.C(C.java:42)`
_SOURCE_LINE = re.compile(
    r"[\w./\\~-]*\.(?:py|pyc|java|kt|scala|js|mjs|ts|go|rb|php|cs|c|cc|cpp|h|rs|ex|exs|erl|lua|pl)"
    r"(?::\d+)+\b",
    re.IGNORECASE,
)
_URL = re.compile(r"\b[a-z][a-z0-9+.-]{1,15}://[^\s\"'<>)\]]*", re.IGNORECASE)
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?(?![\w.])")
# Candidates only; `ipaddress` decides (so "12:00:00" stays, "fe80::1%eth0" goes).
_IPV6 = re.compile(
    r"\[?(?<![\w:])[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?:\.\d{1,3}){0,3}(?:%[\w.]+)?(?![\w:])\]?(?::\d{1,5})?",
    re.IGNORECASE,
)
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


@dataclass(frozen=True, slots=True)
class Scrubber:
    """What to remove: `hosts` (lower-case backend host names), `secrets` (raw sensitive values, longest first)."""

    hosts: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()

    @classmethod
    def for_registry(cls, spec: RegistrySpec | None) -> "Scrubber":
        """A scrubber that knows the hosts of `spec`'s backends (their `base_url`)."""
        if spec is None:
            return cls()
        return cls(hosts=backend_hosts(spec.backends[name].base_url for name in spec.backends))

    def for_call(self, spec: CommandSpec, args: Mapping[str, Any]) -> "Scrubber":
        """This scrubber, also masking the raw values of `spec`'s sensitive arguments in `args`."""
        found = set(self.secrets) | set(sensitive_values(spec, args))
        return Scrubber(self.hosts, tuple(sorted(found, key=len, reverse=True)))

    def mask(self, value: Any) -> Any:
        """`value` with every raw sensitive value masked, in strings inside mappings and lists too."""
        if not self.secrets:
            return value
        return _map_strings(value, self._mask_text)

    def message(self, text: Any) -> str:
        """A text fit for a user and for the state store: everything internal removed, one line, bounded."""
        cleaned = " ".join(self._clean(text).split())
        if len(cleaned) > MAX_MESSAGE:
            cleaned = cleaned[: MAX_MESSAGE - 1].rstrip() + "…"
        return cleaned

    def details(self, value: Any) -> Any:
        """`value` (a backend's answer) with every string cleaned like `message`, but not folded or bounded."""
        return _map_strings(value, self._clean)

    def _mask_text(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, str(mask(secret)))
        return text

    def _clean(self, text: Any) -> str:
        message = "" if text is None else str(text)
        message = self._mask_text(
            message
        )  # first: a URL or frame may hold a secret that a pattern would only cut in half
        message = _TRACEBACK.sub("", message)
        message = _PY_FRAME.sub("", message)
        message = _JVM_FRAME.sub("", message)
        message = _SOURCE_LINE.sub("", message)
        message = _URL.sub(LINK_REMOVED, message)
        message = _IPV6.sub(_address_or_same, message)
        message = _IPV4.sub(_address_or_same, message)
        for host in self.hosts:
            message = _host_pattern(host).sub(ADDRESS_REMOVED, message)
        return message


def sensitive_values(spec: CommandSpec, args: Mapping[str, Any]) -> list[str]:
    """The text forms of the sensitive arguments' values in `args`, longest first."""
    found: set[str] = set()
    for arg in spec.args:
        value = args.get(arg.name)
        if not arg.sensitive or value is None:
            continue
        for item in value if isinstance(value, (list, tuple)) else [value]:
            text = str(to_json(item))
            if len(text) >= MIN_SECRET_LENGTH:
                found.add(text)
    return sorted(found, key=len, reverse=True)


def backend_hosts(base_urls: Iterable[str]) -> tuple[str, ...]:
    """The host names of `base_urls`, lower-case, longest first; IP literals are left to the IP patterns."""
    hosts: set[str] = set()
    for url in base_urls:
        try:
            host = urlsplit(url).hostname
        except ValueError:
            continue
        if host and not _is_ip(host):
            hosts.add(host.lower())
    return tuple(sorted(hosts, key=len, reverse=True))


def is_allowed_link(url: str | None) -> bool:
    """Whether a reply may send `url` as a link, image or attachment.

    `https://` with a host, anywhere; `http://` only to a loopback host
    (127.0.0.0/8, ::1, localhost), which the demo backend uses. This layer
    knows nothing of demo mode, so the loopback allowance holds always: a
    loopback link only ever reaches the user's own machine. Everything else
    (`javascript:`, `data:`, `file:`, plain `http://` elsewhere, schemeless
    text) is refused.
    """
    if not url or any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        return False
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    if not host:
        return False
    scheme = parts.scheme.lower()
    if scheme == "https":
        return True
    return scheme == "http" and is_loopback_host(host)


def is_loopback_host(host: str) -> bool:
    """Whether a host (a URL's, or a `Host` header with or without a port; `[::1]` bracketed or not)
    names this machine: 127.0.0.0/8, ::1, `localhost` and its subdomains (RFC 6761)."""
    name = host.strip().lower()
    if name.startswith("["):
        name = name[1 : name.find("]")] if "]" in name else name[1:]
    elif name.count(":") == 1:
        name = name.split(":", 1)[0]
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _address_or_same(match: re.Match[str]) -> str:
    found = match.group(0)
    core = found
    if core.startswith("["):
        core = core[1:].split("]", 1)[0]
    elif core.count(":") == 1:  # an IPv4 literal with a port
        core = core.split(":", 1)[0]
    core = core.split("%", 1)[0]
    return ADDRESS_REMOVED if _is_ip(core) or _is_ip(found.split("%", 1)[0]) else found


@functools.lru_cache(maxsize=256)
def _host_pattern(host: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w.-])" + re.escape(host) + r"(?::\d{1,5})?(?![\w-])", re.IGNORECASE)


def _map_strings(value: Any, change: Any) -> Any:
    if isinstance(value, str):
        return change(value)
    if isinstance(value, Mapping):
        return {k: _map_strings(v, change) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_map_strings(v, change) for v in value]
    return value
