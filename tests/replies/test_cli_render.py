"""`commandlang render`: previews a reply for a channel."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from commandlang.cli import main as cli_main
from commandlang.cli.render import main

from .helpers import ROOT

REGISTRY = str(ROOT / "commands.yaml")


@pytest.fixture()
def answer(tmp_path: Path) -> str:
    path = tmp_path / "answer.json"
    path.write_text(
        json.dumps({"refund_id": "R-1", "status": "created", "message": "see http://internal/x"}), encoding="utf-8"
    )
    return str(path)


def test_text_preview(answer: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "refund",
            "--registry",
            REGISTRY,
            "--args",
            '{"order": 7, "amount": "5"}',
            "--result",
            answer,
            "--channel",
            "text",
        ]
    )
    assert code == 0
    assert capsys.readouterr().out.startswith(
        "Refund R-1 created: £5.00 on order 7.\n\nReply with a number or type the command:\n1. Order status (/status 7)"
    )


def test_genesys_preview_from_a_chat_line_through_the_dispatcher(
    answer: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli_main(
        [
            "render",
            "rf",
            "--registry",
            REGISTRY,
            "--input",
            "/rf 7 amount=5",
            "--result",
            answer,
            "--channel",
            "genesys",
        ]
    )
    assert code == 0
    body = json.loads(capsys.readouterr().out)
    assert body["replyMessages"][0]["type"] == "Structured"
    assert body["replyMessages"][0]["content"][0]["quickReply"] == {
        "text": "Order status",
        "payload": "/status 7",
        "action": "Message",
    }


def test_json_preview_of_an_error(answer: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "refund",
            "--registry",
            REGISTRY,
            "--args",
            '{"order": 7, "amount": "5"}',
            "--result",
            answer,
            "--kind",
            "error",
            "--status",
            "409",
        ]
    )
    assert code == 0
    reply = json.loads(capsys.readouterr().out)
    assert reply["text"] == "Sorry, /refund did not work: see [link removed]"
    assert reply["quick_replies"] == [{"label": "/help refund", "payload": "/help refund"}]


def test_a_template_that_fails_exits_1_and_says_where(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    no_order = tmp_path / "a.json"
    no_order.write_text('{"status": "shipped"}', encoding="utf-8")
    assert main(["status", "--registry", REGISTRY, "--args", '{"order": 7}', "--result", str(no_order)]) == 1
    assert "templates/order_status.yaml" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nope"], "no command 'nope'"),
        (["refund", "--args", '{"order": "x"}'], "order must be a whole number"),
        (["refund", "--args", '{"colour": 1}'], "has no argument colour"),
        (["refund", "--args", "{not json"], "Expecting property name"),
        (["refund", "--input", "/status 7"], "does not run /refund"),
        (["refund", "--args", '{"order": 7}'], "/refund needs amount: give it in --args"),  # never previewed as 0.00
    ],
)
def test_bad_usage_exits_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*argv, "--registry", REGISTRY]) == 2
    assert message in capsys.readouterr().err


def test_a_reply_that_reads_the_answer_without_result_says_to_give_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["refund", "--registry", REGISTRY, "--args", '{"order": 7, "amount": "5"}']) == 1
    assert "give one with --result FILE" in capsys.readouterr().err


def test_a_preview_in_another_language(answer: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["refund", "--registry", REGISTRY, "--input", "/refund 7 amount=5,5", "--role", "agent"]
    code = main(argv + ["--result", answer, "--channel", "text", "--language", "de-AT"])  # de-at -> de
    assert code == 0
    assert capsys.readouterr().out.startswith(
        "Erstattung R-1 angelegt: 5,50\xa0£ für Bestellung 7.\n\nAntworten Sie mit einer Nummer oder tippen Sie den Befehl:"
    )
