"""`commandlang test [FILE ...]`: run the registry's examples that say what should happen.

For each example with `backend` and/or `expect`: parse and bind the input
(as `role`, when given), build the request and compare it with
`expect.request`, feed the canned backend answer through the same outcome
and reply logic the service uses, and look for `expect.reply_text` in the
reply as a text channel shows it. `expect.error` names the error code the
input must fail with instead. Reports like pytest; exit 1 on any failure,
2 when a registry cannot be used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any, Mapping
from urllib.parse import urlsplit

from ..api import Registry
from ..diagnostics import CommandError, TemplateError
from ..execution.answer import answer
from ..execution.outcome import classify_response
from ..execution.request import prepare_request
from ..registry.model import CommandSpec, Example
from ..replies.compile_text import compile_text
from ..replies.render import ReplyRenderer
from ..replies.scrub import Scrubber
from ..replies.templates import TemplateEngine
from .common import ArgumentParser, load_or_report

__all__ = ["main", "run_example"]


@dataclass(frozen=True, slots=True)
class ExampleResult:
    name: str
    passed: bool
    problems: tuple[str, ...] = ()


def _subset_problems(expected: Any, actual: Any, where: str) -> list[str]:
    """What in `expected` differs from `actual` (mappings compare key by key; other values exactly)."""
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        problems = []
        for key, value in expected.items():
            if key not in actual:
                problems.append(f"{where}.{key}: expected {value!r}, but it is missing")
            else:
                problems.extend(_subset_problems(value, actual[key], f"{where}.{key}"))
        return problems
    if expected != actual and str(expected) != str(actual):
        return [f"{where}: expected {expected!r}, got {actual!r}"]
    return []


def run_example(
    registry: Registry,
    spec: CommandSpec,
    example: Example,
    renderer: ReplyRenderer,
    engine: TemplateEngine,
    today: date | None = None,
) -> list[str]:
    """The problems of one example (empty: it passes)."""
    expect = dict(example.expect or {})
    try:
        call = registry.parse(example.input, role=example.role, today=today)
    except CommandError as exc:
        if expect.get("error") == exc.diagnostic.code:
            return []
        return [f"the input fails: {exc.diagnostic.code}: {exc.diagnostic.message}"]
    if call is None:
        return ["the input is not a command"]
    if expect.get("error"):
        return [f"expected error {expect['error']}, but the input binds to /{call.command}"]

    outcome = None
    if spec.request is not None:
        try:
            prepared = prepare_request(call, registry.spec, engine, idempotency_key="example")
        except (TemplateError, ValueError) as exc:
            return [f"the request cannot be built: {exc}"]
        if "request" in expect:
            backend = registry.spec.backends[spec.request.backend]
            base_path = urlsplit(backend.base_url).path.rstrip("/")
            url = urlsplit(prepared.url)
            actual = {
                "method": prepared.method,
                "path": url.path[len(base_path) :] if url.path.startswith(base_path) else url.path,
                "query": dict(prepared.query),
                "json": prepared.json,
                "headers": {k.lower(): v for k, v in prepared.headers},
            }
            wanted = dict(expect["request"])
            if "method" in wanted:
                wanted["method"] = str(wanted["method"]).upper()
            if "headers" in wanted and isinstance(wanted["headers"], Mapping):
                wanted["headers"] = {str(k).lower(): v for k, v in wanted["headers"].items()}
            problems = _subset_problems(wanted, actual, "request")
            if problems:
                return problems
        if example.backend is None:
            return (
                []
                if "reply_text" not in expect
                else ["reply_text needs a canned backend answer (backend: {status, json})"]
            )
        canned = example.backend
        status = int(canned.get("status", 200))
        if "json" in canned:
            body, content_type = json.dumps(canned["json"]).encode(), "application/json"
        else:
            body, content_type = str(canned.get("text", "")).encode(), "text/plain"
        headers = {str(k).lower(): str(v) for k, v in (canned.get("headers") or {}).items()}
        outcome = classify_response(status, headers.get("content-type", content_type), body, prepared, 1)
    if "reply_text" in expect:
        result = answer(
            renderer, call, outcome, user={"id": "example", "role": example.role}, conversation_id="example"
        )
        shown = compile_text(result.reply)
        if str(expect["reply_text"]) not in shown:
            return [f"reply_text {expect['reply_text']!r} is not in the reply:\n{_indent(shown)}"]
    return []


def _indent(text: str) -> str:
    return "\n".join("        " + line for line in text.splitlines())


def main(argv: list[str]) -> int:
    parser = ArgumentParser(
        prog="commandlang test", description="Run the registry's examples that have backend/expect."
    )
    parser.add_argument("files", nargs="*", default=["commands.yaml"], help="registries (default: ./commands.yaml)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only failures and the summary")
    args = parser.parse_args(argv)

    results: list[ExampleResult] = []
    skipped = 0  # examples that say nothing about what should happen (only documentation): counted, not run
    for path in args.files:
        registry = load_or_report(path, "commandlang test")
        if registry is None:
            return 2
        engine = TemplateEngine(registry.spec.template_dir, currency=registry.spec.settings.currency)
        renderer = ReplyRenderer(engine, registry.spec.template_dir, scrubber=Scrubber.for_registry(registry.spec))
        for spec in registry.spec.commands.values():
            for index, example in enumerate(spec.examples):
                if example.backend is None and example.expect is None:
                    skipped += 1
                    continue
                name = f"{path}::{spec.name}[{index}]"
                problems = run_example(registry, spec, example, renderer, engine)
                results.append(ExampleResult(name, not problems, tuple(problems)))
                if not problems and not args.quiet:
                    print(f"{name} PASSED")
                elif problems:
                    print(f"{name} FAILED  ({example.input})")
                    for problem in problems:
                        print(f"    {problem}")
    passed = sum(r.passed for r in results)
    failed = len(results) - passed
    if skipped and not args.quiet:
        print(f"skipped {skipped} example(s) without a canned backend answer or an expect (nothing to check)")
    print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    return 1 if failed else 0
