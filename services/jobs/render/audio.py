"""The voiceover and music tracks as files of an exact length: WAV, or MP3 by the file's suffix.

The voiceover puts each scene's voiceover_text at that scene's start (plus LEAD_IN_S) and keeps it
inside the scene: text too long for its scene is spoken faster, up to MAX_RATE_WPM, and only then
cut (with a short fade). Scenes without text, and everything between the sentences, are silence.
"""

from __future__ import annotations

import logging
import wave
from pathlib import Path

import numpy as np

from services.jobs.media_types import InputError, JobIO, Scene, SpokenWord
from services.jobs.render import ffmpeg, music, speech
from services.jobs.render.files import atomic_output, scratch

log = logging.getLogger(__name__)

MAX_TRACK_S = 600.0
LEAD_IN_S = 0.15  # speech starts this long after its scene does
TAIL_S = 0.15  # and ends at least this long before the next scene
MAX_RATE_WPM = 260  # faster than this is hard to follow; longer text is cut instead
VOICE_RMS = 0.14  # speech is levelled to this loudness...
VOICE_PEAK = 0.9  # ...without peaks above this
CUT_FADE_S = 0.06
MP3_BITRATE = "192k"
LOOP_CROSSFADE_S = 1.0  # where a short music track is looped, its end fades into its start


