"""Text to speech with eSpeak NG: libespeak-ng and its voice data from the espeakng-loader wheel,
driven through ctypes in synchronous mode (samples arrive through a callback, no audio device).

The library keeps global state and is not thread-safe, so every call holds one lock. A forked
process (an RQ work horse) initializes its own copy before first use.
"""

from __future__ import annotations

import ctypes
import os
import threading
import unicodedata
from dataclasses import dataclass

import espeakng_loader
import numpy as np

from services.jobs.media_types import InputError, PermanentProviderError

VOICE = "en-us"
RATE_WPM = 165  # eSpeak's default is 175; a little slower reads better in an ad
MIN_RATE_WPM, MAX_RATE_WPM = 80, 450  # what eSpeak accepts
MAX_TEXT_CHARS = 5000
SEED = 1  # eSpeak varies some details at random; a fixed seed gives the same audio every time
SILENCE_THRESHOLD = 0.01  # leading and trailing samples below this are trimmed

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_RATE = 1
_BUFFER_MS = 200
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


@dataclass(frozen=True)
class Speech:
    samples: np.ndarray  # float32, mono, -1..1, silence trimmed at both ends
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


class _Engine:
    def __init__(self) -> None:
        self.pid = os.getpid()
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        lib.espeak_ng_SetRandSeed.restype = None
        data = espeakng_loader.get_data_path().encode()
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, _BUFFER_MS, data, _INITIALIZE_DONT_EXIT)
        if rate <= 0:
            raise PermanentProviderError("eSpeak NG failed to initialize (its voice data may be missing)")
        self.lib = lib
        self.sample_rate = rate
        self.chunks: list[np.ndarray] = []
        # Kept referenced: the library calls it for as long as the process lives.
        self.callback = _CALLBACK(self._collect)
        lib.espeak_SetSynthCallback(self.callback)

    def _collect(self, wav, count: int, _events) -> int:
        if wav and count > 0:
            self.chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 0  # 0: go on

    def speak(self, text: str, voice: str, rate_wpm: int) -> np.ndarray:
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise PermanentProviderError(f"eSpeak NG has no voice named {voice!r}")
        self.lib.espeak_SetParameter(_RATE, rate_wpm, 0)
        self.lib.espeak_ng_SetRandSeed(SEED)
        data = text.encode("utf-8") + b"\0"
        self.chunks = []
        status = self.lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if status != 0:
            raise PermanentProviderError(f"eSpeak NG could not speak the text (status {status})")
        if not self.chunks:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(self.chunks)


_lock = threading.Lock()
_engine: _Engine | None = None


def synthesize(text: str, *, voice: str = VOICE, rate_wpm: int = RATE_WPM) -> Speech:
    """`text` spoken by eSpeak NG (plain text: nothing in it is read as markup)."""
    global _engine
    clean = _clean(text)
    rate_wpm = max(MIN_RATE_WPM, min(MAX_RATE_WPM, int(rate_wpm)))
    with _lock:
        if _engine is None or _engine.pid != os.getpid():
            _engine = _Engine()
        raw = _engine.speak(clean, voice, rate_wpm) if clean else np.zeros(0, dtype=np.int16)
        rate = _engine.sample_rate
    return Speech(_trim(raw.astype(np.float32) / 32768.0), rate)


def sample_rate() -> int:
    global _engine
    with _lock:
        if _engine is None or _engine.pid != os.getpid():
            _engine = _Engine()
        return _engine.sample_rate


def _clean(text: str) -> str:
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(f"voiceover text is {len(text)} characters, at most {MAX_TEXT_CHARS}")
    # Control characters can switch eSpeak's input modes; spoken text needs none of them.
    kept = "".join(" " if unicodedata.category(c).startswith("C") else c for c in text)
    return " ".join(kept.split())


def _trim(samples: np.ndarray) -> np.ndarray:
    loud = np.flatnonzero(np.abs(samples) > SILENCE_THRESHOLD)
    if loud.size == 0:
        return samples[:0]
    return samples[loud[0] : loud[-1] + 1]
