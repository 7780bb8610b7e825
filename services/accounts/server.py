"""Entry point of the accounts service: wiring only."""

from __future__ import annotations

import asyncio
import logging

from services.accounts import generation_events, tiers
from services.accounts.admin_servicer import AccountsAdminServicer
from services.accounts.assistant.llm import chat_completions_from_settings
from services.accounts.config import Settings
from services.accounts.models import OutboxEvent
from services.accounts.rate_limit import FailedPasswordLimiter, Limit, SignUpLimiter
from services.accounts.servicer import AccountsServicer
from services.accounts.users import purge_expired_sessions
from services.common.db import service_engine, session_factory, table_of
from services.common.db_metrics import watch_outbox
from services.common.events import GENERATION_EVENTS, EventConsumer
from services.common.grpc_server import run_server, run_service
from services.common.migrations import upgrade_on_start
from services.common.outbox import OutboxRelay
from services.common.redis_clients import async_redis
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


def register(server, servicer: AccountsServicer, admin: AccountsAdminServicer) -> None:
    accounts_pb2_grpc.add_AccountsServicer_to_server(servicer, server)
    accounts_pb2_grpc.add_AccountsAdminServicer_to_server(admin, server)


async def serve(settings: Settings) -> None:
    await upgrade_on_start(SERVICE, settings)
    engine = service_engine(settings)
    sessions = session_factory(engine)
    redis = async_redis(settings)
    relay = OutboxRelay(
        engine, redis, table_of(OutboxEvent), settings.events_stream, settings.outbox_poll_interval_s
    )
    watch_outbox(engine, table_of(OutboxEvent))
    # Projects follow their generations, and failed generations are refunded (jobs' events).
    consumer = EventConsumer.from_settings(
        settings, SERVICE, lambda event: generation_events.apply(sessions, relay, event), GENERATION_EVENTS
    )
    password_limiter = FailedPasswordLimiter(
        redis,
        per_pair=Limit(settings.login_rate_limit, settings.login_rate_window_s),
        per_address=Limit(settings.login_address_rate_limit, settings.login_address_rate_window_s),
        per_email=Limit(settings.login_email_rate_limit, settings.login_email_rate_window_s),
    )
    signup_limiter = SignUpLimiter(redis, Limit(settings.signup_rate_limit, settings.signup_rate_window_s))
    llm = chat_completions_from_settings(settings)
    servicer = AccountsServicer(
        engine, sessions, settings, password_limiter, signup_limiter, relay, redis, llm
    )

    async def on_stop() -> None:
        await consumer.close()
        if llm is not None:
            await llm.aclose()
        await redis.aclose()
        await engine.dispose()

    await run_server(
        service_name=SERVICE,
        settings=settings,
        port=settings.accounts_port,
        register=lambda server: register(server, servicer, AccountsAdminServicer(sessions, settings)),
        background=[
            relay.run(),
            consumer.run(),
            purge_sessions_forever(sessions),
            tiers.renew_forever(sessions, settings.tier_monthly_credits, settings.tier_renewal_interval_s),
        ],
        on_stop=on_stop,
        on_draining=servicer.revocations.stop,
    )


def main() -> None:
    run_service(SERVICE, Settings, serve)


if __name__ == "__main__":
    main()
