"""Parse benchmark: our typed parse+bind against naive tokenizers, side by side in one run.

    python bench/bench_parse.py [--rounds 15] [--class-rounds 45] [--json]

The corpus is one file per class of input under bench/corpus/ (see its
README.md): plain, quoted with escapes, single-quoted, lists, spaced `=`,
flags, typographic quotes, Unicode spaces, aliases, subcommands, long lines
near `max_length`, syntax errors, and ordinary chat that is not a command.

Two tables, both timed in interleaved rounds so machine noise hits every
contender alike:

- Per class: `shlex.split` and commandlang parse+bind (`Registry.parse`:
  normalise, fast path or Lark, typed binding against the sample registry)
  on the same lines, one after the other in each round; the ratio is the
  median over rounds of that round's parse+bind / shlex.split (goal <= 1.0x,
  errors <= 2.0x), the worst class named. Chat is reported in absolute
  microseconds (goal < 2 us), the cost every ordinary message pays.
- Overall, on every valid command of the corpus: `str.split` (the floor),
  `shlex.split`, a hand regex tokenizer with type checks (what a careful bot
  does), parse+bind, and the syntax alone (`Registry.parse_invocation`).
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
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import commandlang  # noqa: E402

#: The classes in report order; each is bench/corpus/<class>.txt.
CLASSES = (
    "plain",
    "quoted",
    "single_quoted",
    "lists",
    "spaced_equals",
    "flags",
    "typographic",
    "unicode_spaces",
    "aliases",
    "subcommands",
    "long",
    "errors",
    "chat",
)
ERRORS, CHAT = "errors", "chat"
#: The goals: parse+bind / shlex.split per class (errors may stay on Lark), and chat in microseconds.
GOAL_RATIO, GOAL_ERRORS_RATIO, GOAL_CHAT_US = 1.0, 2.0, 2.0
#: Each per-class sample lasts about this long (seconds; passes are calibrated per class): short
#: samples, many rounds, so a burst of load on the shared machine lands in few pairs.
SAMPLE_SECONDS = 0.003

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


def load_corpus() -> dict[str, list[str]]:
    """Each class's messages; `⏎` in a corpus line stands for a newline in the message."""
    return {
        name: [
            line.replace("\u23ce", "\n")
            for line in (HERE / "corpus" / f"{name}.txt").read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        for name in CLASSES
    }


def _time_per_call(function: Callable[[str], object], lines: list[str], repeat: int) -> float:
    """Microseconds per call; an exception (errors class, shlex on a bad quote) counts as an answer."""
    start = time.perf_counter()
    for _ in range(repeat):
        for line in lines:
            try:
                function(line)
            except Exception:  # noqa: BLE001,S110 - a raised error is the answer being timed
                pass
    return (time.perf_counter() - start) / (repeat * len(lines)) * 1e6


def _check(registry: commandlang.Registry, corpus: dict[str, list[str]]) -> None:
    """Each line answers as its class says: a call, a syntax error (errors), or None (chat)."""
    for name, lines in corpus.items():
        for line in lines:
            try:
                call = registry.parse(line)
            except commandlang.CommandError:
                assert name == ERRORS, line
                continue
            assert (call is None) == (name == CHAT), (name, line)
            assert name != ERRORS, line


def run_classes(registry: commandlang.Registry, corpus: dict[str, list[str]], rounds: int) -> dict[str, Any]:
    """Per class: shlex.split and parse+bind on the same lines, interleaved round by round."""
    _check(registry, corpus)
    contenders = {"shlex.split": shlex.split, "parse+bind": registry.parse}
    repeats = {}
    for name, lines in corpus.items():  # warm up, and size each sample to about SAMPLE_SECONDS
        slowest = max(_time_per_call(function, lines, 3) for function in contenders.values())
        repeats[name] = max(1, int(SAMPLE_SECONDS * 1e6 / (slowest * len(lines))))
    samples: dict[str, dict[str, list[float]]] = {n: {c: [] for c in contenders} for n in corpus}
    for _ in range(rounds):
        for name, lines in corpus.items():
            for contender, function in contenders.items():
                samples[name][contender].append(_time_per_call(function, lines, repeats[name]))
    table: dict[str, Any] = {}
    for name, timing in samples.items():
        ratios = [ours / theirs for ours, theirs in zip(timing["parse+bind"], timing["shlex.split"])]
        table[name] = {
            "lines": len(corpus[name]),
            "shlex_us": statistics.median(timing["shlex.split"]),
            "parse_bind_us": statistics.median(timing["parse+bind"]),
            "ratio_to_shlex": statistics.median(ratios),
        }
    commands = {n: row for n, row in table.items() if n != CHAT}
    worst = max(commands, key=lambda n: commands[n]["ratio_to_shlex"] / (GOAL_ERRORS_RATIO if n == ERRORS else 1))
    return {"classes": table, "worst_class": worst, "chat_us": table[CHAT]["parse_bind_us"]}


def run_overall(registry: commandlang.Registry, lines: list[str], rounds: int, repeat: int) -> dict[str, Any]:
    """Every valid command through each contender, interleaved round by round."""
    contenders: dict[str, Callable[[str], object]] = {
        "str.split": str.split,
        "shlex.split": shlex.split,
        "regex tokenizer + types": regex_tokenizer,
        "commandlang parse+bind": registry.parse,
        "commandlang syntax only": registry.parse_invocation,
    }
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for function in contenders.values():
        _time_per_call(function, lines, 3)
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
    }


