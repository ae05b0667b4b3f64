"""`commandlang render NAME [--args JSON | --input TEXT] [--result FILE.json] [--channel genesys|text|json] [--kind ...]`.

Previews the reply a command would send, compiled for one channel:

    commandlang render refund --args '{"order": 7, "amount": "5"}' --result answer.json --channel text

`--args` takes the JSON form of the arguments (as `commandlang parse --json`
prints them; defaults are filled); `--input` parses a chat line instead.
`--result` is the backend's answer: a JSON file (`-` reads stdin). With
`--kind error` the answer is shown as a failure (`--status` sets its HTTP
status). Exit 0 on success, 1 when the template fails (its error is
printed), 2 on bad usage or an unusable registry.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from typing import Any

from ..api import load_registry
from ..diagnostics import CommandError, RegistryError, TemplateError
from ..registry.model import ArgSpec, CommandSpec
from ..registry.types import ConversionError, convert
from ..registry.languages import resolve_language
from ..replies.compile_genesys import compile_genesys
from ..replies.compile_text import compile_text
from ..replies.context import ReplyContext
from ..replies.limits import LIMITS, enforce_limits
from ..replies.model import ReplyShapeError
from ..replies.render import ReplyRenderer
from ..replies.scrub import Scrubber
from .common import ArgumentParser, print_json


class _BadArgs(ValueError):
    pass


def args_from_json(spec: CommandSpec, data: Any) -> dict[str, Any]:
    """Typed argument values from their JSON form, defaults filled; `_BadArgs` says what is wrong."""
    if not isinstance(data, dict):
        raise _BadArgs("--args must be a JSON object")
    unknown = sorted(set(data) - {a.name for a in spec.args})
    if unknown:
        raise _BadArgs(f"/{spec.name} has no argument {', '.join(unknown)} (usage: {spec.usage()})")
    out: dict[str, Any] = {}
    for arg in spec.args:
        if arg.name not in data or data[arg.name] is None:
            out[arg.name] = (
                arg.default
                if arg.has_default
                else (False if arg.type.name == "bool" and not arg.type.is_list else None)
            )
            continue
        value = data[arg.name]
        if arg.type.is_list:
            out[arg.name] = [_one(arg, item) for item in (value if isinstance(value, list) else [value])]
        else:
            out[arg.name] = _one(arg, value)
    missing = [a.name for a in spec.args if a.required and data.get(a.name) is None]
    if missing:  # a preview with a required value left out would show something no user can ever see
        raise _BadArgs(
            f"/{spec.name} needs {', '.join(missing)}: give {'them' if len(missing) > 1 else 'it'} in --args "
            f"(usage: {spec.usage()})"
        )
    return out


def _one(arg: ArgSpec, value: Any) -> Any:
    if arg.type.name == "bool" and isinstance(value, bool):
        return value
    if arg.type.name == "duration" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return timedelta(seconds=value)  # the JSON form of a duration is seconds
    if isinstance(value, (dict, list)):
        raise _BadArgs(f"{arg.name} must be a single {arg.type.name}, not {type(value).__name__}")
    try:
        return convert(
            arg.type.name, str(value).lower() if isinstance(value, bool) else str(value), choices=arg.choices
        )
    except ConversionError as exc:
        raise _BadArgs(f"{arg.name} must be {exc.expected}, got {value!r}") from None


def main(argv: list[str]) -> int:
    parser = ArgumentParser(prog="commandlang render", description="Preview a command's reply for one channel.")
    parser.add_argument("name", help="the command (or an alias)")
    given = parser.add_mutually_exclusive_group()
    given.add_argument("--args", default="{}", help="the arguments as a JSON object, e.g. '{\"order\": 7}'")
    given.add_argument("--input", help="a chat line to parse for the arguments instead, e.g. '/refund 7 amount=5'")
    parser.add_argument("--result", help="a JSON file holding the backend's answer ('-' for stdin)")
    parser.add_argument("--registry", default="commands.yaml", help="the registry (default: ./commands.yaml)")
    parser.add_argument(
        "--channel",
        choices=["genesys", "text", "json"],
        default="json",
        help="compile for this channel (default: json)",
    )
    parser.add_argument("--kind", choices=["success", "error", "confirm", "ack"], default="success")
    parser.add_argument(
        "--status", type=int, default=None, help="the backend's HTTP status (default: 200, or 500 for --kind error)"
    )
    parser.add_argument("--role", choices=["agent", "customer"], default=None, help="the user's role")
    parser.add_argument(
        "--language", default=None, help="the conversation's language, e.g. de (default: the registry's first)"
    )
    options = parser.parse_args(argv)

    if not os.path.exists(options.registry):
        print(f"commandlang render: no registry at {options.registry}; pass --registry FILE", file=sys.stderr)
        return 2
    try:
        registry = load_registry(options.registry)
    except RegistryError as exc:
        print(
            f"commandlang render: the registry {options.registry} has errors (run `commandlang lint`):", file=sys.stderr
        )
        for diagnostic in exc.diagnostics:
            print("  " + diagnostic.format_line(), file=sys.stderr)
        return 2
    language = resolve_language(options.language, registry.spec.settings.languages)
    spec = registry.spec.resolve(options.name.lstrip("/").lower())
    if spec is None:
        print(f"commandlang render: no command {options.name!r} in {options.registry}", file=sys.stderr)
        return 2

    try:
        if options.input is not None:
            call = registry.parse(options.input, role=options.role, language=language)
            if call is None or call.command != spec.name:
                print(f"commandlang render: {options.input!r} does not run /{spec.name}", file=sys.stderr)
                return 2
            args = dict(call.args)
        else:
            args = args_from_json(spec, json.loads(options.args))
        result = _read_result(options.result)
    except (CommandError, _BadArgs, json.JSONDecodeError, OSError) as exc:
        message = exc.diagnostic.message if isinstance(exc, CommandError) else str(exc)
        print(f"commandlang render: {message}", file=sys.stderr)
        return 2

    status = options.status if options.status is not None else (500 if options.kind == "error" else 200)
    error = None
    if options.kind == "error":
        said = result.get("message") if isinstance(result, dict) else None
        error = {"code": f"http_{status}" if status >= 400 else "backend_error", "message": said}
    context = ReplyContext(
        args=args,
        result=result,
        status=status,
        error=error,
        user={"id": "preview", "role": options.role},
        conversation_id="preview",
        confirm_token="preview",
        language=language,
    )
    renderer = ReplyRenderer(
        template_dir=registry.spec.template_dir,
        scrubber=Scrubber.for_registry(registry.spec),
        currency=registry.spec.settings.currency,
    )
    try:
        reply = renderer.render(spec, options.kind, context, strict=True)
    except (TemplateError, ReplyShapeError) as exc:
        message = (f"{exc.diagnostic.file}: " if isinstance(exc, TemplateError) and exc.diagnostic.file else "") + (
            exc.diagnostic.message if isinstance(exc, TemplateError) else f"not a valid reply: {exc}"
        )
        print(f"commandlang render: the {options.kind} reply of /{spec.name} fails: {message}", file=sys.stderr)
        if result is None and options.kind in ("success", "error"):
            print(
                "  hint: the reply reads the backend's answer (result); give one with --result FILE "
                "(a JSON file, or - for stdin)",
                file=sys.stderr,
            )
        return 1

    for warning in enforce_limits(reply, LIMITS[options.channel])[1]:
        print(f"warning: {warning}", file=sys.stderr)
    if options.channel == "genesys":
        print_json({"replyMessages": compile_genesys(reply)})
    elif options.channel == "text":
        print(compile_text(reply, language=language))
    else:
        print_json(reply.to_json())
    return 0


def _read_result(path: str | None) -> Any:
    if path is None:
        return None
    if path == "-":
        return json.load(sys.stdin)
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
