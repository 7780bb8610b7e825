"""The music bed a project can ask for: a mood and a tempo for the generated bed, or the brand's own
track (a brand file of kind `audio`).

Shared by accounts (which validates a project's choice on write), the gateway (which documents the
choices) and jobs (whose music step renders the mood). A project that names no mood gets
DEFAULT_MOOD; no tempo means the mood's own (DEFAULT_TEMPO_BPM).
"""

from __future__ import annotations

MOODS = ("upbeat", "calm", "dramatic", "playful", "inspiring")
DEFAULT_MOOD = "upbeat"
MIN_TEMPO_BPM, MAX_TEMPO_BPM = 60, 180
# The tempo a mood is played at when the project sets none.
DEFAULT_TEMPO_BPM = {"upbeat": 120, "calm": 75, "dramatic": 90, "playful": 130, "inspiring": 100}
