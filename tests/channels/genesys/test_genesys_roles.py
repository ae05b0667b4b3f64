"""The Genesys side of roles (the hook people.py's `roles_of` plugs into): an agent's message carries its user
id, and the roles `roles_of` gives that user; a customer's carries neither; a failing lookup adds none."""

from __future__ import annotations

from .genesys_helpers import genesys_env
from .test_genesys_notifications import ingesting, next_message


async def test_an_agents_message_carries_its_user_id_and_the_roles_the_directory_gives() -> None:
    asked: list[str] = []

    async def roles_of(user_id: str) -> tuple[str, ...]:
        asked.append(user_id)
        if user_id == "broken":
            raise RuntimeError("directory down")
        return ("supervisor",) if user_id == "sup-user" else ()

    async with genesys_env() as env, ingesting(env) as (ingest, receive):
        ingest.reader.roles_of = roles_of
        supervised = env.fake.start_conversation(queue_id="q1", user_id="sup-user")
        env.fake.inject_agent_message(supervised.id, "/approve a1b2c3d4e5f6")
        message = await next_message(receive)
        assert (message.role, message.roles, message.metadata["user_id"]) == ("agent", ("supervisor",), "sup-user")

        plain = env.fake.start_conversation(queue_id="q1", user_id="broken")
        env.fake.inject_agent_message(plain.id, "/approve a1b2c3d4e5f6")
        message = await next_message(receive)
        assert (message.role, message.roles, message.metadata["user_id"]) == ("agent", (), "broken")
        assert asked == ["sup-user", "broken"]
