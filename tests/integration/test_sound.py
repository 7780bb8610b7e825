"""The ad's sound, measured as a viewer's player would hear it: real eSpeak NG, real ffmpeg, files
read back with PyAV and measured with ffmpeg's own EBU R128 filter (ebur128).

No stack needed: the render functions the steps call, on a 360 px ad of a few seconds.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from services.common.voices import VOICES
from services.jobs.media_types import JobIO, Scene
from services.jobs.providers.local import LocalProvider
from services.jobs.render import audio, captions, composite, ffmpeg, mix, music, probe, speech, timeline, vtt
from services.jobs.render.sizes import size_for

SHORT = 360
PRIMARY = "#E0195A"  # a brand's primary color, the caption panels' color
SCRIPT = [
    "Meet Zapcut, the cold brew that keeps up with you.",
    None,  # a scene without a voiceover: silence the captions must respect
    "Sealed fresh. Ready when you are.",
    "Order today and get free shipping!",
]


def job_io(workdir: Path) -> JobIO:
    workdir.mkdir(parents=True, exist_ok=True)
    return JobIO(workdir=workdir)


def plain_scene(io: JobIO, size, seconds: float, out: Path) -> Path:
    """A flat grey scene: anything of the primary color in a frame is a caption panel."""
    ffmpeg.run(
        io,
        [
            "-f",
            "lavfi",
            "-i",
            f"color=c=0x808080:size={size.width}x{size.height}:rate=30:duration={seconds:.4f}",
        ]
        + ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-y", str(out)],
        what="making a plain scene",
    )
    return out


@pytest.fixture(scope="module")
def ad(tmp_path_factory) -> dict:
    """A 10 s 9:16 ad: four scenes, voiceover with its cues, upbeat music, the composite."""
    path = tmp_path_factory.mktemp("ad")
    io = job_io(path / "work")
    size = size_for("9:16", SHORT)
    tl = timeline.plan([2.5, 2.5, 2.5, 2.5])
    scenes = [Scene(i + 1, "d", 2.5, voiceover_text=text) for i, text in enumerate(SCRIPT)]
    provider = LocalProvider()
    words = provider.voiceover(io, scenes, tl.starts_s, tl.total_s, path / "voiceover.wav")
    provider.music(io, tl.total_s, path / "music.wav")
    cues = captions.cues(words)
    (path / "captions.vtt").write_text(vtt.write(cues))
    files = [plain_scene(io, size, s, path / f"scene_{i}.mp4") for i, s in enumerate(tl.render_s)]
    out = path / "final_ad.mp4"
    composite.composite(
        io,
        files,
        tl,
        path / "voiceover.wav",
        path / "music.wav",
        size,
        out,
        cues=vtt.read((path / "captions.vtt").read_text()),
        primary=PRIMARY,
    )
    return {"dir": path, "out": out, "words": words, "cues": cues, "size": size, "timeline": tl}


def ebur128(path: Path) -> tuple[float, float]:
    """Integrated loudness (LUFS) and true peak (dBTP) as ffmpeg's ebur128 filter reports them."""
    said = subprocess.run(
        [ffmpeg.executable(), "-hide_banner", "-nostats", "-i", str(path), "-map", "0:a:0"]
        + ["-af", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    summary = said[said.rindex("Summary:") :]
    integrated = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))
    peak = float(re.search(r"True peak:\s+Peak:\s+(-?[\d.]+|-inf) dBFS", summary).group(1))
    return integrated, peak


def envelope_db(samples: np.ndarray, rate: int, hop_s: float = 0.01) -> np.ndarray:
    """RMS level per 10 ms, in dB; mono."""
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    hop = round(rate * hop_s)
    frames = len(mono) // hop
    blocks = mono[: frames * hop].reshape(frames, hop).astype(np.float64)
    return 10 * np.log10(np.mean(blocks**2, axis=1) + 1e-12)


def voiced_spans(samples: np.ndarray, rate: int, *, min_gap_s: float = 0.25) -> list[tuple[float, float]]:
    """Where the voice is heard: runs of 10 ms frames above -45 dBFS, joined over gaps shorter
    than min_gap_s (the pauses between words)."""
    loud = envelope_db(samples, rate) > -45
    spans: list[list[float]] = []
    for i, on in enumerate(loud):
        if not on:
            continue
        t = i * 0.01
        if spans and t - spans[-1][1] < min_gap_s:
            spans[-1][1] = t + 0.01
        else:
            spans.append([t, t + 0.01])
    return [(a, b) for a, b in spans]


# --- voices ---


