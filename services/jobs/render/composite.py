"""The final ad: the scene files joined by the plan's transitions (crossfade, slide, wipe) with the
captions over them, and the sound
(render.mix: the voiceover over the ducked music, normalized to -14 LUFS), in one ffmpeg run that
encodes the video once (H.264 + AAC, +faststart for browsers). The sound is mixed and measured
before, in short audio-only runs; the captions are PNG panels (render.captions) shown each while
its cue is spoken.

Scene files from any provider are accepted: each is brought to the frame size (cover-crop), 30 fps
and its timeline length (trimmed, or its last frame held) before the fades. For the local
provider's scenes those filters change nothing and cost next to nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from services.jobs.media_types import InputError, JobIO, Size
from services.jobs.render import captions, ffmpeg, mix, probe
from services.jobs.render.files import atomic_output, scratch
from services.jobs.render.scenes import FINAL_ENCODING, Encoding, video_output_args
from services.jobs.render.timeline import Timeline

# The plan's transition names (generation/design.py) as xfade transitions. Plans from before
# transitions were chosen name none: every boundary is a crossfade.
XFADE = {"crossfade": "fade", "slide": "slideleft", "wipe": "wipeleft"}
DEFAULT_TRANSITION = "crossfade"
AUDIO_RATE = mix.AUDIO_RATE
AUDIO_BITRATE = "160k"
MUSIC_GAIN, DUCK = mix.MUSIC_GAIN, mix.DUCK


def composite(
    io: JobIO,
    scene_files: list[Path],
    timeline: Timeline,
    voiceover: Path | None,
    music: Path | None,
    size: Size,
    out: Path,
    *,
    encoding: Encoding = FINAL_ENCODING,
    cues: Sequence[captions.Cue] = (),
    caption_regions: Sequence[captions.Region] = (),
    primary: str | None = None,
    font: str | None = None,
    transitions: list[str] | None = None,
) -> None:
    """`cues`: the captions, in the ad's timeline, drawn on a panel of the `primary` color in the
    brand `font` (services.common.brand_kit), placed per scene as `caption_regions` say.
    `transitions` names one transition per boundary
    (XFADE's keys); None: crossfades."""
    if len(scene_files) != len(timeline.scene_frames):
        raise InputError(
            f"{len(scene_files)} scene files for a timeline of {len(timeline.scene_frames)} scenes"
        )
    if timeline.fps != size.fps:
        raise InputError(f"the timeline is at {timeline.fps} fps, the size at {size.fps}")
    for n, path in enumerate(scene_files, start=1):
        if probe.probe(path).video is None:
            raise InputError(f"scene {n}: {path.name} has no video stream")
    with scratch(io, "composite-") as tmp:
        io.progress(2, "mixing the sound")
        mixed = tmp / "mix.wav"
        loudness = mix.mix(io, voiceover, music, timeline.total_s, mixed)
        panels = captions.render_panels(
            list(cues), size, tmp, primary=primary, font=font, regions=list(caption_regions)
        )
        inputs: list[str] = []
        for path in scene_files:
            # One decoding thread per scene: decoding is cheap next to the encode, and every input
            # has its own decoder thread already; more threads only fight the encoder for the cores.
            inputs += ["-threads", "1", "-i", str(path)]
        sound = len(scene_files)
        inputs += ["-i", str(mixed)]
        for panel in panels:
            inputs += ["-i", str(panel.path)]
        video = video_graph([f"{i}:v" for i in range(len(scene_files))], timeline, size, transitions)
        graph = ";".join(
            [
                captions_graph(video, panels, sound + 1) + "[video]",
                f"[{sound}:a]{mix.normalize(loudness)},{mix.fit(timeline.total_s)}[audio]",
            ]
        )
        stage = "compositing the ad"
        io.progress(5, stage)
        with atomic_output(out) as partial:
            ffmpeg.run(
                io,
                [
                    *inputs,
                    "-filter_complex",
                    graph,
                    "-map",
                    "[video]",
                    "-map",
                    "[audio]",
                    *video_output_args(size, timeline.total_frames, encoding),
                    *audio_output_args(),
                    "-t",
                    f"{timeline.total_s:.6f}",
                    "-f",
                    "mp4",
                    "-y",
                    str(partial),
                ],
                what=stage,
                duration_s=timeline.total_s,
                on_progress=lambda done: io.progress(5 + round(90 * done), stage),
            )


def captions_graph(video: str, panels: list[captions.Panel], first_input: int) -> str:
    """The joined scenes (an unlabelled graph) with each caption panel overlaid while its cue is
    spoken; unlabelled at the end. Panel k is input first_input + k."""
    if not panels:
        return video
    parts = [video + "[c0]"]
    for k, panel in enumerate(panels):
        window = f"between(t,{panel.cue.start_s:.3f},{panel.cue.end_s:.3f})"
        parts.append(
            f"[c{k}][{first_input + k}:v]overlay=x={panel.x}:y={panel.y}:format=yuv420"
            f":enable='{window}'[c{k + 1}]"
        )
    parts[-1] = parts[-1].removesuffix(f"[c{len(panels)}]")
    return ";".join(parts)


def video_graph(
    labels: list[str], timeline: Timeline, size: Size, transitions: list[str] | None = None
) -> str:
    """Each scene normalized to its timeline length, then joined by its boundary's transition;
    unlabelled at the end."""
    names = xfade_names(transitions, len(labels) - 1)
    parts = []
    for i, (label, frames) in enumerate(zip(labels, timeline.render_frames, strict=True)):
        parts.append(
            f"[{label}]scale={size.width}:{size.height}:force_original_aspect_ratio=increase,"
            f"crop={size.width}:{size.height},setsar=1,fps={size.fps},format=yuv420p,"
            f"tpad=stop_mode=clone:stop={frames},trim=end_frame={frames},setpts=PTS-STARTPTS[s{i}]"
        )
    joined = "[s0]"
    if timeline.transition_frames and len(labels) > 1:
        for i, offset in enumerate(timeline.xfade_offsets_s, start=1):
            label = f"[x{i}]"
            parts.append(
                f"{joined}[s{i}]xfade=transition={names[i - 1]}:duration={timeline.transition_s:.6f}"
                f":offset={offset:.6f}{label}"
            )
            joined = label
        parts[-1] = parts[-1].removesuffix(joined)
        return ";".join(parts)
    if len(labels) > 1:
        parts.append("".join(f"[s{i}]" for i in range(len(labels))) + f"concat=n={len(labels)}:v=1:a=0")
        return ";".join(parts)
    parts[-1] = parts[-1].removesuffix("[s0]")
    return ";".join(parts)


def xfade_names(transitions: list[str] | None, boundaries: int) -> list[str]:
    """xfade's name for each boundary's transition."""
    given = list(transitions) if transitions is not None else [DEFAULT_TRANSITION] * boundaries
    if len(given) != boundaries:
        raise InputError(f"{len(given)} transitions for {boundaries} scene boundaries")
    unknown = [name for name in given if name not in XFADE]
    if unknown:
        raise InputError(f"unknown transition {unknown[0]!r}: use one of {', '.join(XFADE)}")
    return [XFADE[name] for name in given]


def audio_output_args() -> list[str]:
    return ["-c:a", "aac", "-b:a", AUDIO_BITRATE, "-ar", str(AUDIO_RATE), "-ac", "2"]
