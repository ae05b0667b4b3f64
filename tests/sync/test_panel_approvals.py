"""`POST /sync/approvals/{id}`, the panel's Approve and Deny buttons, against the real service: a supervisor's
sync token answers, an agent's is refused (403), and the approval answered is gone for everyone."""

from __future__ import annotations

from commandlang.sync.tokens import issue_token

from ..runtime.approval_support import REGISTRY, ask_credit, calls
from ..runtime.support import running_service

SECRET = "sync-secret-approvals-5d1"


def bearer(agent: str, roles: tuple[str, ...] = ("agent",), scopes: tuple[str, ...] = ("conversation:c1",)) -> dict:
    return {"authorization": f"Bearer {issue_token(SECRET, agent, scopes, 600, roles=roles)}"}


async def test_a_supervisor_token_approves_and_the_command_runs(tmp_path) -> None:
    async with running_service(tmp_path, REGISTRY, sync_secret=SECRET) as run:
        asked = await ask_credit(run)
        url = f"{run.base}/sync/approvals/{asked['command']['approval']['id']}"
        answer = await run.client.post(
            url, json={"decision": "approve"}, headers=bearer("sup-1", ("agent", "supervisor"))
        )
        assert answer.status_code == 200
        command = answer.json()["command"]
        assert command["id"] == asked["command"]["id"] and command["status"] == "completed"
        assert command["approval"]["decided_by"] == "sup-1" and calls(run) == 1
        again = await run.client.post(url, json={"decision": "approve"}, headers=bearer("sup-2", ("supervisor",)))
        assert again.status_code == 404  # answered: nothing waits under that id any more


async def test_an_agent_token_is_refused_and_the_approval_keeps_waiting(tmp_path) -> None:
    async with running_service(tmp_path, REGISTRY, sync_secret=SECRET) as run:
        asked = await ask_credit(run)
        url = f"{run.base}/sync/approvals/{asked['command']['approval']['id']}"
        agent = await run.client.post(url, json={"decision": "approve"}, headers=bearer("agent-2"))
        assert agent.status_code == 403
        assert agent.json() == {"error": "Only a supervisor may approve /credit; you are an agent."}
        mine = await run.client.post(url, json={"decision": "approve"}, headers=bearer("agent-1", ("supervisor",)))
        assert mine.status_code == 403 and "yourself" in mine.json()["error"]
        elsewhere = bearer("sup-1", ("supervisor",), scopes=("conversation:other",))
        assert (await run.client.post(url, json={"decision": "approve"}, headers=elsewhere)).status_code == 403
        assert (await run.client.post(url, json={"decision": "approve"})).status_code == 401
        forged = {"authorization": "Bearer " + issue_token("not-the-secret", "x", ["*"], 60, roles=["supervisor"])}
        assert (await run.client.post(url, json={"decision": "approve"}, headers=forged)).status_code == 401
        supervisor = bearer("sup-1", ("supervisor",))
        assert (await run.client.post(url, json={"decision": "maybe"}, headers=supervisor)).status_code == 400
        assert (await run.client.post(url + "0", json={"decision": "deny"}, headers=supervisor)).status_code == 404
        assert calls(run) == 0 and (await run.rows())[0]["status"] == "awaiting_approval"

        denied = await run.client.post(url, json={"decision": "deny", "reason": "not this\nmonth"}, headers=supervisor)
        assert denied.status_code == 200
        assert denied.json()["command"]["error"] == {
            "code": "approval_denied",
            "message": "Denied by sup-1: not this month",
        }
        assert calls(run) == 0


async def test_a_supervisor_may_type_the_answer_in_the_panels_command_box(tmp_path) -> None:
    async with running_service(tmp_path, REGISTRY, sync_secret=SECRET) as run:
        code = (await ask_credit(run))["command"]["approval"]["id"]
        url = f"{run.base}/sync/commands"
        typed = {"conversation_id": "c1", "text": f"/approve {code}"}
        agent = await run.client.post(url, json=typed, headers=bearer("agent-2"))
        assert agent.json()["command"] is None and "Only a supervisor" in agent.json()["replies"][0]["text"]
        lead = await run.client.post(url, json=typed, headers=bearer("sup-1", ("agent", "supervisor")))
        assert lead.json()["command"]["status"] == "completed" and calls(run) == 1