@pytest.mark.parametrize("voice_id", sorted(VOICES))
def test_every_catalog_voice_speaks_with_word_timings(voice_id):
    said = speech.synthesize("One, two, three. Ready when you are.", voice=VOICES[voice_id].engine_voice)
    assert said.duration_s > 0.8
    assert len(said.words) >= 6
    starts = [w.start_s for w in said.words]
    assert starts == sorted(starts)
    assert all(0 <= w.start_s < w.end_s <= said.duration_s + 1e-6 for w in said.words)


def test_a_slower_rate_takes_longer(tmp_path):
    scenes = [Scene(1, "d", 6.0, voiceover_text="Brewed cold and sealed fresh for busy mornings.")]
    lengths = {}
    for rate in (0.8, 1.3):
        words = audio.voiceover(job_io(tmp_path), scenes, [0.0], 6.0, tmp_path / f"v{rate}.wav", rate=rate)
        lengths[rate] = words[-1].end_s - words[0].start_s
    assert lengths[0.8] > lengths[1.3] * 1.3


def test_a_line_sounds_the_same_whatever_was_said_before_it(tmp_path):
    """One scene's words changed (a scene made again) leave every other line of the voiceover the
    same, sample for sample: each line is spoken by a fresh engine, which carries nothing over."""
    lines = ["Meet Zapcut.", "Brewed cold.", "Order yours today."]
    changed = ["Meet Zapcut.", "Brewed cold and sealed fresh, for busy mornings.", "Order yours today."]
    starts, total = [0.0, 2.0, 5.0], 8.0
    tracks = {}
    for name, texts in (("before", lines), ("after", changed)):
        scenes = [Scene(n, "d", 3.0, voiceover_text=t) for n, t in enumerate(texts, start=1)]
        out = tmp_path / f"{name}.wav"
        audio.voiceover(job_io(tmp_path / name), scenes, starts, total, out)
        with av.open(str(out)) as container:
            rate = container.streams.audio[0].rate
            tracks[name] = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    first, last = slice(0, int(1.9 * rate)), slice(int(5.0 * rate), None)
    assert np.array_equal(tracks["before"][first], tracks["after"][first])
    assert np.array_equal(tracks["before"][last], tracks["after"][last])
    assert not np.array_equal(tracks["before"], tracks["after"])  # the middle line did change
    # The same line said alone, and after other lines, in one process: the same samples.
    alone = speech.synthesize("Order yours today.")
    speech.synthesize("Something else entirely, and longer.")
    assert np.array_equal(alone.samples, speech.synthesize("Order yours today.").samples)


# --- captions follow the voice ---


def test_vtt_cues_match_the_voice_onsets(ad):
    samples, rate = probe.audio_samples(ad["dir"] / "voiceover.wav")
    spans = voiced_spans(samples, rate)
    cues = vtt.read((ad["dir"] / "captions.vtt").read_text())
    assert len(cues) >= 4 and all(len(c.text.split()) <= captions.MAX_WORDS for c in cues)
    assert any(len(c.text.split()) > 1 for c in cues)  # phrases, not a word a cue
    starts = [c.start_s for c in cues]
    ends = [c.end_s for c in cues]
    for onset, offset in spans:
        # Every time the voice starts after a pause a cue starts, and one ends when it stops.
        assert min(abs(s - onset) for s in starts) <= 0.15, (onset, starts)
        assert min(abs(e - offset) for e in ends) <= 0.15, (offset, ends)
    for cue in cues:  # and no cue is shown over silence
        assert any(a - 0.15 <= cue.start_s and cue.end_s <= b + 0.15 for a, b in spans), cue


