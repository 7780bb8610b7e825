"""The assistant's pure logic: durations that add up, the template script, reading a script out of
a language model's answer, and the conversation budget. The end-to-end behaviour is in
test_api_assistant.py."""

from __future__ import annotations

import json

import pytest

from services.accounts.assistant.answer import UnusableAnswer, script_from_answer
from services.accounts.assistant.context import ProjectContext, brand_brief, within_budget
from services.accounts.assistant.durations import fit_durations
from services.accounts.assistant.prompts import chat_messages, draft_messages
from services.accounts.assistant.template import template_script
from services.accounts.projects import check_scenes

CONTEXT = ProjectContext(
    brand_title="Acme Sparkling Water",
    brand_description="Sparkling water with real fruit. Made in Oregon.",
    brand_guidelines={"tone": "bold", "colors": ["red", "white"], "tagline": "Fizz with fruit"},
    ad_details={
        "product": "Acme Lime",
        "audience": ["runners", "cyclists"],
        "tone": "playful",
        "call_to_action": "Grab a can today",
        "benefit": "Zero sugar, all flavour",
    },
    product_images=("lime.png", "can.png", "pack.png"),
    history=(("user", "We want a summer ad."), ("assistant", "Beach or city?")),
)


def assert_valid_durations(durations: list[float], total: float) -> None:
    assert sum(durations) == total
    for d in durations:
        assert 1 <= d <= 60
        assert (d * 2) == int(d * 2), f"{d} is not a whole or half second"


# --- durations ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weights", "total"),
    [
        ([2, 3, 3, 2], 30),
        ([2, 3, 3, 3, 2], 7),
        ([1] * 12, 12),
        ([1] * 12, 120),
        ([1, 100], 120),  # the big one is capped at 60, the other gets the rest
        ([100, 1, 1], 6),
        ([0.1, 7.3, 2.2], 31),
        ([5], 6),
        ([2, 3, 2], 6),
    ],
)
def test_durations_add_up_exactly_within_the_scene_limits(weights, total):
    durations = fit_durations(weights, total)

    assert len(durations) == len(weights)
    assert_valid_durations(durations, total)
    assert fit_durations(weights, total) == durations


def test_durations_follow_the_weights():
    assert fit_durations([1, 1, 2], 40) == [10, 10, 20]
    assert fit_durations([5, 5, 10], 40) == [10, 10, 20]
    short, long = fit_durations([1, 3], 20)
    assert short < long


@pytest.mark.parametrize(
    ("weights", "total"), [([1] * 7, 6), ([1, 1], 121), ([], 30), ([1, 0], 30), ([1, -2], 30)]
)
def test_durations_that_cannot_fit_are_refused(weights, total):
    with pytest.raises(ValueError):
        fit_durations(weights, total)


# --- template -----------------------------------------------------------------------------------


def test_template_has_a_hook_a_scene_per_image_a_benefit_and_a_call_to_action():
    storyline, scenes = template_script(CONTEXT, 30)

    assert [s["order"] for s in scenes] == [1, 2, 3, 4, 5, 6]
    assert scenes[0]["description"].startswith("Hook")
    for scene, image in zip(scenes[1:4], CONTEXT.product_images, strict=True):
        assert scene["description"].startswith("Product shot")
        assert f'"{image}"' in scene["description"]
    assert scenes[4]["description"].startswith("Benefit")
    assert "Zero sugar, all flavour" in scenes[4]["description"]
    assert scenes[5]["description"].startswith("Call to action")
    assert scenes[5]["on_screen_text"] == "Grab a can today"
    assert scenes[0]["on_screen_text"] == "Fizz with fruit"
    assert "runners and cyclists" in scenes[0]["description"]
    assert "playful" in storyline and "Acme Lime" in storyline and "Acme Sparkling Water" in storyline
    assert_valid_durations([s["duration_s"] for s in scenes], 30)
    assert check_scenes(scenes) == scenes


