"""Word times from a clip's energy envelope (render/alignment.py), for voices that tell none: real
eSpeak NG speech and plain tone bursts, placed at known times in a WAV."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from services.jobs.render import alignment, speech

TOLERANCE_S = 0.15  # what the captions allow


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype(np.int16).tobytes())
    return path


def silence(seconds: float, rate: int) -> np.ndarray:
    return np.zeros(round(seconds * rate), dtype=np.float32)


def test_spoken_phrases_are_found_where_they_are_said(tmp_path):
    first, second = speech.synthesize("Meet the mug."), speech.synthesize("Order yours today.")
    rate = first.sample_rate
    lead, gap = 0.3, 0.6
    clip = np.concatenate(
        [silence(lead, rate), first.samples, silence(gap, rate), second.samples, silence(0.3, rate)]
    )
    path = write_wav(tmp_path / "voice.wav", clip, rate)
    first_s, second_s = len(first.samples) / rate, len(second.samples) / rate

    words = alignment.align(path, "Meet the mug. Order yours today.")

    assert [w.text for w in words] == ["Meet", "the", "mug.", "Order", "yours", "today."]
    assert words[0].start_s == pytest.approx(lead, abs=TOLERANCE_S)
    assert words[2].end_s == pytest.approx(lead + first_s, abs=TOLERANCE_S)
    assert words[3].start_s == pytest.approx(lead + first_s + gap, abs=TOLERANCE_S)
    assert words[5].end_s == pytest.approx(lead + first_s + gap + second_s, abs=TOLERANCE_S)
    # No word is captioned in the silence between the phrases.
    assert all(not (lead + first_s + 0.1 < w.start_s < lead + first_s + gap - 0.1) for w in words)
    assert all(a.end_s <= b.start_s for a, b in zip(words, words[1:], strict=False))


def test_words_share_a_phrase_by_their_length(tmp_path):
    rate = 16000
    t = np.arange(round(1.0 * rate)) / rate
    burst = (0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    path = write_wav(
        tmp_path / "burst.wav", np.concatenate([silence(0.5, rate), burst, silence(0.5, rate)]), rate
    )

    words = alignment.align(path, "aaa bbbbbbb")  # 4 and 8 shares of one voiced second

    assert words[0].start_s == pytest.approx(0.5, abs=0.02)
    assert words[1].start_s == pytest.approx(0.5 + 4 / 12, abs=0.02)
    assert words[0].end_s == pytest.approx(0.5 + 3 / 12, abs=0.02)  # before the space
    assert words[1].end_s == pytest.approx(1.5, abs=0.02)  # the last word ends with the speech


def test_a_silent_clip_has_no_words(tmp_path):
    path = write_wav(tmp_path / "quiet.wav", silence(1.0, 16000), 16000)
    assert alignment.align(path, "Nothing heard.") == []
