"""Attack 1: the demo's local channel is not a door into a production service.

Two real processes: one started the production way (no --demo, no
COMMANDLANG_LOCAL_CHANNEL) where the local routes must not exist, and one with
COMMANDLANG_LOCAL_CHANNEL=on where every cross-site, rebinding or role-forging
request is refused on its head and nothing runs.
"""

from __future__ import annotations

import json
import socket
import time
import uuid

import pytest

from .attack import HOST, Recorder, Served, head, http_get, http_post, message, serve


def marker() -> str:
    return "m" + uuid.uuid4().hex[:12]


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory, recorder: Recorder) -> Served:
    served = serve(tmp_path_factory.mktemp("prod"), recorder)
    yield served
    served.proc.stop()


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory, recorder: Recorder) -> Served:
    served = serve(tmp_path_factory.mktemp("local"), recorder, env={"COMMANDLANG_LOCAL_CHANNEL": "on"})
    yield served
    served.proc.stop()


def same_origin(served: Served) -> dict[str, str]:
    return {
        "Origin": f"http://{HOST}:{served.port}",
        "Content-Type": "application/json",
        "Sec-Fetch-Site": "same-origin",
    }


def local_post(
    served: Served,
    text: str,
    *,
    conversation: str,
    headers: dict[str, str] | None = None,
    role: str = "customer",
    participant: str = "p1",
    host: str = HOST,
):
    body = message(text, conversation=conversation, role=role, participant=participant)
    return http_post(
        served.port, "/local/messages", body, same_origin(served) if headers is None else headers, host=host
    )


def assert_nothing_ran(served: Served, mark: str) -> None:
    assert served.recorder is not None
    assert served.recorder.seen(mark) == [], "the backend was called"
    assert served.rows_where(mark) == [], "a state row was written"


# -- production: no local routes at all ------------------------------------------------------------------
def test_production_has_no_local_routes(prod: Served) -> None:
    mark = marker()
    page = http_get(prod.port, "/")
    post = local_post(prod, f"/touch {mark}", conversation=f"c-{mark}")
    events = http_get(prod.port, f"/local/events?conversation=c-{mark}", {"Origin": f"http://{HOST}:{prod.port}"})
    assert (page.status, post.status, events.status) == (404, 404, 404)
    assert b"<html" not in page.body.lower()
    assert_nothing_ran(prod, mark)
    # the same service does run commands over the webhook: the 404s are not a dead process
    assert prod.webhook(f"/touch {mark}-hook", conversation=f"c-{mark}").json()["command"]["status"] == "completed"


# -- COMMANDLANG_LOCAL_CHANNEL=on ------------------------------------------------------------------------
def test_a_same_origin_customer_message_runs(local: Served) -> None:
    """The control: the page's own request works, so the refusals below are refusals of the attack."""
    mark = marker()
    answer = local_post(local, f"/touch {mark}", conversation=f"c-{mark}")
    assert answer.status == 200, answer.body
    assert answer.json()["command"]["status"] == "completed"
    assert len(local.recorder.seen(mark)) == 1