def test_template_headlines_do_not_repeat_and_every_voice_line_is_a_sentence():
    untagged = ProjectContext(
        brand_title="Acme Sparkling Water",
        brand_description="Sparkling water with real fruit and no sugar at all. Made in Leeds.",
        product_images=("lime.jpg", "mango.jpg"),
    )

    _, scenes = template_script(untagged, 15)

    headlines = [s["on_screen_text"] for s in scenes if s.get("on_screen_text")]
    assert len(headlines) == len(set(headlines)), headlines
    assert scenes[1]["voiceover_text"] == "Sparkling water with real fruit and no sugar at all."
    assert all(s["voiceover_text"].endswith((".", "!", "?")) for s in scenes if s.get("voiceover_text"))
    # A pitch short enough to read at a glance is the product scene's headline.
    short = ProjectContext(
        brand_title="Acme", brand_description="Real fruit, real fizz", product_images=("a.jpg",)
    )
    assert template_script(short, 10)[1][1]["on_screen_text"] == "Real fruit, real fizz"


def test_template_is_deterministic():
    assert template_script(CONTEXT, 45) == template_script(CONTEXT, 45)
    assert template_script(CONTEXT, 45, 5) == template_script(CONTEXT, 45, 5)


def test_template_without_images_or_details_still_makes_a_full_script():
    bare = ProjectContext(brand_title="Acme")

    storyline, scenes = template_script(bare, 30)

    assert len(scenes) == 4
    assert "Acme" in storyline
    assert all(s["description"] for s in scenes)
    assert_valid_durations([s["duration_s"] for s in scenes], 30)
    assert check_scenes(scenes) == scenes


@pytest.mark.parametrize(
    ("images", "duration", "scene_count", "expected"),
    [
        (0, 6, None, 4),
        (3, 6, None, 6),
        (9, 6, None, 6),  # 6 s leave room for 3 product shots of 1 s
        (9, 12, None, 12),
        (20, 120, None, 12),  # the 12-scene cap
        (3, 30, 3, 3),
        (3, 30, 12, 12),
        (0, 12, 12, 12),
        (2, 20, 7, 7),
    ],
)
def test_template_scene_counts(images, duration, scene_count, expected):
    context = ProjectContext(brand_title="Acme", product_images=tuple(f"{i}.png" for i in range(images)))

    _, scenes = template_script(context, duration, scene_count)

    assert len(scenes) == expected
    assert_valid_durations([s["duration_s"] for s in scenes], duration)
    assert check_scenes(scenes) == scenes


def test_template_handles_odd_ad_details():
    context = ProjectContext(
        brand_title="Acme " + "x" * 300,
        brand_description="",
        ad_details={"product": {"nested": True}, "audience": [1, None, ["deep"]], "tone": 5, "cta": ""},
    )

    _, scenes = template_script(context, 30)

    assert check_scenes(scenes) == scenes
    assert all(len(s["description"]) <= 2000 for s in scenes)


# --- the language model's answer ----------------------------------------------------------------

SCRIPT = {
    "storyline": "A runner finds relief.",
    "scenes": [
        {"order": 1, "description": "A runner, hot and tired", "duration_s": 5, "voiceover_text": "Hot?"},
        {"order": 2, "description": "A can of Acme Lime opens", "duration_s": 5, "on_screen_text": "Acme"},
        {"order": 3, "description": "Logo and call to action", "duration_s": 10, "voiceover_text": ""},
    ],
}


def test_a_valid_answer_is_rescaled_to_the_length():
    storyline, scenes = script_from_answer(json.dumps(SCRIPT), 40, None)

    assert storyline == "A runner finds relief."
    assert [s["duration_s"] for s in scenes] == [10, 10, 20]
    assert scenes[0] == {
        "order": 1,
        "description": "A runner, hot and tired",
        "duration_s": 10,
        "voiceover_text": "Hot?",
    }
    assert "voiceover_text" not in scenes[2]
    assert scenes[1]["on_screen_text"] == "Acme"


@pytest.mark.parametrize(
    "text",
    [
        "Here is your script:\n```json\n" + json.dumps(SCRIPT, indent=2) + "\n```\nEnjoy!",
        "```\n" + json.dumps(SCRIPT) + "\n```",
        "Sure. " + json.dumps(SCRIPT) + " Let me know.",
    ],
)
def test_json_is_found_inside_prose_and_code_fences(text):
    _, scenes = script_from_answer(text, 20, None)

    assert [s["description"] for s in scenes] == [s["description"] for s in SCRIPT["scenes"]]


