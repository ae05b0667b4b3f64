"""Hostile values from users and backends never change a reply's structure, nor escape the sandbox."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from commandlang.diagnostics import TemplateError
from commandlang.registry.model import ReplySpec
from commandlang.replies.compile_genesys import compile_genesys
from commandlang.replies.compile_text import compile_text
from commandlang.replies.context import ReplyContext
from commandlang.replies.model import ReplyShapeError
from commandlang.replies.render import ReplyRenderer
from commandlang.replies.scrub import is_allowed_link

from .helpers import pay_command

HOSTILE = [
    '"',
    "'",
    '"; DROP TABLE refunds; --',
    "' or '1'='1",
    "{",
    "}",
    "{{",
    "}}",
    "{{ 7*7 }}",
    "{{ args }}",
    "{% for x in range(10) %}x{% endfor %}",
    "{# hidden #}",
    "{% raw %}",
    "{%- endraw %}",
    "{{ ''.__class__.__mro__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ raw_args.card }}",
    "&anchor [1, 2]",
    "*anchor",
    "!!python/object/apply:os.system ['id']",
    "key: value",
    "- item",
    "---\ntext: pwned",
    '{"text": "pwned"}',
    '"}, "text": "pwned',
    '\\"',
    "\u0000",
    "line1\nline2\r\nline3",
    "</script><script>alert(1)</script>",
    "${HOME}",
    "$when: false",
    "$for: x in y",
    "null",
    "true",
    "[1, 2]",
    "%(name)s %s {0}",
    "😀\u202eRTL",
    "x" * 10_000,
    "{" * 5_000,
    "{{ lipsum.__globals__['os'] }}",
]

#: Values go in text, a label, a payload, a link, and a card per backend item ($for).
TEMPLATE = {
    "text": "Reason: {{ args.note }}",
    "quick_replies": [{"label": "Use {{ args.note }}", "payload": "/pay {{ args.invoice }} note={{ args.note }}"}],
    "buttons": [{"kind": "link", "label": "Open", "url": "{{ result.url }}"}],
    "cards": [
        {
            "$for": "item in result['items']",
            "title": "Item {{ item.name }}",
            "description": "{{ item.name }}",
            "actions": [{"kind": "postback", "label": "Pick", "payload": "{{ item.name }}"}],
        }
    ],
}


def render(note: str, backend_value: str, *, strict: bool = True):  # noqa: ANN201 - a Reply
    spec = pay_command(reply=ReplySpec(success=TEMPLATE))
    context = ReplyContext(
        args={"invoice": 7, "card": "4111111111111111", "note": note},
        result={"url": backend_value, "items": [{"name": backend_value}, {"name": backend_value}]},
    )
    return ReplyRenderer().render(spec, "success", context, strict=strict)


def shape(value: Any) -> Any:
    """The structure with every string replaced by its field type: what must never change."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return type(value).__name__


def test_the_corpus_is_large_enough() -> None:
    assert len(HOSTILE) >= 30 and len(set(HOSTILE)) == len(HOSTILE)


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda s: repr(s[:24]))
def test_hostile_values_keep_the_structure_and_stay_verbatim(hostile: str) -> None:
    baseline = render("plain", "https://example.com/x")
    reply = render(hostile, hostile)

    # a link whose URL is not https (none of these is) is dropped; everything else keeps its place
    assert reply.buttons == () and baseline.buttons[0].url == "https://example.com/x"
    baseline = replace(baseline, buttons=())
    assert shape(reply.to_json()) == shape(baseline.to_json())
    assert shape(compile_genesys(reply)) == shape(compile_genesys(baseline))
    # every value sits, untouched, in the field it was put in
    assert reply.text == f"Reason: {hostile}"
    assert reply.quick_replies[0].label == f"Use {hostile}"
    assert reply.quick_replies[0].payload == f"/pay 7 note={hostile}"
    assert [c.title for c in reply.cards] == [f"Item {hostile}"] * 2
    assert [c.description for c in reply.cards] == [hostile] * 2
    assert [c.actions[0].payload for c in reply.cards] == [hostile] * 2
    assert "4111111111111111" not in str(reply.to_json())  # the raw card never leaks through a value
    assert len(compile_text(reply)) <= 2000


