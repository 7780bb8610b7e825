"""The ad's sound: the voiceover over the music, the music ducked under the voice, normalized to the
loudness the social platforms play at (-14 LUFS integrated, true peak at most -1 dBTP).

Made before the composite's one video encode, in two short audio-only ffmpeg runs (a second or so
for a minute of audio): the mix, written as 32-bit float so nothing clips before the loudness is
known, and a measuring pass of EBU R128 loudness (ffmpeg's loudnorm, its statistics into a file).
(One run with both as outputs of one graph was measured: it used more CPU, not less.)
The composite then applies loudnorm's second pass with those measurements and linear=true: one
gain for the whole ad, so the voice keeps its dynamics (loudnorm falls back to its dynamic mode
only when one gain would push the true peak over the ceiling).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from services.jobs.media_types import InputError, JobIO
from services.jobs.render import ffmpeg

AUDIO_RATE = 48000
TARGET_LUFS = -14.0  # integrated, what YouTube, TikTok, Instagram and Spotify normalize to
# loudnorm's ceiling, under the -1 dBTP the platforms ask for: the AAC encode afterwards can add a
# few tenths of a dB of inter-sample peak.
TARGET_TRUE_PEAK = -2.0
TARGET_LRA = 11.0
MUSIC_GAIN = 0.55  # the music bed under the voice, before ducking
# Ducking: the music drops by about 10 dB while the voice speaks and comes back in ~0.4 s.
DUCK = "threshold=0.03:ratio=5:attack=25:release=400:makeup=1"
# The voice is evened out a little before the mix (a gentle compressor): an even voice can be
# brought to -14 LUFS with one gain without its loudest syllables reaching the peak ceiling.
VOICE_COMPRESSOR = "acompressor=threshold=0.1:ratio=3:attack=5:release=120:makeup=1.6"
SILENT_LUFS = -70.0  # below this the measurement is of silence: nothing to normalize


@dataclass(frozen=True)
class Loudness:
    integrated_lufs: float
    true_peak_dbtp: float
    lra: float
    threshold: float
    offset: float


def fit(total_s: float) -> str:
    """A stream brought to the mix's rate and layout and to exactly total_s."""
    return (
        f"aresample={AUDIO_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo,"
        f"apad=whole_dur={total_s:.6f},atrim=end={total_s:.6f},asetpts=PTS-STARTPTS"
    )


def audio_graph(voice: str | None, music: str | None, total_s: float) -> str:
    """Voice over ducked music, both padded or trimmed to total_s; unlabelled at the end."""
    if voice is None and music is None:
        return f"anullsrc=r={AUDIO_RATE}:cl=stereo,atrim=end={total_s:.6f}"
    if music is None:
        return f"[{voice}]{fit(total_s)},{VOICE_COMPRESSOR}"
    if voice is None:
        return f"[{music}]{fit(total_s)},volume={MUSIC_GAIN}"
    return (
        f"[{voice}]{fit(total_s)},{VOICE_COMPRESSOR},asplit=2[voice][voicekey];"
        f"[{music}]{fit(total_s)},volume={MUSIC_GAIN}[bed];"
        f"[bed][voicekey]sidechaincompress={DUCK}[ducked];"
        f"[ducked][voice]amix=inputs=2:duration=first:normalize=0"
    )


def mix(io: JobIO, voice: Path | None, music: Path | None, total_s: float, out: Path) -> Loudness | None:
    """The mix as a float WAV into `out`, and its loudness (None when it is silence)."""
    if out.suffix.lower() != ".wav":
        raise InputError(f"the mix is written as .wav, not {out.name}")
    inputs: list[str] = []
    for path in (voice, music):
        if path is not None:
            inputs += ["-i", str(path)]
    voice_label = "0:a" if voice is not None else None
    music_label = f"{int(voice is not None)}:a" if music is not None else None
    graph = audio_graph(voice_label, music_label, total_s) + "[mix]"
    ffmpeg.run(
        io,
        [*inputs, "-filter_complex", graph, "-map", "[mix]", "-c:a", "pcm_f32le", "-ar", str(AUDIO_RATE)]
        + ["-t", f"{total_s:.6f}", "-f", "wav", "-y", str(out)],
        what="mixing the voiceover and the music",
    )
    return measure(io, out)


def measure(io: JobIO, path: Path) -> Loudness | None:
    """EBU R128 loudness of an audio file (loudnorm's first pass); None for silence."""
    stats = path.with_name(path.stem + ".loudness.json")
    ffmpeg.run(
        io,
        ["-i", str(path), "-map", "0:a:0", "-af", measuring(stats), "-f", "null", "-"],
        what="measuring the loudness",
    )
    return loudness_of(stats)


def measuring(stats: Path) -> str:
    """loudnorm's first pass: a filter that passes the audio on and, at its end, writes what it
    measured to `stats` (JSON, read by loudness_of)."""
    return f"{_loudnorm()}:print_format=json:stats_file={_escape(stats)}"


def loudness_of(stats: Path) -> Loudness | None:
    """The measurements a measuring pass wrote; None for silence."""
    found = json.loads(stats.read_text())
    values = {
        k: float(found[k]) for k in ("input_i", "input_tp", "input_lra", "input_thresh", "target_offset")
    }
    if not all(math.isfinite(v) for v in values.values()) or values["input_i"] < SILENT_LUFS:
        return None
    return Loudness(
        values["input_i"],
        values["input_tp"],
        values["input_lra"],
        values["input_thresh"],
        values["target_offset"],
    )


def normalize(measured: Loudness | None) -> str:
    """The filter that brings a stream with those measurements to the targets (none for silence)."""
    if measured is None:
        return "anull"
    return (
        f"{_loudnorm()}:measured_I={measured.integrated_lufs:.2f}:measured_TP={measured.true_peak_dbtp:.2f}"
        f":measured_LRA={measured.lra:.2f}:measured_thresh={measured.threshold:.2f}"
        f":offset={measured.offset:.2f}:linear=true,aresample={AUDIO_RATE}"
    )


def _loudnorm() -> str:
    return f"loudnorm=I={TARGET_LUFS:g}:TP={TARGET_TRUE_PEAK:g}:LRA={TARGET_LRA:g}"


def _escape(path: Path) -> str:
    """A path as a filter option value: the characters that mean something in a filter graph
    escaped (our scratch paths have none, but a TMPDIR might)."""
    return str(path).replace("\\", "\\\\").replace(":", "\\:").replace("'", "\\'").replace(",", "\\,")
