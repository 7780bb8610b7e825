"""Entry point of the jobs service: wiring only."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from services.common.db import service_engine
from services.common.events import EventConsumer
from services.common.grpc_server import run_server, run_service
from services.common.migrations import upgrade_on_start
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
    await upgrade_on_start(SERVICE, settings)
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(REDIS_THREADS, thread_name_prefix="redis")
    )
    engine = service_engine(settings)
    redis = rq_jobs.connect(settings)
    servicer = JobsServicer(engine, redis, settings)
    # Removes the jobs and LoRA models of deleted brands and projects (accounts' deletion events).
    consumer = EventConsumer.from_settings(settings, SERVICE, lambda event: delete_owned(engine, event))

    async def on_stop() -> None:
        await consumer.close()
        await engine.dispose()
        redis.close()

    await run_server(
        service_name=SERVICE,
        settings=settings,
        port=settings.jobs_port,
        register=lambda server: jobs_pb2_grpc.add_JobsServicer_to_server(servicer, server),
        background=[Reconciler(engine, redis, settings).run_forever(), consumer.run()],
        on_stop=on_stop,
    )


def main() -> None:
    run_service(SERVICE, Settings, serve)


if __name__ == "__main__":
    main()
