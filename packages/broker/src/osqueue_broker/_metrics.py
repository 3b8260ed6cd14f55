"""Prometheus metrics of one broker, in a registry of its own (several brokers may share a process)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric

# Gauges read the live state when scraped, so the commit path does not pay for them.
QueueDepth = Callable[[str], float]
# Disjoint: ready (claimable now) + delayed + in_progress jobs are the queue; dead letters aside.
DEPTH_STATUSES = ("ready", "delayed", "in_progress", "dead_letter")


class BrokerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.jobs_submitted = Counter("osqueue_jobs_submitted", "Jobs accepted by submit", registry=r)
        self.jobs_claimed = Counter("osqueue_jobs_claimed", "Jobs handed to workers", registry=r)
        self.jobs_completed = Counter("osqueue_jobs_completed", "Jobs completed by workers", registry=r)
        self.jobs_failed = Counter("osqueue_jobs_failed", "Jobs given back as failed by workers", registry=r)
        self.jobs_expired = Counter(
            "osqueue_jobs_expired", "In-progress jobs whose worker heartbeat timed out", registry=r
        )
        self._storage_errors: Callable[[], float] = lambda: 0.0
        r.register(_FunctionCounter("osqueue_storage_errors", "Storage calls that failed", self._read_errors))
        self.commit_latency = Histogram(
            "osqueue_commit_latency_seconds",
            "Time from the start of a commit to its storage write returning",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=r,
        )
        self.commit_batch_size = Histogram(
            "osqueue_commit_batch_size",
            "Mutations per commit",
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000),
            registry=r,
        )
        self._depth = Gauge("osqueue_queue_jobs", "Jobs in the queue by status", ["status"], registry=r)
        self._leader = Gauge("osqueue_broker_leader", "1 while this broker leads its queue", registry=r)

    def bind(
        self, depth: QueueDepth, is_leader: Callable[[], bool], storage_errors: Callable[[], float]
    ) -> None:
        """Attach the live readers behind the gauges and the storage error count."""
        self._storage_errors = storage_errors
        for status in DEPTH_STATUSES:
            self._depth.labels(status=status).set_function(functools.partial(depth, status))
        self._leader.set_function(lambda: 1.0 if is_leader() else 0.0)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def _read_errors(self) -> float:
        return self._storage_errors()


class _FunctionCounter:
    """A counter whose value is read from elsewhere (the engines' own error counts)."""

    def __init__(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        self._name = name
        self._documentation = documentation
        self._read = read

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(self._name, self._documentation, value=self._read())

    def describe(self) -> Iterator[Metric]:
        yield CounterMetricFamily(self._name, self._documentation)
