"""The design of an ad (generation/design.py): roles, layouts and transitions chosen from the
script, and written into the plan."""

from __future__ import annotations

import pytest

from services.jobs.generation import design
from services.jobs.generation.plan import make_plan
from services.jobs.render import composite, layouts

DRAFTED = [  # the shape of the assistant's template drafts (services/accounts/assistant/template.py)
    "Hook: a striking opening that grabs commuters",
    "Product shot 1 of 3: Acme as in the product image",
    "Product shot 2 of 3: Acme as in the product image",
    "Product shot 3 of 3: Acme as in the product image",
    "Benefit: commuters enjoying Acme: real fruit",
    "Call to action: Acme with the Acme logo",
]


def scenes(descriptions: list[str]) -> list[dict]:
    return [{"order": i, "description": d, "duration_s": 2} for i, d in enumerate(descriptions, start=1)]


def test_roles_follow_the_script():
    assert design.roles(scenes(DRAFTED)) == ["hook", "product", "product", "product", "benefit", "cta"]
    assert design.roles(scenes(["A can", "Another can"])) == ["hook", "cta"]
    assert design.roles(scenes(["Only one"])) == ["hook"]


@pytest.mark.parametrize("count", range(1, 13))
@pytest.mark.parametrize("has_images", [True, False])
def test_layouts_vary_and_end_on_the_end_card(count, has_images):
    descriptions = [f"Scene {i}" if i % 3 else f"Benefit: {i}" for i in range(count)]
    roles, chosen, transitions = design.design(scenes(descriptions), has_images)
    assert len(chosen) == count and len(transitions) == count - 1
    assert set(chosen) <= set(layouts.LAYOUTS)
    if count > 1:
        assert chosen[-1] == "end_card"
    if has_images:
        assert all(a != b for a, b in zip(chosen, chosen[1:], strict=False))
    else:
        assert not set(chosen) & design.PRODUCT_LAYOUTS


def test_the_drafted_script_gets_four_layouts_and_three_transitions():
    _roles, chosen, transitions = design.design(scenes(DRAFTED), has_images=True)
    assert chosen[0] == "full_bleed" and chosen[-1] == "end_card"
    assert len(set(chosen)) >= 4
    assert set(transitions) == {"crossfade", "slide", "wipe"}
    assert transitions[-1] == "crossfade"  # into the end card


def test_the_plan_carries_the_design_deterministically():
    plan = make_plan(scenes(DRAFTED), ["product-images/b/x.png"], "9:16", 1080, "local")
    again = make_plan(scenes(DRAFTED), ["product-images/b/x.png"], "9:16", 1080, "local")
    assert plan == again
    assert [s["role"] for s in plan["scenes"]] == design.roles(scenes(DRAFTED))
    assert all(s["layout"] in layouts.LAYOUTS for s in plan["scenes"])
    assert len(plan["transitions"]) == len(plan["scenes"]) - 1
    assert all(name in composite.XFADE for name in plan["transitions"])


def test_the_design_names_what_the_renderer_draws():
    assert design.PRODUCT_LAYOUTS == layouts.PRODUCT_LAYOUTS
    assert set(design.TRANSITIONS) == set(composite.XFADE)
    assert {name for options in design.PREFERRED.values() for name in options} <= set(layouts.LAYOUTS)


def test_transitions_last_at_most_half_a_second():
    from services.jobs.render import timeline

    assert timeline.DEFAULT_TRANSITION_S <= 0.5
