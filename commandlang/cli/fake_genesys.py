"""`commandlang fake-genesys`: run the fake Genesys Cloud on its own (for other tools and the official SDKs)."""

from __future__ import annotations

import logging
from functools import partial

import trio

from .common import ArgumentParser

__all__ = ["main"]


def _parser() -> ArgumentParser:
    parser = ArgumentParser(prog="commandlang fake-genesys",
                            description="Serve a fake Genesys Cloud (token endpoint and API paths on one origin).")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default: any free port)")
    parser.add_argument("--client-id", default="fake-client", help="the OAuth client id it accepts")
    parser.add_argument("--client-secret", default="fake-secret", help="the OAuth client secret it accepts")
    parser.add_argument("--token-ttl", type=float, default=300.0, help="access token lifetime in seconds")
    parser.add_argument("--heartbeat", type=float, default=30.0, help="seconds between channel heartbeats")
    return parser


async def _run(args) -> None:
    from ..testing.fake_genesys import serve_fake_genesys

    async with trio.open_nursery() as nursery:
        fake = await nursery.start(partial(serve_fake_genesys, args.host, args.port, client_id=args.client_id,
                                           client_secret=args.client_secret, token_ttl=args.token_ttl,
                                           heartbeat_interval=args.heartbeat))
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