def run(rounds: int, repeat: int, class_rounds: int) -> dict[str, Any]:
    registry = commandlang.load_registry(HERE.parent / "commands.yaml", env={})
    corpus = load_corpus()
    classes = run_classes(registry, corpus, class_rounds)
    # The overall table leaves out errors, chat and the long lines (whose size would swamp the mean).
    valid = [line for name, lines in corpus.items() if name not in (ERRORS, CHAT, "long") for line in lines]
    overall = run_overall(registry, valid, rounds, repeat)
    return overall | {"_corpus": {"commands": len(valid)}, "_classes": classes}


def class_table(classes: dict[str, Any]) -> list[str]:
    """The per-class table as Markdown rows (bench/run_all.py puts it in RESULTS.md)."""
    rows = [
        "| class | lines | shlex.split us | parse+bind us | x shlex.split |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, row in classes["classes"].items():
        rows.append(
            f"| {name} | {row['lines']} | {row['shlex_us']:.2f} | {row['parse_bind_us']:.2f} "
            f"| {row['ratio_to_shlex']:.2f} |"
        )
    worst = classes["worst_class"]
    rows += [
        "",
        f"Worst class: {worst} ({classes['classes'][worst]['ratio_to_shlex']:.2f}x; goal <= {GOAL_RATIO:.1f}x, "
        f"errors <= {GOAL_ERRORS_RATIO:.1f}x). Not a command (chat): {classes['chat_us']:.2f} us "
        f"(goal < {GOAL_CHAT_US:.0f} us).",
    ]
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=100, help="passes over the overall corpus per round")
    parser.add_argument("--class-rounds", type=int, default=45, help="rounds of the per-class table")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = run(args.rounds, args.repeat, args.class_rounds)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"parse benchmark, per class: {args.class_rounds} rounds")
    print("\n".join(class_table(results["_classes"])))
    print()
    print(f"overall: {results['_corpus']['commands']} commands, {args.rounds} rounds x {args.repeat} passes")
    print(f"{'contender':<26} {'median us':>10} {'p90 us':>8} {'x shlex':>8}")
    for name, row in results.items():
        if name.startswith("_"):
            continue
        print(f"{name:<26} {row['median_us']:>10.2f} {row['p90_us']:>8.2f} {row['ratio_to_shlex']:>8.2f}")
    goal = results["commandlang parse+bind"]["ratio_to_shlex"]
    print(f"goal: parse+bind <= 1.00x shlex.split; reached {goal:.2f}x overall")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
