"""Prometheus text-format metrics, kept in memory by one service instance (no global registry).

Small on purpose: counters, gauges and histograms with labels, rendered as
the text exposition format `GET /metrics` serves.
"""

from __future__ import annotations

import bisect
from typing import Callable, Iterable

__all__ = ["Counter", "Gauge", "Histogram", "Metrics"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def _labels(names: tuple[str, ...], values: tuple[str, ...], extra: str = "") -> str:
    pairs = [f'{n}="{_escape(v)}"' for n, v in zip(names, values)]
    if extra:
        pairs.append(extra)
    return "{" + ",".join(pairs) + "}" if pairs else ""


def _escape(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Counter:
    def __init__(self, name: str, help_text: str, labels: tuple[str, ...] = ()) -> None:
        self.name, self.help, self.label_names = name, help_text, labels
        self.values: dict[tuple[str, ...], float] = {}

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        self.values[labels] = self.values.get(labels, 0.0) + amount

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} counter"
        for labels, value in sorted(self.values.items()):
            yield f"{self.name}{_labels(self.label_names, labels)} {value:g}"


class Gauge:
    """A value read when scraped (`read`), or set by the owner (`set`)."""

    def __init__(self, name: str, help_text: str, read: Callable[[], float] | None = None) -> None:
        self.name, self.help, self.read = name, help_text, read
        self.value = 0.0

    def set(self, value: float) -> None:
        self.value = value

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} gauge"
        yield f"{self.name} {(self.read() if self.read else self.value):g}"


class Histogram:
    def __init__(self, name: str, help_text: str, labels: tuple[str, ...] = (), buckets: tuple[float, ...] = _LATENCY_BUCKETS) -> None:
        self.name, self.help, self.label_names, self.buckets = name, help_text, labels, buckets
        self.series: dict[tuple[str, ...], list[float]] = {}  # bucket counts..., +Inf count, sum

    def observe(self, value: float, *labels: str) -> None:
        series = self.series.get(labels)
        if series is None:
            series = self.series[labels] = [0.0] * (len(self.buckets) + 2)
        series[bisect.bisect_left(self.buckets, value)] += 1
        series[-1] += value

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} histogram"
        for labels, series in sorted(self.series.items()):
            running = 0.0
            for bound, count in zip(self.buckets, series):
                running += count
                le = 'le="%g"' % bound
                yield f"{self.name}_bucket{_labels(self.label_names, labels, le)} {running:g}"
            running += series[len(self.buckets)]
            le = 'le="+Inf"'
            yield f"{self.name}_bucket{_labels(self.label_names, labels, le)} {running:g}"
            yield f"{self.name}_sum{_labels(self.label_names, labels)} {series[-1]:g}"
            yield f"{self.name}_count{_labels(self.label_names, labels)} {running:g}"


class Metrics:
    """The service's metrics; gauges that read live values are added by their owners."""

    def __init__(self) -> None:
        self.commands = Counter("commandlang_commands_total", "Commands by name and final status", ("command", "status"))
        self.stage_seconds = Histogram("commandlang_stage_seconds", "Latency per pipeline stage", ("stage",))
        self.retries = Counter("commandlang_backend_retries_total", "Backend call retries", ("backend",))
        self.refused = Counter("commandlang_messages_refused_total", "Messages refused because a queue was full", ("reason",))
        self.messages = Counter("commandlang_messages_total", "Inbound messages by channel and kind", ("channel", "kind"))
        self.reloads = Counter("commandlang_registry_reloads_total", "Registry reloads by result", ("result",))
        self.gauges: list[Gauge] = []

    def gauge(self, name: str, help_text: str, read: Callable[[], float]) -> Gauge:
        gauge = Gauge(name, help_text, read)
        self.gauges.append(gauge)
        return gauge

    def render(self) -> str:
        lines: list[str] = []
        for metric in (self.commands, self.stage_seconds, self.retries, self.refused, self.messages, self.reloads, *self.gauges):
            lines.extend(metric.render())
        return "\n".join(lines) + "\n"
