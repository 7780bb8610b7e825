"""Text to speech with eSpeak NG: libespeak-ng and its voice data from the espeakng-loader wheel,
driven through ctypes in synchronous mode (samples arrive through a callback, no audio device).

Besides the samples, the callback receives eSpeak's own events: a word event per spoken word, with
its character position in the text and its audio position. Those are the word timings the captions
follow, exact to the sample the word starts at, with no alignment step afterwards.

Each line is spoken by an engine that has spoken nothing before: eSpeak NG carries state from one
utterance to the next (measured: the same line a few ms longer or shorter after another line, even
after re-initializing it), so a line spoken after others would depend on them. `synthesize` runs
each call in a process of its own, forked from a server process that never speaks
(multiprocessing's forkserver, started once per process that asks): a line's audio then depends on
its text, voice and rate alone, and a scene made again with new words leaves every other line of
the voiceover as it was, sample for sample. It costs a fork and an engine start per line (a few
ms), and the server's start once per work horse.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import multiprocessing.context
import os
import threading
import unicodedata
from dataclasses import dataclass

import espeakng_loader
import numpy as np

from services.jobs.media_types import InputError, PermanentProviderError, SpokenWord

VOICE = "en-us"
RATE_WPM = 165  # eSpeak's default is 175; a little slower reads better in an ad
MIN_RATE_WPM, MAX_RATE_WPM = 80, 450  # what eSpeak accepts
MAX_TEXT_CHARS = 5000
SEED = 1  # eSpeak varies some details at random; a fixed seed makes a fresh engine's line repeatable
SILENCE_THRESHOLD = 0.01  # leading and trailing samples below this are trimmed
# A little livelier than eSpeak's flat defaults (pitch 50, range 50): ad reads rise and fall more.
PITCH, PITCH_RANGE = 52, 72
# Pause after each word in units of 10 ms at normal speed: 0, phrases run on as in speech.
WORD_GAP = 0

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_RATE, _PITCH, _RANGE, _WORDGAP = 1, 3, 4, 7
_BUFFER_MS = 200
_EVENT_LIST_TERMINATED, _EVENT_WORD = 0, 1


class _Event(ctypes.Structure):
    """espeak_EVENT from speak_lib.h (the id union is as wide as a pointer)."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # 1-based, in characters
        ("length", ctypes.c_int),  # in characters
        ("audio_position", ctypes.c_int),  # ms
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_void_p),
    ]


_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass(frozen=True)
class Speech:
    samples: np.ndarray  # float32, mono, -1..1, silence trimmed at both ends
    sample_rate: int
    words: tuple[SpokenWord, ...] = ()  # in the samples' time, in spoken order

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
        self.word_events: list[tuple[int, int, int]] = []  # (sample, text_position, length)
        self.samples_so_far = 0
        # Kept referenced: the library calls it for as long as the process lives.
        self.callback = _CALLBACK(self._collect)
        lib.espeak_SetSynthCallback(self.callback)

    def _collect(self, wav, count: int, events) -> int:
        # Events in this call belong to the audio of this call, so count samples before adding it.
        i = 0
        while events and events[i].type != _EVENT_LIST_TERMINATED:
            event = events[i]
            if event.type == _EVENT_WORD:
                at = round(event.audio_position * self.sample_rate / 1000)
                self.word_events.append((at, event.text_position, event.length))
            i += 1
        if wav and count > 0:
            self.chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
            self.samples_so_far += count
        return 0  # 0: go on

    def speak(self, text: str, voice: str, rate_wpm: int) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise PermanentProviderError(f"eSpeak NG has no voice named {voice!r}")
        self.lib.espeak_SetParameter(_RATE, rate_wpm, 0)
        self.lib.espeak_SetParameter(_PITCH, PITCH, 0)
        self.lib.espeak_SetParameter(_RANGE, PITCH_RANGE, 0)
        self.lib.espeak_SetParameter(_WORDGAP, WORD_GAP, 0)
        self.lib.espeak_ng_SetRandSeed(SEED)
        data = text.encode("utf-8") + b"\0"
        self.chunks, self.word_events, self.samples_so_far = [], [], 0
        status = self.lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if status != 0:
            raise PermanentProviderError(f"eSpeak NG could not speak the text (status {status})")
        if not self.chunks:
            return np.zeros(0, dtype=np.int16), []
        return np.concatenate(self.chunks), list(self.word_events)


