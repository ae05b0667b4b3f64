"""A faithful fake Genesys Cloud for tests: real HTTP and WebSocket on loopback.

    async with trio.open_nursery() as nursery:
        fake = await nursery.start(partial(serve_fake_genesys, client_id="id", client_secret="s"))
        # GENESYS_API_BASE = GENESYS_LOGIN_BASE = fake.base_url
        fake.inject_customer_message("/refund 123", queue_id="q1")
        fake.fail_next(429, retry_after=1)
        ...
        driver = BotFlowDriver(fake, "http://127.0.0.1:8080/genesys/bot", secret="s3cret")
        turn = await driver.send_text("/status 123")

Agents' browser sign-in (people.py): `fake.org.add_user("u1", "Ann", queues=["q1"], groups=["Team leads"])`,
`fake.add_browser_client("panel", [redirect_uri], grant="code")` (PKCE) or `grant="token"` (implicit),
`fake.browser_user = "u1"` (who is signed in at `/oauth/authorize`), or `fake.issue_user_token("u1")`;
`GET /api/v2/users/me`, `/users/{id}?expand=groups,authorization` and `/users/{id}/queues` answer them.

Requests are validated against commandlang's typed Genesys models and recorded
in `fake.requests`; `fake.transcript(conversation_id)` is the conversation as
the customer sees it.
"""

from .botflow import BotFlowDriver, BotTurn
from .server import serve_fake_genesys
from .state import FakeConversation, FakeGenesys, FakeMessage, Fault, RecordedRequest

__all__ = [
    "serve_fake_genesys",
    "FakeGenesys",
    "FakeConversation",
    "FakeMessage",
    "Fault",
    "RecordedRequest",
    "BotFlowDriver",
    "BotTurn",
]
