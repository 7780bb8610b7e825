"""Every placement at once, as the plan fixes it (services.jobs.generation.plan): the placements,
the step names, the progress weights and the order steps are shown in. Pure functions."""

import pytest

from services.common.errors import InvalidArgument
from services.jobs import failures
from services.jobs.generation.plan import (
    check_aspects,
    for_placement,
    make_plan,
    overall_progress,
    placements,
    step_names,
    step_position,
)

SCRIPT = [
    {"order": 1, "description": "Hook", "duration_s": 2},
    {"order": 2, "description": "Product", "duration_s": 1},
]


def plan_of(*aspects: str) -> dict:
    return make_plan(SCRIPT, ["product-images/b/x.png"], aspects[0], 360, "local", aspects=list(aspects))


def test_placements_are_checked_and_the_primary_comes_first():
    assert check_aspects("", []) == ["9:16"]
    assert check_aspects("1:1", []) == ["1:1"]
    assert check_aspects("", ["16:9", "9:16"]) == ["16:9", "9:16"]
    assert check_aspects("16:9", ["16:9", "1:1"]) == ["16:9", "1:1"]
    for aspect, aspects in (
        ("", ["9:16", "9:16"]),
        ("", ["9:16", "1:1", "16:9", "9:16"]),
        ("", ["4:3"]),
        ("1:1", ["9:16", "1:1"]),
    ):
        with pytest.raises(InvalidArgument):
            check_aspects(aspect, aspects)


def test_a_plan_sizes_each_placement_and_keeps_the_primary_at_the_top():
    plan = plan_of("9:16", "16:9")
    assert (plan["aspect"], plan["width"], plan["height"]) == ("9:16", 360, 640)
    assert placements(plan) == [
        {"aspect": "9:16", "width": 360, "height": 640},
        {"aspect": "16:9", "width": 640, "height": 360},
    ]
    wide = for_placement(plan, "16:9")
    assert (wide["aspect"], wide["width"], wide["height"]) == ("16:9", 640, 360)
    assert for_placement(plan, None) is plan and for_placement(plan, "9:16") is plan
    with pytest.raises(InvalidArgument):
        for_placement(plan, "1:1")
    # A plan from before placements has its one.
    old = {k: v for k, v in plan_of("1:1").items() if k != "aspects"}
    assert placements(old) == [{"aspect": "1:1", "width": 360, "height": 360}]


def test_one_placement_has_the_steps_it_always_had():
    assert step_names(plan_of("9:16")) == [
        ("scene_1", "scene", {"n": 1}),
        ("scene_2", "scene", {"n": 2}),
        ("voiceover", "voiceover", {}),
        ("music", "music", {}),
        ("composite", "composite", {}),
    ]


def test_each_placement_has_its_scenes_and_composite_and_shares_the_audio():
    names = step_names(plan_of("9:16", "1:1", "16:9"))
    assert names == [
        ("scene_1", "scene", {"n": 1}),
        ("scene_2", "scene", {"n": 2}),
        ("scene_1-1x1", "scene", {"n": 1, "aspect": "1:1"}),
        ("scene_2-1x1", "scene", {"n": 2, "aspect": "1:1"}),
        ("scene_1-16x9", "scene", {"n": 1, "aspect": "16:9"}),
        ("scene_2-16x9", "scene", {"n": 2, "aspect": "16:9"}),
        ("voiceover", "voiceover", {}),
        ("music", "music", {}),
        ("composite", "composite", {}),
        ("composite-1x1", "composite", {"aspect": "1:1"}),
        ("composite-16x9", "composite", {"aspect": "16:9"}),
    ]
    assert max(len(name) for name, _, _ in names) <= 30  # generation_jobs.name


def test_progress_splits_the_scenes_and_composites_over_the_placements():
    one, two = plan_of("9:16"), plan_of("9:16", "16:9")
    assert overall_progress(one, [(n, "completed", 0) for n, _, _ in step_names(one)]) == 100
    assert overall_progress(two, [(n, "completed", 0) for n, _, _ in step_names(two)]) == 100
    # The primary's scenes alone: half the scenes' 60.
    done = [("scene_1", "completed", 0), ("scene_2", "completed", 0), ("scene_1-16x9", "pending", 0)]
    assert overall_progress(two, done) == 30
    assert overall_progress(one, done[:2]) == 60
    assert overall_progress(two, [("composite-16x9", "processing", 50)]) == 6  # 25 / 2 * 50%


def test_steps_are_shown_scene_by_scene_then_audio_then_composites():
    shuffled = ["composite-16x9", "music", "scene_2", "composite", "scene_1-16x9", "voiceover", "scene_1"]
    assert sorted(shuffled, key=step_position) == [
        "scene_1",
        "scene_1-16x9",
        "scene_2",
        "voiceover",
        "music",
        "composite",
        "composite-16x9",
    ]


def test_a_failed_step_of_another_placement_says_which():
    assert failures.label("scene_2") == "Scene 2"
    assert failures.label("scene_2-16x9") == "Scene 2 (16:9)"
    assert failures.label("composite") == "The composite"
    assert failures.label("composite-1x1") == "The composite (1:1)"
    assert failures.label(None) == "The job"
