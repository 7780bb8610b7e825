"""Entry point of the accounts service: wiring only."""

from __future__ import annotations

import asyncio

from zapcut.accounts.v1 import accounts_pb2_grpc

from services.accounts.config import Settings
from services.accounts.servicer import AccountsServicer
from services.common.db import create_async_db
from services.common.grpc_server import PortInUse, run_server
from services.common.logging import configure_from_settings
from services.common.migrations import upgrade_head
from services.common.settings import load_settings

SERVICE = "accounts"


async def serve(settings: Settings) -> None:
    database_url = settings.database_url.get_secret_value()
    if settings.migrate_on_start:
        await asyncio.to_thread(upgrade_head, SERVICE, database_url)
    engine = create_async_db(database_url, settings.db_pool_size, settings.db_max_overflow)
    servicer = AccountsServicer(engine, settings.probe_timeout_s)
    await run_server(
        service_name=SERVICE,
        bind_host=settings.grpc_bind_host,
        port=settings.accounts_port,
        internal_token=settings.internal_token.get_secret_value(),
        register=lambda server: accounts_pb2_grpc.add_AccountsServicer_to_server(servicer, server),
        shutdown_grace_s=settings.shutdown_grace_s,
        on_stop=engine.dispose,
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
