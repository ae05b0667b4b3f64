"""The shipped commands.yaml, parsed from chat text, runs against the demo backend end to end."""

from __future__ import annotations

import commandlang
import pytest

from commandlang.execution import BackendError, Executor, Success
from commandlang.replies.templates import TemplateEngine
from commandlang.resources import sample_registry_path

from .exec_support import running_demo


@pytest.mark.parametrize(
    ("text", "method", "path", "check"),
    [
        (
            '/refund 12345 amount=19.99 reason="damaged item"',
            "POST",
            "/v1/orders/12345/refunds",
            lambda j: j["refund_id"].startswith("R-") and j["amount"] == "19.99" and j["reason"] == "damaged item",
        ),
        ("/status 42", "GET", "/v1/orders/42", lambda j: j["order"] == 42 and j["status"]),
        (
            "/callback +15551234567 within=1h30m topic=billing",
            "POST",
            "/v1/callbacks",
            lambda j: j["phone"] == "+15551234567" and j["within_seconds"] == 5400 and j["topic"] == "billing",
        ),
        (
            "/ticket close 4821 resolution=duplicate tags=[billing, repeat]",
            "POST",
            "/v1/tickets/4821/close",
            lambda j: j["status"] == "closed" and j["tags"] == ["billing", "repeat"],
        ),
        (
            '/address 12345 street="1 High Street" city=London postcode="SW1A 1AA"',
            "PUT",
            "/v1/orders/12345/address",
            lambda j: j["address"]["city"] == "London" and j["address"]["country"] == "GB",
        ),
    ],
)
async def test_sample_commands_run_against_the_demo_backend(text, method, path, check) -> None:
    async with running_demo() as demo:
        registry = commandlang.load_registry(sample_registry_path(), env={"ORDERS_API": demo.url + "/v1"})
        call = registry.parse(text, role="agent")
        assert call is not None
        async with Executor(registry.spec, TemplateEngine()) as executor:
            outcome = await executor.execute(call, command_id="cmd-sample")
    assert isinstance(outcome, Success), outcome
    assert check(outcome.json)
    (request,) = demo.backend.requests
    assert (request.method, request.path) == (method, path)
    assert request.header("Authorization") == "Bearer demo-token"
    if method in ("POST", "PUT"):
        assert request.header("Idempotency-Key") == "cmd-sample"


async def test_closing_a_closed_ticket_shows_the_backends_reason() -> None:
    async with running_demo() as demo:
        registry = commandlang.load_registry(sample_registry_path(), env={"ORDERS_API": demo.url + "/v1"})
        async with Executor(registry.spec, TemplateEngine()) as executor:
            first = await executor.execute(registry.parse("/ticket close 7", role="agent"), command_id="a")
            second = await executor.execute(registry.parse("/ticket close 7", role="agent"), command_id="b")
    assert isinstance(first, Success)
    assert isinstance(second, BackendError) and second.status == 409
    assert second.user_message == "Ticket 7 is already closed"
