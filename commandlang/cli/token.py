"""`commandlang token --agent ID --scope SCOPE [--scope ...] [--role ROLE ...] --ttl 8h [--secret S]`: issue a sync token."""

from __future__ import annotations

import os
import sys

from ..sync.tokens import DEFAULT_ROLES, check_role, check_scope, issue_token, parse_ttl
from .common import ArgumentParser

SECRET_ENV = "COMMANDLANG_SYNC_SECRET"


def main(argv: list[str]) -> int:
    parser = ArgumentParser(
        prog="commandlang token", description="Issue a signed token an agent desktop uses to watch command states."
    )
    parser.add_argument("--agent", required=True, help="the agent id the token is for")
    parser.add_argument(
        "--scope",
        action="append",
        required=True,
        dest="scopes",
        metavar="SCOPE",
        help="conversation:<id>, queue:<id> or * (repeatable)",
    )
    parser.add_argument(
        "--role",
        action="append",
        dest="roles",
        metavar="ROLE",
        help="a role the agent holds, e.g. supervisor to answer approvals (repeatable; default agent; "
        "--role supervisor alone gives agent and supervisor)",
    )
    parser.add_argument("--ttl", default="8h", help="lifetime: 45s, 30m, 8h, 2d (default 8h)")
    parser.add_argument(
        "--secret",
        default=None,
        help=f"the signing secret (default: ${SECRET_ENV}); prefer the variable, arguments show up in process lists",
    )
    args = parser.parse_args(argv)

    secret = args.secret if args.secret is not None else os.environ.get(SECRET_ENV, "")
    if not secret:
        print(f"commandlang token: no secret; set {SECRET_ENV} or pass --secret", file=sys.stderr)
        return 2
    try:
        scopes = [check_scope(scope) for scope in args.scopes]
        ttl = parse_ttl(args.ttl)
        # a supervisor is an agent too: the roles given are added to the agent role
        roles = [*DEFAULT_ROLES, *(check_role(role) for role in args.roles or ())]
    except ValueError as exc:
        print(f"commandlang token: {exc}", file=sys.stderr)
        return 2
    print(issue_token(secret, args.agent, scopes, ttl, roles=roles))
    return 0
