"""The registry as frozen values: what commands.yaml declares, checked and typed.

Built by `loader.py`; read by the binder, the replies, the executor and the
runtime. Durations are seconds (float). Templates stay as written (strings or
YAML structures); rendering them is the replies' job.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import AbstractSet, Any, Literal, Mapping

__all__ = [
    "ARG_TYPES",
    "Roles",
    "may_run",
    "ApprovalSpec",
    "ArgSpec",
    "AuthSpec",
    "BackendSpec",
    "CommandSpec",
    "CommandTexts",
    "Example",
    "Position",
    "RegistrySpec",
    "ReplySpec",
    "RequestSpec",
    "RetryPolicy",
    "Settings",
    "TypeSpec",
]

#: The scalar argument types; any of them may also be wrapped as `list[T]`.
ARG_TYPES = ("str", "int", "float", "decimal", "bool", "date", "datetime", "duration", "email", "url", "uuid", "enum")

Role = Literal["agent", "customer"]
#: The roles every registry has; `settings.roles` may declare more (e.g. `supervisor`).
ROLES: tuple[Role, ...] = ("agent", "customer")
#: How long an approval waits for its answer unless `approve.timeout` says otherwise (30 minutes).
APPROVAL_TIMEOUT = 1800.0


@dataclass(frozen=True, slots=True)
class Position:
    """Where a node stands in a registry file (1-based)."""

    file: str | None
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Settings:
    percent_decode: bool = False
    unknown_command: Literal["reply", "ignore"] = "reply"
    max_length: int = 4000
    roles: tuple[str, ...] = ()  # `settings.roles`: the roles declared beyond agent and customer
    #: BCP 47 tags, lower-case; the first is the default (`registry/languages.py`).
    languages: tuple[str, ...] = ("en",)
    #: ISO 4217 code the `money` filter uses when a template gives none (None: templates must give one).
    currency: str | None = None

    @property
    def default_language(self) -> str:
        return self.languages[0]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a backend call is retried. The default retries the usual transient statuses twice."""

    attempts: int = 3
    on: frozenset[int] = frozenset({429, 502, 503, 504})
    backoff: float = 0.5
    max_backoff: float = 10.0


@dataclass(frozen=True, slots=True)
class AuthSpec:
    """`none`, `bearer` (a token, usually from the environment) or `genesys` (the Genesys OAuth token)."""

    type: Literal["none", "bearer", "genesys"] = "none"
    token: str | None = field(default=None, repr=False)  # a secret: never printed


@dataclass(frozen=True, slots=True)
class BackendSpec:
    name: str
    base_url: str
    timeout: float = 5.0
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)  # may hold API keys
    auth: AuthSpec = AuthSpec()
    retry: RetryPolicy = RetryPolicy()
    max_response_bytes: int = 1024 * 1024
    max_connections: int = 100  # the backend's connection pool; more concurrent calls wait for one
    position: Position | None = None


@dataclass(frozen=True, slots=True)
class TypeSpec:
    """`int`, or `list[int]` (`name="int", is_list=True`)."""

    name: str
    is_list: bool = False

    def __str__(self) -> str:
        return f"list[{self.name}]" if self.is_list else self.name


@dataclass(frozen=True, slots=True)
class ArgSpec:
    name: str
    type: TypeSpec
    positional: bool = False
    required: bool = False
    has_default: bool = False
    default: Any = None  # already converted to the argument's Python type
    min: Any = None  # converted like the value (a number, a date, seconds), or a list length
    max: Any = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    choices: tuple[Any, ...] | None = None
    help: str | None = None
    sensitive: bool = False
    position: Position | None = None

    @property
    def constrained(self) -> bool:
        """True when a value needs checks beyond its type (the binder skips the rest)."""
        return (
            self.min is not None
            or self.max is not None
            or self.min_length is not None
            or self.max_length is not None
            or self.pattern is not None
            or (self.choices is not None and self.type.name != "enum")
        )


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """A backend call. With only `backend` given, the default contract applies (`default_contract`)."""

    backend: str
    method: str = "POST"
    path: str | None = None  # a template; each {arg} is one percent-encoded path segment
    query: Mapping[str, Any] = field(default_factory=dict)  # values are templates
    json: Any = None  # a template structure, or None for no body
    headers: Mapping[str, str] = field(default_factory=dict)
    default_contract: bool = False
    position: Position | None = None
    backend_position: Position | None = None  # the `backend:` value, where unknown_backend points


@dataclass(frozen=True, slots=True)
class ReplySpec:
    """Each reply is a template file name in templates/, an inline mapping, or None for the default."""

    success: Any = None
    error: Any = None


@dataclass(frozen=True, slots=True)
class Example:
    input: str
    backend: Mapping[str, Any] | None = None  # canned answer: {status, json | text, headers}
    expect: Mapping[str, Any] | None = None  # {request: {...}, reply_text: "...", error: code}
    role: str | None = None  # who types it (default: any role the command allows)
    position: Position | None = None


