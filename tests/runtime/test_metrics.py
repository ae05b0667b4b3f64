"""`/metrics` as Prometheus reads it: exact counts at any size, one registry per service."""

from __future__ import annotations

import prometheus_client
from prometheus_client.parser import text_string_to_metric_families

from commandlang.runtime.metrics import Metrics


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample as a scraper parses it: (name, sorted labels) -> value."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_a_counter_past_a_million_renders_every_digit() -> None:
    metrics = Metrics()
    metrics.commands.inc("status", "completed", amount=1_234_566)
    metrics.commands.inc("status", "completed")
    metrics.retries.inc("orders", amount=123_456_789)
    text = metrics.render()
    assert "1.23457e+06" not in text  # the hand-written format lost the last digits
    assert _samples(text)[("commandlang_commands_total", (("command", "status"), ("status", "completed")))] == 1_234_567
    assert _samples(text)[("commandlang_backend_retries_total", (("backend", "orders"),))] == 123_456_789


def test_names_and_labels_dashboards_read() -> None:
    metrics = Metrics()
    metrics.commands.inc("refund", "rejected")
    metrics.refused.inc("conversation_queue")
    metrics.messages.inc("webhook", "command")
    metrics.reloads.inc("applied")
    metrics.stage_seconds.observe(0.003, "backend")
    depth = [3]
    metrics.gauge("commandlang_queue_depth", "Commands waiting in conversation queues", lambda: depth[0])
    first = _samples(metrics.render())
    depth[0] = 0  # gauges are read at each scrape
    samples = _samples(metrics.render())
    assert samples[("commandlang_commands_total", (("command", "refund"), ("status", "rejected")))] == 1
    assert samples[("commandlang_messages_refused_total", (("reason", "conversation_queue"),))] == 1
    assert samples[("commandlang_messages_total", (("channel", "webhook"), ("kind", "command")))] == 1
    assert samples[("commandlang_registry_reloads_total", (("result", "applied"),))] == 1
    assert samples[("commandlang_stage_seconds_count", (("stage", "backend"),))] == 1
    assert samples[("commandlang_stage_seconds_bucket", (("le", "0.005"), ("stage", "backend")))] == 1
    assert samples[("commandlang_stage_seconds_bucket", (("le", "0.0025"), ("stage", "backend")))] == 0
    assert first[("commandlang_queue_depth", ())] == 3 and samples[("commandlang_queue_depth", ())] == 0


def test_each_service_counts_on_its_own_registry() -> None:
    one, two = Metrics(), Metrics()
    one.commands.inc("ping", "completed")
    assert 'command="ping"' in one.render() and 'command="ping"' not in two.render()
    assert b"commandlang_" not in prometheus_client.generate_latest(prometheus_client.REGISTRY)
