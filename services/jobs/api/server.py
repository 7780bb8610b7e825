"""Entry point of the jobs service: wiring only."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from services.common.db import create_sync_db, service_engine, table_of
from services.common.db_metrics import watch_outbox
from services.common.events import EventConsumer
from services.common.grpc_client import open_channel
from services.common.grpc_server import run_server, run_service
from services.common.metrics import register_collector
from services.common.migrations import upgrade_on_start
from services.common.outbox import OutboxRelay
from services.common.redis_clients import async_redis, sync_redis
from services.common.settings import secret_value
from services.jobs.api import events
from services.jobs.api.reconciler import Reconciler
from services.jobs.api.servicer import JobsServicer
from services.jobs.config import Settings
from services.jobs.metrics import QueueCollector
from services.jobs.models import OutboxEvent
from services.jobs.webhooks.dispatch import Dispatcher
from zapcut.accounts.v1 import accounts_pb2_grpc
from zapcut.jobs.v1 import jobs_pb2_grpc
from zapcut.media.v1 import media_pb2_grpc

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
    redis = sync_redis(settings)
    token = secret_value(settings.internal_token)
    accounts = accounts_pb2_grpc.AccountsStub(
        open_channel(settings.accounts_addr, token, settings.grpc_deadline_s)
    )
    media = media_pb2_grpc.MediaStub(open_channel(settings.media_addr, token, settings.grpc_deadline_s))
    # Publishes what generations tell accounts (started, settled), from jobs' outbox.
    events_redis = async_redis(settings)
    relay = OutboxRelay(
        engine, events_redis, table_of(OutboxEvent), settings.events_stream, settings.outbox_poll_interval_s
    )
    watch_outbox(engine, table_of(OutboxEvent))
    register_collector(QueueCollector(redis, [settings.rq_queue]))
    servicer = JobsServicer(engine, redis, settings, accounts=accounts, media=media, relay=relay)
    # The reconciler settles generations with the workers' own (synchronous) code.
    sync_engine = create_sync_db(settings.database_url.get_secret_value(), pool_size=2, max_overflow=2)
    # Enqueues webhook delivery attempts as they fall due, for the workers to send.
    dispatcher = Dispatcher(engine, redis, settings)
    # Removes the generations, jobs and LoRA models of deleted users, brands and projects, records
    # refunds (accounts' events), and turns its own events into webhook deliveries.
    consumer = EventConsumer.from_settings(
        settings,
        SERVICE,
        lambda event: events.handle(engine, media, event, on_deliveries=dispatcher.nudge),
        events.CONSUMED,
    )

    async def on_stop() -> None:
        await consumer.close()
        await events_redis.aclose()
        await engine.dispose()
        sync_engine.dispose()
        redis.close()

    await run_server(
        service_name=SERVICE,
        settings=settings,
        port=settings.jobs_port,
        register=lambda server: jobs_pb2_grpc.add_JobsServicer_to_server(servicer, server),
        background=[
            Reconciler(engine, redis, settings, sync_engine).run_forever(),
            consumer.run(),
            relay.run(),
            dispatcher.run(),
        ],
        on_stop=on_stop,
    )


def main() -> None:
    run_service(SERVICE, Settings, serve)


if __name__ == "__main__":
    main()
