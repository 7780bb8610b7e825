"""What a generation tells accounts, as events in jobs' outbox (services.common.outbox), each
written in the transaction that changes the generation; accounts applies them
(services/accounts/generation_events.py).

- generation.started, when the generation is charged and its steps are written: the project is
  generating.
- generation.settled, when it ends: completed, failed or cancelled, with whether its charge is owed
  back (a failure that was not the user's fault, or a start interrupted after the charge) and what
  the project's status becomes (completed, failed, scripting after a cancel; none for a start that
  never reached the project).

The outbox numbers events in the order they were written, and a project's events are written in
the order things happened to it (its generations run one at a time, and each writes settled after
started), so accounts keeps a project's status from going back when an event comes late or twice.
"""

from __future__ import annotations

import uuid

from sqlalchemy.sql.dml import Insert

from services.common.db import table_of
from services.common.events import GENERATION_SETTLED, GENERATION_STARTED
from services.common.outbox import new_event
from services.jobs.models import OutboxEvent

outbox = table_of(OutboxEvent)

# The project's status after a generation that ended this way.
PROJECT_STATUS_AFTER = {"completed": "completed", "failed": "failed", "cancelled": "scripting"}


def _ids(generation_id, user_id, project_id) -> dict:
    return {"generation_id": str(generation_id), "user_id": str(user_id), "project_id": str(project_id)}


def started(generation_id: uuid.UUID, user_id: uuid.UUID, project_id: uuid.UUID) -> Insert:
    payload = _ids(generation_id, user_id, project_id) | {"project_status": "generating"}
    return new_event(outbox, GENERATION_STARTED, generation_id, payload)


def settled(
    generation_id: uuid.UUID,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    status: str,
    *,
    refund: bool,
    project_status: str | None,
) -> Insert:
    payload = _ids(generation_id, user_id, project_id) | {
        "status": status,
        "refund": refund,
        "project_status": project_status,
    }
    return new_event(outbox, GENERATION_SETTLED, generation_id, payload)
