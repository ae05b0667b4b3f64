"""Registry settings that change reading (percent_decode, max_length) and the subcommand rule."""

from __future__ import annotations

import pytest

import commandlang
from commandlang import CommandError


def load(write_registry, text: str) -> commandlang.Registry:
    return commandlang.load_registry(write_registry(text), env={})


def test_percent_decode_setting(write_registry) -> None:
    on = load(
        write_registry,
        "version: 1\nsettings: {percent_decode: true}\n"
        "commands:\n  note: {args: {text: {type: str, positional: true}, tags: 'list[str]'}}\n",
    )
    assert on.parse("/note value%20with%20spaces").args["text"] == "value with spaces"
    assert on.parse('/note "value%20quoted"').args["text"] == "value%20quoted"
    assert on.parse("/note x tags=[a%2Cb,c%20d]").args["tags"] == ["a,b", "c d"]
    assert on.parse("/note 100%").args["text"] == "100%"
    assert on.parse("/note %FF%FE").args["text"] == "%FF%FE"
    off = load(write_registry, "version: 1\ncommands:\n  note: {args: {text: {type: str, positional: true}}}\n")
    assert off.parse("/note value%20with%20spaces").args["text"] == "value%20with%20spaces"


def test_max_length_setting(write_registry) -> None:
    registry = load(write_registry, "version: 1\nsettings: {max_length: 20}\ncommands:\n  ping: {}\n")
    assert registry.parse("/ping" + " " * 15) is not None
    with pytest.raises(CommandError) as caught:
        registry.parse("/ping" + " " * 16)
    assert caught.value.diagnostic.code == "too_long"
    assert "20" in caught.value.diagnostic.message
    assert registry.parse("a long chat message, not a command") is None


SUBCOMMANDS = """\
version: 1
commands:
  ticket:
    aliases: [tk]
    args: {verbose: bool}
  ticket.close:
    args: {id: {type: int, positional: true, required: true}}
  ticket.open:
    args: {title: {type: str, positional: true}}
  order:
    args: {id: {type: int, positional: true}}
  order.cancel:
    args: {id: {type: int, positional: true}}
"""


@pytest.fixture
def subs(write_registry) -> commandlang.Registry:
    return load(write_registry, SUBCOMMANDS)


@pytest.mark.parametrize(
    ("text", "command", "args"),
    [
        ("/ticket", "ticket", {"verbose": False}),
        ("/ticket --verbose", "ticket", {"verbose": True}),
        ("/ticket close 42", "ticket.close", {"id": 42}),
        ("/ticket.close 42", "ticket.close", {"id": 42}),
        ("/Ticket CLOSE 42", "ticket.close", {"id": 42}),
        ("/tk close 42", "ticket.close", {"id": 42}),
        ("/ticket open", "ticket.open", {"title": None}),
        ("/ticket open close", "ticket.open", {"title": "close"}),
        ("/order 5", "order", {"id": 5}),
        ("/order cancel 5", "order.cancel", {"id": 5}),  # ticket.close exists: it wins (lint warns)
    ],
)
def test_subcommands(subs, text: str, command: str, args: dict) -> None:
    call = subs.parse(text)
    assert (call.command, dict(call.args)) == (command, args)


def test_unknown_subcommand_of_a_command_that_takes_no_positionals(subs) -> None:
    with pytest.raises(CommandError) as caught:
        subs.parse("/ticket reopen 4")
    assert caught.value.diagnostic.code == "too_many_positionals"


def test_ambiguous_parent_is_a_lint_warning(write_registry) -> None:
    registry = load(write_registry, SUBCOMMANDS)
    assert [(d.code, d.severity) for d in registry.warnings] == [("ambiguous_subcommand", "warning")]


def test_subcommand_choice_does_not_depend_on_hash_seed(tmp_path) -> None:
    from tests.helpers import run_cli

    (tmp_path / "commands.yaml").write_text(
        "version: 1\ncommands:\n  ticket: {aliases: [tk]}\n  ticket.close: {}\n  tk.close: {}\n"
    )
    seen = {
        run_cli("parse", "--json", "/tk close", cwd=tmp_path, env={"PYTHONHASHSEED": str(seed)}).stdout
        for seed in range(1, 7)
    }
    assert seen == {'{"command": "tk.close", "args": {}}\n'}  # the name as typed wins over the alias's target
