"""What each Replicate model is sent: one table per step, keyed by "owner/name".

Swapping a model is a configuration change (REPLICATE_*_MODEL) plus, for a model not listed here,
one entry in the table of its step. Each entry turns our request into that model's input, as its
API page on replicate.com documents it. Outputs need no mapping: they are fitted to the provider
contract (duration, size, format) afterwards, whatever the model returned.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from services.common.voices import DEFAULT_VOICE, MAX_SPEAKING_RATE, MIN_SPEAKING_RATE, VOICES, Voice
from services.jobs.media_types import InputError, PermanentProviderError, Size, VoiceSettings
from services.jobs.providers.replicate.client import ModelRef


@dataclass(frozen=True)
class VideoRequest:
    prompt: str
    image: str | None  # the first product image as a data: URI
    size: Size
    duration_s: float
    lora: str | None  # URL of LoRA weights (a training's output)


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def _wan_i2v(landscape_area: str, portrait_area: str) -> Callable[[VideoRequest], dict]:
    """Wan 2.1 image-to-video (wavespeedai/wan-2.1-i2v-*): 81-100 frames at 5-24 fps, so the
    length is chosen through fps; `lora_weights` takes a LoRA URL (HuggingFace, CivitAI, direct
    .safetensors, or a Replicate training's weights)."""

    def build(request: VideoRequest) -> dict:
        if not request.image:
            raise InputError("this video model animates a product image; the scene has none")
        fps = _clamp(math.floor(100 / request.duration_s), 5, 24)
        frames = _clamp(math.ceil(request.duration_s * fps), 81, 100)
        portrait = request.size.height > request.size.width
        model_input = {
            "prompt": request.prompt,
            "image": request.image,
            "num_frames": frames,
            "frames_per_second": fps,
            "max_area": portrait_area if portrait else landscape_area,
        }
        if request.lora:
            model_input["lora_weights"] = request.lora
            model_input["lora_scale"] = 1.0
        return model_input

    return build


def _kling_v21(request: VideoRequest) -> dict:
    """Kling v2.1 (kwaivgi/kling-v2.1): 5 or 10 s from a start image; no LoRA."""
    if request.lora:
        raise PermanentProviderError("kwaivgi/kling-v2.1 takes no LoRA; use a Wan model for LoRA scenes")
    if not request.image:
        raise InputError("this video model animates a product image; the scene has none")
    return {
        "prompt": request.prompt,
        "start_image": request.image,
        "duration": 5 if request.duration_s <= 7.5 else 10,
        "mode": "standard",
        "negative_prompt": "text, captions, watermark, logo distortion",
    }


VIDEO_INPUTS: dict[str, Callable[[VideoRequest], dict]] = {
    "wavespeedai/wan-2.1-i2v-480p": _wan_i2v("832x480", "480x832"),
    "wavespeedai/wan-2.1-i2v-720p": _wan_i2v("1280x720", "720x1280"),
    "kwaivgi/kling-v2.1": _kling_v21,
}

# Our voice catalog (services.common.voices) onto each voice model's own voices: by the voice's
# gender, and for models whose voices each speak one language, by its language too. The pace is
# passed as the model's speed (both take a multiple of the normal pace, as ours does).
MINIMAX_VOICES = {"female": "Friendly_Person", "male": "Casual_Guy", "neutral": "Friendly_Person"}
# MiniMax speaks any of its languages in any voice; language_boost names the script's language.
MINIMAX_LANGUAGES = {"en": "English", "es": "Spanish", "fr": "French", "de": "German", "pt": "Portuguese"}
# Kokoro's voices on Replicate speak American or British English only.
KOKORO_VOICES = {
    ("en-US", "female"): "af_bella",
    ("en-US", "male"): "am_adam",
    ("en-GB", "female"): "bf_emma",
    ("en-GB", "male"): "bm_george",
}


def _catalog_voice(voice: VoiceSettings | None) -> Voice:
    return VOICES.get(voice.voice if voice else DEFAULT_VOICE, VOICES[DEFAULT_VOICE])


def _rate(voice: VoiceSettings | None) -> float:
    rate = voice.rate if voice else 1.0
    return round(max(MIN_SPEAKING_RATE, min(MAX_SPEAKING_RATE, rate)), 2)


def _minimax(text: str, voice: VoiceSettings | None) -> dict:
    """MiniMax speech-02 (minimax/speech-02-turbo, -hd): voice_id, speed 0.5-2, language_boost."""
    chosen = _catalog_voice(voice)
    language = (voice.language if voice else chosen.language).split("-")[0].lower()
    model_input: dict = {
        "text": text,
        "voice_id": MINIMAX_VOICES.get(chosen.gender, MINIMAX_VOICES["female"]),
        "speed": _rate(voice),
    }
    if language in MINIMAX_LANGUAGES:
        model_input["language_boost"] = MINIMAX_LANGUAGES[language]
    return model_input


def _kokoro(text: str, voice: VoiceSettings | None) -> dict:
    """Kokoro 82M (jaaari/kokoro-82m): voice (English voices), speed."""
    chosen = _catalog_voice(voice)
    language = voice.language if voice else chosen.language
    engine_voice = KOKORO_VOICES.get((language, chosen.gender)) or KOKORO_VOICES.get((language, "female"))
    if engine_voice is None:
        raise PermanentProviderError(
            f"jaaari/kokoro-82m speaks English only, not {language}: choose an English voice or a"
            " minimax speech model (REPLICATE_VOICE_MODEL)"
        )
    return {"text": text, "voice": engine_voice, "speed": _rate(voice)}


# (text, the project's voice or None for the default) -> input
VOICE_INPUTS: dict[str, Callable[[str, VoiceSettings | None], dict]] = {
    "minimax/speech-02-turbo": _minimax,
    "minimax/speech-02-hd": _minimax,
    "jaaari/kokoro-82m": _kokoro,
}

# (prompt, seconds) -> input. MusicGen makes at most 30 s well; longer ads loop the bed.
MUSIC_INPUTS: dict[str, Callable[[str, float], dict]] = {
    "meta/musicgen": lambda prompt, seconds: {
        "prompt": prompt,
        "duration": _clamp(math.ceil(seconds), 1, 30),
        "model_version": "stereo-large",
        "output_format": "wav",
        "normalization_strategy": "loudness",
    },
}

Builder = TypeVar("Builder")


def builder_for(table: dict[str, Builder], step: str, ref: ModelRef) -> Builder:
    try:
        return table[ref.model]
    except KeyError:
        raise PermanentProviderError(
            f"no {step} input mapping for Replicate model {ref.model}: add one to "
            f"services/jobs/providers/replicate/inputs.py (known: {', '.join(sorted(table))})"
        ) from None