_lock = threading.Lock()
_engine: _Engine | None = None


def synthesize(text: str, *, voice: str = VOICE, rate_wpm: int = RATE_WPM) -> Speech:
    """`text` spoken by eSpeak NG (plain text: nothing in it is read as markup), with the time of
    each spoken word; by a fresh engine in a process of its own (see the module's docstring)."""
    receive, send = _fresh_engines().Pipe(duplex=False)
    child = _fresh_engines().Process(
        target=_synthesize_into, args=(send, text, voice, rate_wpm), name="espeak-line", daemon=True
    )
    child.start()
    send.close()
    try:
        outcome, value = receive.recv()
    except EOFError:
        child.join()
        raise PermanentProviderError(
            f"eSpeak NG stopped while speaking (exit code {child.exitcode})"
        ) from None
    finally:
        receive.close()
    child.join()
    if outcome == "error":
        raise value
    return value


def _fresh_engines() -> multiprocessing.context.ForkServerContext:
    """The forkserver context: its children fork from a process that has never loaded eSpeak."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])  # each child starts with this module imported
    return context


def _synthesize_into(send, text: str, voice: str, rate_wpm: int) -> None:
    try:
        outcome: tuple[str, object] = ("ok", synthesize_here(text, voice=voice, rate_wpm=rate_wpm))
    except (InputError, PermanentProviderError) as exc:
        outcome = ("error", exc)
    except Exception as exc:  # noqa: BLE001 - whatever it was, the caller gets it as one sentence
        outcome = ("error", PermanentProviderError(f"eSpeak NG failed: {exc}"))
    send.send(outcome)
    send.close()


def synthesize_here(text: str, *, voice: str = VOICE, rate_wpm: int = RATE_WPM) -> Speech:
    """`synthesize` in this process's own engine: what each fresh process runs."""
    global _engine
    clean = _clean(text)
    rate_wpm = max(MIN_RATE_WPM, min(MAX_RATE_WPM, int(rate_wpm)))
    with _lock:
        if _engine is None or _engine.pid != os.getpid():
            _engine = _Engine()
        raw, events = _engine.speak(clean, voice, rate_wpm) if clean else (np.zeros(0, dtype=np.int16), [])
        rate = _engine.sample_rate
    samples = raw.astype(np.float32) / 32768.0
    first, last = _loud_span(samples)
    trimmed = samples[first:last]
    return Speech(trimmed, rate, _words(clean, events, first, len(trimmed), rate, samples))


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


def _loud_span(samples: np.ndarray) -> tuple[int, int]:
    loud = np.flatnonzero(np.abs(samples) > SILENCE_THRESHOLD)
    if loud.size == 0:
        return 0, 0
    return int(loud[0]), int(loud[-1]) + 1


def _words(
    text: str, events: list[tuple[int, int, int]], offset: int, length: int, rate: int, samples: np.ndarray
) -> tuple[SpokenWord, ...]:
    """Word events as SpokenWords in the trimmed samples' time. A word ends where the next one starts, or
    at the end of its own sound when a pause follows it (the audible end before the next word)."""
    # A word's text runs to the next word's position, so it keeps its punctuation and whatever
    # eSpeak read as part of it (the second half of "café-grade"): the captions show all the text.
    starts = sorted((position - 1, at) for at, position, _ in events if 0 < position <= len(text))
    spans: list[tuple[str, int]] = []
    for i, (position, at) in enumerate(starts):
        until = starts[i + 1][0] if i + 1 < len(starts) else len(text)
        word = text[position:until].strip()
        if word:
            spans.append((word, at))
    words = []
    for i, (word, at) in enumerate(spans):
        following = spans[i + 1][1] if i + 1 < len(spans) else offset + length
        end = _sound_end(samples, at, following)
        start_s = max(0.0, (at - offset) / rate)
        end_s = min(length, end - offset) / rate
        if end_s > start_s:
            words.append(SpokenWord(word, start_s, end_s))
    return tuple(words)


def _sound_end(samples: np.ndarray, start: int, stop: int) -> int:
    """Where the sound between start and stop ends: pauses after a word belong to no word."""
    loud = np.flatnonzero(np.abs(samples[start:stop]) > SILENCE_THRESHOLD * 3)
    return start + int(loud[-1]) + 1 if loud.size else stop
