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
        caption_regions=caption_regions(plan, size),
        primary=(brand.get("colors") or {}).get("primary"),
        font=brand.get("font"),
        transitions=plan.get("transitions"),
    )


def caption_regions(plan: dict, size: Size) -> list:
    """Each scene's stretch of the ad, where its captions go across the frame (its layout's
    choice) and the text it shows, which its captions do not repeat (render.captions.Region)."""
    from services.jobs.render import captions, layouts

    line = timeline_of(plan)
    regions = []
    for scene, start_s, end_s in zip(
        plan["scenes"], line.starts_s, [*line.starts_s[1:], line.total_s], strict=True
    ):
        span = layouts.caption_span(scene.get("layout") or layouts.DEFAULT_LAYOUT, size)
        centre, width = span or (0.5, captions.WIDTH_SHARE)
        regions.append(captions.Region(start_s, end_s, centre, width, scene.get("on_screen_text") or ""))
    return regions
