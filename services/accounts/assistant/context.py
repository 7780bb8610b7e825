"""What the assistant knows about a project: its brand, its ad details, its product images and the
most recent part of its conversation, loaded in one read for a project the caller owns."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from services.accounts.models import Brand, ChatMessage
from services.accounts.projects import owned_project

# The conversation sent along: at most this many of the latest messages, and of those only as many
# (newest first) as fit in the character budget, which keeps the prompt well inside the context
# window of small local models (~4 characters a token).
MAX_HISTORY_MESSAGES = 40
HISTORY_CHARS = 24_000
# Brand description, guidelines and ad details are clipped to this many characters each.
SECTION_CHARS = 4_000


@dataclass(frozen=True)
class ProjectContext:
    brand_title: str
    brand_description: str = ""
    brand_guidelines: dict = field(default_factory=dict)
    ad_details: dict = field(default_factory=dict)
    product_images: tuple[str, ...] = ()  # file names, in the order the user added them
    history: tuple[tuple[str, str], ...] = ()  # (role, content), oldest first


async def load_context(
    sessions: async_sessionmaker, user_id: uuid.UUID, project_id: uuid.UUID
) -> ProjectContext:
    async with sessions() as session:
        project = await owned_project(session, user_id, project_id)
        brand = await session.get(Brand, project.brand_id)
        latest = (
            await session.execute(
                select(ChatMessage.role, ChatMessage.content)
                .where(ChatMessage.ad_project_id == project_id)
                .order_by(ChatMessage.created_at.desc(), ChatMessage.id.desc())
                .limit(MAX_HISTORY_MESSAGES)
            )
        ).all()
    return ProjectContext(
        brand_title=brand.title,
        brand_description=brand.description or "",
        brand_guidelines=brand.brand_guidelines or {},
        ad_details=project.ad_details or {},
        product_images=tuple(image_name(f) for f in brand.product_images),
        history=tuple(within_budget([(m.role, m.content) for m in latest])),
    )


def image_name(file: dict) -> str:
    return file.get("filename") or file["key"].rsplit("/", 1)[-1]


def within_budget(newest_first: list[tuple[str, str]], budget: int = HISTORY_CHARS) -> list[tuple[str, str]]:
    """The newest messages that fit in `budget` characters, oldest first."""
    kept, used = [], 0
    for role, content in newest_first:
        used += len(content)
        if used > budget:
            break
        kept.append((role, content))
    return kept[::-1]


def clip(text: str, limit: int = SECTION_CHARS) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def brand_brief(context: ProjectContext) -> str:
    """The brand and the ad, as the system prompt states them."""
    lines = [f"Brand: {clip(context.brand_title)}"]
    if context.brand_description.strip():
        lines.append(f"Brand description: {clip(context.brand_description)}")
    if context.brand_guidelines:
        lines.append(f"Brand guidelines (JSON): {clip(_json(context.brand_guidelines))}")
    if context.ad_details:
        lines.append(f"Ad details (JSON): {clip(_json(context.ad_details))}")
    if context.product_images:
        names = ", ".join(context.product_images)
        lines.append(f"Product images ({len(context.product_images)}): {clip(names)}")
    else:
        lines.append("Product images: none uploaded yet")
    return "\n".join(lines)


def _json(value: dict) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
