"""One recorder backend process for the whole attack suite; every attack looks for its own marker in it."""

from __future__ import annotations

import pytest

from .attack import Recorder, start_recorder


@pytest.fixture(scope="session")
def recorder(tmp_path_factory: pytest.TempPathFactory) -> Recorder:
    found = start_recorder(tmp_path_factory.mktemp("recorder"))
    yield found
    found.proc.stop()
