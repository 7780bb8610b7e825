"""Entry point of the jobs service: wiring only."""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor

from services.common.db import create_async_db
from services.common.events import EventConsumer
from services.common.grpc_server import PortInUse, run_server
from services.common.logging import configure_from_settings
from services.common.migrations import upgrade_head
from services.common.settings import load_settings
from services.jobs import rq_jobs
from services.jobs.config import Settings
from services.jobs.owners import delete_owned
from services.jobs.reconciler import Reconciler
from services.jobs.servicer import JobsServicer
from zapcut.jobs.v1 import jobs_pb2_grpc

SERVICE = "jobs"
# RQ is synchronous, so every Redis call runs in a thread; the default pool (cores + 4) would cap
# concurrent CreateJob calls on a small machine while Redis is slow.
REDIS_THREADS = 32


async def serve(settings: Settings) -> None:
    database_url = settings.database_url.get_secret_value()
    if settings.migrate_on_start:
        await asyncio.to_thread(upgrade_head, SERVICE, database_url)
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(REDIS_THREADS, thread_name_prefix="redis")
    )
    engine = create_async_db(database_url, settings.db_pool_size, settings.db_max_overflow)
    redis = rq_jobs.connect(settings)
    servicer = JobsServicer(engine, redis, settings)
    consumer = EventConsumer.from_settings(
        settings, SERVICE, handler=lambda event: delete_owned(engine, event)
    )
    background = [
        asyncio.create_task(Reconciler(engine, redis, settings).run_forever(), name="reconciler"),
        asyncio.create_task(consumer.run(), name="events"),
    ]

    async def on_stop() -> None:
        for task in background:
            task.cancel()
        for task in background:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await consumer.close()
        await engine.dispose()
        redis.close()

    await run_server(
        service_name=SERVICE,
        bind_host=settings.grpc_bind_host,
        port=settings.jobs_port,
        internal_token=settings.internal_token.get_secret_value(),
        register=lambda server: jobs_pb2_grpc.add_JobsServicer_to_server(servicer, server),
        shutdown_grace_s=settings.shutdown_grace_s,
        on_stop=on_stop,
    )


def main() -> None:
    settings = load_settings(Settings)
    configure_from_settings(SERVICE, settings)
    try:
        asyncio.run(serve(settings))
    except PortInUse as exc:
        raise SystemExit(str(exc)) from None


if __name__ == "__main__":
    main()
