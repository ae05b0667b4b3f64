"""A registry with approvals and the helpers its tests share (tests/runtime/test_approvals.py, the panel's)."""

from __future__ import annotations

REGISTRY = """
version: 1
settings: {roles: [supervisor]}
backends:
  demo:
    base_url: ${DEMO_API}
    timeout: 5s
    retry: {attempts: 1}
commands:
  credit:
    summary: A goodwill credit; above 100 a supervisor approves
    roles: [agent]
    args:
      order: {type: int, positional: true, required: true}
      amount: {type: decimal, required: true}
      card: {type: str, sensitive: true}
    request: {backend: demo, method: GET, path: "/orders/{order}"}
    reply:
      success: {text: "Credited {{ args.amount }} on order {{ args.order }}"}
    approve: {when: "{{ args.amount > 100 }}", roles: [supervisor], timeout: 30m}
  wipe:
    summary: Confirmed by the agent, then approved
    roles: [agent]
    args:
      order: {type: int, positional: true, required: true}
    request: {backend: demo, method: GET, path: "/orders/{order}"}
    confirm: "Wipe order {{ args.order }}?"
    approve: {roles: [supervisor], timeout: 10m}
"""


def calls(run) -> int:  # noqa: ANN001
    return len(run.backend.requests_to("/v1/orders/"))


def approval_code(answer: dict) -> str:
    approval = answer["command"]["approval"]
    payloads = [q["payload"] for q in answer["replies"][0]["quick_replies"]]
    assert payloads == [f"/approve {approval['id']}", f"/deny {approval['id']}"]
    return approval["id"]


async def ask_credit(run, amount: str = "150", **kwargs) -> dict:  # noqa: ANN001
    answer = (await run.webhook(f"/credit 7 amount={amount} card=4111111111111111", **kwargs)).json()
    assert answer["command"]["status"] == "awaiting_approval"
    return answer
