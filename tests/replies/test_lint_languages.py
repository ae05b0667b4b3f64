"""Lint for languages: a declared language missing a template or a translation, a language without
built-in texts, and `money` with no currency anywhere; German templates get the same checks as English."""

from __future__ import annotations

from pathlib import Path

from commandlang.linting import lint_file
from commandlang.replies.lint import check_registry_templates

from .helpers import ROOT

REGISTRY = """\
version: 1
settings: {languages: [en, de, it]}
commands:
  refund:
    summary: {en: Refund, de: Erstatten, it: Rimborsare}
    args:
      order: {type: int, help: Order number}
    confirm: "Refund {{ args.order }}?"
    reply: {success: refund_ok.yaml}
"""


def _lint(tmp_path: Path, registry: str, files: dict[str, str]) -> list[str]:
    (tmp_path / "commands.yaml").write_text(registry, encoding="utf-8")
    for name, text in files.items():
        path = tmp_path / "templates" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    _, found = lint_file(str(tmp_path / "commands.yaml"), env={}, extra=(check_registry_templates,))
    return [f"{d.code} {d.severity} {d.message}".replace(str(tmp_path), "") for d in found]


def test_missing_templates_translations_and_catalogs_are_warned(tmp_path: Path) -> None:
    found = _lint(tmp_path, REGISTRY, {"refund_ok.yaml": "text: Done\n", "de/refund_ok.yaml": "text: Erledigt\n"})
    assert "missing_translation warning refund: confirm has no de text (conversations in de get the en one)" in found
    assert (
        "missing_template warning refund: reply.success has no it template: templates/it/refund_ok.yaml does not "
        "exist, so it conversations get templates/refund_ok.yaml"
    ) in found  # de has its file: no finding for de
    assert any(line.startswith("no_builtin_catalog warning") and "into it;" in line for line in found)
    codes = sorted(line.split(" ")[0] for line in found)
    assert codes == [
        "missing_template",
        "missing_translation",
        "missing_translation",
        "missing_translation",
        "missing_translation",
        "no_builtin_catalog",
    ]
    assert all(" warning " in line for line in found)


def test_a_german_template_is_checked_like_the_english_one(tmp_path: Path) -> None:
    registry = REGISTRY.replace(", it]", "]").replace(", it: Rimborsare", "")
    found = _lint(
        tmp_path,
        registry,
        {"refund_ok.yaml": "text: Done {{ args.order }}\n", "de/refund_ok.yaml": "text: Erledigt {{ args.ordr }}\n"},
    )
    errors = [line for line in found if " error " in line]
    assert len(errors) == 1 and "ordr" in errors[0], found


def test_money_without_a_currency_is_an_error_unless_the_registry_sets_one(tmp_path: Path) -> None:
    registry = "version: 1\ncommands:\n  refund:\n    reply: {success: ok.yaml}\n"
    files = {"ok.yaml": "text: \"{{ 5 | money }} and {{ 5 | money('EUR') }}\"\n"}
    found = _lint(tmp_path, registry, files)
    assert [line.split(" ")[0] for line in found] == ["money_needs_currency"]
    (tmp_path / "templates" / "ok.yaml").unlink()
    found = _lint(tmp_path, registry.replace("version: 1\n", "version: 1\nsettings: {currency: EUR}\n"), files)
    assert found == []


def test_the_sample_registry_in_english_and_german_lints_clean() -> None:
    _, found = lint_file(str(ROOT / "commands.yaml"), env={}, extra=(check_registry_templates,))
    assert found == []
