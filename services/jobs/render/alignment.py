"""Word times for speech whose engine does not tell them (a voice model's clip), so its captions
follow the voice as eSpeak NG's own word events do for the local voice.

The clip's energy envelope (RMS per 10 ms) gives the voiced spans: frames above a share of the
loudest, with dips shorter than a pause bridged. The text's words share that voiced time by their
length in letters, the pauses between spans skipped. When the voice paused once per phrase (as TTS
voices do at punctuation), each phrase gets its own span, which keeps the error from building up
across a long line. No model or weights: numpy over the decoded samples.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from services.jobs.media_types import SpokenWord
from services.jobs.render.probe import audio_samples

FRAME_S = 0.01
SILENCE_SHARE = 0.03  # of the loudest frame's RMS (-30 dB): quieter frames are silence
MIN_PAUSE_S = 0.15  # a shorter dip is inside a phrase (a stop consonant, a breath between words)
MIN_SPAN_S = 0.05  # a shorter burst is a click, not speech
_PHRASE_END = re.compile(r"[.,!?;:…—]$")


def voiced_spans(samples: np.ndarray, rate: int) -> list[tuple[float, float]]:
    """(start_s, end_s) of each stretch of speech in mono `samples`."""
    hop = max(1, round(rate * FRAME_S))
    count = len(samples) // hop
    if count == 0:
        return []
    frames = samples[: count * hop].astype(np.float64).reshape(count, hop)
    rms = np.sqrt((frames**2).mean(axis=1))
    if rms.max() <= 1e-4:
        return []
    voiced = rms > rms.max() * SILENCE_SHARE
    spans: list[list[float]] = []
    for i in np.flatnonzero(voiced):
        start = i * FRAME_S
        if spans and start - spans[-1][1] < MIN_PAUSE_S:
            spans[-1][1] = start + FRAME_S
        else:
            spans.append([start, start + FRAME_S])
    return [(a, b) for a, b in spans if b - a >= MIN_SPAN_S]


def phrases(words: list[str]) -> list[list[str]]:
    """The words split after each one that ends with punctuation."""
    out: list[list[str]] = [[]]
    for word in words:
        out[-1].append(word)
        if _PHRASE_END.search(word):
            out.append([])
    return [p for p in out if p]


def spread(words: list[str], spans: list[tuple[float, float]]) -> list[SpokenWord]:
    """`words` over the voiced time of `spans` in order, each taking a share by its letters."""
    total = sum(b - a for a, b in spans)
    weights = [len(w) + 1 for w in words]
    scale = total / sum(weights)

    def at(voiced_s: float) -> float:
        """The clip time at `voiced_s` seconds of speech, the pauses skipped."""
        for a, b in spans:
            if voiced_s <= b - a + 1e-9:
                return a + voiced_s
            voiced_s -= b - a
        return spans[-1][1]

    out, done = [], 0.0
    for i, (word, weight) in enumerate(zip(words, weights, strict=True)):
        start, done = at(done), done + weight * scale
        # A word ends before the space that follows it; the last one with the speech.
        end = at(total) if i == len(words) - 1 else at(done - scale)
        out.append(SpokenWord(word, round(start, 3), round(end, 3)))
    return out


def align(path: Path, text: str) -> list[SpokenWord]:
    """The words of `text` with their times in the audio file at `path` (empty when it is silent)."""
    words = text.split()
    samples, rate = audio_samples(path)
    spans = voiced_spans(samples, rate)
    if not words or not spans:
        return []
    groups = phrases(words)
    if len(groups) == len(spans):
        return [word for group, span in zip(groups, spans, strict=True) for word in spread(group, [span])]
    return spread(words, spans)
