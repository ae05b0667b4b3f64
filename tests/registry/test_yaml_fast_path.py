"""libyaml composes registries when PyYAML has it; it must read every file exactly as the pure-Python loader does."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from commandlang.registry import yamlsource
from commandlang.registry.yamlsource import parse_yaml

ROOT = Path(__file__).resolve().parents[2]

TRICKY = [
    "a: &x {b: 1, c: [2, 3]}\nd: *x\ne:\n  <<: *x\n  c: 4\n",
    "text: |\n  line one\n  line two\nfolded: >\n  a\n  b\nquoted: \"tab\\there\"\nsingle: 'it''s'\n",
    "when: 2026-01-31\nstamp: 2026-01-31T10:00:00Z\nyes: yes\nnull_: ~\nfloat: 1.5e3\noct: 0o17\nhex: 0x1F\n",
    "- 1\n- [a, b, {c: d}]\n- ? complex key\n  : value\n",
    "# only a comment\n",
    "key: value # trailing\nempty:\nlist: []\nmap: {}\n",
    "deep: " + "[" * 70 + "]" * 70 + "\n",  # past the depth limit: the pure-Python loader reports it
    "bad: [unclosed\n",
    "a: 1\n---\nb: 2\n",
    "x: \x07\n",
]


def _shape(value):  # values plus every position the loader records
    if isinstance(value, dict):
        return (
            {k: _shape(v) for k, v in value.items()},
            getattr(value, "pos", None),
            dict(getattr(value, "key_pos", {})),
            dict(getattr(value, "value_pos", {})),
            dict(getattr(value, "raw", {})),
        )
    if isinstance(value, list):
        return (
            [_shape(v) for v in value],
            getattr(value, "pos", None),
            list(getattr(value, "item_pos", [])),
            list(getattr(value, "raw", [])),
        )
    return value


def _texts():
    files = [ROOT / "commands.yaml", *sorted((ROOT / "tests").rglob("*.yaml"))]
    return [(p.name, p.read_text(encoding="utf-8")) for p in files] + [(f"tricky-{i}", t) for i, t in enumerate(TRICKY)]


@pytest.mark.skipif(yamlsource._FAST_LOADER is None, reason="PyYAML without libyaml")
@pytest.mark.parametrize("name,text", _texts(), ids=[n for n, _ in _texts()])
def test_libyaml_and_the_pure_python_loader_agree(name: str, text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast_value, fast_found = parse_yaml(text, "f.yaml")
    monkeypatch.setattr(yamlsource, "_FAST_LOADER", None)
    slow_value, slow_found = parse_yaml(text, "f.yaml")
    assert _shape(fast_value) == _shape(slow_value)
    assert [str(d) for d in fast_found] == [str(d) for d in slow_found]


def test_the_fast_path_is_libyaml_when_pyyaml_has_it() -> None:
    assert (yamlsource._FAST_LOADER is not None) == bool(yaml.__with_libyaml__)
