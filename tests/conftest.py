"""Shared fixtures: the sample registry, a registry writer, and hypothesis profiles.

The fuzz tests run a fixed, derandomized `ci` profile (a few hundred examples) so
the suite is fast and stable; `HYPOTHESIS_PROFILE=dev pytest tests/syntax` runs
many more random examples when hunting bugs.
"""

from __future__ import annotations

import os

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import commandlang

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "commands.yaml"

settings.register_profile(
    "ci", max_examples=400, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def sample_registry() -> commandlang.Registry:
    return commandlang.load_registry(SAMPLE, env={})


@pytest.fixture
def write_registry(tmp_path):
    """Write YAML text to a registry file in a fresh folder and return its path."""

    def write(text: str, name: str = "commands.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
