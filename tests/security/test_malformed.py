"""Attack 6: malformed input, correctly signed, to `/v1/messages`: a 400 with a reason, never a 500,
and nothing that can forge a log line or hide text behind bidi controls."""

from __future__ import annotations

import json
import uuid

import pytest

from .attack import Recorder, Served, serve, signed

FIELDS = ("conversation_id", "message_id", "participant_id", "role", "text")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, recorder: Recorder) -> Served:
    found = serve(tmp_path_factory.mktemp("malformed"), recorder, env={"COMMANDLANG_LOG_FORMAT": "text"})
    yield found
    found.proc.stop()


def _post_raw_body(served: Served, body: bytes):
    return served.post(body, signed(body))


def _assert_refused_with_a_reason(served: Served, body: bytes) -> None:
    answer = _post_raw_body(served, body)
    assert answer.status_code == 400, (answer.status_code, answer.text[:300])
    assert answer.json()["error"]
    assert served.webhook("/note still-alive", conversation=f"c-{uuid.uuid4().hex}").status_code == 200


def test_100000_levels_of_nesting_are_refused_with_a_reason(served: Served) -> None:
    depth = 100_000  # 200 kB: over the webhook's 64 KiB body limit, so refused before any parsing
    answer = _post_raw_body(served, b"[" * depth + b"]" * depth)
    assert answer.status_code in (400, 413), (answer.status_code, answer.text[:300])
    assert answer.json()["error"]


@pytest.mark.parametrize("depth", [32_000])  # as deep as fits in the 64 KiB body limit
def test_deeply_nested_json_is_400(served: Served, depth: int) -> None:
    _assert_refused_with_a_reason(served, b"[" * depth + b"]" * depth)
    depth = 10_000
    inner = b'{"a":' * depth + b"1" + b"}" * depth
    _assert_refused_with_a_reason(
        served,
        b'{"conversation_id": ' + inner + b', "message_id": "m", "participant_id": "p", '
        b'"role": "customer", "text": "/note x"}',
    )
    assert "Traceback" not in served.stderr()


@pytest.mark.parametrize("field", FIELDS)
def test_a_lone_surrogate_in_any_field_is_400(served: Served, field: str) -> None:
    mark = "m" + uuid.uuid4().hex[:10]
    data = {
        "conversation_id": f"c-{mark}",
        "message_id": f"id-{mark}",
        "participant_id": "p1",
        "role": "customer",
        "text": f"/touch {mark}",
    }
    raw = json.dumps(data)
    # the escape itself, as an attacker writes it (json.dumps of a str cannot hold one)
    value = json.dumps(data[field])
    raw = raw.replace(f'"{field}": {value}', f'"{field}": {value[:-1]}\\ud800"')
    assert "\\ud800" in raw
    answer = _post_raw_body(served, raw.encode())
    print(f"\nlone surrogate in {field}: {answer.status_code} {answer.text[:200]}")
    assert answer.status_code == 400, (answer.status_code, answer.text[:300])
    assert answer.json()["error"]
    assert served.recorder.seen(mark) == []
    assert served.rows_where(mark) == []


def test_a_forged_log_line_in_a_conversation_id_stays_on_its_line(served: Served) -> None:
    mark = uuid.uuid4().hex[:10]
    forged = f"12:00:00 error  FORGED-{mark} admin logged in"
    conversation = f"c-{mark}\n{forged}\r\x1b[2K"
    answer = served.webhook("/note hello", conversation=conversation)
    assert answer.json()["command"]["status"] == "completed"
    logs = served.stderr().splitlines()
    assert not any(line.startswith("12:00:00 error") for line in logs)
    ours = [line for line in logs if f"FORGED-{mark}" in line]
    assert ours, "the command was logged with its conversation id"
    assert all(f"c-{mark}\\n12:00:00" in line and "\x1b" not in line and "\r" not in line for line in ours)


def test_bidi_controls_in_an_argument_are_not_stored_verbatim(served: Served) -> None:
    mark = uuid.uuid4().hex[:10]
    answer = served.webhook(f"/note {mark}\u202egpj.exe", conversation=f"c-bidi-{mark}")
    assert answer.status_code in (200, 400)
    rows = served.rows_where(mark)
    stored = json.dumps(rows, ensure_ascii=False) + answer.text
    print(f"\nbidi: {answer.status_code} stored {json.dumps(rows)[:300]}")
    assert "\u202e" not in stored