def caption_share(frame: np.ndarray, size) -> float:
    """Share of the captions band's pixels that are the caption panel's color."""
    centre = captions.centre_y(size)
    band = frame[centre - size.height // 20 : centre + size.height // 20]
    target = np.array([0xE0, 0x19, 0x5A])
    close = np.abs(band.astype(np.int16) - target).max(axis=2) < 40
    return float(close.mean())


def test_captions_show_while_the_voice_speaks_and_not_in_silence(ad):
    shares: list[tuple[float, float]] = []
    with av.open(str(ad["out"])) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            shares.append((float(frame.time), caption_share(frame.to_ndarray(format="rgb24"), ad["size"])))
    cues = ad["cues"]

    def spoken(t: float, margin: float) -> bool:
        return any(c.start_s + margin <= t <= c.end_s - margin for c in cues)

    def silent(t: float, margin: float) -> bool:
        return all(t < c.start_s - margin or t > c.end_s + margin for c in cues)

    during = [share for t, share in shares if spoken(t, 0.05)]
    outside = [share for t, share in shares if silent(t, 0.05)]
    assert during and outside
    assert min(during) > 0.05  # the panel is there in every frame of a cue
    assert max(outside) < 0.005  # and in no frame between them
    # the scene without a voiceover (2.5-5.0 s) has no caption at all
    silent_scene = [share for t, share in shares if 2.5 <= t <= 5.0]
    assert len(silent_scene) >= 70 and max(silent_scene) < 0.005


# --- loudness and ducking ---


def test_the_ad_is_at_minus_14_lufs_with_true_peak_under_minus_1(ad):
    integrated, peak = ebur128(ad["out"])
    assert abs(integrated - mix.TARGET_LUFS) <= 1.0, integrated
    assert peak <= -1.0, peak


@pytest.mark.parametrize("mood", sorted(music.MOODS))
def test_each_mood_alone_is_also_normalized(mood, tmp_path):
    """Music only (a script without voiceover) is brought to the same loudness."""
    io = job_io(tmp_path)
    audio.music_track(io, 6.0, tmp_path / "music.wav", mood=mood)
    mixed = tmp_path / "mix.wav"
    loudness = mix.mix(io, None, tmp_path / "music.wav", 6.0, mixed)
    out = tmp_path / "out.m4a"
    ffmpeg.run(
        io,
        ["-i", str(mixed), "-af", mix.normalize(loudness), *composite.audio_output_args(), "-y", str(out)],
        what="normalizing",
    )
    integrated, peak = ebur128(out)
    assert abs(integrated - mix.TARGET_LUFS) <= 1.0 and peak <= -1.0, (integrated, peak)


def test_the_music_ducks_under_the_voice_and_comes_back_between_phrases(ad, tmp_path):
    """The music in the mix (the mix less the voice alone) is quieter while the voice speaks."""
    io = job_io(tmp_path)
    total = ad["timeline"].total_s
    mix.mix(io, ad["dir"] / "voiceover.wav", ad["dir"] / "music.wav", total, tmp_path / "both.wav")
    mix.mix(io, ad["dir"] / "voiceover.wav", None, total, tmp_path / "voice.wav")
    both, rate = probe.audio_samples(tmp_path / "both.wav")
    voice, _ = probe.audio_samples(tmp_path / "voice.wav")
    bed = envelope_db(both - voice, rate)
    spans = voiced_spans(voice, rate, min_gap_s=0.6)
    under = [bed[round(a * 100) + 20 : round(b * 100)] for a, b in spans]  # once the ducking has set in
    gaps = [
        bed[round(b * 100) + 60 : round(a * 100)] for (_, b), (a, _) in zip(spans, spans[1:], strict=False)
    ]
    under_db = float(np.median(np.concatenate(under)))
    gaps_db = float(np.median(np.concatenate([g for g in gaps if g.size])))
    assert gaps_db - under_db > 6, (gaps_db, under_db)


# --- music ---


def test_moods_differ_and_tempo_is_bounded():
    made = {mood: music.synthesize(4.0, mood=mood) for mood in music.MOODS}
    assert {"upbeat", "calm", "dramatic"} <= set(made)
    for a in made:
        for b in made:
            if a < b:
                assert np.abs(made[a] - made[b]).mean() > 0.01, (a, b)
    fast, slow = music.synthesize(4.0, tempo_bpm=10_000), music.synthesize(4.0, tempo_bpm=1)
    assert np.array_equal(fast, music.synthesize(4.0, tempo_bpm=music.MAX_BPM))
    assert np.array_equal(slow, music.synthesize(4.0, tempo_bpm=music.MIN_BPM))
    assert np.array_equal(made["upbeat"], music.synthesize(4.0, mood="no-such-mood"))


@pytest.mark.parametrize("track_s, total_s", [(2.0, 7.0), (9.0, 4.0)])
def test_a_brand_track_is_fitted_to_the_ad(tmp_path, track_s, total_s):
    """Shorter: looped with a cross-fade; longer: cut with a fade-out. Either way exactly total_s."""
    io = job_io(tmp_path)
    track = tmp_path / "brand.mp3"
    ffmpeg.run(
        io,
        [
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=330:duration={track_s}",
            "-c:a",
            "libmp3lame",
            "-y",
            str(track),
        ],
        what="making a brand track",
    )
    out = tmp_path / "music.wav"
    audio.fit_track(io, track, total_s, out)
    samples, rate = probe.audio_samples(out)
    assert abs(len(samples) / rate - total_s) < 0.01
    level = envelope_db(samples, rate)
    assert level[len(level) // 2] > -30  # heard in the middle (looped, not padded with silence)
    assert level[-2] < level[len(level) // 2] - 20  # faded out at the end
