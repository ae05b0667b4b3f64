"""`ReplyRenderer`: a command's reply templates -> `Reply`, with defaults for everything.

Where each reply comes from:

- `success` / `error`: `reply.success` / `reply.error` of the command: a
  file name in templates/ (YAML, read once and cached until it changes) or
  an inline mapping; otherwise the default reply.
- `confirm`: the command's `confirm` (a text template or a reply mapping),
  followed by the Confirm and Cancel quick replies.
- `ack`: the command's `ack` (a text template or a reply mapping).

A reply file may start from a shared layout with `$layout: _layout.yaml`:
the file's keys replace the layout's, except `quick_replies`, which are the
file's followed by the layout's. Strings may `{% import "_macros.j2" as m %}`
or use the `macros` variable.

At run time a template that fails (an author's mistake: a typo'd variable, a
structure that is not a reply) never reaches the user: the default reply of
the same kind is sent and the problem logged. `strict=True` raises instead
(lint, `commandlang render`).

What a backend sent is scrubbed before any template sees it (`scrub.Scrubber`,
with the registry's backend hosts when the renderer was given them): a
success `result` has raw sensitive values masked; an error's message and
`result` lose URLs, addresses, stack traces and sensitive values, and after a
5xx answer `result` is withheld. An error reply is masked once more as a whole.
Links, images and attachments outside the URL rule (`scrub.is_allowed_link`)
are dropped when the `Reply` is built (`model.reply_from_structure`).

Payloads of the confirmation quick replies: `/confirm <token>` and
`/cancel <token>` (`CONFIRM_PAYLOAD`, `CANCEL_PAYLOAD`, `parse_confirmation`).
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import replace
from typing import Any, Mapping

from ..binding.call import mask
from ..registry.types import to_json
from ..diagnostics import Diagnostic, TemplateError
from ..registry.loader import when_expression
from ..registry.languages import fallback_chain
from ..registry.model import CommandSpec
from ..registry.yamlsource import read_yaml
from ..texts import N_
from .context import ReplyContext, ReplyKind, template_variables
from .i18n import Translator, translator
from .model import QuickReply, Reply, ReplyShapeError, reply_from_structure
from .scrub import Scrubber
from .templates import DROP, TemplateEngine

__all__ = ["ReplyRenderer", "CONFIRM_PAYLOAD", "CANCEL_PAYLOAD", "parse_confirmation", "default_reply"]

log = logging.getLogger("commandlang.replies")

CONFIRM_PAYLOAD = "/confirm {token}"
CANCEL_PAYLOAD = "/cancel {token}"
_CONFIRMATION = re.compile(r"^\s*/(confirm|cancel)(?:\s+(\S+))?\s*$", re.IGNORECASE)
MACROS_FILE = "_macros.j2"
_KINDS = ("success", "error", "confirm", "ack")
_TEMPLATE_FILE = re.compile(r"^[\w./-]+\.ya?ml$")


def parse_confirmation(text: str) -> tuple[str, str | None] | None:
    """`("confirm" | "cancel", token or None)` when `text` answers a confirmation, else None."""
    match = _CONFIRMATION.match(text)
    if match is None:
        return None
    return match.group(1).lower(), match.group(2)


def is_template_file(value: Any) -> bool:
    """Whether a reply value names a file in templates/ (rather than being inline)."""
    return isinstance(value, str) and _TEMPLATE_FILE.match(value.strip()) is not None


def language_file(template_dir: str | None, name: str, language: str | None) -> str | None:
    """The first `TAG/name` along `language`'s fallback chain that exists in `template_dir`, or None."""
    if language and template_dir is not None:
        for tag in fallback_chain(language):
            candidate = f"{tag}/{name}"
            if os.path.isfile(os.path.join(template_dir, candidate)):
                return candidate
    return None


def declared_reply(spec: CommandSpec, kind: str) -> Any:
    """What `spec` declares for its `kind` reply (success, error, confirm, ack): a file name, inline, or None."""
    return {"success": spec.reply.success, "error": spec.reply.error, "confirm": spec.confirm, "ack": spec.ack}[kind]


