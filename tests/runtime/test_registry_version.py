"""The registry's version covers every template file by its place under templates/, languages included."""

from __future__ import annotations

from pathlib import Path

from commandlang.runtime.generation import registry_version


def test_a_language_file_is_not_confused_with_the_default_one(tmp_path: Path) -> None:
    registry = tmp_path / "commands.yaml"
    registry.write_text("version: 1\ncommands: {ping: {}}\n")
    templates = tmp_path / "templates"
    (templates / "de").mkdir(parents=True)
    (templates / "ok.yaml").write_text("text: A\n")
    default_only = registry_version(str(registry))
    (templates / "ok.yaml").rename(templates / "de" / "ok.yaml")  # the same file, now German only
    german_only = registry_version(str(registry))
    assert german_only != default_only
    (templates / "de" / "ok.yaml").write_text("text: B\n")  # an edit of a German file is a new version
    assert registry_version(str(registry)) not in (default_only, german_only)
