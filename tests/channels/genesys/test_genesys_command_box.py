"""The command box on Genesys: an agent's `POST /sync/commands` reply reaches the customer through the
agent's communication (the fake Genesys receives it on the Conversations API's agent send endpoint)."""

from __future__ import annotations

from pathlib import Path

import trio

from tests.sync.support import token

from .test_genesys_service import service_on_fake_genesys

SECRET = "genesys-command-box-secret"


async def test_send_to_customer_goes_out_as_the_agent_on_genesys(tmp_path: Path) -> None:
    async with service_on_fake_genesys(tmp_path, sync_secret=SECRET) as (run, fake):
        message = fake.inject_customer_message("hello, where is my parcel?", queue_id="queue-1")
        conversation = next(
            c for c, conv in fake.conversations.items() if any(m.id == message.id for m in conv.messages)
        )
        agent = token(f"conversation:{conversation}", agent="agent-g1", secret=SECRET)
        headers = {"authorization": f"Bearer {agent}"}
        # first without send_to_customer: the agent alone sees the answer
        quiet = {"conversation_id": conversation, "text": "/status 32"}
        answer = await run.client.post(f"{run.base}/sync/commands", json=quiet, headers=headers)
        assert answer.status_code == 200 and answer.json()["channel"] == "genesys"
        body = {"conversation_id": conversation, "text": "/status 31", "send_to_customer": True}
        response = await run.client.post(f"{run.base}/sync/commands", json=body, headers=headers)
        assert response.status_code == 200, response.text
        data = response.json()
        # no command ran there before: the only channel that can reach customers is Genesys
        assert data["channel"] == "genesys" and data["sent_to_customer"] is True
        assert data["command"]["actor"] == "agent-g1" and data["replies"][0]["text"].startswith("Order 31")
        with trio.fail_after(10):
            while not any(m.sender == "agent" and "Order 31" in m.text for m in fake.transcript(conversation)):
                await trio.sleep(0.05)
        # a conversation's sends go out in order: had the first been sent, it would be there by now
        assert not any("Order 32" in m.text for m in fake.transcript(conversation))
