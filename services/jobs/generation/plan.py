"""What a generation will do, fixed when it starts: the steps, their inputs and their weights.

Pure functions over plain data, shared by the service (which writes the plan) and the workers
(which read it). The look (each scene's role and layout, the transitions) comes from design.py.
"""

from __future__ import annotations

from services.common.errors import InvalidArgument
from services.jobs.generation import brand_kit
from services.jobs.generation.design import design

ASPECTS = {"9:16": (9, 16), "16:9": (16, 9), "1:1": (1, 1)}
DEFAULT_ASPECT = "9:16"
DEFAULT_RESOLUTION = 1080
MIN_RESOLUTION, MAX_RESOLUTION = 144, 2160

# How much each kind of step counts toward the generation's percentage.
WEIGHT_SCENES, WEIGHT_VOICEOVER, WEIGHT_MUSIC, WEIGHT_COMPOSITE = 60, 10, 5, 25


def check_format(aspect: str, resolution: int) -> tuple[str, int]:
    aspect = aspect or DEFAULT_ASPECT
    resolution = resolution or DEFAULT_RESOLUTION
    if aspect not in ASPECTS:
        raise InvalidArgument(f"aspect must be one of {', '.join(ASPECTS)}")
    if not MIN_RESOLUTION <= resolution <= MAX_RESOLUTION or resolution % 2:
        raise InvalidArgument(f"resolution must be an even number from {MIN_RESOLUTION} to {MAX_RESOLUTION}")
    return aspect, resolution


def dimensions(aspect: str, resolution: int) -> tuple[int, int]:
    """Width and height with `resolution` on the short side, both even (H.264 wants that)."""
    w, h = ASPECTS[aspect]
    short, long_ = min(w, h), max(w, h)
    other = round(resolution * long_ / short / 2) * 2
    return (resolution, other) if w <= h else (other, resolution)


def make_plan(
    script_scenes: list[dict],
    image_keys: list[str],
    aspect: str,
    resolution: int,
    provider: str,
    *,
    brand: dict | None = None,
    voice: dict | None = None,
    music: dict | None = None,
) -> dict:
    """`brand`, `voice` and `music` as services.jobs.generation.brand_kit makes them; None: the
    defaults."""
    scenes = sorted(script_scenes, key=lambda s: s["order"])
    width, height = dimensions(aspect, resolution)
    roles, layouts, transitions = design(scenes, has_images=bool(image_keys))
    return {
        "aspect": aspect,
        "resolution": resolution,
        "width": width,
        "height": height,
        "provider": provider,
        "images": image_keys,
        "scenes": [
            {
                "n": i,
                "description": s["description"],
                "duration_s": float(s["duration_s"]),
                "on_screen_text": s.get("on_screen_text"),
                "voiceover_text": s.get("voiceover_text"),
                "role": role,
                "layout": layout,
            }
            for i, (s, role, layout) in enumerate(zip(scenes, roles, layouts, strict=True), start=1)
        ],
        "transitions": transitions,
        "duration_s": sum(float(s["duration_s"]) for s in scenes),
        "brand": brand or brand_kit.default_brand(),
        "voice": voice or brand_kit.default_voice(),
        "music": music or brand_kit.default_music(),
    }


def step_names(plan: dict) -> list[tuple[str, str, dict]]:
    """(name, job_type, params) of every step; the composite last (it waits on the others)."""
    steps = [(f"scene_{s['n']}", "scene", {"n": s["n"]}) for s in plan["scenes"]]
    steps += [("voiceover", "voiceover", {}), ("music", "music", {}), ("composite", "composite", {})]
    return steps


def overall_progress(plan: dict, steps: list[tuple[str, str, int]]) -> int:
    """0-100 from (name, status, progress) of each step, weighted by what the step costs."""
    total = plan.get("duration_s") or 1.0
    durations = {f"scene_{s['n']}": s["duration_s"] for s in plan.get("scenes", [])}
    done = 0.0
    for name, status, progress in steps:
        pct = 100 if status == "completed" else progress
        if name in durations:
            weight = WEIGHT_SCENES * durations[name] / total
        else:
            weight = {
                "voiceover": WEIGHT_VOICEOVER,
                "music": WEIGHT_MUSIC,
                "composite": WEIGHT_COMPOSITE,
            }.get(name, 0)
        done += weight * pct / 100
    return max(0, min(100, round(done)))


def step_position(name: str) -> tuple[int, int]:
    """Sort key putting steps in plan order: scene_1 .. scene_n, voiceover, music, composite."""
    if name.startswith("scene_") and name[6:].isdigit():
        return (0, int(name[6:]))
    return (
        1,
        ("voiceover", "music", "composite").index(name) if name in ("voiceover", "music", "composite") else 9,
    )
