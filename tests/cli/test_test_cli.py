"""`commandlang test`: examples with canned backend answers and expectations, reported like pytest."""

from __future__ import annotations

import re

from tests.helpers import ROOT, run_cli

REGISTRY = """
version: 1
backends:
  shop: {base_url: "http://127.0.0.1:9/api/v2", retry: {attempts: 1}}
commands:
  refund:
    args:
      order: {type: int, positional: true, required: true}
      amount: {type: decimal, required: true, min: 0.01}
    request: {backend: shop, method: POST, path: "/orders/{order}/refunds", json: {amount: "{{ args.amount }}"}}
    reply:
      success: {text: "Refund {{ result.refund_id }} created for {{ args.amount }}"}
      error: {text: "No refund: {{ error.message }}"}
    examples:
      - input: /refund 7 amount=5
        backend: {status: 201, json: {refund_id: R-1}}
        expect:
          request: {method: post, path: /orders/7/refunds, json: {amount: "5"}}
          reply_text: Refund R-1 created for 5
      - input: /refund 7 amount=5
        backend: {status: 409, json: {message: Already refunded}}
        expect: {reply_text: "No refund: Already refunded"}
      - input: /refund 7 amount=0
        expect: {error: constraint}
      - input: /refund 8 amount=5
        backend: {status: 201, json: {refund_id: R-2}}
        expect:
          request: {path: /orders/9/refunds}
      - input: /refund 8 amount=5
        backend: {status: 201, json: {refund_id: R-2}}
        expect: {reply_text: "Refund R-3"}
"""


def test_passing_and_failing_examples_are_reported_with_exit_1(tmp_path) -> None:
    (tmp_path / "commands.yaml").write_text(REGISTRY)
    result = run_cli("test", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        "commands.yaml::refund[0] PASSED",
        "commands.yaml::refund[1] PASSED",
        "commands.yaml::refund[2] PASSED",
    ]
    assert lines[3] == "commands.yaml::refund[3] FAILED  (/refund 8 amount=5)"
    assert "request.path: expected '/orders/9/refunds', got '/orders/8/refunds'" in lines[4]
    assert "commands.yaml::refund[4] FAILED" in result.stdout and "Refund R-2 created for 5" in result.stdout
    assert lines[-1] == "3 passed, 2 failed"


def test_the_sample_registry_examples_pass() -> None:
    result = run_cli("test", str(ROOT / "commands.yaml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.fullmatch(r"\d+ passed, 0 failed(, \d+ skipped)?", result.stdout.splitlines()[-1])


def test_examples_that_check_nothing_are_counted_as_skipped(tmp_path) -> None:
    (tmp_path / "commands.yaml").write_text(
        REGISTRY.replace("    examples:\n", "    examples:\n      - /refund 1 amount=2\n", 1)
    )
    lines = run_cli("test", cwd=tmp_path).stdout.splitlines()
    assert lines[-2].startswith("skipped 1 example(s) without a canned backend answer")
    assert lines[-1] == "3 passed, 2 failed, 1 skipped"


def test_an_unusable_registry_exits_2(tmp_path) -> None:
    (tmp_path / "commands.yaml").write_text("version: 1\ncommands: {x: {args: {n: nope}}}\n")
    result = run_cli("test", cwd=tmp_path)
    assert result.returncode == 2 and "unknown_type" in result.stderr