class ReplyRenderer:
    """Renders the replies of one registry's commands; holds the file cache."""

    def __init__(
        self,
        engine: TemplateEngine | None = None,
        template_dir: str | os.PathLike[str] | None = None,
        *,
        scrubber: Scrubber | None = None,
        currency: str | None = None,
    ) -> None:
        self.scrubber = scrubber or Scrubber()  # `Scrubber.for_registry(spec)` also removes the backends' host names
        self.template_dir = os.fspath(template_dir) if template_dir is not None else None
        self.engine = engine or TemplateEngine(self.template_dir, currency=currency)
        self._files: dict[str, tuple[int, Any]] = {}
        self._macros: Any = None
        self._macros_loaded = False
        # (id of the spec, language) -> (the spec, it in that language): `in_language` once, not per reply
        self._localized: dict[tuple[int, str], tuple[CommandSpec, CommandSpec]] = {}

    # -- templates -------------------------------------------------------
    def template_path(self, name: str) -> str:
        """The file a reply names; refuses names that would leave templates/."""
        if self.template_dir is None:
            raise TemplateError(Diagnostic("template_missing", f"{name}: there is no templates/ directory"))
        root = os.path.realpath(self.template_dir)
        path = os.path.realpath(os.path.join(root, name))
        if os.path.commonpath([root, path]) != root:
            raise TemplateError(Diagnostic("template_missing", f"{name} is outside templates/"))
        return path

    def load_file(self, name: str, _depth: int = 0) -> Any:
        """A reply file's template structure (layout applied), cached until the file changes."""
        path = self.template_path(name)
        try:
            stamp = os.stat(path).st_mtime_ns
        except OSError:
            raise TemplateError(Diagnostic("template_missing", f"templates/{name} does not exist", file=path)) from None
        cached = self._files.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        structure, problems = read_yaml(path)
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            raise TemplateError(errors[0])
        if isinstance(structure, Mapping) and "$layout" in structure:
            if _depth >= 3:
                raise TemplateError(Diagnostic("template_error", "$layout nests more than 3 deep", file=path))
            structure = apply_layout(self.load_file(str(structure["$layout"]), _depth + 1), structure)
        self._files[path] = (stamp, structure)
        return structure

    def macros(self) -> Any:
        """The module of templates/_macros.j2, or None when there is none."""
        if not self._macros_loaded:
            self._macros_loaded = True
            if self.template_dir and os.path.exists(os.path.join(self.template_dir, MACROS_FILE)):
                self._macros = self.engine.env.get_template(MACROS_FILE).module
        return self._macros

    def needs_approval(self, spec: CommandSpec, context: ReplyContext) -> bool:
        """Whether a run of `spec` with these arguments waits for an approver (`approve.when`, default always).

        A condition that fails to evaluate (an optional argument left out, a typo lint did not see)
        asks for approval: when in doubt, a second person looks."""
        approve = spec.approve
        if approve is None:
            return False
        if approve.when is None:
            return True
        variables = template_variables(spec, context, "confirm", self.macros())
        try:
            return bool(self.engine.evaluate(when_expression(approve.when), variables))
        except TemplateError as exc:
            log.warning("/%s: approve.when failed (%s): asking for approval", spec.name, exc.diagnostic.message)
            return True

    def localized_file(self, name: str, language: str | None) -> str:
        """`de/refund_ok.yaml` when the conversation is in German and that file exists, else `name`
        (tried along the fallback chain: `de-ch/`, `de/`, then templates/ itself)."""
        return language_file(self.template_dir, name, language) or name

    def template_for(self, spec: CommandSpec, kind: ReplyKind, language: str | None = None) -> Any:
        """The template structure declared for `kind` (`spec` already in `language`), or None for the default."""
        declared = declared_reply(spec, kind)
        if declared is None:
            return None
        if is_template_file(declared):
            return self.load_file(self.localized_file(declared.strip(), language))
        if isinstance(declared, Mapping) and "$layout" in declared:
            return apply_layout(self.load_file(str(declared["$layout"])), declared)
        return declared

    def in_language(self, spec: CommandSpec, language: str) -> CommandSpec:
        """`spec` with its texts in `language` (cached; bounded: a registry has few commands and languages)."""
        key = (id(spec), language)
        cached = self._localized.get(key)
        if cached is not None and cached[0] is spec:
            return cached[1]
        localized = spec.in_language(fallback_chain(language))
        if len(self._localized) >= 4096:
            self._localized.clear()
        self._localized[key] = (spec, localized)
        return localized

    # -- rendering -------------------------------------------------------
    def render(
        self,
        spec: CommandSpec,
        kind: ReplyKind,
        context: ReplyContext | Mapping[str, Any] | None = None,
        *,
        strict: bool = False,
    ) -> Reply:
        """The `kind` reply of `spec` for one run. Falls back to the default unless `strict`."""
        if kind not in _KINDS:
            raise ValueError(f"kind must be one of {', '.join(_KINDS)}, not {kind!r}")
        ctx = ReplyContext.coerce(context)
        if ctx.language:
            spec = self.in_language(spec, ctx.language)
        scrubber = self.scrubber.for_call(spec, ctx.args)
        ctx = scrubbed_context(ctx, kind, scrubber)
        try:
            reply = self._render_declared(spec, kind, ctx)
        except (TemplateError, ReplyShapeError) as exc:
            if strict:
                raise
            log.warning("reply template of /%s (%s) failed, sending the default: %s", spec.name, kind, exc)
            reply = None
        if reply is None:
            reply = default_reply(spec, kind, ctx)
        if kind == "confirm":
            reply = _with_confirmation(reply, ctx.confirm_token, translator(ctx.language))
        if kind == "error" and scrubber.secrets:  # a template may have put a raw value anywhere
            reply = reply_from_structure(scrubber.mask(reply.to_json()))
        return reply

    def render_structure(self, spec: CommandSpec, kind: ReplyKind, template: Any, context: ReplyContext) -> Reply:
        """Render one template structure (file content or inline) for `spec` into a `Reply`; raises on failure.

        `context` is used as given: `render` passes it through `scrubbed_context` first.
        """
        variables = template_variables(spec, context, kind, self.macros())
        rendered = self.engine.render(template, variables)
        if rendered is DROP:
            raise ReplyShapeError("", "the whole reply was dropped by its $when")
        if not isinstance(rendered, (str, Mapping)):
            rendered = str(to_json(rendered))  # `confirm: "{{ args.order }}"` yields a number: show it
        return reply_from_structure(rendered)

    def _render_declared(self, spec: CommandSpec, kind: ReplyKind, ctx: ReplyContext) -> Reply | None:
        template = self.template_for(spec, kind, ctx.language)
        if template is None:
            return None
        try:
            return self.render_structure(spec, kind, template, ctx)
        except TemplateError as exc:
            declared = declared_reply(spec, kind)
            if exc.diagnostic.file is None and is_template_file(declared):
                shown = self.localized_file(declared.strip(), ctx.language)
                raise TemplateError(replace(exc.diagnostic, file=f"templates/{shown}")) from None
            raise


