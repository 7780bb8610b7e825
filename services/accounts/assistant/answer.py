"""A script from the language model's answer, held to the rules of PUT script, or UnusableAnswer.

Lenient where leniency cannot change the meaning: JSON inside a code fence or surrounded by prose
is found; scenes are renumbered 1..n in the model's sequence (its order numbers when they are
distinct integers, else the list's order); the model's durations only weigh the scenes, rescaled to
add up exactly to the requested length."""

from __future__ import annotations

import json
import re

from services.accounts.assistant.durations import fit_durations
from services.accounts.projects import MAX_SCENES, MAX_STORYLINE, check_scenes
from services.accounts.validation import check_length
from services.common.errors import InvalidArgument

TEXT_FIELDS = ("voiceover_text", "on_screen_text")
_FENCE = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```", re.DOTALL | re.IGNORECASE)


class UnusableAnswer(ValueError):
    pass


def script_from_answer(text: str, duration_s: int, scene_count: int | None) -> tuple[str, list[dict]]:
    answer = _json_object(text)
    storyline = answer.get("storyline") or ""
    raw_scenes = answer.get("scenes")
    if not isinstance(storyline, str):
        raise UnusableAnswer("its storyline is not text")
    if not isinstance(raw_scenes, list) or not raw_scenes:
        raise UnusableAnswer("it has no list of scenes")
    if len(raw_scenes) > MAX_SCENES:
        raise UnusableAnswer(f"it has {len(raw_scenes)} scenes, more than {MAX_SCENES}")
    if scene_count is not None and len(raw_scenes) != scene_count:
        raise UnusableAnswer(f"it has {len(raw_scenes)} scenes, not the {scene_count} asked for")
    scenes = [_scene(i, raw) for i, raw in enumerate(raw_scenes)]
    given = [raw.get("order") for raw in raw_scenes]
    if all(type(o) is int for o in given) and len(set(given)) == len(given):
        scenes = [scene for _, scene in sorted(zip(given, scenes, strict=True), key=lambda pair: pair[0])]
    for order, scene in enumerate(scenes, start=1):
        scene["order"] = order
    try:
        durations = fit_durations([s.pop("weight") for s in scenes], duration_s)
    except ValueError as exc:
        raise UnusableAnswer(str(exc)) from None
    for scene, duration in zip(scenes, durations, strict=True):
        scene["duration_s"] = duration
    try:
        check_length(storyline.strip(), "storyline", 0, MAX_STORYLINE)
        scenes = check_scenes(scenes)
    except InvalidArgument as exc:
        raise UnusableAnswer(exc.message) from None
    return storyline.strip(), scenes


def _json_object(text: str) -> dict:
    candidates = [text.strip()]
    candidates += _FENCE.findall(text)
    if (start := text.find("{")) >= 0 and (end := text.rfind("}")) > start:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    raise UnusableAnswer("it is not a JSON object")


def _scene(index: int, raw) -> dict:
    where = f"scene {index + 1}"
    if not isinstance(raw, dict):
        raise UnusableAnswer(f"{where} is not an object")
    description = raw.get("description")
    if not isinstance(description, str) or not description.strip():
        raise UnusableAnswer(f"{where} has no description")
    weight = raw.get("duration_s", raw.get("duration"))
    if isinstance(weight, str):
        weight = _number(weight)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 < weight < 1e6:
        raise UnusableAnswer(f"{where} has no positive duration_s")
    scene = {"order": 0, "description": description.strip(), "weight": float(weight)}
    for field in TEXT_FIELDS:
        value = raw.get(field)
        if value is None:
            continue
        if not isinstance(value, str):
            raise UnusableAnswer(f"{where}'s {field} is not text")
        if value.strip():
            scene[field] = value.strip()
    return scene


def _number(text: str) -> float | None:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*s?\s*", text)
    return float(match.group(1)) if match else None
