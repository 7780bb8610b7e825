"""Entry point of the accounts service: wiring only."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import redis.asyncio as aioredis

from services.accounts.config import Settings
from services.accounts.outbox import OutboxRelay
from services.accounts.rate_limit import LoginRateLimiter
from services.accounts.servicer import AccountsServicer
from services.accounts.users import purge_expired_sessions
from services.common.db import create_async_db, session_factory
from services.common.grpc_server import PortInUse, run_server
from services.common.logging import configure_from_settings
from services.common.migrations import upgrade_head
from services.common.settings import load_settings
from zapcut.accounts.v1 import accounts_pb2_grpc

SERVICE = "accounts"
SESSION_PURGE_INTERVAL_S = 3600

log = logging.getLogger(__name__)


async def purge_sessions_forever(sessions) -> None:
    while True:
        try:
            if purged := await purge_expired_sessions(sessions):
                log.info("purged %d expired sessions", purged)
        except Exception as exc:  # noqa: BLE001 - try again next time
            log.warning("purging expired sessions failed: %s", exc)
        await asyncio.sleep(SESSION_PURGE_INTERVAL_S)


async def serve(settings: Settings) -> None:
    database_url = settings.database_url.get_secret_value()
    if settings.migrate_on_start:
        await asyncio.to_thread(upgrade_head, SERVICE, database_url)
    engine = create_async_db(database_url, settings.db_pool_size, settings.db_max_overflow)
    sessions = session_factory(engine)
    redis = aioredis.Redis.from_url(
        settings.redis_url.get_secret_value(),
        socket_timeout=settings.redis_socket_timeout_s,
        socket_connect_timeout=settings.redis_socket_timeout_s,
    )
    relay = OutboxRelay(sessions, redis, settings.events_stream, settings.outbox_poll_interval_s)
    limiter = LoginRateLimiter(redis, settings.login_rate_limit, settings.login_rate_window_s)
    servicer = AccountsServicer(engine, sessions, settings, limiter, relay, redis)
    background = [asyncio.create_task(relay.run()), asyncio.create_task(purge_sessions_forever(sessions))]

    async def on_stop() -> None:
        for task in background:
            task.cancel()
        for task in background:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await redis.aclose()
        await engine.dispose()

    await run_server(
        service_name=SERVICE,
        bind_host=settings.grpc_bind_host,
        port=settings.accounts_port,
        internal_token=settings.internal_token.get_secret_value(),
        register=lambda server: accounts_pb2_grpc.add_AccountsServicer_to_server(servicer, server),
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
