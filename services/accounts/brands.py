"""Brands, owned by one user; their product images and brand assets are objects media stored."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.accounts.models import AdProject, Brand, OutboxEvent
from services.accounts.ownership import owned
from services.accounts.validation import check_length, json_object
from services.common.brand_kit import check_guidelines
from services.common.db import table_of
from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.common.events import BRAND_DELETED
from services.common.outbox import new_event
from services.common.pagination import keyset_page, page_of

# Each kind's column. A logo is one file (a new one replaces it); the others are lists.
FILE_KINDS = {
    "product_image": "product_images",
    "brand_asset": "brand_assets",
    "logo": "logo",
    "audio": "audio_files",
}
# Where media keeps each kind (services/media/keys.py): logos and audio are brand assets.
KEY_PREFIXES = {
    "product_image": "product-images",
    "brand_asset": "brand-assets",
    "logo": "brand-assets",
    "audio": "brand-assets",
}
MAX_FILES_PER_KIND = 50
MAX_DESCRIPTION = 5000


async def owned_brand(
    session: AsyncSession, user_id: uuid.UUID, brand_id: uuid.UUID, lock: bool = False
) -> Brand:
    return await owned(session, Brand, "brand", user_id, brand_id, lock=lock)


async def create_brand(
    sessions: async_sessionmaker, user_id: uuid.UUID, title: str, description: str, guidelines_json: str
) -> Brand:
    brand = Brand(
        user_id=user_id,
        title=check_length(title, "title", 1, 200),
        description=check_length(description, "description", 0, MAX_DESCRIPTION),
        brand_guidelines=_guidelines(guidelines_json),
    )
    async with sessions() as session, session.begin():
        session.add(brand)
        await session.flush()
        await session.refresh(brand)
    return brand


async def list_brands(
    sessions: async_sessionmaker, user_id: uuid.UUID, limit: int, cursor: str
) -> tuple[list[Brand], str]:
    query = keyset_page(select(Brand).where(Brand.user_id == user_id), Brand, limit, cursor)
    async with sessions() as session:
        rows = list((await session.execute(query)).scalars())
    return page_of(rows, limit)


async def get_brand(sessions: async_sessionmaker, user_id: uuid.UUID, brand_id: uuid.UUID) -> Brand:
    async with sessions() as session:
        return await owned_brand(session, user_id, brand_id)


async def update_brand(
    sessions: async_sessionmaker,
    user_id: uuid.UUID,
    brand_id: uuid.UUID,
    *,
    title: str | None,
    description: str | None,
    guidelines_json: str | None,
) -> Brand:
    async with sessions() as session, session.begin():
        brand = await owned_brand(session, user_id, brand_id, lock=True)
        if title is not None:
            brand.title = check_length(title, "title", 1, 200)
        if description is not None:
            brand.description = check_length(description, "description", 0, MAX_DESCRIPTION)
        if guidelines_json is not None:
            brand.brand_guidelines = _guidelines(guidelines_json)
        await session.flush()
        await session.refresh(brand)
    return brand


async def delete_brand(sessions: async_sessionmaker, user_id: uuid.UUID, brand_id: uuid.UUID) -> None:
    async with sessions() as session, session.begin():
        brand = await owned_brand(session, user_id, brand_id, lock=True)
        project_ids = (
            (await session.execute(select(AdProject.id).where(AdProject.brand_id == brand_id)))
            .scalars()
            .all()
        )
        await session.execute(
            new_event(
                table_of(OutboxEvent),
                BRAND_DELETED,
                brand_id,
                {
                    "user_id": str(user_id),
                    "brand_ids": [str(brand_id)],
                    "project_ids": [str(p) for p in project_ids],
                },
            )
        )
        await session.delete(brand)


async def add_file(
    sessions: async_sessionmaker, user_id: uuid.UUID, brand_id: uuid.UUID, kind: str, file: dict
) -> Brand:
    column = _column(kind)
    prefix = f"{KEY_PREFIXES[kind]}/{brand_id}/"
    if not file.get("key", "").startswith(prefix):
        raise InvalidArgument(f"a {kind} key must start with {prefix}")
    async with sessions() as session, session.begin():
        brand = await owned_brand(session, user_id, brand_id, lock=True)
        now = datetime.now(UTC).isoformat()
        if kind == "logo":
            # One logo per brand: the new one replaces the old (whose object the caller deletes).
            same = brand.logo is not None and brand.logo["key"] == file["key"]
            brand.logo = {**file, "added_at": (brand.logo or {}).get("added_at") if same else now}
        else:
            setattr(brand, column, _added(list(getattr(brand, column)), file, kind, now))
        await session.flush()
        await session.refresh(brand)
    return brand


def _added(files: list[dict], file: dict, kind: str, now: str) -> list[dict]:
    same = [i for i, f in enumerate(files) if f["key"] == file["key"]]
    if same:
        # Recorded again (a retried confirm): the same file, so it keeps its place and added_at.
        files[same[0]] = {**file, "added_at": files[same[0]].get("added_at") or now}
    elif len(files) >= MAX_FILES_PER_KIND:
        raise FailedPrecondition(f"a brand holds at most {MAX_FILES_PER_KIND} files of kind {kind}")
    else:
        files.append({**file, "added_at": now})
    return files


async def remove_file(
    sessions: async_sessionmaker, user_id: uuid.UUID, brand_id: uuid.UUID, key: str
) -> Brand:
    async with sessions() as session, session.begin():
        brand = await owned_brand(session, user_id, brand_id, lock=True)
        found = brand.logo is not None and brand.logo["key"] == key
        if found:
            brand.logo = None
        for column in ("product_images", "brand_assets", "audio_files"):
            files = getattr(brand, column)
            kept = [f for f in files if f["key"] != key]
            if len(kept) != len(files):
                setattr(brand, column, kept)
                found = True
        if not found:
            raise NotFound("file not found")
        # A project whose music was this track goes back to generated music, rather than fail
        # when its next generation looks for the file.
        await session.execute(
            update(AdProject)
            .where(AdProject.brand_id == brand_id, AdProject.music_track_key == key)
            .values(music_track_key=None)
        )
        await session.flush()
        await session.refresh(brand)
    return brand


def files_of(brand: Brand) -> list[dict]:
    """Every file the brand lists, whatever its kind."""
    logo = [brand.logo] if brand.logo else []
    return [*brand.product_images, *brand.brand_assets, *logo, *brand.audio_files]


def _column(kind: str) -> str:
    try:
        return FILE_KINDS[kind]
    except KeyError:
        raise InvalidArgument(f"kind must be one of {', '.join(FILE_KINDS)}") from None


def _guidelines(text: str) -> dict:
    """The guidelines object, with its documented fields (colors, font) checked."""
    return check_guidelines(json_object(text, "brand_guidelines"))
