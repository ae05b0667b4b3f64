"""prepare_request: URLs an argument cannot bend, bodies in JSON form, headers, idempotency keys."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest

from commandlang.diagnostics import TemplateError
from commandlang.execution import prepare_request
from commandlang.registry.model import AuthSpec
from commandlang.replies.templates import TemplateEngine

from .exec_support import SECRET_KEY, SECRET_TOKEN, call, make_registry

BASE = "http://orders.internal:8700"
ENGINE = TemplateEngine()


def url_of(**args: object) -> httpx.URL:
    registry = make_registry(BASE)
    prepared = prepare_request(call(registry, "refund", **args), registry, ENGINE, idempotency_key="cmd-1")
    return httpx.URL(prepared.url)


@pytest.mark.parametrize(
    ("order", "segment"),
    [
        ("../admin", "..%2Fadmin"),
        ("a/b", "a%2Fb"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("12?x=1#frag", "12%3Fx%3D1%23frag"),
        ("Zürich €", "Z%C3%BCrich%20%E2%82%AC"),
        ("@evil.example", "%40evil.example"),
        ("//evil.example/x", "%2F%2Fevil.example%2Fx"),
    ],
)
def test_a_path_argument_is_exactly_one_encoded_segment(order: str, segment: str) -> None:
    url = url_of(order=order, amount=Decimal("1"))
    assert url.host == "orders.internal" and url.port == 8700
    assert url.raw_path.decode() == f"/v1/orders/{segment}/refunds"
    assert url.query == b"" and url.fragment == ""


def test_json_body_holds_args_in_json_form() -> None:
    registry = make_registry(BASE)
    prepared = prepare_request(
        call(registry, "refund", order="7", amount=Decimal("19.99")), registry, ENGINE, idempotency_key="k"
    )
    assert prepared.method == "POST"
    assert prepared.json == {"amount": "19.99", "reason": "unspecified", "card": None}
    json.dumps(prepared.json)  # it must serialise as is


def test_default_contract_posts_args_to_commands_name() -> None:
    registry = make_registry(BASE)
    prepared = prepare_request(call(registry, "ticket.close", ticket=42), registry, ENGINE, idempotency_key="cmd-9")
    assert (prepared.method, prepared.url) == ("POST", BASE + "/v1/commands/ticket.close")
    assert prepared.json == {"args": {"ticket": 42}}
    assert prepared.header("Idempotency-Key") == "cmd-9"
    assert prepared.expects_json


def test_query_values_are_templates_and_absent_ones_are_left_out() -> None:
    registry = make_registry(BASE)
    with_q = prepare_request(call(registry, "echo", value="x", q="a&b=c"), registry, ENGINE)
    without_q = prepare_request(call(registry, "echo", value="x"), registry, ENGINE)
    assert with_q.query == (("q", "a&b=c"),)
    assert without_q.query == ()
    request = httpx.Request(with_q.method, with_q.url, params=with_q.query)
    assert request.url.params["q"] == "a&b=c"  # the value stays one value


def test_idempotency_key_only_on_body_methods() -> None:
    registry = make_registry(BASE)
    post = prepare_request(call(registry, "refund", order="1"), registry, ENGINE, idempotency_key="cmd-1")
    get = prepare_request(call(registry, "order.status", order="1"), registry, ENGINE, idempotency_key="cmd-1")
    assert post.header("Idempotency-Key") == "cmd-1" and post.idempotency_key == "cmd-1"
    assert get.header("Idempotency-Key") is None and get.idempotency_key is None


def test_bearer_auth_and_backend_headers_are_sent_but_never_printed() -> None:
    registry = make_registry(
        BASE, auth=AuthSpec("bearer", SECRET_TOKEN), headers={"X-Api-Key": SECRET_KEY, "X-Empty": ""}
    )
    prepared = prepare_request(call(registry, "order.status", order="1"), registry, ENGINE)
    assert prepared.header("Authorization") == f"Bearer {SECRET_TOKEN}"
    assert prepared.header("X-Api-Key") == SECRET_KEY
    assert prepared.header("X-Empty") is None  # `${KEY:-}` left empty sends nothing
    assert SECRET_TOKEN not in repr(prepared) and SECRET_KEY not in repr(prepared)


def test_a_header_template_cannot_inject_a_line_break() -> None:
    registry = make_registry(BASE, command_headers={"X-Reason": "{{ args.q }}"})
    with pytest.raises(TemplateError):
        prepare_request(call(registry, "echo", value="x", q="a\r\nX-Admin: yes"), registry, ENGINE)


def test_a_path_placeholder_without_a_value_is_an_author_error() -> None:
    registry = make_registry(BASE)
    with pytest.raises(TemplateError) as caught:
        prepare_request(call(registry, "order.status", order=None), registry, ENGINE)
    assert caught.value.diagnostic.argument == "order"


from hypothesis import given, settings, strategies as st  # noqa: E402
from urllib.parse import unquote  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_any_text_stays_one_segment_and_round_trips(order: str) -> None:
    registry = make_registry(BASE)
    prepared = prepare_request(call(registry, "refund", order=order), registry, ENGINE, idempotency_key="k")
    url = httpx.URL(prepared.url)  # parsed (and normalised) the way the request will be sent
    assert (url.scheme, url.host, url.port) == ("http", "orders.internal", 8700)
    assert url.query == b"" and url.fragment == ""
    segments = url.raw_path.decode("ascii").split("/")
    assert segments[:3] == ["", "v1", "orders"] and segments[4:] == ["refunds"]
    assert unquote(segments[3]) == order
