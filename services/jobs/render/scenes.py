"""One scene: a silent H.264 MP4 of the scene's layout (render/layouts.py) in motion.

Pillow draws the layout's still parts once (layouts.compose); one ffmpeg run animates them: the
background is decoded once and repeated (panned and zoomed for a full-bleed product shot: scaled
per frame between 1x and ZOOM, with a moving crop of the frame size), and each layer is overlaid
at a position that follows the time (slide in, drift, slide out), fading in and out where it
should (the headline). Old plans name no layout: their scenes are full_bleed, the product shot
with its headline. render_over_footage is the same for a clip made elsewhere (a video model's): the
clip is the moving background, the full_bleed headline animates over it.

Scene files are intermediates that the composite decodes and encodes again, so by default they are
encoded with x264's fastest preset at a fixed high quality (SCENE_ENCODING) rather than small: the
final ad is then encoded once, at FINAL_ENCODING.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.jobs.media_types import BrandKit, InputError, JobIO, Scene, Size
from services.jobs.render import ffmpeg, layouts
from services.jobs.render.files import atomic_output, scratch
from services.jobs.render.layouts import ZOOM, Composition, Layer, canvas_size, image_for

__all__ = ["ZOOM", "canvas_size", "image_for"]

MAX_SCENE_S = 120.0


@dataclass(frozen=True)
class Encoding:
    """libx264 settings: a preset and a quality, either constant quantizer (qp: no rate control,
    the cheapest) or constant rate factor (crf: steadier quality per bit), and x264's threads
    (None: ffmpeg.encoder_threads())."""

    preset: str
    crf: int | None = None
    qp: int | None = None
    threads: int | None = None

    def args(self) -> list[str]:
        quality = ["-qp", str(self.qp)] if self.qp is not None else ["-crf", str(self.crf or 23)]
        return ["-c:v", "libx264", "-preset", self.preset, *quality]


# Intermediates: the fastest preset at a fixed, high quality (the composite encodes them again),
# on one thread: an ultrafast encode keeps up with the scene's filter graph (a thread of its own),
# and more threads only add synchronisation (the same frames, about a tenth less CPU).
SCENE_ENCODING = Encoding("ultrafast", qp=20, threads=1)
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
    brand: BrandKit | None = None,
    encoding: Encoding = SCENE_ENCODING,
) -> None:
    """Write scene.duration_s seconds (rounded to whole frames) of `size` at size.fps into `out`."""
    frames = frame_count(scene.duration_s, size.fps)
    io.progress(5, f"preparing scene {scene.n}")
    io.checkpoint()
    with scratch(io, f"scene{scene.n}-") as tmp:
        composition = layouts.compose(scene, brand, image_paths, size, frames / size.fps, tmp)
        io.checkpoint()
        _animate(io, scene, composition, size, frames, out, encoding)


def render_over_footage(
    io: JobIO,
    scene: Scene,
    footage: Path,
    size: Size,
    out: Path,
    *,
    brand: BrandKit | None = None,
    encoding: Encoding = SCENE_ENCODING,
) -> None:
    """The scene's headline animated over `footage` (a silent video of `size`, scene.duration_s
    long: a video model's clip), as on a local full_bleed scene, into `out`."""
    frames = frame_count(scene.duration_s, size.fps)
    io.checkpoint()
    with scratch(io, f"scene{scene.n}-") as tmp:
        composition = layouts.over_footage(scene, brand, footage, size, frames / size.fps, tmp)
        _animate(io, scene, composition, size, frames, out, encoding)


def _animate(
    io: JobIO, scene: Scene, composition: Composition, size: Size, frames: int, out: Path, encoding: Encoding
) -> None:
    stage = f"rendering scene {scene.n}"
    with atomic_output(out) as partial:
        ffmpeg.run(
            io,
            [
                *input_args(composition),
                "-filter_complex",
                f"{scene_graph(composition, motion_for(scene.n), size, frames)}[out]",
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


def input_args(composition: Composition) -> list[str]:
    """ffmpeg inputs of a composition: the background, then each layer in order."""
    args = ["-i", str(composition.background)]
    for layer in composition.layers:
        args += ["-i", str(layer.path)]
    return args


def scene_graph(
    composition: Composition, motion: Motion, size: Size, frames: int, first_input: int = 0
) -> str:
    """Filters from the composition's inputs (numbered from `first_input`, as input_args lists
    them) to the scene's frames, unlabelled at the end. Each still is converted to BT.709 YUV once,
    before it is repeated."""
    to_yuv = "scale=out_color_matrix=bt709:out_range=tv"
    repeat = f"loop=loop={frames - 1}:size=1:start=0,settb=1/{size.fps},setpts=N"
    if composition.moving:
        chain = f"[{first_input}:v]format=yuv420p,settb=1/{size.fps},setpts=N"
    else:
        chain = f"[{first_input}:v]{to_yuv},format=yuv420p,{repeat}"
    if composition.pans:
        chain += f",{motion_filters(motion, size, frames)}"
    parts, below = [], "bg"
    parts.append(f"{chain}[{below}]")
    duration_s = frames / size.fps
    for i, layer in enumerate(composition.layers, start=1):
        source = f"[{first_input + i}:v]{to_yuv},format=yuva420p"
        if layer.fading:
            # Only a layer that fades needs a frame of its own per output frame; the others are
            # one frame that overlay holds, moved per output frame by its x/y expressions.
            source += f",{repeat}{_fades(layer)}"
        parts.append(f"{source}[l{i}]")
        x, y = _position(layer, duration_s)
        parts.append(f"[{below}][l{i}]overlay=x='{x}':y='{y}':format=yuv420:eval=frame[v{i}]")
        below = f"v{i}"
    parts[-1] = parts[-1].removesuffix(f"[{below}]")
    return ";".join(parts)


def _fades(layer: Layer) -> str:
    fades = ""
    if layer.enter_s is not None:
        fades += f",fade=t=in:st={layer.enter_s:.3f}:d={layer.move_s:.3f}:alpha=1"
    if layer.exit_s is not None:
        fades += f",fade=t=out:st={layer.exit_s:.3f}:d={layer.move_s:.3f}:alpha=1"
    return fades


def _position(layer: Layer, duration_s: float) -> tuple[str, str]:
    """overlay's x and y: the rest position, plus the slide (eased: fast, then settling) before it
    has come in and after it starts going out, plus the drift over the scene."""
    move = max(layer.move_s, 1e-3)
    came = "1" if layer.enter_s is None else f"(1-pow(1-clip((t-{layer.enter_s:.3f})/{move:.3f},0,1),3))"
    gone = "0" if layer.exit_s is None else f"pow(clip((t-{layer.exit_s:.3f})/{move:.3f},0,1),3)"

    def axis(rest: int, slide: int, drift: int) -> str:
        expr = str(rest)
        if slide:
            expr += f"+{slide}*(1-{came})-{slide}*{gone}"
        if drift:
            expr += f"+{drift}*t/{max(duration_s, 1e-3):.3f}"
        return expr

    return axis(layer.x, layer.slide[0], layer.drift[0]), axis(layer.y, layer.slide[1], layer.drift[1])


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
        str(encoding.threads or ffmpeg.encoder_threads()),
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
