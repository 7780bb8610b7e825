"""Ad projects, their chat messages and their script — all reached through a project the caller owns."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.accounts import project_settings
from services.accounts.brands import owned_brand
from services.accounts.models import (
    CLIENT_CHAT_ROLES,
    CLIENT_PROJECT_STATUSES,
    PROJECT_STATUSES,
    AdProject,
    Brand,
    ChatMessage,
    OutboxEvent,
    Script,
)
from services.accounts.ownership import owned
from services.accounts.validation import check_length, json_object
from services.common.db import table_of
from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.common.events import PROJECT_DELETED
from services.common.outbox import new_event
from services.common.pagination import keyset_page, page_of

MAX_SCENES = 12
MAX_STORYLINE = 10_000
MAX_SCENE_TEXT = 2_000


async def owned_project(
    session: AsyncSession, user_id: uuid.UUID, project_id: uuid.UUID, lock: bool = False
) -> AdProject:
    return await owned(session, AdProject, "project", user_id, project_id, lock=lock)


def _status(status: str, allowed: tuple[str, ...] = PROJECT_STATUSES) -> str:
    if status not in allowed:
        raise InvalidArgument(f"status must be one of {', '.join(allowed)}")
    return status


async def create_project(
    sessions: async_sessionmaker,
    user_id: uuid.UUID,
    brand_id: uuid.UUID,
    ad_details_json: str,
    settings: dict | None = None,
) -> AdProject:
    details = json_object(ad_details_json, "ad_details")
    async with sessions() as session, session.begin():
        brand = await owned_brand(session, user_id, brand_id)
        project = AdProject(user_id=user_id, brand_id=brand_id, ad_details=details)
        project_settings.apply(project, settings or {}, brand)
        session.add(project)
        await session.flush()
        await session.refresh(project)
    return project


async def list_projects(
    sessions: async_sessionmaker,
    user_id: uuid.UUID,
    *,
    brand_id: uuid.UUID | None,
    status: str,
    limit: int,
    cursor: str,
) -> tuple[list[AdProject], str]:
    query = select(AdProject).where(AdProject.user_id == user_id)
    if brand_id is not None:
        query = query.where(AdProject.brand_id == brand_id)
    if status:
        query = query.where(AdProject.status == _status(status))
    async with sessions() as session:
        rows = list((await session.execute(keyset_page(query, AdProject, limit, cursor))).scalars())
    return page_of(rows, limit)


async def get_project(sessions: async_sessionmaker, user_id: uuid.UUID, project_id: uuid.UUID) -> AdProject:
    async with sessions() as session:
        return await owned_project(session, user_id, project_id)


async def update_project(
    sessions: async_sessionmaker,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    *,
    status: str | None,
    ad_details_json: str | None,
    zapcut_project_id: str | None,
    settings: dict | None = None,
) -> AdProject:
    async with sessions() as session, session.begin():
        brand = None
        if settings:
            # The brand's row is locked too, so its audio files can't change while a track is
            # checked; brand before project, the order a file's removal takes them in.
            brand_id = (await owned_project(session, user_id, project_id)).brand_id
            brand = await owned_brand(session, user_id, brand_id, lock=True)
        project = await owned_project(session, user_id, project_id, lock=True)
        if brand is not None and settings:
            project_settings.apply(project, settings, brand)
        if status is not None:
            # generating, completed and failed say what the pipeline did; a client can't claim them.
            _status(status, CLIENT_PROJECT_STATUSES)
            if project.status == "generating" and status != project.status:
                raise FailedPrecondition("a generation is running; cancel it before changing the status")
            project.status = status
        if ad_details_json is not None:
            project.ad_details = json_object(ad_details_json, "ad_details")
        if zapcut_project_id is not None:
            project.zapcut_project_id = check_length(zapcut_project_id, "zapcut_project_id", 0, 100) or None
        await session.flush()
        await session.refresh(project)
    return project


async def delete_project(sessions: async_sessionmaker, user_id: uuid.UUID, project_id: uuid.UUID) -> None:
    async with sessions() as session, session.begin():
        project = await owned_project(session, user_id, project_id, lock=True)
        await session.execute(
            new_event(
                table_of(OutboxEvent),
                PROJECT_DELETED,
                project_id,
                {"user_id": str(user_id), "brand_ids": [], "project_ids": [str(project_id)]},
            )
        )
        await session.delete(project)


# --- chat ---------------------------------------------------------------------------------------


async def add_message(
    sessions: async_sessionmaker, user_id: uuid.UUID, project_id: uuid.UUID, role: str, content: str
) -> ChatMessage:
    if role not in CLIENT_CHAT_ROLES:
        raise InvalidArgument(f"role must be one of {', '.join(CLIENT_CHAT_ROLES)}")
    check_length(content, "content", 1, 10_000)
    async with sessions() as session, session.begin():
        await owned_project(session, user_id, project_id)
        message = ChatMessage(ad_project_id=project_id, role=role, content=content)
        session.add(message)
        await session.flush()
        await session.refresh(message)
    return message


async def list_messages(
    sessions: async_sessionmaker, user_id: uuid.UUID, project_id: uuid.UUID, limit: int, cursor: str
) -> tuple[list[ChatMessage], str]:
    """Oldest first, as a conversation reads."""
    query = keyset_page(
        select(ChatMessage).where(ChatMessage.ad_project_id == project_id),
        ChatMessage,
        limit,
        cursor,
        newest_first=False,
    )
    async with sessions() as session:
        await owned_project(session, user_id, project_id)
        rows = list((await session.execute(query)).scalars())
    return page_of(rows, limit)


# --- script -------------------------------------------------------------------------------------


def check_scenes(scenes: list[dict]) -> list[dict]:
    if not 1 <= len(scenes) <= MAX_SCENES:
        raise InvalidArgument(f"a script has 1 to {MAX_SCENES} scenes")
    orders = [s["order"] for s in scenes]
    if len(set(orders)) != len(orders):
        raise InvalidArgument("scene orders must be unique")
    for i, scene in enumerate(scenes):
        check_length(scene["description"], f"scenes[{i}].description", 1, MAX_SCENE_TEXT)
        if not 1 <= scene["duration_s"] <= 60:
            raise InvalidArgument(f"scenes[{i}].duration_s must be between 1 and 60")
        for field in ("voiceover_text", "on_screen_text"):
            if scene.get(field) is not None:
                check_length(scene[field], f"scenes[{i}].{field}", 0, MAX_SCENE_TEXT)
    return sorted(scenes, key=lambda s: s["order"])


async def put_script(
    sessions: async_sessionmaker,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    storyline: str,
    scenes: list[dict],
) -> Script:
    check_length(storyline, "storyline", 0, MAX_STORYLINE)
    scenes = check_scenes(scenes)
    async with sessions() as session, session.begin():
        await owned_project(session, user_id, project_id, lock=True)
        script = (
            await session.execute(select(Script).where(Script.ad_project_id == project_id).with_for_update())
        ).scalar_one_or_none()
        if script is None:
            script = Script(ad_project_id=project_id)
            session.add(script)
        script.storyline = storyline
        script.scenes = scenes
        # A changed script needs approving again.
        script.approved_at = None
        await session.flush()
        await session.refresh(script)
    return script


async def get_script(sessions: async_sessionmaker, user_id: uuid.UUID, project_id: uuid.UUID) -> Script:
    async with sessions() as session:
        await owned_project(session, user_id, project_id)
        script = (
            await session.execute(select(Script).where(Script.ad_project_id == project_id))
        ).scalar_one_or_none()
    if script is None:
        raise NotFound("this project has no script yet")
    return script


async def approve_script(sessions: async_sessionmaker, user_id: uuid.UUID, project_id: uuid.UUID) -> Script:
    async with sessions() as session, session.begin():
        await owned_project(session, user_id, project_id, lock=True)
        script = (
            await session.execute(select(Script).where(Script.ad_project_id == project_id).with_for_update())
        ).scalar_one_or_none()
        if script is None:
            raise FailedPrecondition("this project has no script to approve")
        if script.approved_at is None:
            script.approved_at = datetime.now(UTC)
        await session.flush()
        await session.refresh(script)
    return script


# --- what the jobs service reads and writes -------------------------------------------------------


async def generation_input(
    sessions: async_sessionmaker, user_id: uuid.UUID, project_id: uuid.UUID
) -> tuple[AdProject, Script, Brand]:
    """The project, its approved script and its brand, for starting a generation."""
    async with sessions() as session:
        project = await owned_project(session, user_id, project_id)
        script = (
            await session.execute(select(Script).where(Script.ad_project_id == project_id))
        ).scalar_one_or_none()
        brand = await session.get(Brand, project.brand_id)
    if script is None:
        raise FailedPrecondition("this project has no script; write and approve one first")
    if script.approved_at is None:
        raise FailedPrecondition("the script is not approved; approve it before generating")
    return project, script, brand


async def follow_generation(
    session: AsyncSession, user_id: uuid.UUID, project_id: uuid.UUID, status: str, sequence: int
) -> bool:
    """The project's status as its generation reports it (generating, completed, failed, or back to
    scripting), unless the project already took a status from a newer generation event: events may
    be redelivered or arrive out of order, and jobs numbers them in the order it wrote them. A
    project that is gone (or not this user's) is left alone. True when the status was set."""
    changed = await session.execute(
        update(AdProject)
        .where(
            AdProject.id == project_id,
            AdProject.user_id == user_id,
            or_(AdProject.status_sequence.is_(None), AdProject.status_sequence < sequence),
        )
        .values(status=_status(status), status_sequence=sequence)
        .returning(AdProject.id)
    )
    return changed.first() is not None
