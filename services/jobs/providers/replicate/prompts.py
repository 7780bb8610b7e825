"""The words the Replicate models are prompted with: a scene's shot in the brand's look, and the
music bed in the project's mood and tempo.

Video models take colors and a style from the prompt only (none of the configured ones has an
input for a palette), so the brand kit is written out: the brand's name, each color in words and
hex (models follow "deep red" better than "#8B1A1A", the hex keeps it exact), and a camera style
for the scene's part in the script. Text is kept out of the frames: models draw letters badly, and
the headline is laid over the clip afterwards in the brand's font (render/scenes.py).
"""

from __future__ import annotations

import colorsys

from services.common.music import DEFAULT_TEMPO_BPM
from services.jobs.media_types import BrandKit, MusicSettings, Scene

# The look of a shot by its role in the script (generation/design.py names the roles).
ROLE_STYLES = {
    "hook": "an attention-grabbing opening shot, bold dynamic camera move, high contrast, striking light",
    "product": "a clean hero product shot, studio lighting, slow smooth camera orbit, crisp detail",
    "benefit": "a lifestyle shot of the product in use, natural warm light, gentle handheld motion",
    "cta": "a confident closing shot of the product, steady camera, bright and inviting",
}
DEFAULT_ROLE_STYLE = ROLE_STYLES["product"]

# What each mood of services.common.music sounds like to a text-to-music model.
MOOD_STYLES = {
    "upbeat": "upbeat modern pop, bright synths, punchy drums, positive energy",
    "calm": "calm warm ambient, soft piano and pads, gentle and relaxed",
    "dramatic": "dramatic cinematic score, deep strings, big percussion, building tension",
    "playful": "playful quirky pop, pizzicato, claps and xylophone, light and fun",
    "inspiring": "inspiring uplifting orchestral pop, rising piano and strings, hopeful",
}

_HUES = (  # the upper bound of each hue band, in degrees
    (15, "red"),
    (40, "orange"),
    (65, "yellow"),
    (150, "green"),
    (190, "teal"),
    (250, "blue"),
    (290, "purple"),
    (335, "pink"),
    (360, "red"),
)


def color_name(hex_color: str) -> str:
    """A plain English name for an #RRGGBB color: "deep red", "light blue", "near-black"."""
    r, g, b = (int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    hue, lightness, saturation = colorsys.rgb_to_hls(r, g, b)
    if lightness < 0.1:
        return "near-black"
    if lightness > 0.94:
        return "white"
    if saturation < 0.15 or max(r, g, b) - min(r, g, b) < 0.08:
        return "dark grey" if lightness < 0.35 else "light grey" if lightness > 0.7 else "grey"
    degrees = hue * 360
    name = next(label for bound, label in _HUES if degrees < bound or bound == 360)
    if name == "orange" and lightness < 0.35:
        return "brown"  # a dark orange: "deep orange" reads as a brighter color than it is
    if lightness < 0.3:
        return f"deep {name}"
    if lightness > 0.72:
        return f"light {name}"
    return name


def palette(brand: BrandKit) -> str:
    parts = [
        f"{role} {color_name(value)} ({value.upper()})"
        for role in ("primary", "secondary", "background")
        if (value := brand.colors.get(role))
    ]
    return ", ".join(parts)


def scene_prompt(scene: Scene, brand: BrandKit | None = None) -> str:
    """The video model's prompt: the shot, its style, the brand's colors; never text in the frame."""
    parts = [scene.description.strip().rstrip(".") + "."]
    parts.append(f"Style: {ROLE_STYLES.get(scene.role, DEFAULT_ROLE_STYLE)}.")
    if brand is not None:
        owner = f"for the brand {brand.name.strip()}" if brand.name.strip() else "for the brand"
        parts.append(f"An advert {owner}: props, set and light graded in its colors, {palette(brand)}.")
    if scene.on_screen_text:
        parts.append(
            f'The headline "{scene.on_screen_text.strip()}" is added afterwards: leave calm space'
            " at the top of the frame and show no text, letters or logos."
        )
    else:
        parts.append("Show no text, letters or logos.")
    return " ".join(parts)


def music_prompt(music: MusicSettings | None) -> str:
    """The text-to-music prompt: the mood's sound and the tempo (the mood's own when none is set)."""
    settings = music or MusicSettings()
    style = MOOD_STYLES.get(settings.mood, MOOD_STYLES["upbeat"])
    bpm = settings.tempo_bpm or DEFAULT_TEMPO_BPM.get(settings.mood, DEFAULT_TEMPO_BPM["upbeat"])
    return f"{style}, {bpm} bpm, instrumental background music for a product advert, no vocals"
