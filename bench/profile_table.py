"""Where the service's CPU goes: a cProfile of `commandlang serve` summarised by subsystem.

    BENCH_PROFILE=/tmp/p/run python bench/bench_e2e.py --seconds 6 --concurrency 50 --sessions 10 --paths webhook --no-burst
    python bench/profile_table.py /tmp/p/run-*.prof [--commands N] [--markdown]

Each function's own time (cProfile's tottime) is charged to a subsystem by the file it is in. Time in
code that belongs to no subsystem of its own (builtins such as `socket.send`, h11, trio's socket
wrappers, contextlib, dataclasses) is charged to whoever called it, split as cProfile measured the
calls from each caller, up the stack until a subsystem is found. The epoll wait is idle time and is
left out, and so is startup (imports, compiling, module bodies). Commands are counted by the calls of
`Lifecycle._new_record` (one per command) unless `--commands` says otherwise. The profile times the
Trio thread's CPU (`profile_cpu.py`), and its timer slows every Python call: read the shares and the
ratios between two runs, not the absolute milliseconds.
"""

from __future__ import annotations

import argparse
import pstats
from collections import defaultdict

# (substring of the file path, optional function name prefix, subsystem); the first match wins
OWN: list[tuple[str, str, str]] = [
    ("<frozen importlib", "", "startup (imports, compiling)"),
    ("~", "<built-in method builtins.compile>", "startup (imports, compiling)"),
    ("~", "<built-in method marshal", "startup (imports, compiling)"),
    ("~", "<built-in method builtins.exec>", "startup (imports, compiling)"),
    ("~", "<built-in method _imp.", "startup (imports, compiling)"),
    ("~", "<built-in method builtins.__build_class__>", "startup (imports, compiling)"),
    ("", "<module>", "startup (imports, compiling)"),
    ("hypercorn/", "", "hypercorn inbound HTTP/1.1"),
    ("commandlang/runtime/http", "", "our HTTP layer (http.py, listener.py, webhook)"),
    ("commandlang/runtime/listener", "", "our HTTP layer (http.py, listener.py, webhook)"),
    ("commandlang/channels/webhook", "", "our HTTP layer (http.py, listener.py, webhook)"),
    ("commandlang/runtime/sqlite", "", "store (runtime/sqlite*.py)"),
    ("commandlang/runtime/", "", "lifecycle, scheduler, pipeline, messages"),
    ("commandlang/app/", "", "lifecycle, scheduler, pipeline, messages"),
    ("commandlang/execution/", "", "executor + transport (execution/)"),
    ("commandlang/sync/", "", "sync fan-out (sync/)"),
    ("commandlang/syntax/", "", "parse, bind, render (pure stages)"),
    ("commandlang/binding/", "", "parse, bind, render (pure stages)"),
    ("commandlang/registry/", "", "parse, bind, render (pure stages)"),
    ("commandlang/replies/", "", "parse, bind, render (pure stages)"),
    ("commandlang/", "", "other commandlang"),
    ("json/", "", "JSON encoding and decoding"),
    ("trio/_timeouts", "", "Trio cancel scopes and deadlines"),
    ("trio/_core/_run.py", "CancelScope", "Trio cancel scopes and deadlines"),
    ("trio/_core/_run.py", "CancelStatus", "Trio cancel scopes and deadlines"),
    ("trio/_core/_run.py", "_might_change", "Trio cancel scopes and deadlines"),
    ("trio/_core/_run.py", "_activate_cancel", "Trio cancel scopes and deadlines"),
    ("trio/_core/_run.py", "__enter__", "Trio cancel scopes and deadlines"),
    ("trio/_core/_run.py", "__exit__", "Trio cancel scopes and deadlines"),
    ("trio/_core/_run.py", "_close", "Trio cancel scopes and deadlines"),
    ("trio/_core/_run.py", "recalculate", "Trio cancel scopes and deadlines"),
    ("trio/_core/_run.py", "", "Trio run loop, tasks, nurseries"),
    ("trio/_core/_io_epoll", "", "Trio run loop, tasks, nurseries"),
    ("trio/_core/_generated_run", "", "Trio run loop, tasks, nurseries"),
    ("trio/_core/_traps", "", "Trio run loop, tasks, nurseries"),
    ("trio/_core/_ki", "", "Trio run loop, tasks, nurseries"),
    ("_contextvars", "", "Trio run loop, tasks, nurseries"),
    ("prometheus_client", "", "metrics (prometheus_client)"),
    ("sqlite3", "", "store (runtime/sqlite*.py)"),
    ("logging/", "", "logging"),
]
# charged to the caller: not a subsystem of its own
PASS_THROUGH = (
    "~",
    "h11/",
    "trio/_socket",
    "trio/_highlevel",
    "trio/_sync",
    "trio/_channel",
    "contextlib",
    "dataclasses",
    "outcome/",
    "<attrs",
    "<frozen",
    "collections/",
    "enum",
    "functools",
    "typing",
    "abc.py",
    "re/",
    "attr/",
    "sniffio",
    "threading",
    "trio/_util",
    "trio/_deprecate",
    "urllib/",
    "trio/_core/_thread",
    "trio/_threads",
    "queue.py",
    "selectors",
    "socket.py",
    "copy.py",
    "weakref",
    "_weakrefset",
    "inspect",
    "hmac",
    "hashlib",
    "base64",
    "string",
)
STARTUP = "startup (imports, compiling)"  # left out of the table, as idle time is
IDLE = ("poll' of 'select.epoll", "'acquire' of '_thread.lock")


