"""The replicate provider's pure parts: product images shrunk into data URIs, the prompts (the
brand kit in words, the music's mood) and our voice catalog mapped onto each voice model's inputs.
Against a server speaking Replicate's API: tests/integration/test_replicate.py."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from services.common.music import MOODS
from services.common.voices import VOICES
from services.jobs.generation import design
from services.jobs.media_types import BrandKit, MusicSettings, PermanentProviderError, Scene, VoiceSettings
from services.jobs.providers.replicate.inputs import MINIMAX_LANGUAGES, MINIMAX_VOICES, VOICE_INPUTS
from services.jobs.providers.replicate.media import DATA_URI_MAX_BYTES, image_data_uri
from services.jobs.providers.replicate.prompts import (
    MOOD_STYLES,
    ROLE_STYLES,
    color_name,
    music_prompt,
    palette,
    scene_prompt,
)


def test_large_product_image_is_shrunk_into_a_data_uri(tmp_path):
    path = tmp_path / "huge.png"
    rng = np.random.default_rng(7)
    Image.fromarray(rng.integers(0, 255, (1600, 1600, 3), dtype=np.uint8)).save(path)
    assert path.stat().st_size > DATA_URI_MAX_BYTES
    uri = image_data_uri(path)
    assert uri.startswith("data:image/jpeg;base64,") and len(uri) * 3 / 4 < DATA_URI_MAX_BYTES * 1.01


# --- what the models are sent: prompts and voices ----------------------------------------------------


@pytest.mark.parametrize(
    ("hex_color", "name"),
    [
        ("#D62828", "red"),
        ("#F77F00", "orange"),
        ("#003049", "deep blue"),
        ("#2A9D8F", "teal"),
        ("#B8F2C0", "light green"),
        ("#6A0DAD", "purple"),
        ("#FF69B4", "pink"),
        ("#5C3A1E", "brown"),
        ("#FFFFFF", "white"),
        ("#050505", "near-black"),
        ("#808080", "grey"),
        ("#F2E94E", "yellow"),
    ],
)
def test_colors_are_named_in_words(hex_color, name):
    assert color_name(hex_color) == name


def test_the_palette_names_each_brand_color_in_words_and_hex():
    brand = BrandKit(colors={"primary": "#d62828", "background": "#ffffff"}, font="Inter")
    assert palette(brand) == "primary red (#D62828), background white (#FFFFFF)"


def test_every_role_and_mood_has_words():
    assert set(ROLE_STYLES) == set(design.ROLES)
    assert set(MOOD_STYLES) == set(MOODS)


def test_a_scene_prompt_without_a_brand_or_headline():
    prompt = scene_prompt(Scene(n=2, description="A mug. ", duration_s=2, role="benefit"))
    assert prompt.startswith("A mug. Style: a lifestyle shot") and "brand" not in prompt
    assert prompt.endswith("Show no text, letters or logos.")


def test_the_music_prompt_is_the_mood_at_its_tempo():
    assert music_prompt(MusicSettings("dramatic", 140)).startswith("dramatic cinematic score, deep strings")
    assert "140 bpm" in music_prompt(MusicSettings("dramatic", 140))
    assert "90 bpm" in music_prompt(MusicSettings("dramatic"))  # the mood's own tempo
    assert music_prompt(None).startswith("upbeat") and "120 bpm" in music_prompt(None)


@pytest.mark.parametrize("voice_id", sorted(VOICES))
def test_every_catalog_voice_maps_onto_a_minimax_voice_and_language(voice_id):
    voice = VOICES[voice_id]
    sent = VOICE_INPUTS["minimax/speech-02-turbo"]("Hi.", VoiceSettings(voice_id, voice.language, 1.0))
    assert sent["voice_id"] == MINIMAX_VOICES[voice.gender]
    assert sent["language_boost"] == MINIMAX_LANGUAGES[voice.language.split("-")[0]]
    assert sent["speed"] == 1.0 and sent["text"] == "Hi."


def test_the_pace_is_the_speed_within_our_range():
    minimax = VOICE_INPUTS["minimax/speech-02-hd"]
    assert minimax("x", VoiceSettings("en-us-m1", "en-US", 1.25))["speed"] == 1.25
    assert minimax("x", VoiceSettings("en-us-m1", "en-US", 3.0))["speed"] == 1.4
    # No voice chosen: the catalog's default, as before voices existed.
    assert minimax("x", None) == {
        "text": "x",
        "voice_id": "Friendly_Person",
        "speed": 1.0,
        "language_boost": "English",
    }


def test_kokoro_speaks_english_voices_and_refuses_other_languages():
    kokoro = VOICE_INPUTS["jaaari/kokoro-82m"]
    assert kokoro("x", VoiceSettings("en-gb-m1", "en-GB", 0.8)) == {
        "text": "x",
        "voice": "bm_george",
        "speed": 0.8,
    }
    assert kokoro("x", None)["voice"] == "af_bella"
    with pytest.raises(PermanentProviderError, match="English only, not es"):
        kokoro("x", VoiceSettings("es-f1", "es", 1.0))
