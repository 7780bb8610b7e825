"""The look of an ad, chosen once when the generation starts: each scene's role in the script, its
layout, and the transition at each boundary. Pure functions: the same script always gets the same
design, so a retried step renders what the plan said.

- Role: the first scene is the hook, the last the call to action (cta); a middle scene is a
  benefit when its text says so (the drafted scripts' descriptions start "Benefit:"), and a product
  scene otherwise.
- Layout: the role's preferred layouts, in order, skipping the previous scene's, so consecutive
  scenes never share one; the last scene is the end card. Without product images only layouts with
  no product are used (typographic, whose colors alternate from scene to scene, and the end card).
- Transition: crossfade, slide and wipe in turn, with a crossfade into the end card.
"""

from __future__ import annotations

import re

ROLES = ("hook", "product", "benefit", "cta")
TRANSITIONS = ("crossfade", "slide", "wipe")
END_CARD = "end_card"
# The renderer's layouts that show a product image (services.jobs.render.layouts, which the jobs
# service, without a renderer, cannot import; a unit test keeps the two in step).
PRODUCT_LAYOUTS = frozenset({"full_bleed", "product_on_color", "split"})

PREFERRED = {
    "hook": ("full_bleed", "typographic", "product_on_color"),
    "product": ("product_on_color", "split", "full_bleed"),
    "benefit": ("split", "typographic", "product_on_color", "full_bleed"),
    "cta": ("product_on_color", "typographic", "split"),
}
_BENEFIT = re.compile(r"^\s*benefits?\b|\bbenefit\s*:", re.IGNORECASE)


def roles(scenes: list[dict]) -> list[str]:
    """The role of each scene, in order."""
    count = len(scenes)
    out = []
    for i, scene in enumerate(scenes):
        description = str(scene.get("description") or "")
        if i == 0:
            out.append("hook")
        elif i == count - 1:
            out.append("cta")
        else:
            out.append("benefit" if _BENEFIT.search(description) else "product")
    return out


def layouts(scene_roles: list[str], has_images: bool) -> list[str]:
    """A layout per scene: the last one the end card (when there are two scenes or more),
    consecutive ones always different."""
    count = len(scene_roles)
    chosen: list[str] = []
    for i, role in enumerate(scene_roles):
        if count > 1 and i == count - 1:
            chosen.append(END_CARD)
            continue
        options = [name for name in PREFERRED[role] if has_images or name not in PRODUCT_LAYOUTS]
        if not options:
            options = ["typographic"]
        previous = chosen[-1] if chosen else None
        # Middle scenes of one role take turns through their options, so three product shots in
        # a row are not laid out alike (and never as the scene before).
        turn = sum(1 for r in scene_roles[:i] if r == role)
        ordered = options[turn % len(options) :] + options[: turn % len(options)]
        pick = next((name for name in ordered if name != previous), ordered[0])
        chosen.append(pick)
    return chosen


def transitions(scene_layouts: list[str]) -> list[str]:
    """One transition per boundary: crossfade, slide and wipe in turn; a crossfade into the end card."""
    out = []
    for i in range(len(scene_layouts) - 1):
        out.append("crossfade" if scene_layouts[i + 1] == END_CARD else TRANSITIONS[i % len(TRANSITIONS)])
    return out


def design(scenes: list[dict], has_images: bool) -> tuple[list[str], list[str], list[str]]:
    """Roles, layouts and transitions of `scenes` (script order)."""
    scene_roles = roles(scenes)
    scene_layouts = layouts(scene_roles, has_images)
    return scene_roles, scene_layouts, transitions(scene_layouts)
