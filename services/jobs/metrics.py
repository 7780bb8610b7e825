"""The jobs' metric families: recorded in the work horses (prometheus-client's multiprocess mode,
see services.jobs.worker.metrics_dir) and served by the worker; the queue's, read from Redis at
scrape time, by the jobs service."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from redis import Redis
from rq.utils import utcparse

log = logging.getLogger(__name__)

JOBS = Counter(
    "zapcut_jobs",
    "Jobs the workers ran, by job type (the generation step: scene, voiceover, music, composite; "
    "diagnostic) and outcome (completed, failed, cancelled).",
    ["job_type", "outcome"],
)
JOB_SECONDS = Histogram(
    "zapcut_job_duration_seconds",
    "Time a worker spent on a job, by job type and outcome.",
    ["job_type", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
)
RENDER_RATIO = Histogram(
    "zapcut_render_seconds_per_output_second",
    "Seconds of rendering per second of output, by what the local provider rendered "
    "(scene, voiceover, music, composite): above 1 is slower than real time.",
    ["kind"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32),
)


@contextmanager
def timed_render(kind: str, output_s: float) -> Iterator[None]:
    """Record the render-time ratio of what the block renders (output_s seconds long)."""
    started = time.perf_counter()
    yield
    if output_s > 0:
        RENDER_RATIO.labels(kind).observe((time.perf_counter() - started) / output_s)


class QueueCollector(Collector):
    """Jobs waiting in RQ queues, and how long the one at the head has waited, read from Redis."""

    def __init__(self, redis: Redis, queues: Iterable[str]) -> None:
        self.redis, self.queues = redis, list(queues)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("zapcut_rq_queue_jobs", "Jobs waiting in the RQ queue.", labels=["queue"])
        age = GaugeMetricFamily(
            "zapcut_rq_oldest_job_age_seconds",
            "Seconds the job at the head of the RQ queue has waited since it was enqueued (0 when empty).",
            labels=["queue"],
        )
        try:
            for queue in self.queues:
                key = f"rq:queue:{queue}"
                depth.add_metric([queue], self.redis.llen(key))
                head = self.redis.lindex(key, 0)
                enqueued = self.redis.hget(f"rq:job:{_text(head)}", "enqueued_at") if head else None
                waited = time.time() - utcparse(_text(enqueued)).timestamp() if enqueued else 0.0
                age.add_metric([queue], max(0.0, waited))
        except Exception as exc:  # noqa: BLE001 - Redis down: leave the values out, keep the scrape
            log.debug("queue depth unknown: %s", exc)
            return
        yield depth
        yield age


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
