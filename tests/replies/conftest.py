"""Fixtures for the replies tests: the sample registry and its templates, and a small hand-made registry."""

from __future__ import annotations

import pytest

import commandlang
from commandlang.replies.render import ReplyRenderer

from .helpers import ROOT


@pytest.fixture(scope="session")
def registry() -> commandlang.Registry:
    return commandlang.load_registry(ROOT / "commands.yaml")


@pytest.fixture()
def renderer(registry: commandlang.Registry) -> ReplyRenderer:
    return ReplyRenderer(template_dir=registry.spec.template_dir)