@pytest.mark.parametrize("hostile", ["{{ 7*7 }}", '"}, "text": "pwned', "line1\nline2", "{% raw %}"])
def test_hostile_text_from_a_chat_line_stays_verbatim(hostile: str) -> None:
    from commandlang.binding.bind import Binder
    from commandlang.syntax import parse_invocation

    from .helpers import small_registry

    spec = pay_command(reply=ReplySpec(success={"text": "Note: {{ args.note }}"}))
    escaped = hostile.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    call = Binder(small_registry(spec)).bind(parse_invocation(f'/pay 7 card=4111111111111111 note="{escaped}"'))
    reply = ReplyRenderer().render(spec, "success", ReplyContext(args=call.args), strict=True)
    assert reply.text == f"Note: {hostile}"


@pytest.mark.parametrize(
    "value",
    [{"text": "pwned"}, ["a", "b"], {"$when": False}],
    ids=["mapping", "list", "directive"],
)
def test_a_backend_cannot_put_structure_where_text_belongs(value: Any) -> None:
    with pytest.raises(ReplyShapeError):
        render("n", value)  # type: ignore[arg-type]
    fallback = render("n", value, strict=False)  # type: ignore[arg-type]
    assert fallback.text == "Done: /pay"  # at run time: the default reply, never a broken one


ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ lipsum.__globals__ }}",
    "{{ joiner.__init__.__globals__.os }}",
    "{{ args.__class__ }}",
    "{{ result.__init__ }}",
    "{{ command.__class__.__init__.__globals__ }}",
    "{{ self.__init__ }}",
    "{{ macros }}",  # not defined without templates/_macros.j2: StrictUndefined
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ args.pop('note') }}",  # the context is immutable in the sandbox
    "{{ range(10**9)|list }}",
    "{{ config }}",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_sandbox_escapes_fail_as_template_errors(source: str) -> None:
    spec = pay_command(reply=ReplySpec(success={"text": source}))
    context = ReplyContext(args={"invoice": 7, "card": "4111111111111111", "note": "n"}, result={"a": 1})
    with pytest.raises(TemplateError):
        ReplyRenderer().render(spec, "success", context, strict=True)
    assert ReplyRenderer().render(spec, "success", context).text == "Done: /pay"


@pytest.mark.parametrize(
    "source",
    [
        "{{ 1/0 }}",
        "{{ 'a' + 1 }}",
        "{{ 'x' * 10**9 }}",
        "{{ 2 ** 100000 }}",
        "{{ [0] * 10**8 }}",
        "{{ args.note * 1000000 }}",
        "{{ result.missing }}",
    ],
)
def test_runtime_failures_in_templates_are_template_errors_not_tracebacks(source: str) -> None:
    spec = pay_command(reply=ReplySpec(success={"text": source}))
    context = ReplyContext(args={"invoice": 7, "card": "4111111111111111", "note": "n" * 4000}, result={"a": 1})
    with pytest.raises(TemplateError):
        ReplyRenderer().render(spec, "success", context, strict=True)
    assert ReplyRenderer().render(spec, "success", context).text == "Done: /pay"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(note=st.text(min_size=1, max_size=300), backend=st.text(min_size=1, max_size=300))
def test_any_text_keeps_the_structure(note: str, backend: str) -> None:
    assume(backend.strip())  # a blank link is not a link: see the next test
    reply = render(note, backend)
    # the same shape as a reply whose link is good, or (for a URL the rule refuses) one whose link was dropped
    baseline = render("plain", "https://example.com/x" if is_allowed_link(backend.strip()) else "javascript:void(0)")
    assert shape(compile_genesys(reply)) == shape(compile_genesys(baseline))
    assert reply.text == f"Reason: {note}" and reply.cards[0].description == backend


def test_a_blank_link_from_the_backend_is_refused_and_the_default_sent() -> None:
    with pytest.raises(ReplyShapeError, match="url: must not be empty"):
        render("n", "\r")
    assert render("n", "\r", strict=False).text == "Done: /pay"
