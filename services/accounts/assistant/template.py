"""The script drafted without a language model: deterministic (the same brand, ad details and
length give the same script), built from the brand and the project's ad details.

Shape: a hook, one product scene per product image (at least one; at most what the 12-scene cap
and the length leave), a benefit, a call to action. A requested scene_count sets the number of
product scenes instead (3 scenes: hook, product, call to action). Durations follow fixed weights,
fitted to add up exactly to the requested length."""

from __future__ import annotations

import re

from services.accounts.assistant.context import ProjectContext
from services.accounts.assistant.durations import fit_durations
from services.accounts.projects import MAX_SCENES

HOOK, PRODUCT, BENEFIT, CALL = "hook", "product", "benefit", "call"
WEIGHTS = {HOOK: 2, PRODUCT: 3, BENEFIT: 3, CALL: 2}
PIECE_CHARS = 200
HEADLINE_CHARS = 40  # a headline longer than this does not read at a glance
# ad_details and brand_guidelines keys read, in order of preference.
PRODUCT_KEYS = ("product", "product_name")
AUDIENCE_KEYS = ("audience", "target_audience")
TONE_KEYS = ("tone", "mood", "voice")
BENEFIT_KEYS = ("benefit", "key_benefit", "key_message", "message")
CALL_KEYS = ("call_to_action", "cta")
TAGLINE_KEYS = ("tagline", "slogan")
COLOR_KEYS = ("colors", "colours", "palette")


def template_script(
    context: ProjectContext, duration_s: int, scene_count: int | None = None
) -> tuple[str, list[dict]]:
    """(storyline, scenes) for a script of `duration_s` seconds."""
    facts = _Facts(context)
    kinds = _scene_kinds(len(context.product_images), duration_s, scene_count)
    durations = fit_durations([WEIGHTS[k] for k in kinds], duration_s)
    product_total = kinds.count(PRODUCT)
    scenes, product_index = [], 0
    for order, (kind, duration) in enumerate(zip(kinds, durations, strict=True), start=1):
        if kind == PRODUCT:
            scene = facts.product_scene(product_index, product_total, context.product_images)
            product_index += 1
        else:
            scene = getattr(facts, f"{kind}_scene")()
        scenes.append({"order": order, "duration_s": duration, **_without_empty(scene)})
    return facts.storyline(duration_s, product_total, BENEFIT in kinds), scenes


def _scene_kinds(images: int, duration_s: int, scene_count: int | None) -> list[str]:
    if scene_count == 3:
        return [HOOK, PRODUCT, CALL]
    if scene_count is not None:
        products = scene_count - 3
    else:
        # Each scene lasts at least a second, so a short ad has room for fewer product shots.
        products = max(1, min(images, MAX_SCENES - 3, duration_s - 3))
    return [HOOK, *[PRODUCT] * products, BENEFIT, CALL]


class _Facts:
    """The words the scenes are made of, each taken from the ad details, then the brand."""

    def __init__(self, context: ProjectContext):
        details, guidelines = context.ad_details, context.brand_guidelines
        self.brand = _piece(context.brand_title)
        self.product = _first(details, PRODUCT_KEYS) or self.brand
        self.audience = _first(details, AUDIENCE_KEYS)
        self.tone = _first(details, TONE_KEYS) or _first(guidelines, TONE_KEYS)
        self.benefit = _first(details, BENEFIT_KEYS)
        self.call = _first(details, CALL_KEYS) or _first(guidelines, CALL_KEYS)
        self.tagline = _first(details, TAGLINE_KEYS) or _first(guidelines, TAGLINE_KEYS)
        self.colors = _first(guidelines, COLOR_KEYS)
        self.pitch = _first_sentence(context.brand_description)

    def storyline(self, duration_s: int, products: int, with_benefit: bool) -> str:
        tone = f" {self.tone}" if self.tone else ""
        maker = "" if self.product == self.brand else f" by {self.brand}"
        audience = f" for {self.audience}" if self.audience else ""
        shots = f"{products} product shot{'s' if products != 1 else ''}"
        benefit = ", the key benefit" if with_benefit else ""
        return (
            f"A {duration_s}-second{tone} ad for {self.product}{maker}{audience}: "
            f"a hook, {shots}{benefit} and a call to action."
        )

    def hook_scene(self) -> dict:
        tone = f", {self.tone} in tone" if self.tone else ""
        return {
            "description": f"Hook: a striking opening that grabs {self.audience or 'the viewer'} in the "
            f"first seconds{tone}, teasing {self.product}.",
            "on_screen_text": self.tagline or self.product,
            "voiceover_text": f"Meet {self.product}.",
        }

    def product_scene(self, index: int, total: int, images: tuple[str, ...]) -> dict:
        numbered = f"Product shot {index + 1} of {total}" if total > 1 else "Product shot"
        if images:
            shown = f'{self.product} as in the product image "{_piece(images[index % len(images)])}"'
        else:
            shown = f"{self.product} in close-up, then in use"
        colors = f", in the brand colours ({self.colors})" if self.colors else ""
        scene = {"description": f"{numbered}: {shown}{colors}."}
        if index == 0:
            # Not the hook's headline again: without a tagline the hook shows the product's name.
            scene["on_screen_text"] = self.product if self.tagline else self._short(self.pitch)
            maker = "" if self.product == self.brand else f", from {self.brand}"
            scene["voiceover_text"] = (
                _sentence(self.pitch) if self.pitch else f"This is {self.product}{maker}."
            )
        return scene

    @staticmethod
    def _short(text: str) -> str:
        """A headline from a sentence, if it is short enough to read as one (else none)."""
        text = text.rstrip(".")
        return text if len(text) <= HEADLINE_CHARS else ""

    def benefit_scene(self) -> dict:
        benefit = f": {self.benefit}" if self.benefit else ""
        return {
            "description": f"Benefit: {self.audience or 'people'} enjoying {self.product}{benefit}.",
            "on_screen_text": self.benefit,
            "voiceover_text": _sentence(self.benefit) if self.benefit else f"{self.product}, made for you.",
        }

    def call_scene(self) -> dict:
        call = self.call or f"Try {self.product} today"
        colors = f" in the brand colours ({self.colors})" if self.colors else ""
        return {
            "description": f"Call to action: {self.product} with the {self.brand} logo{colors} and "
            f'"{call}" on screen.',
            "on_screen_text": call,
            "voiceover_text": _sentence(call),
        }


def _first(values: dict, keys: tuple[str, ...]) -> str:
    for key in keys:
        if text := _text(values.get(key)):
            return text
    return ""


def _text(value) -> str:
    """A short text from a JSON value: a string, a number, or a list of those."""
    if isinstance(value, str):
        return _piece(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, list):
        return _piece(_and([t for v in value if not isinstance(v, list) and (t := _text(v))]))
    return ""


def _and(items: list[str]) -> str:
    return " and ".join(items) if len(items) <= 2 else f"{', '.join(items[:-1])} and {items[-1]}"


def _piece(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= PIECE_CHARS else text[: PIECE_CHARS - 1].rstrip() + "…"


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    return _piece(re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]) if text else ""


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?", "…")) else f"{text}."


def _without_empty(scene: dict) -> dict:
    return {k: v for k, v in scene.items() if v}
