"""Local media work around Replicate's calls: product images in as data URIs, and whatever a model
returned fitted to the provider contract (exact duration and size, silent H.264; audio of exactly
the asked length, WAV or MP3 by suffix), with the ffmpeg binary that imageio-ffmpeg ships."""

from __future__ import annotations

import base64
import io
import logging
import subprocess
from pathlib import Path

import av
import imageio_ffmpeg
from PIL import Image

from services.jobs.media_types import InputError, PermanentProviderError, Size

log = logging.getLogger(__name__)

# Replicate recommends data URIs only for files under 1 MB; larger images are shrunk to fit.
DATA_URI_MAX_BYTES = 1_000_000
# The video models work at 480p-720p: a longer side than this only costs upload size.
IMAGE_MAX_SIDE = 1280
# A video this much shorter than asked is slowed down to fit; anything shorter holds its last frame.
MAX_STRETCH = 1.5
FFMPEG_TIMEOUT_S = 600
AUDIO_RATE = 44100


def image_data_uri(path: Path) -> str:
    """The image as a data: URI under DATA_URI_MAX_BYTES, re-encoded as JPEG when it is larger."""
    try:
        with Image.open(path) as image:
            kind = image.format
            image.verify()
        if kind in ("JPEG", "PNG", "WEBP") and path.stat().st_size <= DATA_URI_MAX_BYTES:
            return _data_uri(f"image/{kind.lower()}", path.read_bytes())
        with Image.open(path) as image:
            image.thumbnail((IMAGE_MAX_SIDE, IMAGE_MAX_SIDE))
            rgb = image.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise InputError(f"product image {path.name} is not a readable image: {exc}") from None
    for quality in (90, 80, 70, 60, 50):
        buffer = io.BytesIO()
        rgb.save(buffer, "JPEG", quality=quality)
        if buffer.tell() <= DATA_URI_MAX_BYTES:
            return _data_uri("image/jpeg", buffer.getvalue())
    raise InputError(f"product image {path.name} does not fit in {DATA_URI_MAX_BYTES} bytes")


def _data_uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def run_ffmpeg(args: list[str]) -> None:
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
    try:
        done = subprocess.run(command, capture_output=True, timeout=FFMPEG_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise PermanentProviderError(f"ffmpeg took over {FFMPEG_TIMEOUT_S}s") from None
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip()[-500:]
        raise PermanentProviderError(f"ffmpeg could not process the model's output: {tail}")


def media_duration_s(path: Path) -> float | None:
    try:
        with av.open(str(path)) as container:
            if container.duration is not None:
                return container.duration / av.time_base
            spans = [
                float(s.duration * s.time_base)
                for s in container.streams
                if s.duration is not None and s.time_base is not None
            ]
            return max(spans, default=None)
    except av.FFmpegError:
        return None


def audio_codec_args(out: Path) -> list[str]:
    suffix = out.suffix.lower()
    if suffix == ".wav":
        return ["-c:a", "pcm_s16le"]
    if suffix == ".mp3":
        return ["-c:a", "libmp3lame", "-b:a", "192k"]
    raise PermanentProviderError(f"audio output must be .wav or .mp3, not {out.name}")


def fit_video(src: Path, out: Path, size: Size, duration_s: float) -> None:
    """`src` as a silent H.264 MP4 of exactly duration_s at `size` (cropped to fill, never
    letterboxed); a short clip is slowed down a little, then holds its last frame."""
    filters = []
    source_s = media_duration_s(src)
    if source_s and source_s < duration_s:
        stretch = min(duration_s / source_s, MAX_STRETCH)
        filters.append(f"setpts={stretch:.5f}*PTS")
    w, h = size.width, size.height
    filters += [
        f"scale={w}:{h}:force_original_aspect_ratio=increase",
        f"crop={w}:{h}",
        "setsar=1",
        f"fps={size.fps}",
        f"tpad=stop_mode=clone:stop_duration={duration_s:.3f}",
        "format=yuv420p",
    ]
    frames = max(1, round(duration_s * size.fps))
    run_ffmpeg(
        ["-i", str(src), "-an", "-sn", "-dn", "-vf", ",".join(filters), "-frames:v", str(frames)]
        + ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-movflags", "+faststart", str(out)]
    )


def fit_audio(
    src: Path, out: Path, duration_s: float, *, loop: bool = False, fade_out_s: float = 0.0
) -> None:
    """`src` as exactly duration_s of stereo audio: looped (music) or padded with silence."""
    filters = ["apad"]
    if fade_out_s > 0:
        fade = min(fade_out_s, duration_s / 4)
        filters.append(f"afade=t=out:st={duration_s - fade:.3f}:d={fade:.3f}")
    looping = ["-stream_loop", "-1"] if loop else []
    run_ffmpeg(
        [*looping, "-i", str(src), "-vn", "-af", ",".join(filters), "-t", f"{duration_s:.3f}"]
        + ["-ar", str(AUDIO_RATE), "-ac", "2", *audio_codec_args(out), str(out)]
    )


def mix_voice_clips(clips: list[tuple[Path, float, float]], total_s: float, out: Path) -> None:
    """One track of total_s: each (clip, start_s, slot_s) placed at start_s and cut to its slot so
    scenes never talk over each other; silence elsewhere."""
    if not clips:
        run_ffmpeg(
            ["-f", "lavfi", "-i", f"anullsrc=r={AUDIO_RATE}:cl=stereo", "-t", f"{total_s:.3f}"]
            + [*audio_codec_args(out), str(out)]
        )
        return
    inputs: list[str] = []
    chains: list[str] = []
    for i, (clip, start_s, slot_s) in enumerate(clips):
        inputs += ["-i", str(clip)]
        delay_ms = round(start_s * 1000)
        chains.append(
            f"[{i}:a]aresample={AUDIO_RATE},aformat=channel_layouts=stereo,"
            f"atrim=end={max(slot_s, 0.01):.3f},adelay=delays={delay_ms}:all=1[v{i}]"
        )
    labels = "".join(f"[v{i}]" for i in range(len(clips)))
    chains.append(f"{labels}amix=inputs={len(clips)}:duration=longest:normalize=0,apad[mix]")
    run_ffmpeg(
        [*inputs, "-filter_complex", ";".join(chains), "-map", "[mix]", "-t", f"{total_s:.3f}"]
        + ["-ar", str(AUDIO_RATE), "-ac", "2", *audio_codec_args(out), str(out)]
    )
