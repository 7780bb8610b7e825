"""The voices a project can choose for its voiceover, and the script languages they speak.

A static catalog shared by accounts (which validates a project's choice on write), the gateway
(GET /api/voices) and jobs (which speaks with them): every id here must be one the worker's TTS
engine can speak (a test checks that each one synthesizes). `engine_voice` is the engine's own name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Voice:
    id: str  # what a project stores and the API lists
    name: str  # a human name for a picker
    language: str  # BCP 47 tag of the language it speaks
    gender: str  # female, male or neutral, as the engine describes it
    engine: str  # which TTS engine speaks it
    engine_voice: str  # the engine's own voice name


VOICES = {
    v.id: v
    for v in (
        Voice("en-us-f1", "Ava (US)", "en-US", "female", "espeak-ng", "en-us+f3"),
        Voice("en-us-m1", "Ethan (US)", "en-US", "male", "espeak-ng", "en-us+m3"),
        Voice("en-gb-f1", "Olivia (UK)", "en-GB", "female", "espeak-ng", "en-gb-x-rp+f2"),
        Voice("en-gb-m1", "Oliver (UK)", "en-GB", "male", "espeak-ng", "en-gb-x-rp+m1"),
        Voice("es-f1", "Lucía", "es", "female", "espeak-ng", "es+f3"),
        Voice("fr-f1", "Camille", "fr", "female", "espeak-ng", "fr+f3"),
        Voice("de-m1", "Lukas", "de", "male", "espeak-ng", "de+m3"),
        Voice("pt-br-f1", "Beatriz", "pt-BR", "female", "espeak-ng", "pt-br+f3"),
    )
}
DEFAULT_VOICE = "en-us-f1"
LANGUAGES = sorted({v.language for v in VOICES.values()})
MIN_SPEAKING_RATE, MAX_SPEAKING_RATE = 0.7, 1.4  # times the voice's normal pace
