"""Which product image each scene shows (generation/plan.py scene_images): the one its script
names, as the drafter writes it, and otherwise images in turn with neighbours differing."""

from __future__ import annotations

from pathlib import Path

from services.accounts.assistant.context import ProjectContext
from services.accounts.assistant.template import template_script
from services.jobs.generation.plan import make_plan, scene_images
from services.jobs.generation.steps import _scene
from services.jobs.render import layouts

NAMES = ["lime.jpg", "mango.jpg", "berry.jpg"]
KEYS = [f"product-images/b/5bb26e6d5cc4-{name}" for name in NAMES]
PATHS = [Path("/work") / name for name in NAMES]


def shown(plan: dict) -> list[str]:
    """The file each scene of the plan is rendered from, as the renderer picks it."""
    return [layouts.image_for(_scene(s), PATHS).name for s in plan["scenes"]]


def test_a_drafted_product_shot_shows_the_image_its_script_names():
    context = ProjectContext(
        "Acme Sparkling Water", "Sparkling water with real fruit", product_images=tuple(NAMES)
    )
    _storyline, scenes = template_script(context, 15)
    plan = make_plan(scenes, KEYS, "9:16", 1080, "local", image_names=NAMES)
    files = shown(plan)
    for scene, file in zip(scenes, files, strict=True):
        named = [name for name in NAMES if f'"{name}"' in scene["description"]]
        if named:
            assert file == named[0], scene["description"]
    assert all(a != b for a, b in zip(files, files[1:], strict=False))


def test_without_file_names_the_keys_name_the_images():
    scenes = [
        {"order": 1, "description": "Hook", "duration_s": 2},
        {"order": 2, "description": 'Close-up of the can in "berry.jpg"', "duration_s": 2},
    ]
    keys = [f"product-images/b/{name}" for name in NAMES]
    assert shown(make_plan(scenes, keys, "1:1", 360, "local")) == ["lime.jpg", "berry.jpg"]


def test_scenes_naming_no_image_take_them_in_turn():
    assert scene_images(["a", "b", "c", "d"], NAMES) == [0, 1, 2, 0]
    assert scene_images(["a", "b"], []) == [None, None]
    assert scene_images(["a", "b", "c"], ["only.png"]) == [0, 0, 0]


def test_a_named_image_is_matched_whole_and_in_any_case():
    names = ["can.png", "big-can.png", "can.png.jpg"]
    assert scene_images(["the BIG-CAN.PNG shot", "the can.png.jpg shot", "the can.png, up close"], names) == [
        1,
        2,
        0,
    ]


def test_a_plan_from_before_the_choice_renders_as_it_did():
    plan = make_plan(
        [{"order": n, "description": "x", "duration_s": 2} for n in (1, 2, 3, 4)], KEYS, "1:1", 360, "local"
    )
    for s in plan["scenes"]:
        del s["image"]
    assert shown(plan) == ["lime.jpg", "mango.jpg", "berry.jpg", "lime.jpg"]
