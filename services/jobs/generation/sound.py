"""The sound settings of a generation, read from its plan: the voice (plan["voice"]) and the music
(plan["music"]), written at the start from the project's settings.

Plans written before these keys existed, or with a voice the catalog no longer has, render with the
defaults: the catalog's default voice at its normal pace, upbeat music.
"""

from __future__ import annotations

from services.common.voices import DEFAULT_VOICE, MAX_SPEAKING_RATE, MIN_SPEAKING_RATE, VOICES
from services.jobs.media_types import MusicSettings, VoiceSettings
from services.jobs.render import music


def voice_of(plan: dict) -> VoiceSettings:
    chosen = plan.get("voice") or {}
    voice_id = chosen.get("voice")
    language = chosen.get("language")
    if voice_id not in VOICES:
        # A language without a voice: the first voice that speaks it, else the default.
        voice_id = next((v.id for v in VOICES.values() if v.language == language), DEFAULT_VOICE)
    try:
        rate = float(chosen.get("rate") or 1.0)
    except (TypeError, ValueError):
        rate = 1.0
    rate = max(MIN_SPEAKING_RATE, min(MAX_SPEAKING_RATE, rate))
    return VoiceSettings(voice=voice_id, language=VOICES[voice_id].language, rate=rate)


def music_of(plan: dict) -> MusicSettings:
    chosen = plan.get("music") or {}
    mood = str(chosen["mood"]) if chosen.get("mood") in music.MOODS else music.DEFAULT_MOOD
    tempo = chosen.get("tempo_bpm")
    if not isinstance(tempo, int) or isinstance(tempo, bool):
        tempo = None
    else:
        tempo = max(music.MIN_BPM, min(music.MAX_BPM, tempo))
    return MusicSettings(mood=mood, tempo_bpm=tempo)


def track_key(plan: dict) -> str | None:
    """The brand's own music file to use instead of generated music, if the project chose one."""
    return (plan.get("music") or {}).get("track_key") or None
