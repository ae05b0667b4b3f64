"""`commandlang fake-genesys`: run the fake Genesys Cloud on its own (for other tools and the official SDKs)."""

from __future__ import annotations

import logging
from functools import partial

import trio

from .common import ArgumentParser

__all__ = ["main"]


def _parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="commandlang fake-genesys",
        description="Serve a fake Genesys Cloud (token endpoint and API paths on one origin).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default: any free port)")
    parser.add_argument("--client-id", default="fake-client", help="the OAuth client id it accepts")
    parser.add_argument("--client-secret", default="fake-secret", help="the OAuth client secret it accepts")
    parser.add_argument("--token-ttl", type=float, default=300.0, help="access token lifetime in seconds")
    parser.add_argument("--heartbeat", type=float, default=30.0, help="seconds between channel heartbeats")
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=0,
        metavar="N",
        help="answer 429 (with Retry-After) past N API requests a minute, as Genesys does (default: off)",
    )
    parser.add_argument(
        "--rate-window",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="the rate limit's window (default 60; shorter to scale a test down)",
    )
    parser.add_argument(
        "--queue",
        action="append",
        default=[],
        metavar="ID[=NAME]",
        help="a routing queue GET /api/v2/routing/queues/{id} finds (repeatable)",
    )
    return parser


async def _run(args) -> None:
    from ..testing.fake_genesys import serve_fake_genesys

    async with trio.open_nursery() as nursery:
        fake = await nursery.start(
            partial(
                serve_fake_genesys,
                args.host,
                args.port,
                client_id=args.client_id,
                client_secret=args.client_secret,
                token_ttl=args.token_ttl,
                heartbeat_interval=args.heartbeat,
            )
        )
        if args.rate_limit > 0:
            from ..testing.fake_genesys.ratelimit import FakeRateLimit

            fake.rate_limit = FakeRateLimit(args.rate_limit, args.rate_window)
        for queue in args.queue:
            queue_id, _, name = queue.partition("=")
            fake.org.add_queue(queue_id, name or None)
        print(f"listening {fake.base_url}", flush=True)


def main(argv: list[str]) -> int:
    """Serve until interrupted; prints `listening http://HOST:PORT` once bound."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    try:
        trio.run(_run, args)
    except KeyboardInterrupt:
        return 0
    return 0
