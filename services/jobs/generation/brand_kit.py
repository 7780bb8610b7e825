"""The brand's look and the project's voice and music, as the plan's `brand`, `voice` and `music`
entries (docs/architecture.md, "The plan"): fixed when the generation starts, so a brand or project
changed meanwhile doesn't change a generation that is running.

Pure: from what accounts' GetGenerationInput returned to plain dicts. Each entry has every key,
defaults filled in; readers still default a missing entry, for plans written before these existed.
"""

from __future__ import annotations

import json

from services.common.brand_kit import DEFAULT_COLORS, DEFAULT_FONT, look_of
from services.common.music import DEFAULT_MOOD
from services.common.voices import DEFAULT_VOICE, VOICES
from zapcut.accounts.v1 import accounts_pb2

DEFAULT_RATE = 1.0


def default_brand() -> dict:
    return {"name": "", "colors": dict(DEFAULT_COLORS), "font": DEFAULT_FONT, "logo_key": None}


def default_voice() -> dict:
    return {"voice": DEFAULT_VOICE, "language": VOICES[DEFAULT_VOICE].language, "rate": DEFAULT_RATE}


def default_music() -> dict:
    return {"mood": DEFAULT_MOOD, "tempo_bpm": None, "track_key": None}


def brand_entry(given: accounts_pb2.GenerationInput) -> dict:
    """{name, colors {primary, secondary, background}, font, logo_key}. Guidelines are checked when
    written; a brand written before that with a malformed field is INVALID_ARGUMENT naming it."""
    look = look_of(json.loads(given.brand_guidelines_json or "{}"))
    return {
        "name": given.brand_title,
        "colors": look.colors,
        "font": look.font,
        "logo_key": given.logo.key if given.HasField("logo") and given.logo.key else None,
    }


def voice_entry(given: accounts_pb2.GenerationInput) -> dict:
    """{voice, language, rate}: accounts sends the project's settings with defaults filled in; an
    accounts that predates them sends none, which means the defaults here."""
    settings = given.project.settings
    voice = settings.voice if settings.voice in VOICES else DEFAULT_VOICE
    return {
        "voice": voice,
        "language": settings.language or VOICES[voice].language,
        "rate": settings.speaking_rate or DEFAULT_RATE,
    }


def music_entry(given: accounts_pb2.GenerationInput) -> dict:
    """{mood, tempo_bpm (None: the mood's own), track_key (None: generated music)}."""
    settings = given.project.settings
    track = given.music_track.key if given.HasField("music_track") and given.music_track.key else None
    return {
        "mood": settings.music_mood or DEFAULT_MOOD,
        "tempo_bpm": settings.music_tempo_bpm or None,
        "track_key": track,
    }
