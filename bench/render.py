"""Render benchmark: a 15 s, 1080x1920 ad of 5 scenes with captions, made by the local provider as
a generation makes one placement, beside the floor for this machine: the same ad, poster and
preview in the fewest ffmpeg runs there can be.

    python -m bench.render [--short-side 1080] [--repeat 2] [--keep DIR]

Both sides make the same ad: laid out as a generation's plan lays it out (generation/design.py: a
layout per scene, a transition per boundary, in a brand kit with colors, font and logo), with the
voiceover's words as burned-in captions, the music ducked under the voice, the mix brought to -14
LUFS by loudnorm's two passes, and a poster and a preview.

The pipeline (run_pipeline) is the generation's steps (generation/steps.py) one after another, as
one worker (`make dev`'s default) runs them, without the bucket: five scene renders (each its own
ffmpeg run and near-lossless intermediate file); the voiceover, its words as WebVTT cues, and its
MP3 (the stored form); the music and its MP3; the composite as the composite step calls it (from
the MP3s and the WebVTT: the mix, its loudness measured, then the one encode with the transitions,
the captions and loudnorm's second pass); then the poster and the preview, each cut from the final
video.

The floor (run_floor) is two ffmpeg runs. The loudness must be measured over the whole mix before
its gain is applied, so loudnorm's measuring pass (audio only) is a run of its own; everything else
is one run: the scenes' graphs, the transitions, the caption panels, the mix with loudnorm's second
pass and one encode, with the poster and the preview as two more outputs of the same frames. It
starts from what the pipeline hands ffmpeg (each scene's drawn backgrounds and layers, the caption
panels, the voiceover and music WAVs: Pillow and numpy work, made once beforehand and not timed),
so it is a fair floor: nothing the ad needs is left out, and nothing is done twice (its measuring
run mixes in the graph rather than reading a mixed file: one run fewer, though about 0.1 CPU s more
than the pipeline's mix and measure). What the pipeline pays beyond it is what its shape costs: a
scene file per scene (one more encode and decode, so that scenes render in parallel and one scene
can be made again), audio stored as MP3, the poster and preview decoded from the stored video, and
the Python drawing.

Wall time is the best of --repeat rounds (the rounds alternate); the machine may be shared, so the
CPU time (user + system of this process and its children, less the memory sampler's own) is
compared too. Peak memory is the largest sum of RSS over this process and all its children
(ffmpeg), sampled every SAMPLE_S. Needs no stack. Target: the pipeline within 1.3x the floor (wall
and CPU), and under 1 GiB peak.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import psutil
from PIL import Image, ImageDraw, ImageFilter

from services.common.brand_kit import DEFAULT_FONT
from services.jobs.generation import design, rendering
from services.jobs.media_types import BrandKit, JobIO, Scene, Size
from services.jobs.providers.local import LocalProvider
from services.jobs.render import captions, composite, ffmpeg, layouts, mix, poster, scenes, timeline, vtt
from services.jobs.render.sizes import size_for

SAMPLE_S = 0.02
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
FFMPEG = [ffmpeg.executable(), "-hide_banner", "-nostdin", "-loglevel", "error"]
TARGET_RATIO = 1.3
TARGET_PEAK_BYTES = 1024**3
SCRIPT = (  # (duration s, on-screen text, voiceover)
    (3.0, "Meet the Zapcut bottle", "Meet the Zapcut bottle."),
    (3.0, "Cold for 24 hours", "Ice cold for twenty four hours."),
    (3.0, "Hot for 12", None),
    (3.0, "Light. Tough. Yours.", "Light, tough, and made for you."),
    (3.0, "Order today", "Order yours today."),
)


@dataclass
class Run:
    wall_s: float
    cpu_s: float  # user + system, this process and its children
    peak_rss: int


@dataclass
class Measurement:
    label: str
    runs: list[Run] = field(default_factory=list)
    stages_s: dict[str, tuple[float, float]] = field(default_factory=dict)  # wall, cpu; of the best run

    @property
    def best_s(self) -> float:
        return min(r.wall_s for r in self.runs)

    @property
    def best_cpu_s(self) -> float:
        return min(r.cpu_s for r in self.runs)

    @property
    def peak_rss(self) -> int:
        return max(r.peak_rss for r in self.runs)


@dataclass
class RenderBench:
    size: Size
    total_s: float
    cues: int
    pipeline: Measurement
    floor: Measurement
    psnr_db: float | None
    python_rss: int  # this process alone before the renders: part of both peaks

    @property
    def ratio(self) -> float:
        return self.pipeline.best_s / self.floor.best_s

    @property
    def cpu_ratio(self) -> float:
        return self.pipeline.best_cpu_s / self.floor.best_cpu_s

    @property
    def meets(self) -> bool:
        return (
            self.ratio <= TARGET_RATIO
            and self.cpu_ratio <= TARGET_RATIO
            and self.pipeline.peak_rss < TARGET_PEAK_BYTES
        )


class TreeMemory:
    """Samples the summed RSS of this process and all its descendants in a background thread.

    A sample reads a few small /proc files of this process tree (not every process on the machine,
    as psutil's children() does: that cost a tenth of a CPU on a busy machine), and what the thread
    itself used is `cpu_s`, which the CPU figures leave out."""

    def __init__(self) -> None:
        self.peak = 0
        self.cpu_s = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        started = time.thread_time()
        try:
            while not self._stop.is_set():
                self.peak = max(
                    self.peak, sum(_rss(pid) for pid in [os.getpid(), *_descendants(os.getpid())])
                )
                self._stop.wait(SAMPLE_S)
        finally:
            self.cpu_s = time.thread_time() - started


def _descendants(pid: int) -> list[int]:
    """Children, grandchildren, ... of pid, as Linux lists each thread's children."""
    found, todo = [], [pid]
    while todo:
        for listing in Path(f"/proc/{todo.pop()}/task").glob("*/children"):
            try:
                children = [int(child) for child in listing.read_text().split()]
            except OSError:  # the process ended meanwhile
                continue
            found += children
            todo += children
    return found


def _rss(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_BYTES
    except (OSError, IndexError, ValueError):
        return 0


def product_shot(width: int, height: int, color: tuple[int, int, int], seed: int) -> Image.Image:
    """A gradient backdrop, a vignette, a little grain and a bottle: something like a product photo."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    shade = (0.55 + 0.45 * (1 - y / height))[..., None] * np.array(color, np.float32)
    vignette = 1 - 0.35 * (((x - width / 2) / width) ** 2 + ((y - height / 2) / height) ** 2)[..., None]
    pixels = np.clip(shade * vignette + rng.normal(0, 3, (height, width, 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    cx, cy, bw, bh = width // 2, height // 2, width // 5, height // 2
    draw.rounded_rectangle((cx - bw // 2, cy - bh // 2, cx + bw // 2, cy + bh // 2), bw // 4, (235, 235, 240))
    draw.rectangle((cx - bw // 3, cy - bh // 2 - height // 14, cx + bw // 3, cy - bh // 2 + 4), (40, 40, 45))
    label = tuple(int(c * 0.6) for c in color)
    draw.rectangle((cx - bw // 2, cy - bh // 8, cx + bw // 2, cy + bh // 8), label)
    return image.filter(ImageFilter.SMOOTH)


def make_images(directory: Path) -> list[Path]:
    specs = [
        ("bottle.png", (1500, 1500), (230, 120, 60)),
        ("lifestyle.jpg", (2400, 1600), (60, 140, 220)),
        ("tall.webp", (1080, 1920), (120, 200, 110)),
        ("detail.jpg", (3000, 4000), (200, 80, 140)),
        ("flat.png", (1200, 1200), (90, 90, 200)),
    ]
    paths = []
    for i, (name, (w, h), color) in enumerate(specs):
        path = directory / name
        product_shot(w, h, color, i).save(path, quality=90)
        paths.append(path)
    return paths


DESCRIPTIONS = ("Hook", "Product shot", "Product shot", "Benefit: light and tough", "Call to action")
ROLES, LAYOUTS, TRANSITIONS = design.design([{"description": d} for d in DESCRIPTIONS], has_images=True)


def brand_kit(directory: Path) -> BrandKit:
    """The bench brand: its colors, a bundled font, and a PNG logo with transparency."""
    logo = Image.new("RGBA", (600, 240), (0, 0, 0, 0))
    draw = ImageDraw.Draw(logo)
    draw.ellipse((10, 10, 230, 230), fill=(250, 205, 40, 255))
    draw.rounded_rectangle((260, 60, 590, 180), 30, fill=(255, 255, 255, 255))
    logo.save(directory / "logo.png")
    colors = {"primary": "#E4572E", "secondary": "#17BEBB", "background": "#1B1B3A"}
    return BrandKit(colors=colors, font=DEFAULT_FONT, logo=directory / "logo.png", name="Zapcut")


def script_scenes(durations: list[float] | None = None) -> list[Scene]:
    return [
        Scene(
            i + 1,
            DESCRIPTIONS[i],
            durations[i] if durations else d,
            on_screen_text=t,
            voiceover_text=v,
            role=ROLES[i],
            layout=LAYOUTS[i],
        )
        for i, (d, t, v) in enumerate(SCRIPT)
    ]


def plan(size: Size, brand: BrandKit) -> dict:
    """The parts of a generation's plan the composite step reads (rendering.composite)."""
    return {
        "width": size.width,
        "height": size.height,
        "scenes": [{"n": i + 1, "duration_s": d} for i, (d, _, _) in enumerate(SCRIPT)],
        "brand": {"colors": brand.colors, "font": brand.font},
        "transitions": TRANSITIONS,
    }


def run_pipeline(
    workdir: Path, image_paths: list[Path], brand: BrandKit, size: Size, tl: timeline.Timeline
) -> tuple[Path, dict]:
    """One placement of the ad as a local generation's steps make it (generation/steps.py), one step
    after another, without the bucket: five scene renders; the voiceover with its captions as
    WebVTT, stored as MP3; the music, stored as MP3; the composite (from the MP3s and the WebVTT,
    as the composite step downloads them: the mix and its loudness measured, then the one encode
    with the transitions, the captions and loudnorm's second pass); the poster and the preview."""
    io = JobIO(workdir=workdir / "job")
    provider = LocalProvider()
    stages: dict[str, tuple[float, float]] = {}
    files = []
    voiceover, music = workdir / "voiceover.wav", workdir / "music.wav"
    final, captions_file = workdir / "final_ad.mp4", workdir / "captions.vtt"

    def stage(name: str, work: Callable[[], None]) -> None:
        started, cpu = time.monotonic(), cpu_seconds()
        work()
        stages[name] = (time.monotonic() - started, cpu_seconds() - cpu)

    def render_scenes() -> None:
        for scene in script_scenes(tl.render_s):
            out = workdir / f"scene_{scene.n}.mp4"
            provider.render_scene(io, scene, image_paths, size, out, brand=brand)
            files.append(out)

    def make_voiceover() -> None:
        words = provider.voiceover(io, script_scenes(), tl.starts_s, tl.total_s, voiceover)
        captions_file.write_text(vtt.write(captions.cues(words)), encoding="utf-8")
        rendering.to_mp3(io, voiceover, voiceover.with_suffix(".mp3"))

    def make_music() -> None:
        provider.music(io, tl.total_s, music)
        rendering.to_mp3(io, music, music.with_suffix(".mp3"))

    def make_composite() -> None:
        cues = vtt.read(captions_file.read_text(encoding="utf-8"))
        rendering.composite(
            io,
            plan(size, brand),
            files,
            voiceover.with_suffix(".mp3"),
            music.with_suffix(".mp3"),
            final,
            cues=cues,
        )

    def make_poster_and_preview() -> None:
        poster.poster(io, final, poster.poster_time_s(tl.seconds(tl.scene_frames[0])), workdir / "poster.jpg")
        poster.preview(io, final, size, tl.total_s, workdir / "preview.mp4")

    stage("5 scenes", render_scenes)
    stage("voiceover + captions", make_voiceover)
    stage("music", make_music)
    stage("composite", make_composite)
    stage("poster + preview", make_poster_and_preview)
    return final, stages


@dataclass(frozen=True)
class FloorInputs:
    """What the pipeline hands ffmpeg, made once and not timed: each scene's drawn parts, the
    caption panels, the voiceover and music WAVs."""

    compositions: list[layouts.Composition]
    panels: list[captions.Panel]
    voiceover: Path
    music: Path


def floor_inputs(
    workdir: Path, image_paths: list[Path], brand: BrandKit, size: Size, tl: timeline.Timeline
) -> FloorInputs:
    io = JobIO(workdir=workdir / "job")
    compositions = []
    for scene in script_scenes(tl.render_s):
        parts = workdir / f"scene_{scene.n}"
        parts.mkdir(exist_ok=True)
        compositions.append(layouts.compose(scene, brand, image_paths, size, scene.duration_s, parts))
    provider = LocalProvider()
    words = provider.voiceover(io, script_scenes(), tl.starts_s, tl.total_s, workdir / "voiceover.wav")
    provider.music(io, tl.total_s, workdir / "music.wav")
    panels = captions.render_panels(
        captions.cues(words), size, workdir, primary=brand.colors["primary"], font=brand.font
    )
    return FloorInputs(compositions, panels, workdir / "voiceover.wav", workdir / "music.wav")


def floor_measure_command(inputs: FloorInputs, tl: timeline.Timeline, stats: Path) -> list[str]:
    """loudnorm's first pass over the mix, audio only: the one run that must precede the encode."""
    graph = f"{mix.audio_graph('0:a', '1:a', tl.total_s)},{mix.measuring(stats)}[measured]"
    return [
        *FFMPEG,
        *["-i", str(inputs.voiceover), "-i", str(inputs.music)],
        *["-filter_complex", graph, "-map", "[measured]", "-f", "null", "-"],
    ]


def floor_command(
    inputs: FloorInputs, loudness: mix.Loudness | None, size: Size, tl: timeline.Timeline, out: Path
) -> list[str]:
    """One ffmpeg run: five laid-out scenes, their transitions, the captions, the ducked mix with
    loudnorm's second pass; from the same frames the poster and the preview, as two more outputs."""
    args: list[str] = []
    graph, index = [], 0
    for i, composition in enumerate(inputs.compositions):
        args += scenes.input_args(composition)
        graph.append(
            scenes.scene_graph(
                composition, scenes.motion_for(i + 1), size, tl.render_frames[i], first_input=index
            )
            + f"[s{i}]"
        )
        index += 1 + len(composition.layers)
    names = composite.xfade_names(TRANSITIONS, len(inputs.compositions) - 1)
    joined = "[s0]"
    for k, offset in enumerate(tl.xfade_offsets_s, start=1):
        graph.append(
            f"{joined}[s{k}]xfade=transition={names[k - 1]}:duration={tl.transition_s:.6f}"
            f":offset={offset:.6f}[x{k}]"
        )
        joined = f"[x{k}]"
    graph[-1] = graph[-1].removesuffix(joined)
    args += ["-i", str(inputs.voiceover), "-i", str(inputs.music)]
    voice, music = index, index + 1
    for panel in inputs.panels:
        args += ["-i", str(panel.path)]
    video = composite.captions_graph(";".join(graph), inputs.panels, music + 1)
    # The first frame at or after the poster's moment, as the poster's seek in the final video finds it.
    poster_frame = math.ceil(round(poster.poster_time_s(tl.seconds(tl.scene_frames[0])) * tl.fps, 6))
    preview_s = min(tl.total_s, poster.PREVIEW_MAX_S)
    total = f"{tl.total_s:.6f}"
    filters = ";".join(
        [
            f"{video},split=3[video][forposter][forpreview]",
            # One frame, then the branch ends (a trim open at its end would convert every frame).
            f"[forposter]trim=start_frame={poster_frame}:end_frame={poster_frame + 1},"
            f"{poster.POSTER_FILTER}[poster]",
            f"[forpreview]trim=end={preview_s:.3f},{poster.preview_filter(size)}[preview]",
            f"{mix.audio_graph(f'{voice}:a', f'{music}:a', tl.total_s)},{mix.normalize(loudness)},"
            f"{mix.fit(tl.total_s)}[audio]",
        ]
    )
    return [
        *FFMPEG,
        *args,
        *["-filter_complex", filters],
        *["-map", "[video]", "-map", "[audio]"],
        *scenes.video_output_args(size, tl.total_frames, scenes.FINAL_ENCODING),
        *composite.audio_output_args(),
        *["-t", total, "-f", "mp4", "-y", str(out)],
        *["-map", "[poster]", "-frames:v", "1", "-q:v", str(poster.POSTER_QUALITY)],
        *["-c:v", "mjpeg", "-f", "image2", "-y", str(out.with_name("poster.jpg"))],
        *["-map", "[preview]", *poster.PREVIEW_ENCODING.args(), "-threads", str(ffmpeg.encoder_threads())],
        *["-an", "-movflags", "+faststart", "-f", "mp4", "-y", str(out.with_name("preview.mp4"))],
    ]


def run_floor(inputs: FloorInputs, size: Size, tl: timeline.Timeline, out: Path) -> dict:
    stages: dict[str, tuple[float, float]] = {}
    stats = out.with_name("loudness.json")
    started, cpu = time.monotonic(), cpu_seconds()
    subprocess.run(floor_measure_command(inputs, tl, stats), check=True)
    stages["loudness pass"] = (time.monotonic() - started, cpu_seconds() - cpu)
    started, cpu = time.monotonic(), cpu_seconds()
    subprocess.run(floor_command(inputs, mix.loudness_of(stats), size, tl, out), check=True)
    stages["the encode"] = (time.monotonic() - started, cpu_seconds() - cpu)
    return stages


def psnr(a: Path, b: Path) -> float | None:
    """Average PSNR (dB) of b's frames against a's: how alike the pipeline's and the floor's are."""
    result = subprocess.run(
        [
            ffmpeg.executable(),
            "-hide_banner",
            "-nostdin",
            "-i",
            str(a),
            "-i",
            str(b),
            "-lavfi",
            "psnr",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"average:([\d.]+|inf)", result.stderr)
    return float(found.group(1)) if found else None


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(measurement: Measurement, work: Callable[[], dict]) -> None:
    started, cpu = time.monotonic(), cpu_seconds()
    with TreeMemory() as memory:
        stages = work()
    wall_s, cpu_s = time.monotonic() - started, cpu_seconds() - cpu - memory.cpu_s
    measurement.runs.append(Run(wall_s, cpu_s, memory.peak))
    if wall_s == measurement.best_s:
        measurement.stages_s = stages


def run(short_side: int = 1080, repeat: int = 1, keep: Path | None = None, progress=print) -> RenderBench:
    """Render the ad both ways `repeat` times (alternating) and compare the best times."""
    size = size_for("9:16", short_side)
    tl = timeline.plan([d for d, _, _ in SCRIPT])
    root = keep or Path(tempfile.mkdtemp(prefix="zapcut-bench-render-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        image_dir, floor_dir = root / "images", root / "floor"
        image_dir.mkdir(exist_ok=True)
        floor_dir.mkdir(exist_ok=True)
        image_paths = make_images(image_dir)
        brand = brand_kit(image_dir)
        inputs = floor_inputs(floor_dir, image_paths, brand, size, tl)
        python_rss = psutil.Process().memory_info().rss
        pipeline, floor = Measurement("local provider"), Measurement("floor: 2 ffmpeg runs")
        final, floor_out = Path(), floor_dir / "floor.mp4"
        for round_ in range(1, repeat + 1):
            progress(f"round {round_}/{repeat}: the floor (a loudness pass, then one ffmpeg command)")
            timed(floor, partial(run_floor, inputs, size, tl, floor_out))
            progress(f"round {round_}/{repeat}: the local provider")
            pipeline_dir = root / f"pipeline_{round_}"
            pipeline_dir.mkdir(exist_ok=True)
            final = pipeline_dir / "final_ad.mp4"
            timed(pipeline, partial(_pipeline_stages, pipeline_dir, image_paths, brand, size, tl))
        return RenderBench(
            size, tl.total_s, len(inputs.panels), pipeline, floor, psnr(floor_out, final), python_rss
        )
    finally:
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)


def _pipeline_stages(*args) -> dict:
    return run_pipeline(*args)[1]


def render(result: RenderBench) -> str:
    """The render section of `make bench`: each side's best wall and CPU time, the ratios beside
    the target (TARGET_RATIO), the peak beside 1 GiB, then every run."""
    mib = 1024 * 1024
    floor, pipeline = result.floor, result.pipeline
    header = (
        f"{'measurement':<22} {'wall s':>7} {'x floor':>8} {'cpu s':>7} {'x floor':>8} {'target':>8}"
        f" {'peak RSS':>10} {'target':>10}  verdict"
    )
    verdict = "meets" if result.meets else "MISSES"
    lines = [
        f"render bench  {psutil.cpu_count()} CPUs  Python {platform.python_version()}  "
        f"{result.total_s:g} s ad at {result.size.width}x{result.size.height}, {len(SCRIPT)} scenes, "
        f"{result.cues} caption cues, poster + preview",
        "",
        header,
        "-" * len(header),
        f"{floor.label:<22} {floor.best_s:>7.2f} {'1.00x':>8} {floor.best_cpu_s:>7.2f} {'1.00x':>8} {'':>8}"
        f" {floor.peak_rss / mib:>6.0f} MiB {'':>10}",
        f"{pipeline.label:<22} {pipeline.best_s:>7.2f} {result.ratio:>7.2f}x {pipeline.best_cpu_s:>7.2f}"
        f" {result.cpu_ratio:>7.2f}x {f'<= {TARGET_RATIO:g}x':>8} {pipeline.peak_rss / mib:>6.0f} MiB"
        f" {f'< {TARGET_PEAK_BYTES // mib} MiB':>10}  {verdict}",
        "",
        "runs (wall s / cpu s / peak MiB):",
    ]
    for m in (floor, pipeline):
        runs = ", ".join(f"{r.wall_s:.2f} / {r.cpu_s:.2f} / {r.peak_rss / mib:.0f}" for r in m.runs)
        lines.append(f"  {m.label:<22} {runs}")
    for m in (floor, pipeline):
        lines.append(
            f"{m.label} stages (wall/cpu s): "
            + ", ".join(f"{k} {w:.2f}/{c:.2f}" for k, (w, c) in m.stages_s.items())
        )
    lines.append(
        f"peak RSS: the whole process tree; the Python process alone held {result.python_rss / mib:.0f} MiB"
    )
    if result.psnr_db is not None:
        lines.append(
            f"pipeline vs floor frames: PSNR {result.psnr_db:.1f} dB (same pictures; the pipeline's "
            "scenes go through one more, near-lossless encode)"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.render", description=__doc__.split("\n\n")[0])
    parser.add_argument("--short-side", type=int, default=1080, help="frame short side (default 1080)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of both renders (default 1)")
    parser.add_argument("--keep", type=Path, help="keep the files in this directory")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.short_side < 16:
        parser.error("--repeat must be at least 1 and --short-side at least 16")
    result = run(args.short_side, args.repeat, args.keep, progress=lambda m: print(m, file=sys.stderr))
    print(render(result))


if __name__ == "__main__":
    main()
