"""Registry generations: what one version of commands.yaml runs on, swapped atomically on reload.

A generation bundles the loaded registry, the executor holding that
registry's backend connections, and the reply renderer. New messages take
the current generation; a command in flight keeps the one it started on; a
replaced generation's executor is closed once its last command ends.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import trio

from ..api import Registry, load_registry
from ..execution.executor import Executor
from ..replies.lint import check_registry_templates
from ..replies.render import ReplyRenderer
from ..replies.scrub import Scrubber
from ..replies.templates import TemplateEngine

__all__ = ["Generation", "GenerationHolder", "build_generation", "registry_files", "registry_version"]

log = logging.getLogger("commandlang.runtime")


@dataclass(eq=False)
class Generation:
    registry: Registry
    executor: Executor
    renderer: ReplyRenderer
    version: str
    users: int = field(default=0)
    retired: bool = field(default=False)


def registry_files(path: str) -> list[Path]:
    """The files a registry is made of: commands.yaml, then every file under its templates/ folder."""
    files = [Path(path)]
    templates = Path(path).resolve().parent / "templates"
    if templates.is_dir():
        files += sorted(file for file in templates.rglob("*") if file.is_file())
    return files


def registry_version(path: str) -> str:
    """A short content hash of the registry file and its templates: what changed, changes it."""
    digest = hashlib.sha256()
    templates = Path(path).resolve().parent / "templates"
    for file in registry_files(path):
        # named as under templates/ (`de/refund_ok.yaml` is not `refund_ok.yaml`); top-level files keep their name
        inside = file.resolve().is_relative_to(templates)
        digest.update((file.resolve().relative_to(templates).as_posix() if inside else file.name).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


async def build_generation(
    path: str, *, env: Mapping[str, str] | None = None, token_provider: Any = None, extra_checks: tuple[Any, ...] = ()
) -> Generation:
    """Load and lint a registry (RegistryError when it has errors) and open its executor; `extra_checks`
    are further lint checks whose errors refuse the registry (a channel's limits, say)."""

    def load() -> tuple[Registry, str]:
        registry = load_registry(path, env=env, extra_checks=(check_registry_templates, *extra_checks))
        return registry, registry_version(path)

    registry, version = await trio.to_thread.run_sync(load)
    engine = TemplateEngine(registry.spec.template_dir, currency=registry.spec.settings.currency)
    executor = Executor(registry.spec, engine, token_provider=token_provider)
    await executor.__aenter__()
    renderer = ReplyRenderer(engine, registry.spec.template_dir, scrubber=Scrubber.for_registry(registry.spec))
    return Generation(registry, executor, renderer, version)


class GenerationHolder:
    """The current generation, plus the retired ones still serving commands."""

    def __init__(self, first: Generation) -> None:
        self.current = first
        self._retired: list[Generation] = []
        self._wake = trio.Event()

    def acquire(self) -> Generation:
        generation = self.current
        generation.users += 1
        return generation

    def release(self, generation: Generation) -> None:
        generation.users -= 1
        if generation.retired and generation.users <= 0:
            self._wake.set()

    def swap(self, new: Generation) -> Generation:
        """Make `new` current; the old one finishes its commands, then closes."""
        old, self.current = self.current, new
        old.retired = True
        self._retired.append(old)
        self._wake.set()
        return old

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Close retired generations once unused; on exit close every generation."""
        task_status.started()
        try:
            while True:
                await self._wake.wait()
                self._wake = trio.Event()
                for generation in [g for g in self._retired if g.users <= 0]:
                    self._retired.remove(generation)
                    await generation.executor.aclose()
        finally:
            with trio.CancelScope(shield=True):
                for generation in [*self._retired, self.current]:
                    await generation.executor.aclose()
