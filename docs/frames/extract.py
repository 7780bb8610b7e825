"""Take the README's frames out of a final video: one PNG per named scene, small enough for a repo.

A scene starts where the durations of the scenes before it add up to (the composite keeps the
script's timeline; each transition straddles a boundary), so the script's durations place every
frame. A pick is NAME=SCENE@FRACTION: the frame at that fraction of the scene, e.g. hook=1@0.7
(the headline is in by then), end-card=6@0.8.

    .venv/bin/python docs/frames/extract.py final_ad.mp4 --durations 2,3,3,2.5,2.5,2 \\
        --pick hook=1@0.7 --pick product=3@0.5 --pick end-card=6@0.8 --prefix 9x16- --out docs/frames

Frames are scaled to --width pixels wide and stored as 256-colour PNGs (dithered), which keeps a
540 px frame under about 300 KB.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import av
from PIL import Image


def parse_pick(text: str) -> tuple[str, int, float]:
    """hook=1@0.7 -> ("hook", 1, 0.7)."""
    name, _, where = text.partition("=")
    scene, _, fraction = where.partition("@")
    if not name or not scene.isdigit() or not 0 <= float(fraction or 0.5) <= 1:
        raise argparse.ArgumentTypeError(f"a pick is NAME=SCENE@FRACTION (e.g. hook=1@0.7), not {text!r}")
    return name, int(scene), float(fraction or 0.5)


def times_of(durations: list[float], picks: list[tuple[str, int, float]]) -> dict[str, float]:
    """Each pick's time in seconds in the video."""
    starts = [sum(durations[:i]) for i in range(len(durations))]
    times = {}
    for name, scene, fraction in picks:
        if not 1 <= scene <= len(durations):
            raise SystemExit(f"{name}: there is no scene {scene} in {len(durations)} durations")
        times[name] = starts[scene - 1] + fraction * durations[scene - 1]
    return times


def frames_at(video: Path, times: dict[str, float]) -> dict[str, Image.Image]:
    """The first decoded frame at or after each time."""
    wanted = sorted(times.items(), key=lambda item: item[1])
    found: dict[str, Image.Image] = {}
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            at = float(frame.time or 0.0)
            while wanted and at >= wanted[0][1]:
                found[wanted.pop(0)[0]] = frame.to_image()
            if not wanted:
                break
    for name, _ in wanted:
        raise SystemExit(f"{name}: the video ends before {times[name]:.2f} s")
    return found


def save_small(image: Image.Image, width: int, path: Path) -> int:
    height = round(image.height * width / image.width)
    small = image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
    small.quantize(256, dither=Image.Dither.FLOYDSTEINBERG).save(path, optimize=True)
    return path.stat().st_size


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("video", type=Path, help="a final video (final_ad.mp4, final_ad-16x9.mp4, ...)")
    parser.add_argument("--durations", required=True, help="the scenes' seconds, comma-separated")
    parser.add_argument("--pick", type=parse_pick, action="append", required=True, help="NAME=SCENE@FRACTION")
    parser.add_argument("--width", type=int, default=540, help="width of the PNGs (default 540)")
    parser.add_argument("--prefix", default="", help="put before each file name (e.g. 9x16-)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent, help="where to write")
    args = parser.parse_args()

    durations = [float(d) for d in args.durations.split(",")]
    times = times_of(durations, args.pick)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, image in frames_at(args.video, times).items():
        path = args.out / f"{args.prefix}{name}.png"
        size = save_small(image, args.width, path)
        print(f"{path}: {times[name]:.2f} s, {size // 1024} KB")


if __name__ == "__main__":
    main()
