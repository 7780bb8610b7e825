"""The events services tell each other (published by services.common.outbox), and consuming them
from the Redis Stream EVENTS_STREAM, in a consumer group per service, so a service that was down
catches up.

An entry is acknowledged only after its handler succeeded; handlers are idempotent, so an entry
delivered twice (a crash between handling and XACK, a relay that published twice) does no harm.
Entries another consumer of the group took and never acknowledged (it died) are claimed after
`claim_idle_s`. Every group reads every entry; a consumer acknowledges the types it does not handle
without looking at them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from services.common.redis_clients import async_redis

if TYPE_CHECKING:
    from services.common.settings import RedisConfig

log = logging.getLogger(__name__)

# accounts -> media, jobs. Each payload carries "user_id" (the deleted user, or the owner of what
# was deleted), and the "brand_ids" and "project_ids" that went with it.
USER_DELETED = "user.deleted"
BRAND_DELETED = "brand.deleted"
PROJECT_DELETED = "project.deleted"
DELETION_EVENTS = frozenset({USER_DELETED, BRAND_DELETED, PROJECT_DELETED})
# jobs -> accounts. Both carry "generation_id", "user_id", "project_id" and "project_status" (what
# the project's status becomes, or null to leave it); generation.settled adds "status" (completed,
# failed, cancelled) and "refund" (whether the generation's charge is owed back).
GENERATION_STARTED = "generation.started"
GENERATION_SETTLED = "generation.settled"
GENERATION_EVENTS = frozenset({GENERATION_STARTED, GENERATION_SETTLED})
# accounts -> jobs: a generation's charge was given back ("generation_id", "user_id", "kind").
CHARGE_REFUNDED = "charge.refunded"
# jobs -> jobs (its webhooks): a brand's LoRA finished training ("lora_id", "brand_id", "user_id").
LORA_COMPLETED = "lora.completed"


@dataclass(frozen=True)
class Event:
    entry_id: str
    event_id: str
    type: str
    aggregate_id: str
    payload: dict[str, Any]
    # The publisher's outbox order (0 when absent): larger is later, among one publisher's events.
    sequence: int = 0

    @property
    def brand_ids(self) -> list[str]:
        return list(self.payload.get("brand_ids", []))

    @property
    def project_ids(self) -> list[str]:
        return list(self.payload.get("project_ids", []))

    @property
    def deleted_user_id(self) -> str | None:
        """The user this event deletes: only a user.deleted event deletes its user_id."""
        return self.payload.get("user_id") if self.type == USER_DELETED else None


Handler = Callable[[Event], Awaitable[None]]
# What XREADGROUP answers over RESP2, redis-py's protocol unless told otherwise (its types also
# allow RESP3's mapping): [[stream, [(entry id, fields), ...]], ...], or None when nothing came.
StreamEntries = list[tuple[bytes, list[tuple[bytes, dict[bytes | str, bytes | str]]]]] | None


def uuids(values: list[str]) -> list[uuid.UUID]:
    """Owner ids of an event as UUIDs; a malformed one is logged and skipped, never fatal."""
    out = []
    for value in values:
        try:
            out.append(uuid.UUID(value))
        except ValueError:
            log.warning("ignoring malformed owner id %r in a deletion event", value)
    return out


def _decode(entry_id: bytes | str, fields: dict[bytes | str, bytes | str]) -> Event:
    get = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
           for k, v in fields.items()}  # fmt: skip
    return Event(
        entry_id=entry_id.decode() if isinstance(entry_id, bytes) else entry_id,
        event_id=get.get("event_id", ""),
        type=get.get("type", ""),
        aggregate_id=get.get("aggregate_id", ""),
        payload=json.loads(get.get("payload") or "{}"),
        sequence=int(get.get("sequence") or 0),
    )


class EventConsumer:
    def __init__(
        self,
        redis: aioredis.Redis,
        stream: str,
        group: str,
        handler: Handler,
        *,
        types: frozenset[str],
        block_ms: int = 2000,
        claim_idle_s: float = 60.0,
        retry_delay_s: float = 1.0,
    ):
        self.redis = redis
        self.stream = stream
        self.group = group
        self.handler = handler
        self.types = types
        self.consumer = f"{socket.gethostname()}-{os.getpid()}"
        self.block_ms = block_ms
        self.claim_idle_ms = int(claim_idle_s * 1000)
        self.retry_delay_s = retry_delay_s

    @classmethod
    def from_settings(
        cls, settings: RedisConfig, group: str, handler: Handler, types: frozenset[str]
    ) -> EventConsumer:
        """A consumer of EVENTS_STREAM with a Redis connection of its own, whose socket timeout
        outlasts the blocking read; the handler sees the events of `types` only."""
        block_s = 2.0
        redis = async_redis(settings, read_timeout_extra_s=block_s)
        return cls(redis, settings.events_stream, group, handler, types=types, block_ms=int(block_s * 1000))

    async def close(self) -> None:
        await self.redis.aclose()

    async def ensure_group(self) -> None:
        try:
            # From the start of the stream: a group created late still sees every event.
            await self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def handle(self, entry_id: bytes | str, fields: dict[bytes | str, bytes | str]) -> bool:
        event = _decode(entry_id, fields)
        if event.type not in self.types:
            await self.redis.xack(self.stream, self.group, event.entry_id)
            return False
        try:
            await self.handler(event)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - leave it pending; it is retried
            log.exception("handling %s %s failed; will retry", event.type, event.event_id)
            return False
        await self.redis.xack(self.stream, self.group, event.entry_id)
        log.info("handled %s %s", event.type, event.aggregate_id)
        return True

    async def process_once(self) -> int:
        """Handle what is waiting: our own unacknowledged entries, stale ones of dead consumers,
        then new ones. Returns how many entries were handled."""
        handled = 0
        # Our own pending entries first (after a failure or a restart with the same name).
        pending = cast(
            StreamEntries,
            await self.redis.xreadgroup(self.group, self.consumer, {self.stream: "0"}, count=100),
        )
        for _stream, entries in pending or []:
            for entry_id, fields in entries:
                handled += await self.handle(entry_id, fields)
        claimed = await self.redis.xautoclaim(
            self.stream, self.group, self.consumer, self.claim_idle_ms, start_id="0-0", count=100
        )
        for entry_id, fields in claimed[1] if claimed else []:
            if fields:
                handled += await self.handle(entry_id, fields)
        fresh = cast(
            StreamEntries,
            await self.redis.xreadgroup(
                self.group, self.consumer, {self.stream: ">"}, count=100, block=self.block_ms
            ),
        )
        for _stream, entries in fresh or []:
            for entry_id, fields in entries:
                handled += await self.handle(entry_id, fields)
        return handled

    async def run(self) -> None:
        group_ready = False
        while True:
            try:
                if not group_ready:
                    await self.ensure_group()
                    group_ready = True
                await self.process_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis down: wait and try again
                group_ready = False
                log.warning("event consumer %s: %s: %s (will retry)", self.group, type(exc).__name__, exc)
                await asyncio.sleep(self.retry_delay_s)
