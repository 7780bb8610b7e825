"""A project's voice and music: checked against the shared catalogs when written, and read with
the defaults filled in.

A column left NULL means "the default", resolved when read: the project follows a changed default,
and a language nobody chose follows the voice.
"""

from __future__ import annotations

import math

from services.accounts.models import AdProject, Brand
from services.common.errors import InvalidArgument
from services.common.music import DEFAULT_MOOD, MAX_TEMPO_BPM, MIN_TEMPO_BPM, MOODS
from services.common.voices import DEFAULT_VOICE, LANGUAGES, MAX_SPEAKING_RATE, MIN_SPEAKING_RATE, VOICES

FIELDS = ("voice", "language", "speaking_rate", "music_mood", "music_tempo_bpm", "music_track_key")
DEFAULT_SPEAKING_RATE = 1.0


def apply(project: AdProject, changes: dict, brand: Brand) -> None:
    """Set the fields in `changes` (a subset of FIELDS); an empty value ("" or 0) goes back to the
    default. InvalidArgument names the field (settings.voice, ...)."""
    for field, value in changes.items():
        setattr(project, field, _checked(field, value, brand) if value else None)


def effective(project: AdProject) -> dict:
    """Every field of FIELDS, the project's choice or the default (music_tempo_bpm and
    music_track_key may be None: the mood's own tempo, generated music)."""
    # A choice the catalog no longer holds (a voice retired since) reads as the default, rather
    # than fail every read of the project.
    voice = project.voice if project.voice in VOICES else DEFAULT_VOICE
    return {
        "voice": voice,
        "language": project.language if project.language in LANGUAGES else VOICES[voice].language,
        "speaking_rate": project.speaking_rate or DEFAULT_SPEAKING_RATE,
        "music_mood": project.music_mood if project.music_mood in MOODS else DEFAULT_MOOD,
        "music_tempo_bpm": project.music_tempo_bpm,
        "music_track_key": project.music_track_key,
    }


def _checked(field: str, value: str | float | int, brand: Brand) -> str | float | int:
    if field == "voice":
        return _one_of(field, value, VOICES, "GET /api/voices")
    if field == "language":
        return _one_of(field, value, LANGUAGES, "the languages of GET /api/voices")
    if field == "speaking_rate":
        if not (isinstance(value, float | int) and math.isfinite(value)) or not (
            MIN_SPEAKING_RATE <= value <= MAX_SPEAKING_RATE
        ):
            raise InvalidArgument(
                f"settings.speaking_rate: must be from {MIN_SPEAKING_RATE} to {MAX_SPEAKING_RATE}"
            )
        return float(value)
    if field == "music_mood":
        return _one_of(field, value, MOODS, None)
    if field == "music_tempo_bpm":
        if not (isinstance(value, int) and MIN_TEMPO_BPM <= value <= MAX_TEMPO_BPM):
            raise InvalidArgument(
                f"settings.music_tempo_bpm: must be from {MIN_TEMPO_BPM} to {MAX_TEMPO_BPM}"
            )
        return value
    if field == "music_track_key":
        if value not in {f["key"] for f in brand.audio_files}:
            raise InvalidArgument(
                "settings.music_track_key: must be the key of one of the brand's audio files "
                "(upload one with kind=audio)"
            )
        return value
    raise InvalidArgument(f"settings.{field}: not a project setting")


def _one_of(field: str, value: object, allowed, listed_by: str | None) -> str:
    if not isinstance(value, str) or value not in allowed:
        where = f" ({listed_by})" if listed_by else ""
        shown = value if isinstance(value, str) and len(value) <= 60 else "this value"
        raise InvalidArgument(f"settings.{field}: must be one of {', '.join(allowed)}{where}, not {shown!r}")
    return value
