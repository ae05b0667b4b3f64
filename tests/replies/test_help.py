"""/help and /help NAME, generated from the registry and filtered by role."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import commandlang
from commandlang.replies.help import help_reply

if TYPE_CHECKING:
    from commandlang.registry.model import RegistrySpec


def test_help_lists_only_what_the_role_may_run_sorted(registry: commandlang.Registry) -> None:
    customer = help_reply(registry.spec, "customer").text
    agent = help_reply(registry.spec, "agent").text
    assert "/refund" not in customer and "/ticket.close" not in customer
    assert "/refund - Refund an order" in agent and "/ticket.close - Close a support ticket" in agent
    names = [line.split(" ")[0] for line in agent.splitlines() if line.startswith("/")]
    assert names == sorted(names)


def test_help_name_shows_usage_args_defaults_choices_and_examples(
    registry: commandlang.Registry, snapshot: Any
) -> None:
    text = help_reply(registry.spec, "agent", "refund").text
    assert "Usage: /refund <order> amount=<decimal> [reason=<str>] [--notify]" in text
    assert "reason (str, up to 200 characters): Why the refund is given. Default: unspecified." in text
    assert "/refund 7 amount=0" not in text  # an example that is meant to fail is not shown as an example
    assert text == snapshot


def test_help_for_a_command_with_choices_durations_and_a_secret(registry: commandlang.Registry, snapshot: Any) -> None:
    text = help_reply(registry.spec, "customer", "/callback").text
    assert "topic (one of billing, delivery, returns, other) Default: other." in text
    assert "within (duration, at least 15m, at most 7d): Latest acceptable delay. Default: 4h." in text
    assert "card (str, kept private)" in text
    assert text == snapshot


def test_help_resolves_aliases(registry: commandlang.Registry) -> None:
    assert help_reply(registry.spec, "agent", "rf").text == help_reply(registry.spec, "agent", "refund").text


def test_help_on_a_command_the_role_cannot_run_says_it_does_not_exist(registry: commandlang.Registry) -> None:
    reply = help_reply(registry.spec, "customer", "refund")
    assert reply.text.startswith("There is no command /refund.")
    assert "Refund an order" not in reply.text


def test_help_on_an_unknown_name_suggests_close_ones(registry: commandlang.Registry) -> None:
    reply = help_reply(registry.spec, "agent", "refnd")
    assert reply.text.startswith("There is no command /refnd. Did you mean /refund?")
    assert [q.payload for q in reply.quick_replies] == ["/help refund"]
    nothing = help_reply(registry.spec, "agent", "zzzzzz")
    assert "Did you mean" not in nothing.text and nothing.quick_replies[0].payload == "/help"


def test_help_on_a_group_lists_its_subcommands(registry: commandlang.Registry) -> None:
    assert (
        help_reply(registry.spec, "agent", "ticket").text
        == "/ticket has these subcommands:\n/ticket close - Close a support ticket"
    )
    assert help_reply(registry.spec, "agent", "ticket close").text.startswith("/ticket.close - Close a support ticket")
    assert help_reply(registry.spec, "customer", "ticket").text.startswith("There is no command /ticket.")


def test_help_examples_star_out_sensitive_values() -> None:
    from commandlang.registry.model import Example

    from .helpers import pay_command, small_registry

    spec = pay_command(examples=(Example("/pay 7 card=4111111111111111 note=hi"),))
    text = help_reply(small_registry(spec), None, "pay").text
    assert "4111111111111111" not in text and "/pay 7 card=************1111 note=hi" in text


def _commands(count: int) -> "RegistrySpec":
    from commandlang.registry.model import CommandSpec

    from .helpers import small_registry

    return small_registry(*(CommandSpec(name=f"cmd{index:02d}", summary=f"Command {index}") for index in range(count)))


def test_help_offers_every_command_as_a_quick_reply_while_they_fit() -> None:
    reply = help_reply(_commands(10), None)
    assert [(q.label, q.payload) for q in reply.quick_replies] == [
        (f"/help cmd{i:02d}", f"/help cmd{i:02d}") for i in range(10)
    ]
    assert reply.carousel is None


def test_help_puts_more_commands_than_fit_on_cards_and_leaves_none_out() -> None:
    reply = help_reply(_commands(23), None)
    assert reply.quick_replies == ()
    buttons = [button for card in reply.carousel.cards for button in card.actions]
    assert [b.payload for b in buttons] == [f"/help cmd{i:02d}" for i in range(23)]  # every one, in order
    assert all(b.label == b.payload for b in buttons)  # a label says what it sends
    assert all(len(card.actions) <= 3 for card in reply.carousel.cards) and len(reply.carousel.cards) <= 10
    assert all(f"/cmd{i:02d} - Command {i}" in reply.text for i in range(23))


def test_help_name_says_who_must_approve(registry: commandlang.Registry) -> None:
    text = help_reply(registry.spec, "agent", "refund").text
    assert "Needs approval before it runs, depending on its arguments, by: supervisor." in text
