"""The service's periodic housekeeping: dropping state past its retention, and (several replicas) marking
`interrupted` what nobody runs any more. Each loop runs until cancelled and survives a store outage."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Callable

import trio

from .store import SharedStore, Store, StoreUnavailable

if TYPE_CHECKING:
    from .pipeline import Pipeline

__all__ = ["prune_loop", "sweep_loop"]

log = logging.getLogger("commandlang.runtime")


async def prune_loop(store: Store, retention: float, clock: Callable[[], float], *, every: float = 600.0) -> None:
    """Every `every` seconds, drop finished commands and events older than `retention`."""
    while True:
        await trio.sleep(every)
        try:
            removed = await store.prune(clock() - retention)
        except StoreUnavailable as exc:  # the next round tries again; the service goes on
            log.warning("could not prune old state: %s", exc, extra={"stage": "retention"})
            continue
        if removed:
            log.info("pruned %d old rows", removed, extra={"stage": "retention"})


async def sweep_loop(store: SharedStore, pipeline: Pipeline, clock: Callable[[], float]) -> None:
    """Several replicas: mark `interrupted` what nobody is running any more.

    That is what a replica that stopped for good left running (one that comes back under its
    id does this itself at start; this covers a pod replaced under a new name; every replica
    sweeps, the first one wins), and this replica's own commands whose final state could not be
    written while Redis was away (not running here, untouched for a lease)."""
    while True:
        await trio.sleep(store.lease)
        try:
            records = list(await store.orphaned())
            running, quiet_since = pipeline.running_ids(), clock() - store.lease
            records += [r for r in await store.own_unfinished() if r.id not in running and r.updated_at < quiet_since]
            count = await pipeline.interrupt(records)
        except StoreUnavailable as exc:
            log.warning("could not look for a stopped replica's commands: %s", exc, extra={"stage": "recover"})
            continue
        if count:
            log.warning("%d command(s) nobody runs any more marked interrupted", count, extra={"stage": "recover"})
