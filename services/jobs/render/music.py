"""Background music synthesized with numpy: a I-V-vi-IV progression in C major at 96 bpm, one chord
a bar, as a soft detuned pad with a plucked arpeggio and a round bass, faded in and out.

Deterministic (no randomness): the same length gives the same samples. Built one bar at a time into
one float32 buffer (about 350 KB a second). Levels leave room for the voice: the peak is MUSIC_PEAK.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

SAMPLE_RATE = 44100
BPM = 96
BEATS_PER_BAR = 4
MUSIC_PEAK = 0.5  # about -6 dBFS
FADE_IN_S = 0.6
FADE_OUT_S = 2.0
# (bass note, pad notes) as MIDI numbers; close voicings so the pad moves smoothly.
PROGRESSION = (
    (36, (60, 64, 67, 72)),  # C
    (43, (59, 62, 67, 71)),  # G
    (45, (57, 60, 64, 69)),  # Am
    (41, (57, 60, 65, 69)),  # F
)
PAD_DETUNE_CENTS = 6.0
PAD_HARMONICS = (1.0, 0.35, 0.12)  # a soft, rounded tone
PAD_ATTACK_S, PAD_RELEASE_S = 0.5, 0.8
PLUCK_DECAY_S = 0.35
BASS_DECAY_S = 0.9
LEVELS = {"pad": 0.16, "pluck": 0.11, "bass": 0.3}


def synthesize(duration_s: float, checkpoint: Callable[[], None] = lambda: None) -> np.ndarray:
    """Stereo float32 samples, shape (n, 2), n = round(duration_s * SAMPLE_RATE)."""
    total = round(duration_s * SAMPLE_RATE)
    beat = 60.0 / BPM
    bar = beat * BEATS_PER_BAR
    tail = max(PAD_RELEASE_S, BASS_DECAY_S, PLUCK_DECAY_S * 5)
    out = np.zeros((total + round(tail * SAMPLE_RATE) + 1, 2), dtype=np.float32)
    bars = int(np.ceil(duration_s / bar))
    for index in range(bars):
        checkpoint()
        bass, pad = PROGRESSION[index % len(PROGRESSION)]
        start = round(index * bar * SAMPLE_RATE)
        _add(out, start, _pad(pad, bar) * LEVELS["pad"])
        for beat_index in (0, 2):
            _add(out, start + round(beat_index * beat * SAMPLE_RATE), _bass(bass) * LEVELS["bass"])
        arpeggio = [note + 12 for note in (*pad, pad[2], pad[1])]  # up and back, an octave higher
        for step in range(BEATS_PER_BAR * 2):
            pan = 0.35 if step % 2 else -0.35
            at = start + round(step * beat / 2 * SAMPLE_RATE)
            _add(out, at, _pluck(arpeggio[step % len(arpeggio)], pan) * LEVELS["pluck"])
    out = out[:total]
    _fade(out, duration_s)
    peak = float(np.max(np.abs(out))) if total else 0.0
    if peak > 0:
        out *= MUSIC_PEAK / peak
    return out


def _hz(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def _time(seconds: float) -> np.ndarray:
    return np.arange(round(seconds * SAMPLE_RATE), dtype=np.float32) / SAMPLE_RATE


def _tone(frequency: float, t: np.ndarray, harmonics=PAD_HARMONICS) -> np.ndarray:
    wave = np.zeros_like(t)
    for k, amplitude in enumerate(harmonics, start=1):
        wave += amplitude * np.sin(2 * np.pi * frequency * k * t)
    return wave


def _pad(notes: tuple[int, ...], bar_s: float) -> np.ndarray:
    t = _time(bar_s + PAD_RELEASE_S)
    cents = 2 ** (PAD_DETUNE_CENTS / 1200)
    left = sum(_tone(_hz(n) * cents, t) + _tone(_hz(n) / cents, t + 0.01) for n in notes)
    right = sum(_tone(_hz(n) / cents, t) + _tone(_hz(n) * cents, t + 0.013) for n in notes)
    envelope = np.minimum(1.0, t / PAD_ATTACK_S)
    release = t > bar_s
    envelope[release] *= np.cos((t[release] - bar_s) / PAD_RELEASE_S * np.pi / 2) ** 2
    stereo = np.stack([left, right], axis=1) / (2 * len(notes))
    return stereo * envelope[:, None]


def _bass(note: int) -> np.ndarray:
    t = _time(BASS_DECAY_S * 2)
    wave = _tone(_hz(note), t, (1.0, 0.25)) * np.exp(-t / BASS_DECAY_S) * np.minimum(1.0, t / 0.01)
    return np.stack([wave, wave], axis=1)


def _pluck(note: int, pan: float) -> np.ndarray:
    t = _time(PLUCK_DECAY_S * 5)
    wave = _tone(_hz(note), t, (1.0, 0.3, 0.1)) * np.exp(-t / PLUCK_DECAY_S) * np.minimum(1.0, t / 0.005)
    return np.stack([wave * (1 - pan), wave * (1 + pan)], axis=1) / 1.35


def _add(out: np.ndarray, start: int, sound: np.ndarray) -> None:
    end = min(len(out), start + len(sound))
    if end > start:
        out[start:end] += sound[: end - start]


def _fade(out: np.ndarray, duration_s: float) -> None:
    n = len(out)
    fade_in = min(n, round(min(FADE_IN_S, duration_s / 4) * SAMPLE_RATE))
    fade_out = min(n, round(min(FADE_OUT_S, duration_s / 4) * SAMPLE_RATE))
    if fade_in:
        out[:fade_in] *= np.linspace(0.0, 1.0, fade_in, dtype=np.float32)[:, None]
    if fade_out:
        out[n - fade_out :] *= np.linspace(1.0, 0.0, fade_out, dtype=np.float32)[:, None]
