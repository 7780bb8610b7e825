"""One scene: a silent H.264 MP4 of a product image in slow pan/zoom motion, its text on top.

The scene's image is picked by scene number (scene n shows image (n-1) mod len(images)), so
consecutive scenes differ whenever the brand has several images. Pillow prepares a canvas ZOOM
times the frame size (images.prepare_canvas); ffmpeg decodes it once, repeats the frame, scales it
per frame between 1x and ZOOM (the zoom) and crops a moving window of the frame size (the pan).

Scene files are intermediates that the composite decodes and encodes again, so by default they are
encoded with x264's fastest preset at a fixed high quality (SCENE_ENCODING) rather than small: the
final ad is then encoded once, at FINAL_ENCODING.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.jobs.media_types import InputError, JobIO, Scene, Size
from services.jobs.render import ffmpeg, images, text
from services.jobs.render.files import atomic_output, scratch

ZOOM = 1.15  # the closest the motion gets; the canvas is drawn at this scale
MAX_SCENE_S = 120.0


@dataclass(frozen=True)
class Encoding:
    """libx264 settings: a preset and a quality, either constant quantizer (qp: no rate control,
    the cheapest) or constant rate factor (crf: steadier quality per bit)."""

    preset: str
    crf: int | None = None
    qp: int | None = None

    def args(self) -> list[str]:
        quality = ["-qp", str(self.qp)] if self.qp is not None else ["-crf", str(self.crf or 23)]
        return ["-c:v", "libx264", "-preset", self.preset, *quality]


# Intermediates: the fastest preset at a fixed, high quality (the composite encodes them again).
SCENE_ENCODING = Encoding("ultrafast", qp=20)
FINAL_ENCODING = Encoding("veryfast", crf=20)


@dataclass(frozen=True)
class Motion:
    """Zoom from/to (1..ZOOM) and where the window sits in the spare room (0 = left/top edge,
    1 = right/bottom edge), from the first frame to the last."""

    zoom: tuple[float, float]
    x: tuple[float, float]
    y: tuple[float, float]


MOTIONS = (
    Motion(zoom=(1.0, ZOOM), x=(0.5, 0.5), y=(0.5, 0.35)),  # push in, drifting up
    Motion(zoom=(ZOOM, ZOOM), x=(0.0, 1.0), y=(0.3, 0.7)),  # pan left to right
    Motion(zoom=(ZOOM, 1.0), x=(0.5, 0.5), y=(0.4, 0.5)),  # pull out
    Motion(zoom=(ZOOM, ZOOM), x=(1.0, 0.0), y=(0.7, 0.3)),  # pan right to left
)


def motion_for(n: int) -> Motion:
    return MOTIONS[(n - 1) % len(MOTIONS)]


def image_for(n: int, image_paths: list[Path]) -> Path:
    if not image_paths:
        raise InputError("a scene needs at least one product image")
    return image_paths[(n - 1) % len(image_paths)]


def canvas_size(size: Size) -> tuple[int, int]:
    return _even_up(size.width * ZOOM), _even_up(size.height * ZOOM)


def frame_count(duration_s: float, fps: int) -> int:
    if not 0 < duration_s <= MAX_SCENE_S:
        raise InputError(f"a scene must last more than 0 and at most {MAX_SCENE_S:g} s, not {duration_s} s")
    return max(1, round(duration_s * fps))


def render_scene(
    io: JobIO,
    scene: Scene,
    image_paths: list[Path],
    size: Size,
    out: Path,
    *,
    encoding: Encoding = SCENE_ENCODING,
) -> None:
    """Write scene.duration_s seconds (rounded to whole frames) of `size` at size.fps into `out`."""
    frames = frame_count(scene.duration_s, size.fps)
    source = image_for(scene.n, image_paths)
    stage = f"rendering scene {scene.n}"
    io.progress(5, f"preparing scene {scene.n}")
    io.checkpoint()
    with scratch(io, f"scene{scene.n}-") as tmp, atomic_output(out) as partial:
        canvas = tmp / "canvas.ppm"
        image = images.load_image(source, canvas_size(size))
        images.prepare_canvas(image, canvas_size(size), canvas)
        del image
        overlay = text.render_overlay(scene.on_screen_text, size, tmp / "text.png")
        io.checkpoint()
        inputs = ["-i", str(canvas)] + (["-i", str(overlay.path)] if overlay else [])
        graph = scene_graph("0:v", "1:v" if overlay else None, overlay, motion_for(scene.n), size, frames)
        ffmpeg.run(
            io,
            [
                *inputs,
                "-filter_complex",
                f"{graph}[out]",
                "-map",
                "[out]",
                *video_output_args(size, frames, encoding),
                "-an",
                "-f",
                "mp4",
                "-y",
                str(partial),
            ],
            what=stage,
            duration_s=frames / size.fps,
            on_progress=lambda done: io.progress(10 + round(85 * done), stage),
        )


def scene_graph(
    canvas: str,
    overlay_input: str | None,
    overlay: text.Overlay | None,
    motion: Motion,
    size: Size,
    frames: int,
) -> str:
    """Filters from the canvas input (and the text input) to the scene's frames, unlabelled at the
    end. The canvas is converted to BT.709 YUV once, before it is repeated."""
    chain = (
        f"[{canvas}]scale=out_color_matrix=bt709:out_range=tv,format=yuv420p,"
        f"loop=loop={frames - 1}:size=1:start=0,settb=1/{size.fps},setpts=N,"
        f"{motion_filters(motion, size, frames)}"
    )
    if overlay is None or overlay_input is None:
        return chain
    return f"{chain}[moving];[moving][{overlay_input}]overlay=x={overlay.x}:y={overlay.y}:format=yuv420"


def motion_filters(motion: Motion, size: Size, frames: int) -> str:
    """scale (per frame, only when the zoom changes) and a moving crop of the frame size."""
    span = max(1, frames - 1)

    def lerp(pair: tuple[float, float]) -> str:
        start, end = pair
        return f"({start:.6f}+{end - start:.6f}*n/{span})"

    zoom_from, zoom_to = motion.zoom
    filters = []
    if zoom_from == zoom_to:
        width, height = _even_up(size.width * zoom_from), _even_up(size.height * zoom_from)
        filters.append(f"scale={width}:{height}")
    else:
        zoom = lerp(motion.zoom)
        filters.append(
            f"scale=w='2*trunc({size.width}*{zoom}/2)':h='2*trunc({size.height}*{zoom}/2)'"
            ":eval=frame:flags=bilinear"
        )
    filters.append(
        f"crop={size.width}:{size.height}:x='(iw-{size.width})*{lerp(motion.x)}'"
        f":y='(ih-{size.height})*{lerp(motion.y)}'"
    )
    return ",".join(filters)


def video_output_args(size: Size, frames: int, encoding: Encoding) -> list[str]:
    return [
        "-frames:v",
        str(frames),
        "-r",
        str(size.fps),
        *encoding.args(),
        "-pix_fmt",
        "yuv420p",
        "-threads",
        str(ffmpeg.encoder_threads()),
        "-colorspace",
        "bt709",
        "-color_primaries",
        "bt709",
        "-color_trc",
        "bt709",
        "-color_range",
        "tv",
        "-movflags",
        "+faststart",
    ]


def _even_up(value: float) -> int:
    rounded = round(value)
    return rounded + rounded % 2
