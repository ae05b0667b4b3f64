"""The registry's version covers every template file by its place under templates/, languages included."""

from __future__ import annotations

from pathlib import Path

from commandlang.runtime.generation import registry_version


def test_a_language_file_is_not_confused_with_the_default_one(tmp_path: Path) -> None:
    (tmp_path / "commands.yaml").write_text("version: 1\ncommands: {ping: {}}\n")
    templates = tmp_path / "templates"
    (templates / "de").mkdir(parents=True)
    (templates / "ok.yaml").write_text("text: A\n")
    (templates / "de" / "ok.yaml").write_text("text: B\n")
    before = registry_version(str(tmp_path / "commands.yaml"))
    (templates / "ok.yaml").write_text("text: B\n")  # the two files swap contents
    (templates / "de" / "ok.yaml").write_text("text: A\n")
    assert registry_version(str(tmp_path / "commands.yaml")) != before
    (templates / "de" / "ok.yaml").write_text("text: C\n")  # an edit of a German file is a new version
    assert len({before, registry_version(str(tmp_path / "commands.yaml"))}) == 2
