"""`commandlang lint [FILE ...] [--format text|json]`: check registries and their templates.

Prints one finding per line, `path:line:col: CODE message`. Exit 0 when
clean, 1 when there are findings, 2 when an input cannot be used at all.
"""

from __future__ import annotations

import sys

from ..channels.genesys.botlist import findings as genesys_bot_findings
from ..linting import lint_file
from ..replies.lint import check_registry_templates
from .common import ArgumentParser, print_json


def main(argv: list[str]) -> int:
    parser = ArgumentParser(
        prog="commandlang lint", description="Check registries (commands.yaml) and their templates."
    )
    parser.add_argument(
        "files", nargs="*", default=["commands.yaml"], help="registries to check (default: ./commands.yaml)"
    )
    parser.add_argument("--format", choices=["text", "json"], default="text", help="output format (default: text)")
    args = parser.parse_args(argv)

    findings = []
    unusable = False
    for path in args.files:
        # lint checks the templates too, and Genesys's bot-list limits (warnings: only a Bot Connector needs them)
        spec, found = lint_file(path, extra=(check_registry_templates, genesys_bot_findings))
        unusable = unusable or spec is None
        findings.extend(found)

    if args.format == "json":
        print_json([d.to_json() for d in findings])
    else:
        for diagnostic in findings:
            print(diagnostic.format_line())
        if findings:
            errors = sum(1 for d in findings if d.severity == "error")
            print(
                f"{len(findings)} finding{'s' if len(findings) != 1 else ''} "
                f"({errors} error{'s' if errors != 1 else ''}, {len(findings) - errors} warning"
                f"{'s' if len(findings) - errors != 1 else ''})",
                file=sys.stderr,
            )
    if unusable:
        return 2
    return 1 if findings else 0
