"""What a generation will do, fixed when it starts: the steps, their inputs and their weights.

Pure functions over plain data, shared by the service (which writes the plan) and the workers
(which read it). The look (each scene's role and layout, the transitions) comes from design.py.
"""

from __future__ import annotations

import re

from services.common.errors import InvalidArgument
from services.jobs.generation import brand_kit
from services.jobs.generation.design import design

ASPECTS = {"9:16": (9, 16), "16:9": (16, 9), "1:1": (1, 1)}
DEFAULT_ASPECT = "9:16"
DEFAULT_RESOLUTION = 1080
MIN_RESOLUTION, MAX_RESOLUTION = 144, 2160
MAX_ASPECTS = 3

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


def check_aspects(aspect: str, aspects: list[str]) -> list[str]:
    """The placements of a generation, its primary first: `aspects` when given (1-3, unique, each
    known; `aspect` then absent or the first of them), else the one `aspect`."""
    if not aspects:
        return [aspect or DEFAULT_ASPECT]
    if not 1 <= len(aspects) <= MAX_ASPECTS:
        raise InvalidArgument(f"aspects must name 1 to {MAX_ASPECTS} placements")
    if len(set(aspects)) != len(aspects):
        raise InvalidArgument("aspects must not repeat a placement")
    for a in aspects:
        if a not in ASPECTS:
            raise InvalidArgument(f"each of aspects must be one of {', '.join(ASPECTS)}")
    if aspect and aspect != aspects[0]:
        raise InvalidArgument("aspect must be absent or the first of aspects (the primary placement)")
    return list(aspects)


def slug(aspect: str) -> str:
    """16:9 -> 16x9, as step names and file names carry a placement."""
    return aspect.replace(":", "x")


def placements(plan: dict) -> list[dict]:
    """{aspect, width, height} of each placement, the primary first; a plan from before placements
    has its one."""
    return plan.get("aspects") or [
        {"aspect": plan["aspect"], "width": plan["width"], "height": plan["height"]}
    ]


def for_placement(plan: dict, aspect: str | None) -> dict:
    """The plan as one placement's steps read it: its aspect and size at the top (None or "": the
    primary's, which is the plan's own)."""
    if not aspect or aspect == plan["aspect"]:
        return plan
    placement = next((p for p in placements(plan) if p["aspect"] == aspect), None)
    if placement is None:
        raise InvalidArgument(f"the generation has no {aspect} placement")
    return {**plan, **placement}


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
    aspects: list[str] | None = None,
    image_names: list[str] | None = None,
) -> dict:
    """`brand`, `voice` and `music` as services.jobs.generation.brand_kit makes them; None: the
    defaults. `aspects`: every placement, `aspect` (the primary) first; None: `aspect` alone.
    `image_names`: the product images' file names, as a script names them (None: the keys' last part)."""
    scenes = sorted(script_scenes, key=lambda s: s["order"])
    width, height = dimensions(aspect, resolution)
    aspects = aspects or [aspect]
    roles, layouts, transitions = design(scenes, has_images=bool(image_keys))
    names = image_names or [key.rsplit("/", 1)[-1] for key in image_keys]
    shown = scene_images([s["description"] for s in scenes], names)
    return {
        "aspect": aspect,
        "resolution": resolution,
        "width": width,
        "height": height,
        "aspects": [
            {"aspect": a, "width": size[0], "height": size[1]}
            for a, size in ((a, dimensions(a, resolution)) for a in aspects)
        ],
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
                "image": image,
            }
            for i, (s, role, layout, image) in enumerate(
                zip(scenes, roles, layouts, shown, strict=True), start=1
            )
        ],
        "transitions": transitions,
        "duration_s": sum(float(s["duration_s"]) for s in scenes),
        "brand": brand or brand_kit.default_brand(),
        "voice": voice or brand_kit.default_voice(),
        "music": music or brand_kit.default_music(),
    }


