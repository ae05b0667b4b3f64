"""docs/registry.md describes every key the JSON Schema accepts: the reference and the schema cannot drift."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from commandlang.registry.schema import registry_schema

DOCS = Path(__file__).resolve().parents[2] / "docs" / "registry.md"


def _keys(node: Any, found: set[str]) -> set[str]:
    if isinstance(node, dict):
        for name, child in node.get("properties", {}).items():
            found.add(name)
            _keys(child, found)
        for key in ("anyOf", "oneOf", "allOf"):
            for child in node.get(key, []):
                _keys(child, found)
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                _keys(node[key], found)
        for child in node.get("patternProperties", {}).values():
            _keys(child, found)
    return found


def test_every_schema_key_is_documented() -> None:
    schema = registry_schema()
    keys = _keys(schema, set())
    for definition in schema.get("definitions", {}).values():
        _keys(definition, keys)
    text = DOCS.read_text(encoding="utf-8")
    missing = sorted(key for key in keys if f"`{key}`" not in text)
    assert missing == [], f"docs/registry.md does not describe: {missing}"


def test_the_readme_links_the_reference_and_the_templates_guide() -> None:
    readme = (DOCS.parents[1] / "README.md").read_text(encoding="utf-8")
    assert "docs/registry.md" in readme and "templates/README.md" in readme
