"""Template lint: problems found with file:line:col before a user meets them."""

from __future__ import annotations

from pathlib import Path

import commandlang
from commandlang.linting import lint_file
from commandlang.replies.lint import check_registry_templates, check_templates

from .helpers import ROOT

REGISTRY = """\
version: 1
commands:
  pay:
    summary: Pay
    args:
      card: {type: str, sensitive: true, positional: true}
    reply:
      success: missing.yaml
      error: bad.yaml
    confirm: "Pay with {{ nope }}?"
    examples:
      - input: /pay 4111111111111111
        backend: {status: 200, json: {ok: true}}
  inline:
    reply:
      success:
        text: "hi {{ args.foo }"
        cardz: []
  many:
    reply:
      success:
        text: "{{ result.n }} options"
        quick_replies:
          - $for: item in result['options']
            label: "{{ item }}"
            payload: "/pick {{ item }}"
    examples:
      - input: /many
        backend: {status: 200, json: {n: 12, options: [a, b, c, d, e, f, g, h, i, j, k, l]}}
  shape:
    reply:
      success: {text: "{{ result.text }}"}
    examples:
      - input: /shape
        backend: {status: 200, json: {text: {nested: true}}}
"""

BAD = """\
text: |
  line one
  {{ raw_args.card }} and {{ usr.id }}
quick_replies:
  - $for: q in result.items
    label: "{{ q.name }} {{ loop_index }}"
    paylod: x
  - label: "{% if x %}"
"""


def lint(tmp_path: Path) -> list[str]:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "bad.yaml").write_text(BAD, encoding="utf-8")
    (tmp_path / "commands.yaml").write_text(REGISTRY, encoding="utf-8")
    spec, found = lint_file(str(tmp_path / "commands.yaml"), extra=(check_registry_templates,))
    assert spec is not None
    return [d.format_line().replace(str(tmp_path) + "/", "") for d in found]


def test_template_findings_with_positions(tmp_path: Path) -> None:
    lines = lint(tmp_path)
    expected = [  # each at the name, filter or tag itself, not at the start of its string
        "commands.yaml:8:16: template_missing pay: reply.success names templates/missing.yaml, which does not exist",
        "commands.yaml:10:27: template_unknown_variable pay: confirm: unknown variable 'nope'",
        "commands.yaml:17:19: template_syntax inline: reply.success: template syntax error: unexpected '}'",
        "commands.yaml:18:9: reply_shape inline: reply.success: unknown key 'cardz'",
        "commands.yaml:26:22: reply_payload many: reply.success: '{{ item }}' sends /pick, which is not a command",
        "commands.yaml:28:16: reply_limit many: the success reply to example '/many' on genesys: 2 of 12 quick replies dropped",
        "commands.yaml:34:16: reply_shape shape: the success reply to example '/shape' is not a valid reply: text: must be a text, not a mapping",
        "templates/bad.yaml:3:6: template_raw_in_error pay: reply.error: raw_args is not available in error replies",
        "templates/bad.yaml:3:30: template_unknown_variable pay: reply.error: unknown variable 'usr' (hint: did you mean user?)",
        "templates/bad.yaml:7:5: reply_shape an item of quick_replies: unknown key 'paylod'",
        "templates/bad.yaml:8:13: template_syntax pay: reply.error: template syntax error: Unexpected end of template.",
    ]
    for want in expected:
        assert any(line.startswith(want) for line in lines), f"missing: {want}\n" + "\n".join(lines)
    assert not any("'q'" in line or "loop_index" in line for line in lines)  # $for names are known
    assert sum("missing.yaml" in line for line in lines) == 1  # not reported again per example
    assert sum("reply_payload" in line for line in lines) == 1  # once per unknown command, not per choice


def test_the_sample_registry_and_templates_are_clean() -> None:
    registry = commandlang.load_registry(ROOT / "commands.yaml")
    assert check_templates(registry.spec) == []


def test_a_block_scalar_reports_the_line_of_the_error(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text("text: |\n  fine\n  {{ broken }\n", encoding="utf-8")
    (tmp_path / "commands.yaml").write_text(
        "version: 1\ncommands:\n  x:\n    reply: {success: t.yaml}\n", encoding="utf-8"
    )
    spec, _ = lint_file(str(tmp_path / "commands.yaml"))
    found = check_templates(spec, str(tmp_path))
    assert [(d.code, d.line) for d in found] == [("template_syntax", 3)]


def test_commandlang_lint_checks_templates_but_parse_does_not_need_them(tmp_path: Path) -> None:
    from commandlang.cli.lint import main as lint_main

    (tmp_path / "commands.yaml").write_text(
        "version: 1\ncommands:\n  x:\n    reply: {success: gone.yaml}\n", encoding="utf-8"
    )
    assert lint_main([str(tmp_path / "commands.yaml")]) == 1  # the missing reply file is a finding
    assert commandlang.load_registry(tmp_path / "commands.yaml").parse("/x") is not None  # parsing still works


def test_a_literal_url_the_reply_would_drop_is_reported(tmp_path: Path) -> None:
    (tmp_path / "commands.yaml").write_text(
        """\
version: 1
commands:
  links:
    reply:
      success:
        text: Links
        buttons:
          - {kind: link, label: Bad, url: "javascript:alert(1)"}
          - {kind: link, label: Plain, url: "http://example.com/x"}
          - {kind: link, label: Good, url: "https://example.com/x"}
          - {kind: link, label: Local, url: "http://127.0.0.1:8700/x"}
          - {kind: link, label: Data, url: "{{ result.url }}"}
        cards:
          - {title: T, image: "data:image/png;base64,AAAA"}
""",
        encoding="utf-8",
    )
    spec, found = lint_file(str(tmp_path / "commands.yaml"), extra=(check_registry_templates,))
    lines = [d.format_line().replace(str(tmp_path) + "/", "") for d in found if d.code == "reply_url"]
    assert len(lines) == 3, lines
    assert lines[0].startswith("commands.yaml:8:43: reply_url url 'javascript:alert(1)' would be dropped")
    assert "'http://example.com/x'" in lines[1] and "'data:image/png;base64,AAAA'" in lines[2]
