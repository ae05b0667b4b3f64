"""Attacks 7 and 8: making a backend's failure or answer carry secrets, addresses or hostile URLs out.

The recorder backend answers `/boom` with 500 "database exploded at 10.1.2.3",
`/reject` with a 400 echoing the (sensitive) card number it was sent, and
`/links` with javascript: and data: URLs the reply templates put in cards,
buttons, an image and markdown links.
"""

from __future__ import annotations

import json
import uuid

import pytest

from .attack import CARD, Recorder, Served, serve, texts
from .recorder import LEAK_MESSAGE

RAW = (LEAK_MESSAGE, "database exploded", "10.1.2.3", "10.9.8.7", CARD)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, recorder: Recorder) -> Served:
    found = serve(tmp_path_factory.mktemp("leaks"), recorder)
    yield found
    found.proc.stop()


def _leaks(where: str) -> list[str]:
    return [raw for raw in RAW if raw in where]


@pytest.mark.parametrize(
    "text", ["/boom {mark}", f"/charge {{mark}} card={CARD}"], ids=["500-with-ip", "400-echoing-card"]
)
def test_a_backend_failure_leaks_nothing_to_the_user_or_the_state(served: Served, text: str) -> None:
    mark = "m" + uuid.uuid4().hex[:10]
    answer = served.webhook(text.format(mark=mark), conversation=f"c-{mark}").json()
    assert len(served.recorder.seen(mark)) == 1  # the backend was called and said it
    assert answer["command"]["status"] == "failed"
    assert answer["command"]["error"]["code"] == "backend_error"
    shown = " ".join(texts(answer))
    assert _leaks(shown) == [], shown
    rows = served.rows_where(mark)
    assert rows and _leaks(json.dumps(rows)) == []


@pytest.mark.parametrize("text", [f"/charge {{mark}} card={CARD}"], ids=["card"])
def test_a_sensitive_argument_never_reaches_the_log(served: Served, text: str) -> None:
    mark = "m" + uuid.uuid4().hex[:10]
    served.webhook(text.format(mark=mark), conversation=f"c-{mark}")
    assert CARD not in served.stderr()


def test_the_log_says_what_a_backend_said_but_no_address_or_card(served: Served) -> None:
    """The operator's log is the one place a 5xx message is kept (users never see it): scrubbed like a reply."""
    mark = "m" + uuid.uuid4().hex[:10]
    served.webhook(f"/boom {mark}", conversation=f"c-{mark}")
    served.webhook(f"/charge {mark} card={CARD}", conversation=f"c-{mark}")
    log = served.stderr()
    assert [raw for raw in ("10.1.2.3", "10.9.8.7", CARD, LEAK_MESSAGE) if raw in log] == []
    assert "database exploded at [address removed]" in log


def test_hostile_urls_from_a_backend_never_reach_a_reply(served: Served) -> None:
    mark = "m" + uuid.uuid4().hex[:10]
    answer = served.webhook(f"/links {mark}", conversation=f"c-{mark}").json()
    assert answer["command"]["status"] == "completed"
    shown = " ".join(texts(answer)).lower()
    assert "javascript:" not in shown and "data:" not in shown
    reply = answer["replies"][0]
    urls = (
        [a.get("url") for card in reply["cards"] for a in card["actions"]]
        + [card.get("image") for card in reply["cards"]]
        + [(card.get("default_action") or {}).get("url") for card in reply["cards"]]
    )
    assert [u for u in urls if u] == ["https://ok.example/x"]  # the good one is kept: the rule is not "drop all"
    assert "https://ok.example/x" in reply["text"]