def voiceover(
    io: JobIO,
    scenes: list[Scene],
    starts_s: list[float],
    total_s: float,
    out: Path,
    *,
    voice: str = speech.VOICE,
    rate: float = 1.0,
) -> list[SpokenWord]:
    """Write the track and return its words in the ad's timeline (what the captions follow).
    `voice` is an eSpeak voice name; `rate` scales its normal pace (speech.RATE_WPM)."""
    _check_length(total_s)
    if len(starts_s) != len(scenes):
        raise InputError(f"{len(scenes)} scenes but {len(starts_s)} start times")
    sample_rate = speech.sample_rate()
    track = np.zeros(round(total_s * sample_rate), dtype=np.float32)
    words: list[SpokenWord] = []
    spoken = [(i, s) for i, s in enumerate(scenes) if (s.voiceover_text or "").strip()]
    for done, (i, scene) in enumerate(spoken):
        io.checkpoint()
        io.progress(5 + 80 * done // max(1, len(spoken)), "speaking the voiceover")
        later = [s for s in starts_s if s > starts_s[i]]
        end = min([*later, total_s]) - TAIL_S
        start = min(starts_s[i] + LEAD_IN_S, max(starts_s[i], end - 0.5))
        if end - start <= 0:
            log.warning("scene %s has no room for its voiceover; left silent", scene.n)
            continue
        clip, said = fit_speech(scene.voiceover_text or "", end - start, voice, scene.n, rate=rate)
        at = round(start * sample_rate)
        fits = clip[: max(0, len(track) - at)]
        track[at : at + len(fits)] = fits
        start = at / sample_rate  # the sample the clip really starts at
        words += [SpokenWord(w.text, start + w.start_s, start + w.end_s) for w in said]
    io.checkpoint()
    io.progress(90, "writing the voiceover")
    write_audio(io, track[:, None], sample_rate, out)
    return words


def fit_speech(
    text: str, room_s: float, voice: str, n: int, *, rate: float = 1.0
) -> tuple[np.ndarray, list[SpokenWord]]:
    """The text spoken in at most room_s seconds, levelled, and its words (times from the clip's
    start; a word cut off at the end of the room is not listed)."""
    normal_wpm = round(speech.RATE_WPM * rate)
    said = speech.synthesize(text, voice=voice, rate_wpm=normal_wpm)
    if said.duration_s > room_s:
        faster = normal_wpm * said.duration_s / room_s * 1.05
        said = speech.synthesize(
            text, voice=voice, rate_wpm=min(max(MAX_RATE_WPM, normal_wpm), round(faster))
        )
    samples = said.samples
    room = int(room_s * said.sample_rate)
    words = list(said.words)
    if len(samples) > room:
        log.warning(
            "scene %s: the voiceover needs %.1f s at the fastest rate, the scene has %.1f s; cut",
            n,
            said.duration_s,
            room_s,
        )
        samples = samples[:room].copy()
        fade = min(room, round(CUT_FADE_S * said.sample_rate))
        samples[room - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
        heard_s = (room - fade) / said.sample_rate
        words = [
            SpokenWord(w.text, w.start_s, min(w.end_s, heard_s)) for w in words if w.start_s < heard_s - 0.1
        ]
    return level(samples), words


def music_track(
    io: JobIO, total_s: float, out: Path, *, mood: str = music.DEFAULT_MOOD, tempo_bpm: int | None = None
) -> None:
    _check_length(total_s)
    io.progress(5, "composing the music")
    samples = music.synthesize(total_s, io.checkpoint, mood=mood, tempo_bpm=tempo_bpm)
    io.progress(80, "writing the music")
    write_audio(io, samples, music.SAMPLE_RATE, out)


def fit_track(io: JobIO, track: Path, total_s: float, out: Path) -> None:
    """The brand's own music (any file ffmpeg decodes) as exactly total_s: cut with a fade-out when
    it is longer, looped with a cross-fade at each seam when it is shorter."""
    _check_length(total_s)
    io.progress(5, "decoding the brand's track")
    with scratch(io, "track-") as tmp:
        decoded = tmp / "track.wav"
        ffmpeg.run(
            io,
            ["-i", str(track), "-map", "0:a:0", "-t", f"{MAX_TRACK_S:g}"]
            + [
                "-ac",
                "2",
                "-ar",
                str(music.SAMPLE_RATE),
                "-c:a",
                "pcm_s16le",
                "-f",
                "wav",
                "-y",
                str(decoded),
            ],
            what="decoding the brand's music track",
        )
        samples = _read_wav(decoded)
    total = round(total_s * music.SAMPLE_RATE)
    if len(samples) < music.SAMPLE_RATE // 2:
        raise InputError("the brand's music track is shorter than half a second")
    cross = min(round(LOOP_CROSSFADE_S * music.SAMPLE_RATE), len(samples) // 4)
    looped = samples.copy()
    ramp = np.linspace(0.0, 1.0, cross, dtype=np.float32)[:, None]
    while len(looped) < total:
        io.checkpoint()
        seam = looped[len(looped) - cross :] * (1 - ramp) + samples[:cross] * ramp
        looped = np.concatenate([looped[: len(looped) - cross], seam, samples[cross:]])
    looped = looped[:total]
    music.fade(looped, total_s)
    io.progress(80, "writing the music")
    write_audio(io, looped, music.SAMPLE_RATE, out)


def write_audio(io: JobIO, samples: np.ndarray, rate: int, out: Path) -> None:
    """samples: float32 in -1..1, shape (n, channels). .wav is 16-bit PCM; .mp3 goes through LAME."""
    suffix = out.suffix.lower()
    if suffix not in (".wav", ".mp3"):
        raise InputError(f"audio can be written as .wav or .mp3, not {out.name}")
    with atomic_output(out) as partial:
        if suffix == ".wav":
            _write_wav(partial, samples, rate)
        else:
            with scratch(io, "audio-") as tmp:
                _write_wav(tmp / "audio.wav", samples, rate)
                encode_mp3(io, tmp / "audio.wav", partial)


def encode_mp3(io: JobIO, source: Path, out: Path) -> None:
    """Any audio file ffmpeg reads, as an MP3 (LAME, with the gapless header that keeps the exact
    length)."""
    ffmpeg.run(
        io,
        [
            "-i",
            str(source),
            "-map",
            "0:a:0",
            "-c:a",
            "libmp3lame",
            "-b:a",
            MP3_BITRATE,
            "-f",
            "mp3",
            "-y",
            str(out),
        ],
        what=f"encoding {out.name}",
    )


def _write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(pcm.shape[1])
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.tobytes())


def _read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as wav:
        channels = wav.getnchannels()
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    return (pcm.reshape(-1, channels).astype(np.float32) / 32768.0).copy()


def level(samples: np.ndarray) -> np.ndarray:
    """Speech brought to VOICE_RMS, without peaks above VOICE_PEAK."""
    if samples.size == 0:
        return samples
    rms = float(np.sqrt(np.mean(samples**2)))
    peak = float(np.max(np.abs(samples)))
    if rms == 0 or peak == 0:
        return samples
    return samples * min(VOICE_RMS / rms, VOICE_PEAK / peak)


def _check_length(total_s: float) -> None:
    if not 0 < total_s <= MAX_TRACK_S:
        raise InputError(f"an audio track must last more than 0 and at most {MAX_TRACK_S:g} s, not {total_s}")
