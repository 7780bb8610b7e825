"""Scene durations that add up exactly to an ad's length."""

from __future__ import annotations

# Durations are whole or half seconds: counted here in half-second units.
UNITS_PER_S = 2
MIN_SCENE_S = 1
MAX_SCENE_S = 60


def fit_durations(weights: list[float], total_s: float) -> list[float]:
    """Durations in proportion to `weights` (positive numbers), each a whole or half second from
    1 to 60, summing exactly to `total_s`. ValueError when the scenes cannot fit in it.

    Deterministic: every scene starts at the minimum, then each remaining half second goes to the
    scene furthest below its proportional share (the earliest one on a tie)."""
    if not weights or any(not w > 0 for w in weights):
        raise ValueError("every scene needs a positive weight")
    total = round(total_s * UNITS_PER_S)
    low, high = MIN_SCENE_S * UNITS_PER_S, MAX_SCENE_S * UNITS_PER_S
    if not len(weights) * low <= total <= len(weights) * high:
        raise ValueError(
            f"{len(weights)} scenes of {MIN_SCENE_S} to {MAX_SCENE_S} s cannot last {total_s:g} s"
        )
    weight_sum = sum(weights)
    shares = [total * w / weight_sum for w in weights]
    units = [low] * len(weights)
    for _ in range(total - sum(units)):
        open_scenes = [i for i in range(len(units)) if units[i] < high]
        neediest = max(open_scenes, key=lambda i: (shares[i] - units[i], -i))
        units[neediest] += 1
    return [u / UNITS_PER_S if u % UNITS_PER_S else u // UNITS_PER_S for u in units]
