"""`commandlang genesys <subcommand>`: the Genesys Cloud side of a deployment.

    commandlang genesys bots [--registry FILE] [--format dbc|classic]   print the bot list JSON
    commandlang genesys push-bots --integration-id ID [--registry FILE]   upload it (classic Bot Connector)
    commandlang genesys check [--public-url URL] [--json]                 preflight against the configured org

`bots` prints what `GET /genesys/dbc/bots` serves (`--format dbc`, `{"entities": [Bot]}`) or the
body `push-bots` sends (`--format classic`, `{"chatBots": [...]}`). `push-bots` sends it with
`PUT /api/v2/integrations/botconnector/{integrationId}/bots`, authenticated with the OAuth client
credentials of the `GENESYS_*` settings (`GENESYS_REGION`, or `GENESYS_API_BASE`/`GENESYS_LOGIN_BASE`
for another host such as the fake). The bot id is `GENESYS_BOT_ID` (default `commandlang`), the
version the registry's content hash, as the runtime serves it. Exit codes: 0 done, 1 the registry
breaks Genesys's limits or Genesys refused the upload, 2 bad usage or an unusable registry or settings.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Callable

from .common import ArgumentParser, load_or_report

__all__ = ["main", "SUBCOMMANDS"]


def _registry_arg(parser: ArgumentParser) -> None:
    parser.add_argument(
        "--registry",
        default=os.environ.get("COMMANDLANG_REGISTRY") or "commands.yaml",
        help="the registry file (default: $COMMANDLANG_REGISTRY or ./commands.yaml)",
    )


def _listing(path: str, prog: str):  # -> BotListing | int (the exit code when there is none)
    from ..channels.genesys.botlist import DEFAULT_BOT_ID, BotListError, build_bot
    from ..runtime.generation import registry_version

    registry = load_or_report(path, prog)
    if registry is None:
        return 2
    try:
        return build_bot(
            registry.spec, registry_version(path), bot_id=os.environ.get("GENESYS_BOT_ID") or DEFAULT_BOT_ID
        )
    except BotListError as exc:
        print(f"{prog}: the registry does not fit in a Genesys bot list:", file=sys.stderr)
        for finding in exc.findings:
            print("  " + finding.format_line(), file=sys.stderr)
        return 1
    except ValueError as exc:  # a GENESYS_BOT_ID Genesys would refuse
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2


def bots(argv: list[str]) -> int:
    """Print the bot list (v2 `{"entities": [...]}` or classic `{"chatBots": [...]}`)."""
    from ..channels.genesys.models import classic_bot_list, dbc_bot_list

    parser = ArgumentParser(prog="commandlang genesys bots", description="Print the Bot Connector bot list.")
    _registry_arg(parser)
    parser.add_argument(
        "--format",
        choices=["dbc", "classic"],
        default="dbc",
        help="dbc: what GET /genesys/dbc/bots serves; classic: the body push-bots uploads",
    )
    args = parser.parse_args(argv)
    listing = _listing(args.registry, parser.prog)
    if isinstance(listing, int):
        return listing
    bots_json = dbc_bot_list((listing.bot,)) if args.format == "dbc" else classic_bot_list((listing.bot,))
    print(json.dumps(bots_json, ensure_ascii=False, indent=2))
    return 0


def push_bots(argv: list[str]) -> int:
    """Upload the classic bot list to an integration through the public API."""
    import trio

    parser = ArgumentParser(
        prog="commandlang genesys push-bots",
        description="Upload the bot list for the classic Genesys Bot Connector integration.",
    )
    parser.add_argument("--integration-id", required=True, help="the Bot Connector integration's id")
    _registry_arg(parser)
    args = parser.parse_args(argv)
    listing = _listing(args.registry, parser.prog)
    if isinstance(listing, int):
        return listing
    from ..channels.genesys import GenesysSettings
    from ..channels.genesys.regions import RegionError

    try:
        settings = GenesysSettings.from_env(os.environ)
    except (ValueError, RegionError) as exc:
        print(f"{parser.prog}: Genesys settings: {exc}", file=sys.stderr)
        return 2
    return trio.run(_push, settings, args.integration_id, listing, parser.prog)


async def _push(settings, integration_id: str, listing, prog: str) -> int:
    from urllib.parse import quote

    import httpx

    from ..channels.genesys import GenesysApiClient, GenesysApiError, GenesysAuthError, TokenProvider
    from ..channels.genesys.models import classic_bot_list

    async with httpx.AsyncClient(timeout=30.0, trust_env=False) as http:
        tokens = TokenProvider(
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            login_base=settings.endpoints.login_base,
            http=http,
        )
        api = GenesysApiClient(api_base=settings.endpoints.api_base, tokens=tokens, http=http, max_attempts=3)
        path = f"/api/v2/integrations/botconnector/{quote(integration_id, safe='')}/bots"
        try:
            await api.request("PUT", path, json=classic_bot_list((listing.bot,)))
        except (GenesysApiError, GenesysAuthError) as exc:
            print(f"{prog}: {exc}", file=sys.stderr)
            return 1
    version = listing.version
    print(
        f"pushed bot {listing.bot.id} version {version.version} ({len(version.intents)} intents) "
        f"to integration {integration_id}"
    )
    return 0


def _check(argv: list[str]) -> int:
    from .genesys_check import main as check_main  # its own module: a checklist against the live org

    return check_main(argv)


#: subcommand -> `main(argv) -> int`
SUBCOMMANDS: dict[str, Callable[[list[str]], int]] = {
    "bots": bots,
    "push-bots": push_bots,
    "check": _check,
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(
            "usage: commandlang genesys {"
            + ",".join(SUBCOMMANDS)
            + "} [options]\n\n"
            + (__doc__ or "").split("\n\n")[1]
        )
        return 0 if argv else 2
    command = SUBCOMMANDS.get(argv[0])
    if command is None:
        print(f"commandlang genesys: unknown subcommand {argv[0]!r} (one of {', '.join(SUBCOMMANDS)})", file=sys.stderr)
        return 2
    return int(command(argv[1:]))
