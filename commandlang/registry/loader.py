"""commands.yaml -> `RegistrySpec` plus the diagnostics found on the way.

The loader checks the shape of every node (keys, types, values) and builds
frozen specs; `lint.py` adds the checks that look across nodes. Positions
come from `yamlsource`, so every finding points at a line and column.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from ..diagnostics import Diagnostic
from .args import build_args, parse_type
from .env import interpolate
from .languages import parse_languages, split_localized
from .model import (
    ARG_TYPES,
    ROLES,
    ArgSpec,
    AuthSpec,
    BackendSpec,
    CommandSpec,
    CommandTexts,
    Example,
    Position,
    RegistrySpec,
    ReplySpec,
    RequestSpec,
    RetryPolicy,
    Settings,
    TypeSpec,
)
from .schema import known_keys
from .yamlsource import LList, LMap, parse_yaml, read_yaml

__all__ = ["load_spec", "build_spec", "parse_duration", "COMMAND_NAME"]

COMMAND_NAME = re.compile(r"[^\W\d_][\w-]*(?:\.[^\W\d_][\w-]*)*")
_DURATION = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h|d)?\s*")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def parse_duration(value: Any) -> float | None:
    """Seconds from `5`, `2.5`, `500ms`, `5s`, `2m`, `1h`; None when it is not a duration."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if value >= 0 else None
    match = _DURATION.fullmatch(str(value))
    return float(match.group(1)) * _UNITS[match.group(2)] if match else None


