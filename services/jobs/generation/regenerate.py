"""RegenerateScene (the jobs service; asyncio): one scene of a completed generation made again.

The result is a new generation, the next version of the one it revises, which stays in the history
as it was. Its plan is the earlier one with the scene's new text; only that scene (in every
placement) and the composite run again, plus the voiceover when the scene's voiceover text
changed (every other scene's voice keeps its place, but the track is one file). Every other step
is written completed, naming the earlier version's file: nothing is copied or rendered twice, and
since cancelling deletes only the files a generation stored itself (generation_outputs), a
cancelled or failed version never touches the files it borrowed.

Charging is a setting: REGENERATE_SCENE_FREE_VERSIONS versions of a generation's line are free,
each one after that is charged like a generation (a free video or a credit).
"""

from __future__ import annotations

import copy
import logging
import uuid

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.context import caller_id
from services.common.db import table_of
from services.common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from services.jobs.config import Settings
from services.jobs.generation import queries
from services.jobs.generation.plan import step_names
from services.jobs.generation.start import MAX_IDEMPOTENCY_KEY, by_key, launch
from services.jobs.models import Generation

log = logging.getLogger(__name__)

generations = table_of(Generation)

MAX_TEXT = 2000  # as a script's scene texts
# A reused step's columns that carry over: what it made and how.
REUSED = ("output_url", "provider", "replicate_job_id", "result", "started_at", "finished_at")


async def regenerate_scene(
    engine: AsyncEngine,
    accounts,
    queue,
    settings: Settings,
    *,
    project_id: str,
    generation_id: str,
    n: int,
    texts: dict[str, str | None],
    idempotency_key: str,
) -> uuid.UUID:
    """`texts`: the scene's new on_screen_text and/or voiceover_text ("" removes one); a key left
    out keeps the earlier version's. Returns the new version's id."""
    user_id = caller_id()
    if not generation_id:
        raise InvalidArgument("generation_id is required")
    if len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
        raise InvalidArgument(f"the idempotency key is longer than {MAX_IDEMPOTENCY_KEY} characters")
    if idempotency_key and (existing := await by_key(engine, user_id, idempotency_key)) is not None:
        if existing.revises_id is None or str(existing.revises_id) != generation_id.lower():
            raise FailedPrecondition("this Idempotency-Key was used for another request")
        return existing.id
    earlier, earlier_steps, _files = await queries.get(engine, project_id, generation_id)
    if earlier.status != "completed":
        raise FailedPrecondition(
            f"only a completed generation's scenes can be made again (this one is {earlier.status})"
        )
    plan = copy.deepcopy(earlier.plan)
    scene = next((s for s in plan.get("scenes", []) if s["n"] == n), None)
    if scene is None:
        raise NotFound(f"the generation has no scene {n}")
    for field, value in texts.items():
        if field not in ("on_screen_text", "voiceover_text"):
            raise InvalidArgument(f"{field} cannot be changed")
        if value is not None and len(value) > MAX_TEXT:
            raise InvalidArgument(f"{field} is longer than {MAX_TEXT} characters")
        scene[field] = value or None
    voice_changed = (scene.get("voiceover_text") or "") != (
        _scene_of(earlier.plan, n).get("voiceover_text") or ""
    )
    # The scene in every placement, and every placement's composite.
    again = {
        name
        for name, job_type, params in step_names(plan)
        if job_type == "composite" or (job_type == "scene" and params["n"] == n)
    } | ({"voiceover"} if voice_changed else set())
    reused = {s.name: s for s in earlier_steps if s.name not in again}
    missing = sorted(name for name, s in reused.items() if s.status != "completed" or not s.output_url)
    if missing:
        raise FailedPrecondition(f"the generation's files are gone ({', '.join(missing)}); generate it again")

    root = earlier.root_id or earlier.id
    async with engine.connect() as conn:
        line = (
            await conn.execute(
                select(func.count(), func.max(generations.c.version)).where(
                    (generations.c.root_id == root) | (generations.c.id == root)
                )
            )
        ).one()
    versions, latest = line
    charged = versions > settings.regenerate_scene_free_versions
    try:
        async with engine.begin() as conn:
            new_id = await conn.scalar(
                insert(generations)
                .values(
                    ad_project_id=earlier.ad_project_id,
                    user_id=user_id,
                    status="charging",
                    aspect=earlier.aspect,
                    resolution=earlier.resolution,
                    provider=earlier.provider,
                    idempotency_key=idempotency_key or None,
                    plan=plan,
                    revises_id=earlier.id,
                    root_id=root,
                    version=(latest or 1) + 1,
                )
                .returning(generations.c.id)
            )
    except IntegrityError as exc:
        if idempotency_key and (existing := await by_key(engine, user_id, idempotency_key)) is not None:
            return existing.id
        if "uq_generations_active_project" in str(exc.orig):
            raise AlreadyExists("a generation for this project is still running") from None
        raise

    rows = []
    for step in sorted(earlier_steps, key=lambda s: s.job_type == "composite"):  # the composites last
        params = {k: v for k, v in (step.input_params or {}).items() if k != "generation_id"}
        row = {"name": step.name, "job_type": step.job_type, "params": params}
        if step.name in reused:
            row["done"] = {"status": "completed", "progress": 100, "attempts": 0} | {
                column: getattr(step, column) for column in REUSED
            }
        rows.append(row)
    await launch(
        engine, accounts, queue, settings, new_id, user_id, earlier.ad_project_id, rows, charge=charged
    )
    log.info(
        "generation %s: version %d of %s, scene %d again (%s)",
        new_id,
        (latest or 1) + 1,
        root,
        n,
        "charged" if charged else "free",
    )
    return new_id


def _scene_of(plan: dict, n: int) -> dict:
    return next((s for s in plan.get("scenes", []) if s["n"] == n), {})
