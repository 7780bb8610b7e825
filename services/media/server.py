"""Entry point of the media service: wiring only."""

from __future__ import annotations

import asyncio
import contextlib

from services.common.db import create_async_db
from services.common.events import EventConsumer
from services.common.grpc_server import PortInUse, run_server
from services.common.logging import configure_from_settings
from services.common.migrations import upgrade_head
from services.common.settings import load_settings
from services.media.bucket import BucketNotReady, prepare_bucket
from services.media.config import Settings
from services.media.owners import delete_owned
from services.media.servicer import MediaServicer
from services.media.storage import S3Storage
from zapcut.media.v1 import media_pb2_grpc

SERVICE = "media"


async def serve(settings: Settings) -> None:
    database_url = settings.database_url.get_secret_value()
    if settings.migrate_on_start:
        await asyncio.to_thread(upgrade_head, SERVICE, database_url)
    storage = S3Storage(settings)
    await prepare_bucket(storage, settings.s3_startup_timeout_s)
    engine = create_async_db(database_url, settings.db_pool_size, settings.db_max_overflow)
    servicer = MediaServicer(engine, storage, settings.upload_part_bytes, settings.probe_timeout_s)
    consumer = EventConsumer.from_settings(
        settings, SERVICE, handler=lambda event: delete_owned(storage, engine, event)
    )
    consuming = asyncio.create_task(consumer.run())

    async def on_stop() -> None:
        consuming.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consuming
        await consumer.close()
        await engine.dispose()

    await run_server(
        service_name=SERVICE,
        bind_host=settings.grpc_bind_host,
        port=settings.media_port,
        internal_token=settings.internal_token.get_secret_value(),
        register=lambda server: media_pb2_grpc.add_MediaServicer_to_server(servicer, server),
        shutdown_grace_s=settings.shutdown_grace_s,
        on_stop=on_stop,
    )


def main() -> None:
    settings = load_settings(Settings)
    configure_from_settings(SERVICE, settings)
    try:
        asyncio.run(serve(settings))
    except (PortInUse, BucketNotReady) as exc:
        raise SystemExit(str(exc)) from None


if __name__ == "__main__":
    main()
