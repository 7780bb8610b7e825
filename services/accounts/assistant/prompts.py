"""The messages sent to the language model: a system prompt carrying the brand and the ad, then the
project's conversation, then what is asked now."""

from __future__ import annotations

from services.accounts.assistant.context import ProjectContext, brand_brief
from services.accounts.projects import MAX_SCENES

CHAT_SYSTEM = """\
You are Zapcut's ad-script collaborator. You help the user plan a short video ad for the brand \
below: the hook, the scenes, what the voiceover says and what text appears on screen. Ask about \
the product, the audience, the tone or the call to action when they are unclear; otherwise make \
concrete suggestions that keep to the brand's guidelines. Be brief: a few short paragraphs or a \
short list, plain text. When the user likes the idea, tell them they can draft the script, which \
turns it into scenes with durations.

{brief}"""

DRAFT_SYSTEM = """\
You are Zapcut's ad-script writer. Write the script of a {duration}-second video ad for the brand \
below, building on what the user and the assistant agreed in the conversation, if anything.

Answer with one JSON object and nothing else, in exactly this shape:
{{"storyline": "one paragraph", "scenes": [{{"order": 1, "description": "what the camera shows", \
"duration_s": 5, "voiceover_text": "the words spoken", "on_screen_text": "the text shown"}}]}}

Rules: {scene_rule}. Durations are seconds, at least 1 each, adding up to {duration}. Open with a \
hook, show the product (one scene per product image when there are images), and end with a call \
to action. Keep to the brand's guidelines.

{brief}"""

DRAFT_REQUEST = "Write the script now, as the JSON object described."


def chat_messages(context: ProjectContext, content: str) -> list[dict]:
    return [
        {"role": "system", "content": CHAT_SYSTEM.format(brief=brand_brief(context))},
        *_conversation(context),
        {"role": "user", "content": content},
    ]


def draft_messages(context: ProjectContext, duration_s: int, scene_count: int | None) -> list[dict]:
    if scene_count is not None:
        scene_rule = f"exactly {scene_count} scenes"
    else:
        scene_rule = f"3 to {min(MAX_SCENES, duration_s)} scenes"
    system = DRAFT_SYSTEM.format(duration=duration_s, scene_rule=scene_rule, brief=brand_brief(context))
    return [
        {"role": "system", "content": system},
        *_conversation(context),
        {"role": "user", "content": DRAFT_REQUEST},
    ]


def _conversation(context: ProjectContext) -> list[dict]:
    return [{"role": role, "content": content} for role, content in context.history]
