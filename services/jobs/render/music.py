"""Background music synthesized with numpy, in one of a few moods: each its own chord progression,
tempo and instrumentation (a soft detuned pad, a plucked arpeggio, a round bass, a kick and a hat),
one chord a bar, faded in and out.

Deterministic (the hat's noise has a fixed seed): the same mood, tempo and length give the same
samples. Built one bar at a time into one float32 buffer (about 350 KB a second). Levels leave room
for the voice: the peak is MUSIC_PEAK.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 44100
BEATS_PER_BAR = 4
MIN_BPM, MAX_BPM = 60, 160
MUSIC_PEAK = 0.5  # about -6 dBFS
FADE_IN_S = 0.6
FADE_OUT_S = 2.0
PAD_DETUNE_CENTS = 6.0
PAD_HARMONICS = (1.0, 0.35, 0.12)  # a soft, rounded tone
PAD_ATTACK_S, PAD_RELEASE_S = 0.5, 0.8
PLUCK_DECAY_S = 0.35
BASS_DECAY_S = 0.9
KICK_S, HAT_S = 0.35, 0.05
NOISE_SEED = 7


@dataclass(frozen=True)
class Mood:
    bpm: int  # when the project sets no tempo
    # (bass note, pad notes) as MIDI numbers; close voicings so the pad moves smoothly.
    progression: tuple[tuple[int, tuple[int, ...]], ...]
    levels: dict[str, float]  # pad, pluck, bass, kick, hat; 0 leaves the instrument out
    arpeggio_steps: int  # plucked notes a bar
    bass_beats: tuple[float, ...]  # where in the bar the bass plays, in beats
    kick_beats: tuple[float, ...] = ()
    hat_beats: tuple[float, ...] = ()


MOODS = {
    # I-V-vi-IV in C, bright eighth-note arpeggio, four-on-the-floor kick and off-beat hats.
    "upbeat": Mood(
        bpm=112,
        progression=(
            (36, (60, 64, 67, 72)),
            (43, (59, 62, 67, 71)),
            (45, (57, 60, 64, 69)),
            (41, (57, 60, 65, 69)),
        ),
        levels={"pad": 0.12, "pluck": 0.12, "bass": 0.3, "kick": 0.35, "hat": 0.05},
        arpeggio_steps=8,
        bass_beats=(0, 1.5, 2, 3.5),
        kick_beats=(0, 1, 2, 3),
        hat_beats=(0.5, 1.5, 2.5, 3.5),
    ),
    # Imaj7-vi7-IVmaj7-V in F: a slow pad with a sparse quarter-note arpeggio, no drums.
    "calm": Mood(
        bpm=76,
        progression=(
            (41, (57, 60, 64, 65)),
            (38, (57, 60, 62, 65)),
            (46, (57, 58, 62, 65)),
            (36, (55, 60, 64, 67)),
        ),
        levels={"pad": 0.2, "pluck": 0.08, "bass": 0.22, "kick": 0.0, "hat": 0.0},
        arpeggio_steps=4,
        bass_beats=(0,),
    ),
    # i-VI-III-VII in A minor: a driving eighth-note bass, a heavy pad and a kick on the bar's ends.
    "dramatic": Mood(
        bpm=88,
        progression=(
            (33, (57, 60, 64, 69)),
            (29, (57, 60, 65, 69)),
            (36, (55, 60, 64, 67)),
            (31, (55, 59, 62, 67)),
        ),
        levels={"pad": 0.22, "pluck": 0.05, "bass": 0.28, "kick": 0.45, "hat": 0.0},
        arpeggio_steps=4,
        bass_beats=(0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5),
        kick_beats=(0, 2.5),
    ),
}
DEFAULT_MOOD = "upbeat"


def synthesize(
    duration_s: float,
    checkpoint: Callable[[], None] = lambda: None,
    *,
    mood: str = DEFAULT_MOOD,
    tempo_bpm: int | None = None,
) -> np.ndarray:
    """Stereo float32 samples, shape (n, 2), n = round(duration_s * SAMPLE_RATE). An unknown mood
    plays the default one; the tempo is kept within MIN_BPM..MAX_BPM."""
    style = MOODS.get(mood, MOODS[DEFAULT_MOOD])
    bpm = max(MIN_BPM, min(MAX_BPM, int(tempo_bpm or style.bpm)))
    total = round(duration_s * SAMPLE_RATE)
    beat = 60.0 / bpm
    bar = beat * BEATS_PER_BAR
    tail = max(PAD_RELEASE_S, BASS_DECAY_S * 2, PLUCK_DECAY_S * 5)
    out = np.zeros((total + round(tail * SAMPLE_RATE) + 1, 2), dtype=np.float32)
    levels = style.levels
    hat_noise = np.random.default_rng(NOISE_SEED).uniform(-1.0, 1.0, round(HAT_S * SAMPLE_RATE))
    bass_length = min(BASS_DECAY_S * 2, beat * 2)
    bars = int(np.ceil(duration_s / bar))
    for index in range(bars):
        checkpoint()
        bass, pad = style.progression[index % len(style.progression)]
        start = round(index * bar * SAMPLE_RATE)
        _add(out, start, _pad(pad, bar) * levels["pad"])
        for at_beat in style.bass_beats:
            _add(out, start + round(at_beat * beat * SAMPLE_RATE), _bass(bass, bass_length) * levels["bass"])
        arpeggio = [note + 12 for note in (*pad, pad[2], pad[1])]  # up and back, an octave higher
        step_s = bar / style.arpeggio_steps
        for step in range(style.arpeggio_steps):
            pan = 0.35 if step % 2 else -0.35
            at = start + round(step * step_s * SAMPLE_RATE)
            _add(out, at, _pluck(arpeggio[step % len(arpeggio)], pan) * levels["pluck"])
        for at_beat in style.kick_beats:
            _add(out, start + round(at_beat * beat * SAMPLE_RATE), _kick() * levels["kick"])
        for at_beat in style.hat_beats:
            _add(out, start + round(at_beat * beat * SAMPLE_RATE), _hat(hat_noise) * levels["hat"])
    out = out[:total]
    fade(out, duration_s)
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


def _bass(note: int, length_s: float = BASS_DECAY_S * 2) -> np.ndarray:
    t = _time(length_s)
    wave = _tone(_hz(note), t, (1.0, 0.25)) * np.exp(-t / BASS_DECAY_S) * np.minimum(1.0, t / 0.01)
    wave *= np.minimum(1.0, (length_s - t) / 0.02)  # ends without a click when the next note comes
    return np.stack([wave, wave], axis=1)


def _pluck(note: int, pan: float) -> np.ndarray:
    t = _time(PLUCK_DECAY_S * 5)
    wave = _tone(_hz(note), t, (1.0, 0.3, 0.1)) * np.exp(-t / PLUCK_DECAY_S) * np.minimum(1.0, t / 0.005)
    return np.stack([wave * (1 - pan), wave * (1 + pan)], axis=1) / 1.35


def _kick() -> np.ndarray:
    """A sine whose pitch falls from 120 to 45 Hz, with a fast decay: a soft electronic kick."""
    t = _time(KICK_S)
    frequency = 45 + 75 * np.exp(-t / 0.04)
    phase = 2 * np.pi * np.cumsum(frequency) / SAMPLE_RATE
    wave = np.sin(phase) * np.exp(-t / 0.12) * np.minimum(1.0, t / 0.002)
    return np.stack([wave, wave], axis=1).astype(np.float32)


def _hat(noise: np.ndarray) -> np.ndarray:
    """A short burst of high-passed noise (first difference: a cheap high-pass)."""
    t = _time(HAT_S)[: len(noise)]
    bright = np.diff(noise, prepend=0.0) / 2
    wave = (bright * np.exp(-t / 0.012)).astype(np.float32)
    return np.stack([wave * 0.8, wave], axis=1)


def _add(out: np.ndarray, start: int, sound: np.ndarray) -> None:
    end = min(len(out), start + len(sound))
    if end > start:
        out[start:end] += sound[: end - start]


def fade(out: np.ndarray, duration_s: float) -> None:
    """Fade (n, channels) samples in and out in place, by at most a quarter of their length each."""
    n = len(out)
    fade_in = min(n, round(min(FADE_IN_S, duration_s / 4) * SAMPLE_RATE))
    fade_out = min(n, round(min(FADE_OUT_S, duration_s / 4) * SAMPLE_RATE))
    if fade_in:
        out[:fade_in] *= np.linspace(0.0, 1.0, fade_in, dtype=np.float32)[:, None]
    if fade_out:
        out[n - fade_out :] *= np.linspace(1.0, 0.0, fade_out, dtype=np.float32)[:, None]
