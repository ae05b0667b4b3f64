"""The demo chat page's roles: on this machine in the demo, a supervisor (another person than the agent) may
approve the sample's large refund; off the demo a supervisor role is refused like the agent role."""

from __future__ import annotations

from pathlib import Path

from ..runtime.support import running_service

ROOT = Path(__file__).resolve().parents[2]


async def test_the_demo_supervisor_approves_the_agents_large_refund(tmp_path: Path) -> None:
    sample = (ROOT / "commands.yaml").read_text()
    async with running_service(
        tmp_path, sample, templates=ROOT / "templates", local_channel=True, local_agent_role=True
    ) as run:
        url, headers = f"{run.base}/local/messages", {"origin": run.base}
        n = iter(range(100))

        async def say(text: str, participant: str, role: str) -> dict:
            body = {"conversation_id": "demo", "message_id": f"m{next(n)}", "participant_id": participant}
            answer = await run.client.post(url, json={**body, "role": role, "text": text}, headers=headers)
            assert answer.status_code == 200, answer.text
            return answer.json()

        question = await say("/refund 12345 amount=150", "demo-user", "agent")
        token = question["replies"][0]["quick_replies"][0]["payload"].split()[1]
        asked = await say(f"/confirm {token}", "demo-user", "agent")
        assert asked["command"]["status"] == "awaiting_approval"
        code = asked["command"]["approval"]["id"]
        assert "yourself" in (await say(f"/approve {code}", "demo-user", "supervisor"))["replies"][0]["text"]
        done = await say(f"/approve {code}", "demo-supervisor", "supervisor")
        assert done["command"]["status"] == "completed"
        suggestions = await run.client.post(
            f"{run.base}/local/complete", json={"text": "/ref", "cursor": 4, "role": "supervisor"}, headers=headers
        )
        assert suggestions.status_code == 200


async def test_off_the_demo_the_supervisor_role_is_refused(tmp_path: Path) -> None:
    sample = (ROOT / "commands.yaml").read_text()
    async with running_service(tmp_path, sample, templates=ROOT / "templates", local_channel=True) as run:
        body = {
            "conversation_id": "c",
            "message_id": "m1",
            "participant_id": "p",
            "role": "supervisor",
            "text": "/help",
        }
        answer = await run.client.post(f"{run.base}/local/messages", json=body, headers={"origin": run.base})
        assert answer.status_code == 403 and "the supervisor role is only for the demo" in answer.json()["error"]
