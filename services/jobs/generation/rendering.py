"""The rendering pieces the generation steps use whatever the provider: the timeline (how long each
scene file is, where each scene starts), audio encoding for storage, and the composite."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from services.jobs.media_types import JobIO, Size
from services.jobs.render import ffmpeg, timeline

MP3_BITRATE = "160k"


def timeline_of(plan: dict) -> timeline.Timeline:
    return timeline.plan([s["duration_s"] for s in plan["scenes"]], fps=30)


def scene_render_duration(plan: dict, n: int) -> float:
    """A scene file's length: its share of the ad plus the halves of the fades it takes part in."""
    return timeline_of(plan).render_s[n - 1]


def scene_starts(plan: dict) -> list[float]:
    return timeline_of(plan).starts_s


def to_mp3(io: JobIO, wav: Path, mp3: Path) -> Path:
    """The layout stores audio as MP3 (audio/{project}/{type}_{n}.mp3)."""
    ffmpeg.run(
        io, ["-y", "-i", str(wav), "-c:a", "libmp3lame", "-b:a", MP3_BITRATE, str(mp3)], what="encoding MP3"
    )
    return mp3


def composite(
    io: JobIO, plan: dict, scenes: list[Path], voiceover: Path, music: Path, out: Path, *, cues: Sequence = ()
) -> None:
    """The final ad, with `cues` (render.captions.Cue) as captions in the brand's color and font."""
    from services.jobs.render import composite as compositing

    size = Size(plan["width"], plan["height"], 30)
    brand = plan.get("brand") or {}
    compositing.composite(
        io,
        scenes,
        timeline_of(plan),
        voiceover,
        music,
        size,
        out,
        cues=cues,
        primary=(brand.get("colors") or {}).get("primary"),
        font=brand.get("font"),
        transitions=plan.get("transitions"),
    )
