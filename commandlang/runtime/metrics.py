"""The service's metrics, on prometheus_client with a registry per service (never the global one).

A registry per `Metrics` keeps two services in one process (the tests start
many) from sharing or colliding on series, and keeps whatever else registers
on prometheus_client's global registry out of our `/metrics`. The facade keeps
the call sites short: `metrics.commands.inc(name, status)`,
`metrics.stage_seconds.observe(seconds, stage)`, `metrics.gauge(name, help, read)`.
"""

from __future__ import annotations

from typing import Callable

import prometheus_client
from prometheus_client import CollectorRegistry

__all__ = ["Counter", "Histogram", "Metrics"]

# how long an approval waited for its answer: seconds to hours (the default timeout is 30 minutes)
_APPROVAL_BUCKETS = (5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 86400.0)
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Counter:
    """A counter with labels, incremented as `inc(*label_values, amount=1)`."""

    def __init__(self, registry: CollectorRegistry, name: str, help_text: str, labels: tuple[str, ...]) -> None:
        # prometheus_client takes the name without `_total` and adds it back when it renders
        self._metric = prometheus_client.Counter(name.removesuffix("_total"), help_text, labels, registry=registry)
        # series by label values: `labels()` validates and locks on every call, and a command touches
        # several series; as bounded as the series themselves (the call sites never label with free text)
        self._series: dict[tuple[str, ...], prometheus_client.Counter] = {}

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        """Add `amount` (at least 0) to the series with these label values."""
        series = self._series.get(labels)
        if series is None:
            series = self._series[labels] = self._metric.labels(*labels)
        series.inc(amount)


class Histogram:
    """A histogram with labels, fed as `observe(value, *label_values)`."""

    def __init__(
        self,
        registry: CollectorRegistry,
        name: str,
        help_text: str,
        labels: tuple[str, ...],
        buckets: tuple[float, ...] = _LATENCY_BUCKETS,
    ) -> None:
        self._metric = prometheus_client.Histogram(name, help_text, labels, buckets=buckets, registry=registry)
        self._series: dict[tuple[str, ...], prometheus_client.Histogram] = {}  # as Counter's

    def observe(self, value: float, *labels: str) -> None:
        """Count one observation of `value` in the series with these label values."""
        series = self._series.get(labels)
        if series is None:
            series = self._series[labels] = self._metric.labels(*labels)
        series.observe(value)


class Metrics:
    """The service's metrics; gauges that read live values are added by their owners (`gauge`)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.commands = Counter(
            registry, "commandlang_commands_total", "Commands by name and final status", ("command", "status")
        )
        self.stage_seconds = Histogram(registry, "commandlang_stage_seconds", "Latency per pipeline stage", ("stage",))
        self.retries = Counter(registry, "commandlang_backend_retries_total", "Backend call retries", ("backend",))
        self.refused = Counter(
            registry, "commandlang_messages_refused_total", "Messages refused because a queue was full", ("reason",)
        )
        self.messages = Counter(
            registry, "commandlang_messages_total", "Inbound messages by channel and kind", ("channel", "kind")
        )
        self.reloads = Counter(
            registry, "commandlang_registry_reloads_total", "Registry reloads by result", ("result",)
        )
        # outcome: requested, approved, denied, timed_out; refused (a self-approval, an approver without the role)
        self.approvals = Counter(
            registry, "commandlang_approvals_total", "Approvals by command and outcome", ("command", "outcome")
        )
        self.approval_seconds = Histogram(
            registry,
            "commandlang_approval_seconds",
            "Time from an approval's request to its answer or timeout",
            ("command", "outcome"),
            buckets=_APPROVAL_BUCKETS,
        )

    def gauge(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        """A gauge whose value is `read()` at each scrape (queue depths, open connections)."""
        prometheus_client.Gauge(name, help_text, registry=self.registry).set_function(read)

    def render(self) -> str:
        """The text exposition format (0.0.4) that `GET /metrics` serves."""
        return prometheus_client.generate_latest(self.registry).decode("utf-8")
