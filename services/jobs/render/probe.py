"""What a media file holds, read with PyAV (the imageio-ffmpeg wheel has no ffprobe)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from services.jobs.media_types import InputError


@dataclass(frozen=True)
class VideoInfo:
    codec: str
    width: int
    height: int
    fps: float
    pix_fmt: str | None
    frames: int  # as the container records it; 0 when it does not
    duration_s: float


@dataclass(frozen=True)
class AudioInfo:
    codec: str
    sample_rate: int
    channels: int
    duration_s: float


@dataclass(frozen=True)
class MediaInfo:
    format: str
    duration_s: float
    video: VideoInfo | None
    audio: AudioInfo | None


def probe(path: Path) -> MediaInfo:
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise InputError(f"{Path(path).name} is not a media file that can be read: {exc}") from None
    with container:
        total = container.duration / av.time_base if container.duration is not None else 0.0
        video = audio = None
        if container.streams.video:
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or Fraction(0)
            video = VideoInfo(
                codec=stream.codec_context.codec.canonical_name,
                width=stream.codec_context.width,
                height=stream.codec_context.height,
                fps=float(rate),
                pix_fmt=stream.codec_context.pix_fmt,
                frames=stream.frames,
                duration_s=_duration(stream, total),
            )
        if container.streams.audio:
            sound = container.streams.audio[0]
            audio = AudioInfo(
                codec=sound.codec_context.codec.canonical_name,
                sample_rate=sound.codec_context.sample_rate,
                channels=sound.codec_context.channels,
                duration_s=_duration(sound, total),
            )
        return MediaInfo(container.format.name, total, video, audio)


def audio_samples(path: Path) -> tuple[np.ndarray, int]:
    """The first audio stream decoded to mono float32 (channels averaged), and its sample rate."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=stream.codec_context.sample_rate)
        chunks = []
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
        samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
        return samples, stream.codec_context.sample_rate


def _duration(stream, fallback: float) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return fallback