@dataclass(frozen=True, slots=True)
class ApprovalSpec:
    """`approve:`: someone holding one of `roles` (never the requester) must say yes before the command runs.

    `when` is a template expression over the arguments as written (`{{ args.amount > 100 }}`, braces
    optional); None means always."""

    roles: frozenset[str]
    when: str | None = None
    timeout: float = APPROVAL_TIMEOUT
    position: Position | None = None  # the `approve:` key
    when_position: Position | None = None  # the `when:` value, where lint points inside it


@dataclass(frozen=True, slots=True)
class CommandTexts:
    """A command's texts in one language other than the default; None (or absent) where not translated."""

    summary: str | None = None
    description: str | None = None
    confirm: Any = None
    ack: Any = None
    success: Any = None  # reply.success
    error: Any = None  # reply.error
    arg_help: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    summary: str = ""
    description: str | None = None
    aliases: tuple[str, ...] = ()
    roles: frozenset[str] = frozenset(ROLES)
    args: tuple[ArgSpec, ...] = ()
    request: RequestSpec | None = None
    reply: ReplySpec = ReplySpec()
    confirm: str | None = None
    ack: str | None = None
    timeout: float | None = None
    examples: tuple[Example, ...] = ()
    position: Position | None = None
    #: `result:`, the fields the backend answers with (name -> type), so lint can check `result.X`;
    #: None when undeclared: then `result.X` is not checked at all (no guessing, no false alarms).
    result: Mapping[str, TypeSpec] | None = None
    #: `genesys: {ends_bot_session: true}`: on a Genesys Bot Connector, the command's answer is `Complete`
    #: with its own intent and its arguments as entities (the bot session ends; the flow goes on).
    ends_bot_session: bool = False
    #: `approve:`: a second person's yes first; None when the command needs none.
    approve: ApprovalSpec | None = None
    #: Translations by language (`settings.languages` but the default); see `in_language`.
    texts: Mapping[str, CommandTexts] = field(default_factory=dict)

    def in_language(self, chain: tuple[str, ...]) -> "CommandSpec":
        """This command with its texts in the first language of `chain` that has each one (a fallback chain
        like ("de-ch", "de"), `registry.languages.fallback_chain`); the default language's otherwise."""
        found = [self.texts[tag] for tag in chain if tag in self.texts]
        if not found:
            return self

        def pick(name: str, default: Any) -> Any:
            return next((getattr(t, name) for t in found if getattr(t, name) is not None), default)

        args = tuple(
            replace(arg, help=next((t.arg_help[arg.name] for t in found if arg.name in t.arg_help), arg.help))
            for arg in self.args
        )
        return replace(
            self,
            summary=pick("summary", self.summary),
            description=pick("description", self.description),
            confirm=pick("confirm", self.confirm),
            ack=pick("ack", self.ack),
            reply=ReplySpec(success=pick("success", self.reply.success), error=pick("error", self.reply.error)),
            args=args,
        )

    def arg(self, name: str) -> ArgSpec | None:
        for spec in self.args:
            if spec.name == name:
                return spec
        return None

    @property
    def positionals(self) -> tuple[ArgSpec, ...]:
        return tuple(a for a in self.args if a.positional)

    def usage(self) -> str:
        """The usage line: `/refund <order> [amount=<decimal>] [--notify]`."""
        parts = [f"/{self.name}"]
        for spec in self.args:
            if spec.positional:
                token = f"<{spec.name}>" + ("..." if spec.type.is_list else "")
            elif spec.type.name == "bool" and not spec.type.is_list:
                token = f"--{spec.name}"
            else:
                token = f"{spec.name}=<{spec.type}>"
            parts.append(token if spec.required else f"[{token}]")
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class RegistrySpec:
    """A whole, valid registry: settings, backends and commands (keyed by canonical name)."""

    version: int
    settings: Settings
    backends: Mapping[str, BackendSpec]
    commands: Mapping[str, CommandSpec]
    aliases: Mapping[str, str]  # alias -> canonical name
    path: str | None = None
    template_dir: str | None = None
    missing_env: tuple[str, ...] = ()  # ${VAR}s that were unset (the runtime warns)

    @property
    def roles(self) -> tuple[str, ...]:
        """Every role of this registry: agent, customer, then `settings.roles`."""
        return ROLES + tuple(r for r in self.settings.roles if r not in ROLES)

    def resolve(self, name: str) -> CommandSpec | None:
        """The command a name or alias (lower-case) denotes."""
        canonical = self.aliases.get(name, name)
        return self.commands.get(canonical)


#: Who is asking: one role, the set of roles a person holds (a Genesys supervisor is an agent too), or None
#: (no check: the CLI, `commandlang test`).
Roles = str | AbstractSet[str] | None


def may_run(allowed: AbstractSet[str], roles: Roles) -> bool:
    """Whether someone holding `roles` may run a command open to `allowed` (any one of them is enough)."""
    if roles is None:
        return True
    if isinstance(roles, str):
        return roles in allowed
    return not allowed.isdisjoint(roles)
