"""Where the shared reference data lives: `../shared` beside the checkout (as in CI), never a copy in the project."""

from __future__ import annotations

from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
OPENAPI_SUBSET = SHARED / "genesys" / "openapi-subset.json"
