"""What accounts does with the generations' events from jobs (generation.started, generation.settled),
read from the events stream in accounts' own consumer group.

Each event is applied in one transaction: the project's status follows the generation
(projects.follow_generation, which ignores an event older than the one that last set it), and a
settled generation that owes its charge back gets it (charges.give_back: a refund row of the credits
ledger, once per generation). A
refund made now is announced in the same transaction (charge.refunded, through accounts' outbox),
which is how jobs learns that the generation is refunded.

Idempotent, since an entry may arrive twice: a repeated refund finds the charge given back, a
repeated or late status finds a newer one recorded. A user or project deleted meanwhile is left
alone (its ledger went with it). An event that names no valid ids is logged and dropped, since
retrying it would never succeed.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.ext.asyncio import async_sessionmaker

from services.accounts import charges, projects
from services.accounts.models import PROJECT_STATUSES, OutboxEvent
from services.common.db import table_of
from services.common.events import CHARGE_REFUNDED, GENERATION_SETTLED, Event
from services.common.outbox import OutboxRelay, new_event

log = logging.getLogger(__name__)


async def apply(sessions: async_sessionmaker, relay: OutboxRelay, event: Event) -> None:
    try:
        generation_id, user_id, project_id = (
            uuid.UUID(event.payload[name]) for name in ("generation_id", "user_id", "project_id")
        )
    except (KeyError, TypeError, ValueError):
        log.warning(
            "ignoring %s %s: it names no valid generation, user and project", event.type, event.event_id
        )
        return
    status = event.payload.get("project_status")
    if status is not None and status not in PROJECT_STATUSES:
        log.warning("ignoring the project status %r of %s %s", status, event.type, event.event_id)
        status = None
    refund = event.type == GENERATION_SETTLED and event.payload.get("refund") is True

    async with sessions() as session, session.begin():
        # The user's row before the project's, the order deleting a user locks them in.
        reason = f"refund: the generation {event.payload.get('status') or 'did not complete'}"
        refunded = await charges.give_back(session, user_id, generation_id, reason) if refund else None
        if refunded is not None:
            await session.execute(
                new_event(
                    table_of(OutboxEvent),
                    CHARGE_REFUNDED,
                    generation_id,
                    {
                        "generation_id": str(generation_id),
                        "user_id": str(user_id),
                        "kind": charges.kind_of(refunded),
                    },
                )
            )
        followed = status is not None and await projects.follow_generation(
            session, user_id, project_id, status, event.sequence
        )
    if refunded is not None:
        relay.nudge()
        log.info("generation %s: %s given back", generation_id, charges.kind_of(refunded))
    if followed:
        log.info("project %s is %s (generation %s)", project_id, status, generation_id)
