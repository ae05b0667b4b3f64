"""Parse benchmark: our typed parse+bind against naive tokenizers, side by side in one run.

    python bench/bench_parse.py [--rounds 15] [--json]

For each of the corpus's realistic commands (bench/corpus.txt) it times, in
interleaved rounds so machine noise hits every contender alike:

- `str.split`                  (no quoting at all: the floor)
- `shlex.split`                (the usual "good enough" tokenizer; the goal is <= 1.0x of it)
- a hand regex tokenizer with type checks (what a careful hand-written bot does)
- commandlang parse+bind       (`Registry.parse`: normalise, fast path or Lark, typed binding)
- commandlang syntax only      (`Registry.parse_invocation`)

It prints per-command medians in microseconds and the ratios to shlex.split.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import commandlang  # noqa: E402

_TOKEN = re.compile(
    r'\s*(?:(?P<key>[A-Za-z][\w-]*)\s*=\s*)?(?:"(?P<dq>(?:[^"\\]|\\.)*)"|\'(?P<sq>[^\']*)\'|(?P<bare>[^\s"\']+))'
)
_INT = re.compile(r"[+-]?\d+")
_DEC = re.compile(r"[+-]?\d+(?:\.\d+)?")


def regex_tokenizer(text: str) -> dict[str, object]:
    """A careful hand-written tokenizer with the checks a bot author would write."""
    if not text.startswith("/"):
        return {}
    name, _, rest = text[1:].partition(" ")
    positionals: list[object] = []
    options: dict[str, object] = {}
    for match in _TOKEN.finditer(rest):
        value = match.group("dq") or match.group("sq") or match.group("bare") or ""
        if _INT.fullmatch(value):
            typed: object = int(value)
        elif _DEC.fullmatch(value):
            typed = Decimal(value)
        else:
            typed = value
        if match.group("key"):
            options[match.group("key").lower()] = typed
        else:
            positionals.append(typed)
    return {"command": name.lower(), "positionals": positionals, "options": options}


def _time_per_call(function, lines: list[str], repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        for line in lines:
            function(line)
    return (time.perf_counter() - start) / (repeat * len(lines)) * 1e6


def run(rounds: int, repeat: int) -> dict[str, dict[str, float]]:
    registry = commandlang.load_registry(HERE.parent / "commands.yaml")
    lines = [line for line in (HERE / "corpus.txt").read_text(encoding="utf-8").splitlines() if line.strip()]
    for line in lines:  # every corpus line must be a valid command: we time success, not errors
        assert registry.parse(line) is not None, line
    contenders = {
        "str.split": str.split,
        "shlex.split": shlex.split,
        "regex tokenizer + types": regex_tokenizer,
        "commandlang parse+bind": registry.parse,
        "commandlang syntax only": registry.parse_invocation,
    }
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for name, function in contenders.items():  # warm up caches and the Lark tables
        _time_per_call(function, lines, 50)
    for _ in range(rounds):
        for name, function in contenders.items():
            samples[name].append(_time_per_call(function, lines, repeat))
    shlex_median = statistics.median(samples["shlex.split"])
    return {
        name: {
            "median_us": statistics.median(values),
            "p90_us": sorted(values)[int(0.9 * (len(values) - 1))],
            "ratio_to_shlex": statistics.median(values) / shlex_median,
        }
        for name, values in samples.items()
    } | {"_corpus": {"commands": len(lines)}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=200, help="passes over the corpus per round")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = run(args.rounds, args.repeat)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"parse benchmark: {results['_corpus']['commands']} commands, {args.rounds} rounds x {args.repeat} passes")
    print(f"{'contender':<26} {'median us':>10} {'p90 us':>8} {'x shlex':>8}")
    for name, row in results.items():
        if name.startswith("_"):
            continue
        print(f"{name:<26} {row['median_us']:>10.2f} {row['p90_us']:>8.2f} {row['ratio_to_shlex']:>8.2f}")
    goal = results["commandlang parse+bind"]["ratio_to_shlex"]
    print(f"goal: parse+bind <= 1.00x shlex.split; reached {goal:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
