"""A corpus of broken registries and templates, one mistake each (tests/replies/data/broken/).

Each case names the exact finding lint must give (code, file, line, column);
the whole finding (message and hint) is snapshot-tested. Before static
template checking these passed silently, pointed at the string's start or
crashed lint with a traceback.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from commandlang.linting import lint_file
from commandlang.replies.lint import check_registry_templates

BROKEN = Path(__file__).parent / "data" / "broken"

#: case -> the one finding expected: (code, file relative to the corpus, line, column)
EXPECTED = {
    "args_typo_inline": ("template_unknown_name", "args_typo_inline.yaml", 7, 33),
    "args_typo_confirm": ("template_unknown_name", "args_typo_confirm.yaml", 6, 22),
    "args_typo_file": ("template_unknown_name", "templates/args_typo_file.yaml", 3, 11),
    "result_typo": ("template_unknown_name", "templates/result_typo.yaml", 1, 18),
    "result_unknown_type": ("unknown_type", "result_unknown_type.yaml", 5, 25),
    "unknown_filter": ("template_unknown_filter", "unknown_filter.yaml", 7, 37),
    "unknown_filter_in_if": ("template_unknown_filter", "unknown_filter_in_if.yaml", 7, 55),
    "unknown_test": ("template_unknown_test", "unknown_test.yaml", 7, 37),
    "unknown_macro": ("template_unknown_name", "unknown_macro.yaml", 7, 32),
    "unknown_variable": ("template_unknown_variable", "unknown_variable.yaml", 6, 35),
    "template_syntax": ("template_syntax", "templates/template_syntax.yaml", 1, 14),
    "missing_include": ("template_missing", "missing_include.yaml", 6, 36),
    "raw_args_in_error": ("template_raw_in_error", "raw_args_in_error.yaml", 7, 30),
    "payload_incomplete": ("payload_incomplete", "payload_incomplete.yaml", 10, 46),
    "payload_invalid": ("payload_invalid", "payload_invalid.yaml", 10, 60),
    "payload_unknown_command": ("reply_payload", "payload_unknown_command.yaml", 10, 78),
    "help_unknown": ("reply_payload", "help_unknown.yaml", 6, 71),
    "yaml_missing_brace": ("yaml_syntax", "yaml_missing_brace.yaml", 5, 40),
    "unknown_backend": ("unknown_backend", "unknown_backend.yaml", 5, 24),
}


def lint_case(name: str) -> list[tuple[str, str, int | None, int | None, str, str | None, str]]:
    _spec, found = lint_file(str(BROKEN / f"{name}.yaml"), env={}, extra=(check_registry_templates,))
    return [
        (
            d.code,
            str(
                Path(d.file or "").relative_to(BROKEN.resolve())
                if Path(d.file or "").is_absolute()
                else Path(d.file or "").relative_to(BROKEN)
            ),
            d.line,
            d.column,
            d.message,
            d.hint,
            d.severity,
        )
        for d in found
    ]


def test_every_case_has_a_file_and_an_expectation() -> None:
    assert {p.stem for p in BROKEN.glob("*.yaml")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_exact_finding(name: str, snapshot) -> None:
    found = lint_case(name)
    assert [f[:4] for f in found] == [EXPECTED[name]], found
    assert found == snapshot


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_messages_name_what_the_author_wrote_never_python_internals(name: str) -> None:
    for _code, _file, _line, _column, message, hint, _severity in lint_case(name):
        for internal in ("object' has no attribute", "LMap", "Traceback", "zqprobez", "jinja2."):
            assert internal not in message + (hint or "")


def test_the_sample_lints_clean_and_every_choice_of_every_reply_binds() -> None:
    """Round trip: the sample registry passes lint, and each payload its replies offer binds (probes for run values)."""
    from commandlang.replies.lint import _Checker
    from tests.replies.helpers import ROOT

    spec, found = lint_file(str(ROOT / "commands.yaml"), env={}, extra=(check_registry_templates,))
    assert spec is not None and found == []
    checker = _Checker(spec, spec.template_dir)
    checked = 0
    for name in sorted(Path(spec.template_dir).glob("*.yaml")):
        text = name.read_text(encoding="utf-8")
        for payload in re.findall(r'payload: "?([^"\n}]+)"?', text):
            for command in spec.commands.values():
                if "args." in payload and not any(f"args.{a.name}" in payload for a in command.args):
                    continue  # a payload reading an argument this command lacks is not in its replies
                assert checker.payloads.check(payload.split("  #")[0].strip(), command) is None, (
                    name.name,
                    payload,
                    command.name,
                )
                checked += 1
    assert checked > 0


def test_a_declared_result_is_checked_and_an_undeclared_one_is_not(tmp_path: Path) -> None:
    (tmp_path / "commands.yaml").write_text(
        'version: 1\ncommands:\n  a:\n    result: {id: str}\n    reply: {success: {text: "{{ result.idd }}"}}\n'
        '  b:\n    reply: {success: {text: "{{ result.anything.at.all }}"}}\n',
        encoding="utf-8",
    )
    _spec, found = lint_file(str(tmp_path / "commands.yaml"), env={}, extra=(check_registry_templates,))
    assert [(d.code, d.line, d.hint) for d in found] == [("template_unknown_name", 5, "did you mean result.id?")]


def test_a_guarded_name_in_a_shared_template_is_not_reported(tmp_path: Path) -> None:
    (tmp_path / "commands.yaml").write_text(
        'version: 1\ncommands:\n  a:\n    args: {order: int}\n    reply: {success: {text: "{% if args.order is defined %}'
        "{{ args.order }}{% endif %}{{ args.order is defined and args.order }}{{ args.x | default('') }}\"}}\n"
        '  b:\n    reply: {success: {text: "{{ args.order if args.order is defined }}"}}\n',
        encoding="utf-8",
    )
    _spec, found = lint_file(str(tmp_path / "commands.yaml"), env={}, extra=(check_registry_templates,))
    assert found == []


@pytest.mark.parametrize("name", ["unknown_filter", "unknown_filter_in_if", "unknown_test", "template_syntax"])
def test_serve_and_reload_refuse_a_broken_template_with_findings_not_a_traceback(name: str) -> None:
    """`serve` and hot reload load through this call: a RegistryError (exit 2 / old registry kept), never a crash."""
    import commandlang

    with pytest.raises(commandlang.RegistryError) as raised:
        commandlang.load_registry(BROKEN / f"{name}.yaml", env={}, extra_checks=(check_registry_templates,))
    assert [d.code for d in raised.value.diagnostics] == [EXPECTED[name][0]]