def own_subsystem(func: tuple[str, int, str]) -> str | None:
    filename, _, name = func
    text = f"{filename}:{name}"
    if any(marker in text for marker in IDLE):
        return "idle"
    for marker, prefix, subsystem in OWN:
        if (marker == "~" and filename != "~") or marker not in filename:
            continue
        if name.startswith(prefix):
            return subsystem
    if any(marker in filename for marker in PASS_THROUGH) or filename == "~":
        return None
    return "other"


def summarise(stats: pstats.Stats) -> dict[str, float]:
    raw = stats.stats  # type: ignore[attr-defined]
    shares: dict[tuple, dict[str, float]] = {}

    def split(func: tuple, depth: int = 0) -> dict[str, float]:
        """How `func`'s calls divide among subsystems (fractions summing to 1)."""
        if func in shares:
            return shares[func]
        own = own_subsystem(func)
        if own is not None:
            shares[func] = {own: 1.0}
            return shares[func]
        shares[func] = {"other": 1.0}  # guards recursion
        _, _, tt, ct, callers = raw[func]
        if not callers or depth > 40:
            return shares[func]
        weights = {caller: (c[3] or c[2]) for caller, c in callers.items()}
        total = sum(weights.values()) or 1.0
        result: dict[str, float] = defaultdict(float)
        for caller, weight in weights.items():
            if caller not in raw:
                result["other"] += weight / total
                continue
            for subsystem, fraction in split(caller, depth + 1).items():
                result[subsystem] += fraction * weight / total
        shares[func] = dict(result)
        return shares[func]

    table: dict[str, float] = defaultdict(float)
    for func, (_, _, tt, _, callers) in raw.items():
        own = own_subsystem(func)
        if own is not None:
            table[own] += tt
            continue
        # charge each caller's measured share of this function's own time
        if not callers:
            table["other"] += tt
            continue
        for caller, (_, _, caller_tt, _) in callers.items():
            if caller not in raw:
                table["other"] += caller_tt
                continue
            for subsystem, fraction in split(caller).items():
                table[subsystem] += caller_tt * fraction
    return dict(table)


def commands_in(stats: pstats.Stats) -> int:
    for (filename, _, name), (_, calls, *_rest) in stats.stats.items():  # type: ignore[attr-defined]
        if filename.endswith("runtime/lifecycle.py") and name == "_new_record":
            return calls
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profiles", nargs="+")
    parser.add_argument("--commands", type=int)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    for path in args.profiles:
        stats = pstats.Stats(path)
        table = summarise(stats)
        commands = args.commands or commands_in(stats) or 1
        busy = sum(v for k, v in table.items() if k not in ("idle", STARTUP))
        print(f"{path}: {commands} commands, {busy:.2f} s busy under cProfile, {1000 * busy / commands:.3f} ms/command")
        if args.markdown:
            print("| subsystem | share | us/command (under cProfile) |\n| --- | ---: | ---: |")
        for subsystem, seconds in sorted(table.items(), key=lambda kv: -kv[1]):
            if subsystem in ("idle", STARTUP):
                continue
            if args.markdown:
                print(f"| {subsystem} | {100 * seconds / busy:.1f}% | {1e6 * seconds / commands:.0f} |")
            else:
                print(f"  {subsystem:50} {100 * seconds / busy:5.1f}%  {1e6 * seconds / commands:7.0f} us/cmd")


if __name__ == "__main__":
    main()
