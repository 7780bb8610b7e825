"""A script drafted for a project and saved like PUT script (unapproved).

With a language model: its JSON answer, validated like PUT script and fitted to the requested
length; when that answer is unusable (not JSON, invalid scenes), the template's draft is saved
instead, with a note saying why, because retrying rarely makes a model's answer usable and the
user still gets a valid script. When the model cannot be reached (503) or limits requests (429),
nothing is saved and the existing script stays: that is worth retrying. Without a language model:
the template (source "template", no note)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import async_sessionmaker

from services.accounts.assistant.answer import UnusableAnswer, script_from_answer
from services.accounts.assistant.chat import llm_budget
from services.accounts.assistant.context import load_context
from services.accounts.assistant.llm import ChatCompletions
from services.accounts.assistant.prompts import draft_messages
from services.accounts.assistant.template import template_script
from services.accounts.models import Script
from services.accounts.projects import MAX_SCENES, put_script
from services.common.errors import InvalidArgument

log = logging.getLogger(__name__)

DEFAULT_DURATION_S = 30
MIN_DURATION_S = 6
MAX_DURATION_S = 120
MIN_SCENE_COUNT = 3


@dataclass
class Draft:
    script: Script
    source: str  # "llm" or "template"
    note: str = ""


def check_request(duration_s: int, scene_count: int | None) -> tuple[int, int | None]:
    duration_s = duration_s or DEFAULT_DURATION_S
    if not MIN_DURATION_S <= duration_s <= MAX_DURATION_S:
        raise InvalidArgument(f"duration_s must be between {MIN_DURATION_S} and {MAX_DURATION_S}")
    if scene_count is not None:
        if not MIN_SCENE_COUNT <= scene_count <= MAX_SCENES:
            raise InvalidArgument(f"scene_count must be between {MIN_SCENE_COUNT} and {MAX_SCENES}")
        if scene_count > duration_s:
            raise InvalidArgument("scene_count must be at most duration_s: each scene lasts at least 1 s")
    return duration_s, scene_count


async def draft_script(
    sessions: async_sessionmaker,
    llm: ChatCompletions | None,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    duration_s: int,
    scene_count: int | None,
    deadline_s: float | None = None,
) -> Draft:
    duration_s, scene_count = check_request(duration_s, scene_count)
    context = await load_context(sessions, user_id, project_id)
    note = ""
    if llm is not None:
        answer = await llm.complete(
            draft_messages(context, duration_s, scene_count),
            json_object=True,
            budget_s=llm_budget(deadline_s),
        )
        try:
            storyline, scenes = script_from_answer(answer, duration_s, scene_count)
        except UnusableAnswer as exc:
            log.warning("unusable script from the language model (%s): %.300r", exc, answer)
            note = f"the language model's answer was not a usable script ({exc}); drafted from the template"
        else:
            script = await put_script(sessions, user_id, project_id, storyline, scenes)
            return Draft(script, "llm")
    storyline, scenes = template_script(context, duration_s, scene_count)
    script = await put_script(sessions, user_id, project_id, storyline, scenes)
    return Draft(script, "template", note)