def scrubbed_context(context: ReplyContext, kind: ReplyKind, scrubber: Scrubber) -> ReplyContext:
    """`context` as a `kind` reply may show it: what the backend sent scrubbed (see the module docstring)."""
    if kind == "error":
        error = dict(context.error or {})
        error["message"] = scrubber.message(error.get("message"))
        failed_server = context.status is not None and context.status >= 500
        result = None if failed_server else scrubber.details(context.result)
        return replace(context, error=error, result=result)
    if context.result is None:
        return context
    return replace(context, result=scrubber.mask(context.result))


def apply_layout(layout: Any, child: Mapping[str, Any]) -> Any:
    """`child` over `layout`: keys replace, `quick_replies` concatenate (child's first)."""
    if not isinstance(layout, Mapping):
        raise TemplateError(Diagnostic("template_error", "a $layout file must hold a mapping"))
    merged = {k: v for k, v in layout.items() if k != "$layout"}
    for key, value in child.items():
        if key == "$layout":
            continue
        if key == "quick_replies" and isinstance(value, list) and isinstance(merged.get(key), list):
            merged[key] = list(value) + list(merged[key])
        else:
            merged[key] = value
    return merged


def default_reply(spec: CommandSpec, kind: ReplyKind, context: ReplyContext) -> Reply:
    """The built-in reply of each kind; shows only what is safe (masked args, a cleaned message)."""
    t = translator(context.language)
    help_button = QuickReply(label=t(N_("Help")), payload=f"/help {spec.name}")
    if kind == "success":
        result = context.result
        if isinstance(result, Mapping) and isinstance(result.get("message"), str) and result["message"].strip():
            return Reply(text=result["message"].strip())
        return Reply(text=t(N_("Done: /{command}"), command=spec.name))
    if kind == "error":
        error = context.error or {}
        message = (
            Scrubber().for_call(spec, context.args).message(error.get("message"))
        )  # again: callers may pass raw contexts
        if message:
            text = t(N_("Sorry, /{command} failed: {message}"), command=spec.name, message=message)
        else:
            text = t(N_("Sorry, /{command} failed."), command=spec.name)
        if error.get("code") in ("timeout", "timed_out"):
            text += "\n" + t(N_("It took too long; please try again in a moment."))
        return Reply(text=text, quick_replies=(help_button,))
    if kind == "confirm":
        return Reply(
            text=t(N_("Run /{command}{arguments}?"), command=spec.name, arguments=_masked_args_text(spec, context))
        )
    return Reply(text=t(N_("Working on /{command}…"), command=spec.name))


def _masked_args_text(spec: CommandSpec, context: ReplyContext) -> str:
    parts = []
    for arg in spec.args:
        value = context.args.get(arg.name)
        if value is None or value is False or value == []:
            continue
        shown = mask(value) if arg.sensitive else to_json(value)
        parts.append(f"{arg.name}={shown}")
    return (" " + " ".join(parts)) if parts else ""


def _with_confirmation(reply: Reply, token: str | None, t: Translator) -> Reply:
    """Prepend Confirm / Cancel quick replies (labels translated, payloads not); the token ties the answer
    to this request."""
    suffix = token or ""
    confirm = QuickReply(t(N_("Confirm")), CONFIRM_PAYLOAD.format(token=suffix).strip())
    cancel = QuickReply(t(N_("Cancel")), CANCEL_PAYLOAD.format(token=suffix).strip())
    others = tuple(q for q in reply.quick_replies if q.payload not in (confirm.payload, cancel.payload))
    return Reply(
        text=reply.text,
        format=reply.format,
        quick_replies=(confirm, cancel) + others,
        buttons=reply.buttons,
        cards=reply.cards,
        carousel=reply.carousel,
        attachments=reply.attachments,
    )
