"""Hot reload: on SIGHUP or when commands.yaml or a template changes, lint, then swap or keep.

A clean registry replaces the running one atomically (commands in flight
finish on the old one); a broken edit is logged with its findings and the
old registry keeps serving. A bad edit never takes the service down.
"""

from __future__ import annotations

import logging
from typing import Awaitable, Callable

import trio

from ..diagnostics import RegistryError
from .generation import Generation, GenerationHolder, registry_files
from .metrics import Metrics

__all__ = ["Reloader"]

log = logging.getLogger("commandlang.runtime")


def _fingerprint(path: str) -> tuple[tuple[str, float, int], ...]:
    """(name, mtime, size) of the registry and every template file: cheap to poll."""
    marks = []
    for file in registry_files(path):
        try:
            stat = file.stat()
        except OSError:
            marks.append((str(file), -1.0, -1))
            continue
        marks.append((str(file), stat.st_mtime, stat.st_size))
    return tuple(marks)


class Reloader:
    """Watches the registry; `reload()` may also be called directly (SIGHUP)."""

    def __init__(
        self,
        path: str,
        holder: GenerationHolder,
        build: Callable[[str], Awaitable[Generation]],
        metrics: Metrics,
        *,
        interval: float = 1.0,
        announce: Callable[[str], None] | None = None,
    ) -> None:
        self.path = path
        self.holder = holder
        self._build = build
        self._metrics = metrics
        self._interval = interval
        self._announce = announce
        self._lock = trio.Lock()  # one reload at a time
        self._seen = _fingerprint(path)
        self.last_findings: list[str] = []

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        if self._interval <= 0:
            await trio.sleep_forever()
        while True:
            await trio.sleep(self._interval)
            current = await trio.to_thread.run_sync(_fingerprint, self.path)
            if current != self._seen:
                self._seen = current
                await self.reload("file changed")

    async def reload(self, reason: str) -> bool:
        """Lint and swap; True when the new registry took over."""
        async with self._lock:
            self._seen = await trio.to_thread.run_sync(_fingerprint, self.path)
            try:
                generation = await self._build(self.path)
            except RegistryError as exc:
                self.last_findings = [d.format_line() for d in exc.diagnostics]
                self._metrics.reloads.inc("refused")
                log.error(
                    "registry reload refused (%s): %d finding(s); the previous registry keeps serving: %s",
                    reason,
                    len(exc.diagnostics),
                    "; ".join(self.last_findings[:5]),
                    extra={"stage": "reload", "version": self.holder.current.version},
                )
                return False
            except (OSError, ValueError) as exc:
                self._metrics.reloads.inc("refused")
                log.error("registry reload failed (%s): %s", reason, exc, extra={"stage": "reload"})
                return False
            if generation.version == self.holder.current.version:
                await generation.executor.aclose()
                return False
            old = self.holder.swap(generation)
            self.last_findings = []
            self._metrics.reloads.inc("applied")
            log.info(
                "registry reloaded (%s): version %s replaces %s",
                reason,
                generation.version,
                old.version,
                extra={"stage": "reload", "version": generation.version},
            )
            if self._announce is not None:
                self._announce(generation.version)
            return True
