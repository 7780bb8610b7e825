"""Where each scene sits in the ad, in whole frames.

Scenes are joined by cross-fades of `transition` length, centred on the script's scene boundaries:
each fade takes half its length from either side. So a scene file is rendered half a transition
longer at each end that has a neighbour, the ad stays exactly as long as the script says, and a
scene's voiceover starts where the script puts that scene.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.jobs.media_types import InputError

DEFAULT_TRANSITION_S = 0.4


@dataclass(frozen=True)
class Timeline:
    fps: int
    scene_frames: tuple[int, ...]  # each scene's share of the ad, from the script
    transition_frames: int  # even, so each side of a boundary gives half

    @property
    def total_frames(self) -> int:
        return sum(self.scene_frames)

    @property
    def render_frames(self) -> tuple[int, ...]:
        """How many frames each scene file must have."""
        half, last = self.transition_frames // 2, len(self.scene_frames) - 1
        return tuple(frames + half * ((i > 0) + (i < last)) for i, frames in enumerate(self.scene_frames))

    @property
    def start_frames(self) -> tuple[int, ...]:
        starts, at = [], 0
        for frames in self.scene_frames:
            starts.append(at)
            at += frames
        return tuple(starts)

    @property
    def xfade_offset_frames(self) -> tuple[int, ...]:
        """Where each cross-fade starts in the ad (transition k joins scene k and k+1)."""
        half = self.transition_frames // 2
        return tuple(start - half for start in self.start_frames[1:])

    def seconds(self, frames: int) -> float:
        return frames / self.fps

    @property
    def total_s(self) -> float:
        return self.seconds(self.total_frames)

    @property
    def transition_s(self) -> float:
        return self.seconds(self.transition_frames)

    @property
    def render_s(self) -> list[float]:
        return [self.seconds(f) for f in self.render_frames]

    @property
    def starts_s(self) -> list[float]:
        return [self.seconds(f) for f in self.start_frames]

    @property
    def xfade_offsets_s(self) -> list[float]:
        return [self.seconds(f) for f in self.xfade_offset_frames]


def plan(durations_s: list[float], *, fps: int = 30, transition_s: float = DEFAULT_TRANSITION_S) -> Timeline:
    """The timeline of scenes lasting `durations_s` (the script's). Boundaries are rounded to whole
    frames from the running total, so rounding never accumulates. The transition shrinks to fit
    short scenes: a middle scene must last at least one whole fade (its file holds both fades), an
    end scene at least half of one."""
    if not durations_s:
        raise InputError("a timeline needs at least one scene")
    if fps <= 0:
        raise InputError(f"fps must be positive, not {fps}")
    bad = [d for d in durations_s if not d > 0]
    if bad:
        raise InputError(f"scene durations must be positive, got {bad[0]}")
    if transition_s < 0:
        raise InputError(f"the transition cannot be negative ({transition_s} s)")

    boundaries, total = [0], 0.0
    for duration in durations_s:
        total += duration
        boundaries.append(round(total * fps))
    frames = [b - a for a, b in zip(boundaries, boundaries[1:], strict=False)]
    if min(frames) < 1:
        raise InputError(f"every scene must last at least one frame (1/{fps} s)")

    transition = 2 * round(transition_s * fps / 2)
    if len(frames) == 1:
        transition = 0
    else:
        middle = frames[1:-1]
        fits = min([*middle, 2 * frames[0], 2 * frames[-1]])
        transition = min(transition, fits - fits % 2)
    return Timeline(fps=fps, scene_frames=tuple(frames), transition_frames=transition)
