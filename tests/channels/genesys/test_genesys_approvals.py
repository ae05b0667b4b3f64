"""A Genesys supervisor answers an approval in a Genesys conversation, on the real service against the fake
Genesys Cloud: the people directory (GENESYS_SUPERVISOR_GROUPS) makes the agent a supervisor, the
Notification path brings the `/approve CODE` they type, and the refund asked over the webhook runs."""

from __future__ import annotations

import trio

from ...sync.signin_support import signin_service


async def test_a_genesys_supervisor_approves_in_their_conversation(tmp_path) -> None:
    async with signin_service(tmp_path, genesys_queue_ids="q-support") as (run, fake):
        question = (await run.webhook("/refund 7 amount=150", conversation="web-1")).json()
        token = question["replies"][0]["quick_replies"][0]["payload"].split()[1]
        asked = (await run.webhook(f"/confirm {token}", conversation="web-1")).json()
        assert asked["command"]["status"] == "awaiting_approval"
        code = asked["command"]["approval"]["id"]

        plain = fake.start_conversation(queue_id="q-support", user_id="u-ann")  # an agent, not a supervisor
        fake.inject_agent_message(plain.id, f"/approve {code}")
        lead = fake.start_conversation(queue_id="q-support", user_id="u-lee")  # in the "Team leads" group
        fake.inject_agent_message(lead.id, f"/approve {code}")
        with trio.fail_after(10):
            while (await run.rows())[-1]["status"] != "completed":
                await trio.sleep(0.05)
        row = (await run.rows())[-1]
        assert row["id"] == asked["command"]["id"]
        assert row["approval"]["decision"] == "approved" and row["approval"]["decided_by"] == "u-lee"  # the person
        with trio.fail_after(5):
            while not any("Only a supervisor" in m.text for m in fake.transcript(plain.id)):
                await trio.sleep(0.05)
        assert any("Approved: /refund" in m.text for m in fake.transcript(lead.id))
