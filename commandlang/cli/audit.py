"""`commandlang audit [--since 24h] [--command refund] [--format text|json|csv]`: the approvals' audit trail.

Reads the store `serve` would use (COMMANDLANG_STORE, COMMANDLANG_REDIS_URL or COMMANDLANG_DB, or
`--store URL`), beside a running service or after it stopped, and lists every approval request,
approval, denial and timeout since then (runtime/audit.py says where they come from), oldest first.
Exit 0 (also when there is nothing to list), 2 for bad usage or a store that cannot be opened.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import time
from dataclasses import replace
from datetime import datetime, timezone

import trio

from ..registry.loader import parse_duration
from ..runtime.audit import AuditEntry, audit_entries
from ..runtime.config import ConfigError, ServiceConfig
from ..runtime.store import StoreUnavailable
from ..runtime.stores import open_store
from .common import ArgumentParser

__all__ = ["main"]

CSV_COLUMNS = (
    "at",
    "event",
    "command",
    "command_id",
    "conversation_id",
    "by",
    "requested_by",
    "roles",
    "args",
    "reason",
    "approval_id",
)


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="commandlang audit", description="List approval requests, approvals, denials and timeouts."
    )
    parser.add_argument("--since", default="24h", help="how far back: 30m, 24h, 7d, or an ISO date/time (default 24h)")
    parser.add_argument("--command", default=None, help="only this command (its canonical name)")
    parser.add_argument("--format", choices=("text", "json", "csv"), default="text", help="output (default text)")
    parser.add_argument("--store", default=None, help="the store URL (default: as `serve` chooses it)")
    parser.add_argument("--limit", type=int, default=100_000, help="read at most this many state changes")
    return parser


def since_timestamp(text: str, now: float) -> float:
    """`24h` -> now minus a day; `2026-12-01` or `2026-12-01T08:00+01:00` -> that moment (UTC if no offset)."""
    seconds = parse_duration(text)
    if seconds is not None:
        return now - seconds
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--since {text!r}: expected a duration like 24h or an ISO date like 2026-12-01") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def render(entries: list[AuditEntry], form: str) -> str:
    """The listing in `form` (text, json, csv)."""
    if form == "json":
        return json.dumps([{**e.to_json(), "at": _iso(e.at)} for e in entries], indent=2, ensure_ascii=False) + "\n"
    if form == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for e in entries:
            row = {**e.to_json(), "at": _iso(e.at), "roles": " ".join(e.roles), "args": json.dumps(dict(e.args))}
            writer.writerow([_cell(row[column]) for column in CSV_COLUMNS])
        return out.getvalue()
    lines = []
    for e in entries:
        who = f"by {e.by}" if e.by else "nobody answered"
        args = " ".join(f"{name}={json.dumps(value)}" for name, value in e.args.items())
        line = f"{_iso(e.at)}  {e.event:<9}  /{e.command} {args}  {who}  (conversation {e.conversation_id}, id {e.approval_id})"
        lines.append(line + (f"  reason: {e.reason}" if e.reason else ""))
    return "\n".join(lines) + "\n" if lines else "no approvals in that time\n"


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # a spreadsheet runs a cell that starts like a formula: an argument's value must stay text
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


async def _read(config: ServiceConfig, since: float, limit: int) -> list:
    store = open_store(config)
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run)
        try:
            return list(await store.events_since(since, limit))
        finally:
            await store.aclose()


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        since = since_timestamp(args.since, time.time())
        config = ServiceConfig.from_sources({"store": args.store})
        # its own replica id: a shared store's lease must never stand in for (or end) a running replica's
        config = replace(config, replica_id=f"audit-{os.getpid()}")
        events = trio.run(_read, config, since, max(1, args.limit))
    except (ValueError, ConfigError) as exc:
        print(f"commandlang audit: {exc}", file=sys.stderr)
        return 2
    except StoreUnavailable as exc:
        print(f"commandlang audit: the state store cannot be read: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(render(audit_entries(events, args.command), args.format))
    return 0
