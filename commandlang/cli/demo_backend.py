"""`commandlang demo-backend`: serve the demo backend (sample commands' endpoints, fault injection)."""

from __future__ import annotations

import argparse
import os
import sys

import trio

from ..testing.demo_backend import DemoBackend, serve_demo_backend

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="commandlang demo-backend",
        description="Serve the demo backend for the sample commands under /v1, with fault injection "
        "(request header X-Demo-Fault, e.g. 'status=503;retry_after=1', 'latency=2', 'reset').",
    )
    parser.add_argument(
        "--host",
        default=os.environ.get("COMMANDLANG_DEMO_HOST", "127.0.0.1"),
        help="address to listen on (env COMMANDLANG_DEMO_HOST, default 127.0.0.1)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("COMMANDLANG_DEMO_PORT", "8700")),
        help="port to listen on, 0 for a free one (env COMMANDLANG_DEMO_PORT, default 8700)",
    )
    return parser


def main(argv: list[str]) -> int:
    """Run until interrupted; prints `listening http://HOST:PORT` once the port is bound."""
    options = _parser().parse_args(argv)

    async def run() -> None:
        async with trio.open_nursery() as nursery:
            port = await nursery.start(
                lambda task_status: serve_demo_backend(
                    options.host, options.port, backend=DemoBackend(), task_status=task_status
                )
            )
            print(f"listening http://{options.host}:{port}", flush=True)

    try:
        trio.run(run)
    except KeyboardInterrupt:
        return 0
    except BaseException as exc:  # noqa: BLE001 - nurseries wrap the bind error in exception groups
        bind_error = _find_os_error(exc)
        if bind_error is None:
            raise
        print(
            f"commandlang demo-backend: cannot listen on {options.host}:{options.port}: {bind_error.strerror}",
            file=sys.stderr,
        )
        return 2
    return 0


def _find_os_error(exc: BaseException) -> OSError | None:
    if isinstance(exc, OSError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _find_os_error(inner)
            if found is not None:
                return found
    return None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