class _Loader:
    def __init__(self, path: str | None, env: Mapping[str, str]) -> None:
        self.path = path
        self.env = env
        self.diagnostics: list[Diagnostic] = []
        self.missing_env: list[str] = []
        self.languages: tuple[str, ...] = ("en",)

    def report(
        self, code: str, message: str, pos: Position | None, *, hint: str | None = None, severity: str = "error"
    ) -> None:
        self.diagnostics.append(
            Diagnostic(
                code=code,
                message=message,
                file=self.path,
                line=pos.line if pos else None,
                column=pos.column if pos else None,
                hint=hint,
                severity=severity,  # type: ignore[arg-type]
            )
        )

    def keys(self, mapping: LMap, definition: str, where: str) -> None:
        allowed = known_keys(definition)
        for key in mapping:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
                self.report(
                    "unknown_key",
                    f"unknown key {key!r} in {where}",
                    mapping.key_pos[key],
                    hint=f"did you mean {close[0]}?" if close else "known keys: " + ", ".join(allowed),
                )

    def mapping(self, parent: LMap, key: str, where: str) -> LMap | None:
        value = parent.get(key)
        if value is None:
            return None
        if not isinstance(value, LMap):
            self.report("wrong_type", f"{where} must be a mapping", parent.value_pos[key])
            return None
        return value

    def text(self, parent: LMap, key: str, where: str, default: str | None = None) -> str | None:
        value = parent.get(key, default)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return parent.raw.get(key, str(value))
        self.report("wrong_type", f"{where} must be text", parent.value_pos[key])
        return default

    def whole(self, parent: LMap, key: str, where: str, default: int, low: int, high: int) -> int:
        """A whole number from `low` to `high`; `default` when absent or wrong (reported)."""
        if key not in parent:
            return default
        value = parent[key]
        if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
            return value
        self.report("wrong_type", f"{where} must be a whole number from {low} to {high}", parent.value_pos[key])
        return default

    def duration(self, parent: LMap, key: str, where: str) -> float | None:
        if key not in parent:
            return None
        seconds = parse_duration(parent[key])
        if seconds is None:
            self.report("invalid_duration", f"{where} must be a duration like 5s, 500ms or 2m", parent.value_pos[key])
        return seconds

    # -- the document ----------------------------------------------------
    def load(self, data: Any) -> RegistrySpec | None:
        if not isinstance(data, LMap):
            self.report(
                "wrong_type",
                "a registry is a mapping with version and commands",
                getattr(data, "pos", Position(self.path, 1, 1)),
                hint="Start the file with `version: 1` and `commands:`.",
            )
            return None
        self.keys(data, "top", "the registry")
        version = data.get("version")
        if version != 1:
            self.report(
                "unsupported_version",
                f"version must be 1, got {version!r}" if "version" in data else "version: 1 is missing",
                data.value_pos.get("version", data.pos),
                hint="Add `version: 1` at the top.",
            )
        settings = self.settings(self.mapping(data, "settings", "settings"))
        backends = self.backends(self.mapping(data, "backends", "backends"))
        commands_node = self.mapping(data, "commands", "commands")
        if commands_node is None:
            self.report("missing_key", "the registry declares no commands", data.pos, hint="Add a `commands:` mapping.")
            commands_node = LMap()
            commands_node.pos, commands_node.key_pos, commands_node.value_pos, commands_node.raw = data.pos, {}, {}, {}
        commands: dict[str, CommandSpec] = {}
        aliases: dict[str, str] = {}
        for name, body in commands_node.items():
            spec = self.command(name, body, commands_node.key_pos[name], commands_node.value_pos[name])
            if spec is None:
                continue
            if spec.name in commands or spec.name in aliases:
                self.report(
                    "duplicate_name", f"command {spec.name} is declared twice (names ignore case)", spec.position
                )
                continue
            commands[spec.name] = spec
        for spec in commands.values():
            for alias in spec.aliases:
                if alias in commands or alias in aliases:
                    other = f"an alias of {aliases[alias]}" if alias in aliases else f"the command {alias}"
                    self.report(
                        "duplicate_name", f"alias {alias} of {spec.name} is already taken by {other}", spec.position
                    )
                    continue
                aliases[alias] = spec.name
        template_dir = str(Path(self.path).resolve().parent / "templates") if self.path else None
        return RegistrySpec(
            version=1,
            settings=settings,
            backends=MappingProxyType(backends),
            commands=MappingProxyType(commands),
            aliases=MappingProxyType(aliases),
            path=self.path,
            template_dir=template_dir,
            missing_env=tuple(dict.fromkeys(self.missing_env)),
        )

    def settings(self, node: LMap | None) -> Settings:
        if node is None:
            return Settings()
        self.keys(node, "settings", "settings")
        percent = node.get("percent_decode", False)
        if not isinstance(percent, bool):
            self.report("wrong_type", "settings.percent_decode must be true or false", node.value_pos["percent_decode"])
            percent = False
        unknown = node.get("unknown_command", "reply")
        if unknown not in ("reply", "ignore"):
            self.report(
                "wrong_type", "settings.unknown_command must be reply or ignore", node.value_pos["unknown_command"]
            )
            unknown = "reply"
        max_length = node.get("max_length", 4000)
        if not isinstance(max_length, int) or isinstance(max_length, bool) or not 1 <= max_length <= 100000:
            self.report(
                "wrong_type",
                "settings.max_length must be a whole number from 1 to 100000",
                node.value_pos["max_length"],
            )
            max_length = 4000
        self.languages = parse_languages(node.get("languages"), node.value_pos.get("languages", node.pos), self.report)
        currency = node.get("currency")
        if currency is not None and not (isinstance(currency, str) and re.fullmatch(r"[A-Z]{3}", currency)):
            self.report(
                "wrong_type",
                "settings.currency must be an ISO 4217 code like EUR or USD",
                node.value_pos["currency"],
            )
            currency = None
        return Settings(
            percent_decode=percent,
            unknown_command=unknown,
            max_length=max_length,
            languages=self.languages,
            currency=currency,
        )

    def backends(self, node: LMap | None) -> dict[str, BackendSpec]:
        out: dict[str, BackendSpec] = {}
        for name, body in (node or {}).items():
            pos = node.key_pos[name]  # type: ignore[union-attr]
            if not isinstance(body, LMap):
                self.report("wrong_type", f"backend {name} must be a mapping with base_url", pos)
                continue
            self.keys(body, "backend", f"backend {name}")
            base_url = interpolate(
                self.text(body, "base_url", f"backends.{name}.base_url") or "", self.env, self.missing_env
            )
            if "base_url" not in body:
                self.report("missing_key", f"backend {name} has no base_url", pos)
            elif base_url and not re.match(r"https?://[^/\s]+", base_url):
                self.report(
                    "invalid_url", f"backend {name}: base_url must be an http(s) URL", body.value_pos["base_url"]
                )
            headers = {}
            for key, value in (self.mapping(body, "headers", f"backends.{name}.headers") or {}).items():
                headers[str(key)] = interpolate(str(value), self.env, self.missing_env)
            out[name] = BackendSpec(
                name=name,
                base_url=base_url.rstrip("/"),
                timeout=self.duration(body, "timeout", f"backends.{name}.timeout") or 5.0,
                headers=MappingProxyType(headers),
                auth=self.auth(self.mapping(body, "auth", f"backends.{name}.auth"), name),
                retry=self.retry(self.mapping(body, "retry", f"backends.{name}.retry"), name),
                max_response_bytes=self.whole(
                    body, "max_response_bytes", f"backends.{name}.max_response_bytes", 1024 * 1024, 1, 2**40
                ),
                max_connections=self.whole(body, "max_connections", f"backends.{name}.max_connections", 100, 1, 1000),
                position=pos,
            )
        return out

    def auth(self, node: LMap | None, backend: str) -> AuthSpec:
        if node is None:
            return AuthSpec()
        self.keys(node, "auth", f"backends.{backend}.auth")
        kind = node.get("type")
        if kind not in ("none", "bearer", "genesys"):
            self.report(
                "wrong_type",
                f"backends.{backend}.auth.type must be none, bearer or genesys",
                node.value_pos.get("type", node.pos),
            )
            return AuthSpec()
        token = None
        if kind == "bearer":
            if "token" not in node:
                self.report("missing_key", f"backends.{backend}.auth needs a token (usually ${{VAR}})", node.pos)
            token = interpolate(str(node.get("token") or ""), self.env, self.missing_env)
        return AuthSpec(type=kind, token=token)

    def retry(self, node: LMap | None, backend: str) -> RetryPolicy:
        if node is None:
            return RetryPolicy()
        self.keys(node, "retry", f"backends.{backend}.retry")
        default = RetryPolicy()
        attempts = node.get("attempts", default.attempts)
        if not isinstance(attempts, int) or isinstance(attempts, bool) or not 1 <= attempts <= 10:
            self.report(
                "wrong_type",
                f"backends.{backend}.retry.attempts must be a whole number from 1 to 10",
                node.value_pos.get("attempts", node.pos),
            )
            attempts = default.attempts
        statuses = node.get("on", list(default.on))
        if not isinstance(statuses, list) or not all(isinstance(s, int) and 400 <= s <= 599 for s in statuses):
            self.report(
                "wrong_type",
                f"backends.{backend}.retry.on must be a list of HTTP statuses from 400 to 599",
                node.value_pos.get("on", node.pos),
            )
            statuses = list(default.on)
        return RetryPolicy(
            attempts=attempts,
            on=frozenset(statuses),
            backoff=self.duration(node, "backoff", f"backends.{backend}.retry.backoff") or default.backoff,
            max_backoff=self.duration(node, "max_backoff", f"backends.{backend}.retry.max_backoff")
            or default.max_backoff,
        )

    def command(self, name: str, body: Any, pos: Position, body_pos: Position) -> CommandSpec | None:
        if not COMMAND_NAME.fullmatch(name):
            self.report(
                "invalid_name",
                f"command name {name!r} must start with a letter and hold letters, digits, _, - or dots",
                pos,
            )
            return None
        if body is None:
            body = LMap()
            body.pos, body.key_pos, body.value_pos, body.raw = body_pos, {}, {}, {}
        if not isinstance(body, LMap):
            self.report("wrong_type", f"command {name} must be a mapping", body_pos)
            return None
        self.keys(body, "command", f"command {name}")
        where = f"commands.{name}"
        aliases = []
        alias_list = body.get("aliases") or []
        if alias_list and not isinstance(alias_list, LList):
            # `aliases: rf` (not a list) would otherwise be read letter by letter, or crash when a number
            self.report("wrong_type", f"{where}.aliases must be a list like [rf]", body.value_pos["aliases"])
            alias_list = []
        for index, alias in enumerate(alias_list):
            if not isinstance(alias, str) or not COMMAND_NAME.fullmatch(alias):
                item_pos = (
                    body["aliases"].item_pos[index] if isinstance(body["aliases"], LList) else body.value_pos["aliases"]
                )
                self.report("invalid_name", f"alias {alias!r} of {name} is not a valid command name", item_pos)
                continue
            aliases.append(alias.lower())
        roles = body.get("roles", list(ROLES))
        if not isinstance(roles, list) or not roles or any(r not in ROLES for r in roles):
            self.report(
                "wrong_type",
                f"{where}.roles must be a non-empty list of agent, customer",
                body.value_pos.get("roles", pos),
            )
            roles = list(ROLES)
        reply = self.mapping(body, "reply", f"{where}.reply")
        if reply is not None:
            self.keys(reply, "reply", f"{where}.reply")
        texts: dict[str, dict[str, Any]] = {}
        localized: dict[str, Any] = {}
        for part, parent, key in (
            ("summary", body, "summary"),
            ("description", body, "description"),
            ("confirm", body, "confirm"),
            ("ack", body, "ack"),
            ("success", reply, "success"),
            ("error", reply, "error"),
        ):
            value = parent.get(key) if parent is not None else None
            path = f"{where}.reply.{key}" if parent is reply else f"{where}.{key}"
            localized[part], others = split_localized(
                value, self.languages, path, parent.value_pos.get(key) if parent is not None else pos, self.report
            )
            for language, text in others.items():
                texts.setdefault(language, {})[part] = text
        for part in ("summary", "description"):
            if isinstance(localized[part], (int, float)) and not isinstance(localized[part], bool):
                localized[part] = str(localized[part])
            if localized[part] is not None and not isinstance(localized[part], str):
                self.report("wrong_type", f"{where}.{part} must be text", body.value_pos.get(part, pos))
                localized[part] = None
        args = self.localized_help(
            build_args(body.get("args"), body.value_pos.get("args", pos), self.report), body.get("args"), where, texts
        )
        return CommandSpec(
            name=name.lower(),
            summary=localized["summary"] or "",
            description=localized["description"],
            aliases=tuple(aliases),
            roles=frozenset(roles),
            args=args,
            request=self.request(body, where),
            reply=ReplySpec(success=localized["success"], error=localized["error"])
            if reply is not None
            else ReplySpec(),
            confirm=localized["confirm"],
            ack=localized["ack"],
            texts=MappingProxyType(
                {
                    language: CommandTexts(
                        **{k: v for k, v in parts.items() if k != "arg_help"},
                        arg_help=MappingProxyType(parts.get("arg_help", {})),
                    )
                    for language, parts in texts.items()
                }
            ),
            timeout=self.duration(body, "timeout", f"{where}.timeout"),
            examples=self.examples(body, where),
            position=pos,
            result=self.result(body, where),
            ends_bot_session=self.genesys(body, where),
        )

    def localized_help(
        self, args: tuple[ArgSpec, ...], node: Any, where: str, texts: dict[str, dict[str, Any]]
    ) -> tuple[ArgSpec, ...]:
        """Arguments whose `help` is a per-language mapping get the default's text; the others go to `texts`."""
        if not isinstance(node, LMap):
            return args
        out = []
        for arg in args:
            body = node.get(arg.name)
            value = body.get("help") if isinstance(body, LMap) else None
            if not isinstance(body, LMap) or not isinstance(value, LMap):
                out.append(arg)
                continue
            path = f"{where}.args.{arg.name}.help"
            default, others = split_localized(value, self.languages, path, body.value_pos["help"], self.report)
            for language, text in others.items():
                texts.setdefault(language, {}).setdefault("arg_help", {})[arg.name] = str(text)
            out.append(replace(arg, help=str(default) if default is not None else None))
        return tuple(out)

    def result(self, body: LMap, where: str) -> Mapping[str, TypeSpec] | None:
        """`result: {refund_id: str, items: list[object]}`: the backend's fields, for lint's `result.X` check."""
        node = self.mapping(body, "result", f"{where}.result")
        if node is None:
            return None
        fields: dict[str, TypeSpec] = {}
        for name, value in node.items():
            text = str(value if value is not None else "str")
            type_spec = (
                TypeSpec("object")
                if text == "object"
                else TypeSpec("object", True)
                if text == "list[object]"
                else parse_type(text)
            )
            if type_spec is None:
                close = difflib.get_close_matches(text, list(ARG_TYPES) + ["object"], n=1, cutoff=0.6)
                self.report(
                    "unknown_type",
                    f"{where}.result.{name}: unknown type {text!r}",
                    node.value_pos[name],
                    hint=f"did you mean {close[0]}?"
                    if close
                    else "use an argument type (str, int, decimal, date, ...), "
                    "list[T], or object / list[object] for structured values",
                )
                type_spec = TypeSpec("object")  # still declared: result.{name} is known
            fields[str(name)] = type_spec
        return MappingProxyType(fields)

    def genesys(self, body: LMap, where: str) -> bool:
        """`genesys: {ends_bot_session: bool}`: whether the command ends a Genesys bot session."""
        node = self.mapping(body, "genesys", f"{where}.genesys")
        if node is None:
            return False
        self.keys(node, "genesys", f"{where}.genesys")
        ends = node.get("ends_bot_session", False)
        if not isinstance(ends, bool):
            self.report(
                "wrong_type",
                f"{where}.genesys.ends_bot_session must be true or false",
                node.value_pos["ends_bot_session"],
            )
            return False
        return ends

    def request(self, body: LMap, where: str) -> RequestSpec | None:
        node = self.mapping(body, "request", f"{where}.request")
        if node is None:
            return None
        self.keys(node, "request", f"{where}.request")
        backend = self.text(node, "backend", f"{where}.request.backend")
        if not backend:
            self.report("missing_key", f"{where}.request needs a backend", node.pos)
            return None
        method = str(node.get("method") or ("POST" if "json" in node or "path" not in node else "GET")).upper()
        if method not in _METHODS:
            self.report(
                "wrong_type", f"{where}.request.method must be one of {', '.join(_METHODS)}", node.value_pos["method"]
            )
            method = "POST"
        headers = {str(k): str(v) for k, v in (self.mapping(node, "headers", f"{where}.request.headers") or {}).items()}
        return RequestSpec(
            backend=backend,
            method=method,
            path=self.text(node, "path", f"{where}.request.path"),
            query=MappingProxyType(dict(self.mapping(node, "query", f"{where}.request.query") or {})),
            json=node.get("json"),
            headers=MappingProxyType(headers),
            default_contract=set(node) == {"backend"},
            position=node.pos,
            backend_position=node.value_pos.get("backend", node.pos),
        )

    def examples(self, body: LMap, where: str) -> tuple[Example, ...]:
        node = body.get("examples")
        if node is None:
            return ()
        if not isinstance(node, LList):
            self.report("wrong_type", f"{where}.examples must be a list", body.value_pos["examples"])
            return ()
        out = []
        for item, item_pos in zip(node, node.item_pos):
            if isinstance(item, str):
                out.append(Example(input=item, position=item_pos))
            elif isinstance(item, LMap) and isinstance(item.get("input"), str):
                self.keys(item, "example", f"an example of {where}")
                parts: dict[str, LMap | None] = {}
                for part in ("backend", "expect"):
                    parts[part] = item.get(part) if isinstance(item.get(part), LMap) else None
                    if parts[part] is not None:
                        self.keys(item[part], f"example.{part}", f"an example's {part}")
                    elif item.get(part) is not None:  # `expect: constraint` would crash lint later
                        self.report(
                            "wrong_type",
                            f"an example's {part} must be a mapping, like "
                            + ("{error: constraint}" if part == "expect" else "{status: 200, json: {}}"),
                            item.value_pos[part],
                        )
                role = item.get("role")
                if role is not None and role not in ROLES:
                    self.report(
                        "wrong_type",
                        f"an example's role must be agent or customer, got {role!r}",
                        item.value_pos["role"],
                    )
                    role = None
                out.append(
                    Example(
                        input=item["input"],
                        backend=parts["backend"],
                        expect=parts["expect"],
                        role=role,
                        position=item.value_pos["input"],
                    )
                )
            else:
                self.report(
                    "wrong_type",
                    "an example is a command line, or a mapping with input (and backend, expect)",
                    item_pos,
                )
        return tuple(out)


def build_spec(
    data: Any, path: str | None = None, env: Mapping[str, str] | None = None
) -> tuple[RegistrySpec | None, list[Diagnostic]]:
    """Build a spec from parsed YAML; the spec is None only when the document is unusable."""
    loader = _Loader(path, os.environ if env is None else env)
    spec = loader.load(data)
    return spec, loader.diagnostics


def load_spec(
    path: str, env: Mapping[str, str] | None = None, *, text: str | None = None
) -> tuple[RegistrySpec | None, list[Diagnostic]]:
    """Read and build a registry file (or `text` as if it were that file)."""
    data, diagnostics = parse_yaml(text, path) if text is not None else read_yaml(path)
    if data is None and not diagnostics:
        diagnostics = [
            Diagnostic(
                "empty_registry",
                "the registry is empty",
                file=path,
                line=1,
                column=1,
                hint="Start with `version: 1` and a `commands:` mapping.",
            )
        ]
    if data is None:
        return None, diagnostics
    spec, more = build_spec(data, path, env)
    return spec, diagnostics + more