@pytest.mark.parametrize(
    "attack, expected",
    [
        ({"Origin": "http://evil.example", "Content-Type": "application/json"}, 403),
        ({"Origin": "null", "Content-Type": "application/json"}, 403),
        ({"Content-Type": "application/json"}, 403),  # no Origin at all
        ({"Origin": "SAME", "Content-Type": "text/plain"}, 415),  # a "simple" cross-site fetch needs no preflight
        ({"Origin": "SAME", "Content-Type": "application/x-www-form-urlencoded"}, 415),
        ({"Origin": "SAME", "Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, 403),
        ({"Origin": "http://127.0.0.1.evil.example", "Content-Type": "application/json"}, 403),
    ],
    ids=[
        "foreign-origin",
        "null-origin",
        "no-origin",
        "text-plain",
        "form",
        "sec-fetch-cross-site",
        "lookalike-origin",
    ],
)
def test_cross_site_posts_are_refused_and_nothing_runs(local: Served, attack: dict[str, str], expected: int) -> None:
    mark = marker()
    headers = {k: (f"http://{HOST}:{local.port}" if v == "SAME" else v) for k, v in attack.items()}
    answer = local_post(local, f"/touch {mark}", conversation=f"c-{mark}", headers=headers)
    assert answer.status == expected, answer.body
    assert "error" in answer.json()
    assert_nothing_ran(local, mark)


def test_dns_rebinding_is_refused_on_every_local_route(local: Served) -> None:
    mark = marker()
    evil = {"Origin": "http://evil.example", "Content-Type": "application/json", "Sec-Fetch-Site": "same-origin"}
    page = http_get(local.port, "/", host="evil.example")
    post = local_post(local, f"/touch {mark}", conversation=f"c-{mark}", headers=evil, host="evil.example")
    events = http_get(
        local.port, f"/local/events?conversation=c-{mark}", {"Origin": "http://evil.example"}, host="evil.example"
    )
    assert (page.status, post.status, events.status) == (421, 421, 421)
    assert b"<html" not in page.body.lower()
    assert_nothing_ran(local, mark)
    # the page itself answers on the loopback name: the 421 is about the Host
    assert http_get(local.port, "/").status == 200


def _open_events(served: Served, path: str, headers: dict[str, str], wait: float = 5.0) -> tuple[int | None, bytes]:
    """Open the event stream: its status, and its first bytes (a 200 stream never ends by itself)."""
    with socket.create_connection((HOST, served.port), timeout=wait) as sock:
        sock.sendall(head("GET", path, headers, host=f"{HOST}:{served.port}"))
        received = b""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            chunk = sock.recv(4096)
            if not chunk:
                break
            received += chunk
            if b"\r\n\r\n" in received and (b" 200 " not in received.split(b"\r\n", 1)[0] or b"connected" in received):
                break
    status = int(received.split()[1]) if received.startswith(b"HTTP/") else None
    return status, received


def test_the_event_stream_refuses_a_foreign_origin(local: Served) -> None:
    mark = marker()
    path = f"/local/events?conversation=c-{mark}"
    status, _ = _open_events(local, path, {"Origin": "http://evil.example"})
    assert status == 403
    status, _ = _open_events(local, path, {"Sec-Fetch-Site": "cross-site"})
    assert status == 403
    status, data = _open_events(local, path, {"Origin": f"http://{HOST}:{local.port}"})  # the control
    assert status == 200 and b"connected" in data


def test_a_message_claiming_the_agent_role_gets_403(local: Served) -> None:
    mark = marker()
    answer = local_post(local, f"/staff {mark}", conversation=f"c-{mark}", role="agent")
    assert answer.status == 403
    assert "agent role" in answer.json()["error"]
    assert_nothing_ran(local, mark)


def test_an_agent_only_command_sent_as_customer_is_not_allowed(local: Served) -> None:
    mark = marker()
    answer = local_post(local, f"/staff {mark}", conversation=f"c-{mark}")
    assert answer.status == 200
    assert answer.json()["command"]["error"]["code"] == "not_allowed"
    assert local.recorder.seen(mark) == []


def _token(answer: dict) -> str:
    payloads = [q["payload"] for reply in answer["replies"] for q in reply["quick_replies"]]
    token = next(p.split()[1] for p in payloads if p.startswith("/confirm "))
    return token


def test_confirm_without_its_token_does_not_run_the_command(local: Served) -> None:
    mark = marker()
    conversation = f"c-{mark}"
    asked = local_post(local, f"/pay {mark}", conversation=conversation)
    assert asked.status == 200
    token = _token(asked.json())
    for answer_text in ("/confirm", "/confirm 0000000000", f"/confirm {token[:-1]}"):
        answer = local_post(local, answer_text, conversation=conversation)
        assert answer.status == 200
        assert "paid" not in json.dumps(answer.json())
    assert local.recorder.seen(mark) == []
    assert [r["status"] for r in local.rows_where(mark)] == ["awaiting_confirmation"]  # still waiting, nothing ran
    # the right token from the participant who was asked does run it, once
    answer = local_post(local, f"/confirm {token}", conversation=conversation)
    assert answer.json()["command"]["status"] == "completed"
    assert len(local.recorder.seen(mark)) == 1


def test_a_webhook_confirmation_cannot_be_answered_from_the_local_channel(local: Served) -> None:
    mark = marker()
    conversation = f"c-{mark}"
    asked = local.webhook(f"/pay {mark}", conversation=conversation, participant="p1")
    token = _token(asked.json())
    stolen = local_post(local, f"/confirm {token}", conversation=conversation, participant="p1")
    assert stolen.status == 200
    assert "nothing waiting" in json.dumps(stolen.json())
    assert local.recorder.seen(mark) == []
    assert [r["status"] for r in local.rows_where(mark)] == ["awaiting_confirmation"]  # still waiting, nothing ran
    # on its own channel the question still stands and runs once
    answered = local.webhook(f"/confirm {token}", conversation=conversation, participant="p1")
    assert answered.json()["command"]["status"] == "completed"
    assert len(local.recorder.seen(mark)) == 1
