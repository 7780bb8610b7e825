"""The voices a project can choose for its voiceover, and the script languages they speak.

A static catalog shared by accounts (which validates a project's choice on write), the gateway
(GET /api/voices) and jobs (which speaks with them): every id here must be one the worker's TTS
engine can speak (a test checks that each one synthesizes). `engine_voice` is the engine's own name.
"""

from __future__ import annotations

import hashlib
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

# What each voice says in its sample, by the language's primary subtag.
SAMPLE_TEXT = {
    "en": "Hi! This is how your ad will sound. Fresh, simple, and ready when you are.",
    "es": "¡Hola! Así sonará tu anuncio. Fresco, sencillo y listo cuando tú lo estés.",
    "fr": "Bonjour ! Voici la voix de votre publicité. Simple, fraîche, et prête quand vous l'êtes.",
    "de": "Hallo! So klingt Ihre Werbung. Frisch, einfach und bereit, wenn Sie es sind.",
    "pt": "Olá! É assim que o seu anúncio vai soar. Simples, novo e pronto quando você estiver.",
}
# Raise when the voices' sound changes without their catalog entry changing (the engine's pitch
# or pace settings, say): every sample then gets a new name and is rendered again.
SAMPLE_REVISION = 1


def sample_text(voice_id: str) -> str:
    return SAMPLE_TEXT[VOICES[voice_id].language.split("-")[0].lower()]


def sample_name(voice_id: str) -> str:
    """The file name of the voice's sample (MP3): it changes with everything that changes its sound,
    so a stored sample is never stale, and a worker renders the ones missing."""
    v = VOICES[voice_id]
    digest = hashlib.sha256(
        f"{SAMPLE_REVISION}|{v.engine}|{v.engine_voice}|{sample_text(voice_id)}".encode()
    ).hexdigest()[:12]
    return f"{v.id}-{digest}.mp3"
