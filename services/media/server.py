"""Entry point of the media service: wiring only."""

from __future__ import annotations

from services.common.db import service_engine
from services.common.events import DELETION_EVENTS, EventConsumer
from services.common.grpc_server import run_server, run_service
from services.common.migrations import upgrade_on_start
from services.media.bucket import BucketNotReady, prepare_bucket
from services.media.config import Settings
from services.media.owners import delete_owned
from services.media.servicer import MediaServicer
from services.media.storage import S3Storage
from zapcut.media.v1 import media_pb2_grpc

SERVICE = "media"


async def serve(settings: Settings) -> None:
    await upgrade_on_start(SERVICE, settings)
    storage = S3Storage(settings)
    await prepare_bucket(storage, settings.s3_startup_timeout_s)
    engine = service_engine(settings)
    servicer = MediaServicer(engine, storage, settings.upload_part_bytes, settings.probe_timeout_s)
    # Removes what deleted brands and projects stored (accounts' deletion events).
    consumer = EventConsumer.from_settings(
        settings, SERVICE, lambda event: delete_owned(storage, engine, event), DELETION_EVENTS
    )

    async def on_stop() -> None:
        await consumer.close()
        await engine.dispose()

    await run_server(
        service_name=SERVICE,
        settings=settings,
        port=settings.media_port,
        register=lambda server: media_pb2_grpc.add_MediaServicer_to_server(servicer, server),
        background=[consumer.run()],
        on_stop=on_stop,
    )


def main() -> None:
    run_service(SERVICE, Settings, serve, fatal=(BucketNotReady,))


if __name__ == "__main__":
    main()
