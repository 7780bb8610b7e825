"""What a client shows before anyone presses play: a poster image and a short, small preview.

- The poster is one frame of the hook (the first scene) at the moment its headline is in place: by
  then the headline's entrance has finished and its exit not begun. Full size, JPEG.
- The preview is the first PREVIEW_MAX_S seconds at PREVIEW_SHORT_SIDE pixels on the short side,
  without sound (lists autoplay it muted, as feeds do), small enough to load while scrolling.

Both are cut from the final video itself, so they show exactly what was rendered, whatever the
provider: one cheap FFmpeg run each (a seek and one decoded frame; a low-resolution encode).
"""

from __future__ import annotations

from pathlib import Path

from services.jobs.media_types import JobIO, Size
from services.jobs.render import ffmpeg
from services.jobs.render.files import atomic_output
from services.jobs.render.scenes import Encoding

POSTER_QUALITY = 3  # FFmpeg's JPEG qscale: 2 (best) .. 31; 3 is visually lossless at a third the size
PREVIEW_MAX_S = 6.0
PREVIEW_SHORT_SIDE = 360
PREVIEW_FPS = 24
PREVIEW_ENCODING = Encoding("veryfast", crf=30)
# Where in the hook the poster is taken, as a share of the scene: past the headline's entrance.
POSTER_AT_SHARE = 0.6
# JPEG is BT.601 full range (JFIF) to every viewer; the video is BT.709 limited range. Left to
# itself FFmpeg only stretches the range, and colors shift (a brand's primary color among them).
POSTER_FILTER = "scale=in_color_matrix=bt709:in_range=tv:out_color_matrix=bt601:out_range=pc,format=yuvj420p"


def poster_time_s(hook_s: float) -> float:
    """The moment of the hook (lasting hook_s) the poster shows."""
    return max(0.0, hook_s * POSTER_AT_SHARE)


def preview_size(size: Size) -> tuple[int, int]:
    """The preview's width and height: the short side PREVIEW_SHORT_SIDE (never larger than the
    video's own), the aspect kept, both even."""
    short = min(size.width, size.height, PREVIEW_SHORT_SIDE)
    scale = short / min(size.width, size.height)
    return _even(size.width * scale), _even(size.height * scale)


def preview_filter(size: Size) -> str:
    """Frames of a `size` video as the preview's: the frames kept at PREVIEW_FPS, then scaled (the
    same pictures as scaling first, with a fifth fewer frames to scale)."""
    width, height = preview_size(size)
    return f"fps={PREVIEW_FPS},scale={width}:{height}:flags=bicubic,format=yuv420p"


def poster(io: JobIO, video: Path, at_s: float, out: Path) -> None:
    """The frame of `video` at `at_s` seconds as a JPEG."""
    with atomic_output(out) as partial:
        ffmpeg.run(
            io,
            [
                "-ss",
                f"{at_s:.3f}",
                "-i",
                str(video),
                "-frames:v",
                "1",
                "-vf",
                POSTER_FILTER,
                "-q:v",
                str(POSTER_QUALITY),
                "-f",
                "image2",
                "-c:v",
                "mjpeg",
                "-y",
                str(partial),
            ],
            what="taking the poster frame",
        )


def preview(io: JobIO, video: Path, size: Size, duration_s: float, out: Path) -> None:
    """The first PREVIEW_MAX_S seconds of `video` (of `size`, lasting duration_s), small and silent."""
    seconds = min(duration_s, PREVIEW_MAX_S)
    with atomic_output(out) as partial:
        ffmpeg.run(
            io,
            [
                "-i",
                str(video),
                "-t",
                f"{seconds:.3f}",
                "-vf",
                preview_filter(size),
                *PREVIEW_ENCODING.args(),
                "-threads",
                str(ffmpeg.encoder_threads()),
                "-an",
                "-movflags",
                "+faststart",
                "-f",
                "mp4",
                "-y",
                str(partial),
            ],
            what="encoding the preview",
            duration_s=seconds,
        )


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)
