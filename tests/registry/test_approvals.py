"""`settings.roles` and `approve:`: what the loader builds, and the findings (with positions) for what is wrong."""

from __future__ import annotations

from commandlang.linting import lint_file
from commandlang.registry.model import APPROVAL_TIMEOUT
from commandlang.replies.lint import check_registry_templates

REGISTRY = """version: 1
settings:
  roles: [supervisor, team_lead]
commands:
  refund:
    summary: Refund
    roles: [agent, team_lead]
    args:
      order: {type: int, positional: true, required: true}
      amount: {type: decimal, required: true}
    approve:
      when: "{{ args.amount > 100 }}"
      roles: [supervisor]
      timeout: 10m
  goodwill:
    summary: Goodwill credit
    approve: {roles: [supervisor, team_lead]}
"""


def findings(write_registry, text: str) -> list[str]:
    _, found = lint_file(str(write_registry(text)), env={}, extra=(check_registry_templates,))
    return [f"{d.line}:{d.column}: {d.code} {d.message}" + (f" ({d.hint})" if d.hint else "") for d in found]


def test_declared_roles_and_approvals_load(write_registry) -> None:
    spec, found = lint_file(str(write_registry(REGISTRY)), env={})
    assert found == []
    assert spec is not None
    assert spec.settings.roles == ("supervisor", "team_lead")
    assert spec.roles == ("agent", "customer", "supervisor", "team_lead")
    refund = spec.commands["refund"]
    assert refund.roles == {"agent", "team_lead"}
    assert refund.approve is not None
    assert refund.approve.roles == {"supervisor"}
    assert refund.approve.when == "{{ args.amount > 100 }}"
    assert refund.approve.timeout == 600
    goodwill = spec.commands["goodwill"].approve
    assert goodwill is not None and goodwill.when is None and goodwill.timeout == APPROVAL_TIMEOUT


def test_an_undeclared_role_is_reported_where_it_is_written_with_the_closest_name(write_registry) -> None:
    text = REGISTRY.replace("roles: [supervisor]\n", "roles: [supervisr]\n")
    assert findings(write_registry, text) == [
        "13:15: unknown_role commands.refund.approve.roles: role 'supervisr' is not declared "
        "(did you mean supervisor? Declared roles: agent, customer, supervisor, team_lead; declare more in settings.roles.)"
    ]


def test_a_command_role_must_be_declared(write_registry) -> None:
    text = REGISTRY.replace("roles: [agent, team_lead]", "roles: [agent, supervisors]")
    assert findings(write_registry, text) == [
        "7:20: unknown_role commands.refund.roles: role 'supervisors' is not declared "
        "(did you mean supervisor? Declared roles: agent, customer, supervisor, team_lead; declare more in settings.roles.)"
    ]


def test_approve_needs_roles(write_registry) -> None:
    text = REGISTRY.replace("    approve: {roles: [supervisor, team_lead]}\n", "    approve: {timeout: 5m}\n")
    assert findings(write_registry, text) == [
        "17:14: missing_key commands.goodwill.approve needs roles: who may approve "
        "(For example `roles: [supervisor]`, with supervisor in settings.roles.)"
    ]


def test_a_when_that_does_not_parse_is_reported(write_registry) -> None:
    text = REGISTRY.replace('"{{ args.amount > 100 }}"', '"{{ args.amount > }}"')
    (line,) = findings(write_registry, text)
    assert line.startswith("12:13: invalid_expression commands.refund.approve.when is not a template expression")


def test_a_when_that_reads_an_unknown_argument_is_reported_with_did_you_mean(write_registry) -> None:
    text = REGISTRY.replace('"{{ args.amount > 100 }}"', '"{{ args.amout > 100 }}"')
    (line,) = findings(write_registry, text)
    assert "unknown" in line and "args.amout" in line and "did you mean" in line and line.startswith("12:")


def test_settings_roles_must_be_names(write_registry) -> None:
    text = REGISTRY.replace("roles: [supervisor, team_lead]\n", "roles: [supervisor, Team Lead, agent]\n", 1)
    lines = findings(write_registry, text)
    assert lines[0].startswith("3:23: invalid_name role 'Team Lead' must be a lower-case name")
    assert lines[1] == "3:34: duplicate_name role agent always exists: settings.roles declares the others"
