"""Metrics of a service's database, read at scrape time: its SQLAlchemy pool in use, and its outbox's
lag (services.common.outbox). Apart from services.common.metrics so the gateway, which has no
database, does not load SQLAlchemy."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Table, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.metrics import SCRAPE_QUERY_TIMEOUT_S, register_collector

log = logging.getLogger(__name__)


class DatabasePoolCollector(Collector):
    """Connections of this process's SQLAlchemy pools checked out right now, and their pool size."""

    def __init__(self) -> None:
        self.engines: dict[str, AsyncEngine | Engine] = {}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        in_use = GaugeMetricFamily(
            "zapcut_db_pool_connections_in_use",
            "Database connections checked out of this process's pool.",
            labels=["pool"],
        )
        size = GaugeMetricFamily(
            "zapcut_db_pool_size", "Connections this process's pool keeps open.", labels=["pool"]
        )
        for name, engine in self.engines.items():
            pool: Any = engine.sync_engine.pool if isinstance(engine, AsyncEngine) else engine.pool
            in_use.add_metric([name], pool.checkedout())
            size.add_metric([name], pool.size())
        yield in_use
        yield size


DATABASE_POOLS = DatabasePoolCollector()
register_collector(DATABASE_POOLS)


def watch_pool(name: str, engine: AsyncEngine | Engine) -> None:
    DATABASE_POOLS.engines[name] = engine


class OutboxLagCollector(Collector):
    """Age of the oldest event still in a service's outbox (0 when it is empty): how far the events
    stream is behind. Read in the service's event loop, from the metrics server's thread."""

    def __init__(self, engine: AsyncEngine, table: Table, loop: asyncio.AbstractEventLoop) -> None:
        self.engine, self.table, self.loop = engine, table, loop

    async def _oldest_age_s(self) -> float:
        t = self.table
        async with self.engine.connect() as conn:
            oldest = (
                select(func.extract("epoch", func.now() - t.c.created_at))
                .order_by(t.c.sequence)
                .limit(1)
                .scalar_subquery()
            )
            age = await conn.scalar(select(func.coalesce(oldest, 0)))
        return float(age or 0)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "zapcut_outbox_lag_seconds",
            "Seconds since the oldest event not yet published to the events stream was written.",
        )
        try:
            future = asyncio.run_coroutine_threadsafe(self._oldest_age_s(), self.loop)
            family.add_metric([], future.result(SCRAPE_QUERY_TIMEOUT_S))
        except Exception as exc:  # noqa: BLE001 - Postgres down: leave the value out, keep the scrape
            log.debug("outbox lag unknown: %s", exc)
            return
        yield family


def watch_outbox(engine: AsyncEngine, table: Table) -> None:
    """Export the outbox lag of `table`; call from inside the service's event loop."""
    register_collector(OutboxLagCollector(engine, table, asyncio.get_running_loop()))