def scene_images(descriptions: list[str], names: list[str]) -> list[int | None]:
    """Which product image (an index into `names`) each scene shows: the one its description names
    (the drafter writes 'as in the product image "lime.jpg"'), else the next in turn, skipping the
    image of the scene before and the one the scene after names, so neighbours differ. None: no images."""
    if not names:
        return [None] * len(descriptions)
    named = [_named_image(d, names) for d in descriptions]
    shown: list[int | None] = []
    for i, given in enumerate(named):
        if given is None:
            avoid = {shown[-1] if shown else None, named[i + 1] if i + 1 < len(named) else None}
            turn = [(i + k) % len(names) for k in range(len(names))]
            given = next((j for j in turn if j not in avoid), turn[0])
        shown.append(given)
    return shown


def _named_image(description: str, names: list[str]) -> int | None:
    """The image whose file name the description mentions first (whole name, any case)."""
    found = []
    for index, name in enumerate(names):
        if not name:
            continue
        hit = re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w-]|\.\w)", description, re.IGNORECASE)
        if hit:
            found.append((hit.start(), index))
    return min(found)[1] if found else None


def step_names(plan: dict) -> list[tuple[str, str, dict]]:
    """(name, job_type, params) of every step: each scene in each placement, the voiceover and
    music once (every placement plays the same), then a composite per placement (each waits on its
    placement's scenes and the audio). The primary's steps carry no suffix and no aspect, as before
    placements: scene_2, composite; another's scene_2-16x9, composite-16x9 with {"aspect": "16:9"}."""
    others = [p["aspect"] for p in placements(plan)[1:]]
    steps = [(f"scene_{s['n']}", "scene", {"n": s["n"]}) for s in plan["scenes"]]
    for a in others:
        steps += [(f"scene_{s['n']}-{slug(a)}", "scene", {"n": s["n"], "aspect": a}) for s in plan["scenes"]]
    steps += [("voiceover", "voiceover", {}), ("music", "music", {}), ("composite", "composite", {})]
    steps += [(f"composite-{slug(a)}", "composite", {"aspect": a}) for a in others]
    return steps


def _parts(name: str) -> tuple[str, str]:
    """scene_2-16x9 -> ("scene_2", "16x9"); composite -> ("composite", "")."""
    base, _, suffix = name.partition("-")
    return base, suffix


def overall_progress(plan: dict, steps: list[tuple[str, str, int]]) -> int:
    """0-100 from (name, status, progress) of each step, weighted by what the step costs; the
    scenes' and composites' weights split over the placements."""
    total = plan.get("duration_s") or 1.0
    count = len(plan.get("aspects") or [None])
    durations = {f"scene_{s['n']}": s["duration_s"] for s in plan.get("scenes", [])}
    done = 0.0
    for name, status, progress in steps:
        pct = 100 if status == "completed" else progress
        base, _ = _parts(name)
        if base in durations:
            weight = WEIGHT_SCENES * durations[base] / total / count
        elif base == "composite":
            weight = WEIGHT_COMPOSITE / count
        else:
            weight = {"voiceover": WEIGHT_VOICEOVER, "music": WEIGHT_MUSIC}.get(name, 0)
        done += weight * pct / 100
    return max(0, min(100, round(done)))


# Placements in a fixed order after the primary, for sorting step names.
_SLUGS = [slug(a) for a in ASPECTS]


def step_position(name: str) -> tuple[int, int, int]:
    """Sort key putting steps in plan order: scene_1 (each placement), .. scene_n, voiceover, music,
    composite (each placement)."""
    base, suffix = _parts(name)
    placement = 1 + _SLUGS.index(suffix) if suffix in _SLUGS else 0
    if base.startswith("scene_") and base[6:].isdigit():
        return (0, int(base[6:]), placement)
    order = ("voiceover", "music", "composite")
    return (1, order.index(base) if base in order else 9, placement)
