"""A user message answered by the assistant: both stored together, or neither.

The language model is asked first and the two messages are written in one transaction after it
answered, so a failed reply (503, 429) leaves the conversation as it was and the client can send
the same message again without it appearing twice."""

from __future__ import annotations

import uuid

from sqlalchemy import func
from sqlalchemy.ext.asyncio import async_sessionmaker

from services.accounts.assistant.context import load_context
from services.accounts.assistant.llm import ASSISTANT_UNAVAILABLE, ChatCompletions
from services.accounts.assistant.prompts import chat_messages
from services.accounts.models import ChatMessage
from services.accounts.projects import owned_project
from services.accounts.validation import NUL, check_length
from services.common.errors import FailedPrecondition, Unavailable

MAX_MESSAGE_CHARS = 10_000
NOT_CONFIGURED = (
    "the assistant is not configured: set LLM_BASE_URL, LLM_API_KEY and LLM_MODEL on the accounts service"
)
# Time kept back from the caller's deadline for storing the messages and answering.
DEADLINE_MARGIN_S = 1.0


def llm_budget(deadline_s: float | None) -> float | None:
    """How long the language model may take, given the time the caller has left (None: no deadline)."""
    return None if deadline_s is None else deadline_s - DEADLINE_MARGIN_S


async def reply(
    sessions: async_sessionmaker,
    llm: ChatCompletions | None,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    content: str,
    deadline_s: float | None = None,
) -> tuple[ChatMessage, ChatMessage]:
    """(the user's message, the assistant's reply), both stored."""
    check_length(content, "content", 1, MAX_MESSAGE_CHARS)
    context = await load_context(sessions, user_id, project_id)
    if llm is None:
        raise FailedPrecondition(NOT_CONFIGURED)
    answer = await llm.complete(chat_messages(context, content), budget_s=llm_budget(deadline_s))
    answer = answer.replace(NUL, "").strip()[:MAX_MESSAGE_CHARS]
    if not answer:
        raise Unavailable(f"{ASSISTANT_UNAVAILABLE}: the language model's reply was empty")
    async with sessions() as session, session.begin():
        await owned_project(session, user_id, project_id)
        # clock_timestamp(), not the transaction's now(): the reply must sort after the question.
        asked = ChatMessage(
            ad_project_id=project_id, role="user", content=content, created_at=func.clock_timestamp()
        )
        session.add(asked)
        await session.flush()
        answered = ChatMessage(
            ad_project_id=project_id, role="assistant", content=answer, created_at=func.clock_timestamp()
        )
        session.add(answered)
        await session.flush()
        await session.refresh(asked)
        await session.refresh(answered)
    return asked, answered
