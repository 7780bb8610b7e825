"""Captions as WebVTT (the W3C format browsers and players read beside a video): written from the
voiceover's cues, and read back by the composite, which burns the same cues into the frames.

Only the subset this service writes is read back: a header, then cues of a timing line and text."""

from __future__ import annotations

import html
import re

from services.jobs.media_types import InputError
from services.jobs.render.captions import Cue

_TIMING = re.compile(r"^(\d{2,}):(\d{2}):(\d{2})\.(\d{3}) --> (\d{2,}):(\d{2}):(\d{2})\.(\d{3})")


def write(cue_list: list[Cue]) -> str:
    blocks = ["WEBVTT"]
    for n, cue in enumerate(cue_list, start=1):
        # Escaped: the text is the script's, and <, & start markup in a cue.
        text = html.escape(cue.text, quote=False)
        blocks.append(f"{n}\n{_timestamp(cue.start_s)} --> {_timestamp(cue.end_s)}\n{text}")
    return "\n\n".join(blocks) + "\n"


def read(document: str) -> list[Cue]:
    lines = document.replace("\r\n", "\n").split("\n")
    if not lines or not lines[0].startswith("WEBVTT"):
        raise InputError("the captions file is not WebVTT")
    out: list[Cue] = []
    i = 1
    while i < len(lines):
        match = _TIMING.match(lines[i])
        if not match:
            i += 1
            continue
        parts = [int(p) for p in match.groups()]
        start = parts[0] * 3600 + parts[1] * 60 + parts[2] + parts[3] / 1000
        end = parts[4] * 3600 + parts[5] * 60 + parts[6] + parts[7] / 1000
        i += 1
        text_lines = []
        while i < len(lines) and lines[i].strip():
            text_lines.append(lines[i])
            i += 1
        out.append(Cue(start, end, html.unescape(" ".join(text_lines))))
    return out


def _timestamp(seconds: float) -> str:
    ms = max(0, round(seconds * 1000))
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{ms:03d}"