def test_scenes_follow_the_models_order_numbers_and_are_renumbered():
    shuffled = {"scenes": [dict(SCRIPT["scenes"][2], order=30), dict(SCRIPT["scenes"][0], order=10)]}

    _, scenes = script_from_answer(json.dumps(shuffled), 20, None)

    assert [(s["order"], s["description"]) for s in scenes] == [
        (1, "A runner, hot and tired"),
        (2, "Logo and call to action"),
    ]


def test_string_durations_and_duplicate_orders_are_tolerated():
    answer = {
        "scenes": [
            {"order": 1, "description": "a", "duration_s": "4s"},
            {"order": 1, "description": "b", "duration": 4},
        ]
    }

    _, scenes = script_from_answer(json.dumps(answer), 10, None)

    assert [(s["order"], s["description"], s["duration_s"]) for s in scenes] == [(1, "a", 5), (2, "b", 5)]


def scenes_of(n: int, **extra) -> dict:
    return {"scenes": [{"order": i, "description": f"scene {i}", "duration_s": 3, **extra} for i in range(n)]}


@pytest.mark.parametrize(
    ("text", "scene_count", "reason"),
    [
        ("I cannot help with that.", None, "not a JSON object"),
        ("[1, 2, 3]", None, "not a JSON object"),
        ('{"storyline": "s", "scenes": [', None, "not a JSON object"),
        (json.dumps({"storyline": "s"}), None, "no list of scenes"),
        (json.dumps({"scenes": []}), None, "no list of scenes"),
        (json.dumps(scenes_of(13)), None, "more than 12"),
        (json.dumps(scenes_of(4)), 5, "not the 5 asked for"),
        (json.dumps({"scenes": [{"description": "", "duration_s": 3}]}), None, "no description"),
        (json.dumps({"scenes": [{"description": "a", "duration_s": 0}]}), None, "duration_s"),
        (json.dumps({"scenes": [{"description": "a", "duration_s": "soon"}]}), None, "duration_s"),
        (json.dumps({"scenes": [{"description": "a", "duration_s": True}]}), None, "duration_s"),
        (json.dumps({"scenes": ["a scene"]}), None, "not an object"),
        (json.dumps(scenes_of(2, voiceover_text=5)), None, "voiceover_text"),
        (json.dumps(scenes_of(7)), None, "cannot last"),  # 7 scenes of at least 1 s in 6 s
        (json.dumps({"storyline": 5, "scenes": scenes_of(1)["scenes"]}), None, "storyline"),
        (json.dumps({"scenes": [{"description": "x" * 2001, "duration_s": 3}]}), None, "description"),
        (json.dumps({"scenes": [{"description": "a\x00", "duration_s": 3}]}), None, "NUL"),
    ],
)
def test_unusable_answers_are_refused_with_a_reason(text, scene_count, reason):
    with pytest.raises(UnusableAnswer, match=reason):
        script_from_answer(text, 6, scene_count)


# --- prompts ------------------------------------------------------------------------------------


def test_the_brief_carries_the_brand_and_the_ad():
    brief = brand_brief(CONTEXT)

    for text in ("Acme Sparkling Water", "Sparkling water with real fruit", "Fizz with fruit", "Acme Lime",
                 "runners", "lime.png"):  # fmt: skip
        assert text in brief


def test_chat_messages_are_system_then_conversation_then_the_new_message():
    messages = chat_messages(CONTEXT, "Any hook ideas?")

    assert messages[0]["role"] == "system" and "Acme Sparkling Water" in messages[0]["content"]
    assert messages[1:] == [
        {"role": "user", "content": "We want a summer ad."},
        {"role": "assistant", "content": "Beach or city?"},
        {"role": "user", "content": "Any hook ideas?"},
    ]


def test_draft_messages_state_the_length_and_scene_rule():
    system = draft_messages(CONTEXT, 45, 5)[0]["content"]

    assert "45-second" in system and "exactly 5 scenes" in system and "JSON" in system
    assert "3 to 12 scenes" in draft_messages(CONTEXT, 45, None)[0]["content"]


def test_the_conversation_keeps_the_newest_messages_within_the_budget():
    newest_first = [("user", "c" * 10), ("assistant", "b" * 10), ("user", "a" * 10)]

    assert within_budget(newest_first, 25) == [("assistant", "b" * 10), ("user", "c" * 10)]
    assert within_budget(newest_first, 30) == newest_first[::-1]
    assert within_budget(newest_first, 5) == []
