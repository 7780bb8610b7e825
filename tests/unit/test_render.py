"""The local renderer's plan maths, as plain unit tests: frame sizes per aspect, the timeline of
scenes and transitions, and text the font can draw. Rendering with ffmpeg:
tests/integration/test_render.py."""

from __future__ import annotations

import pytest

from services.jobs.media_types import InputError, Size
from services.jobs.providers.base import Provider
from services.jobs.providers.local import LocalProvider
from services.jobs.render import poster, text, timeline
from services.jobs.render.sizes import size_for


@pytest.mark.parametrize(
    ("aspect", "short", "expected"),
    [
        ("9:16", 360, (360, 640)),
        ("16:9", 360, (640, 360)),
        ("1:1", 360, (360, 360)),
        ("9:16", 1080, (1080, 1920)),
        ("16:9", 1080, (1920, 1080)),
        ("1:1", 1080, (1080, 1080)),
        ("9:16", 721, (720, 1280)),
    ],
)
def test_size_for(aspect, short, expected):
    size = size_for(aspect, short)
    assert (size.width, size.height, size.fps) == (*expected, 30)


SHORT = 360


def test_size_for_refuses_an_unknown_aspect():
    with pytest.raises(InputError, match="4:3"):
        size_for("4:3", 360)


def test_timeline_three_one_second_scenes():
    tl = timeline.plan([1.0, 1.0, 1.0])
    assert tl.transition_s == pytest.approx(0.4)
    assert tl.render_s == pytest.approx([1.2, 1.4, 1.2])
    assert tl.starts_s == pytest.approx([0.0, 1.0, 2.0])
    assert tl.xfade_offsets_s == pytest.approx([0.8, 1.8])
    assert tl.total_s == pytest.approx(3.0)
    # The rendered files, overlapped by the fades, add up to the script's length.
    assert sum(tl.render_frames) - 2 * tl.transition_frames == tl.total_frames == 90


def test_timeline_rounds_boundaries_without_drift():
    durations = [1.25, 2.5, 0.9, 3.33, 1.01]
    tl = timeline.plan(durations, transition_s=0.5)
    assert tl.total_frames == round(sum(durations) * 30)
    assert tl.transition_frames % 2 == 0
    assert sum(tl.render_frames) - 4 * tl.transition_frames == tl.total_frames
    for start, expected in zip(tl.starts_s, [0, 1.25, 3.75, 4.65, 7.98], strict=True):
        assert abs(start - expected) <= 0.5 / 30


def test_timeline_one_scene_has_no_transition():
    tl = timeline.plan([2.0])
    assert tl.transition_frames == 0
    assert tl.render_s == [2.0]
    assert tl.xfade_offsets_s == []


def test_timeline_transition_shrinks_for_short_scenes():
    tl = timeline.plan([2.0, 0.2, 2.0], transition_s=0.4)
    assert tl.transition_frames == 6  # a middle scene holds at most one whole fade
    assert tl.render_frames == (63, 12, 63)
    tl = timeline.plan([0.1, 2.0], transition_s=0.4)
    assert tl.transition_frames == 6  # an end scene holds half a fade


@pytest.mark.parametrize("durations", [[], [1.0, 0.0], [-1.0], [0.001]])
def test_timeline_refuses_bad_durations(durations):
    with pytest.raises(InputError):
        timeline.plan(durations)


def test_text_the_font_cannot_draw_is_replaced():
    assert text.printable("Café — naïve 🔥 ok") == "Cafe - naive  ok"


def test_size_is_a_plain_value():
    assert Size(360, 640) == size_for("9:16", SHORT)


def test_local_provider_is_named_local():
    provider: Provider = LocalProvider()
    assert provider.name == "local"


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (Size(1080, 1920), (360, 640)),
        (Size(1920, 1080), (640, 360)),
        (Size(1080, 1080), (360, 360)),
        (Size(144, 256), (144, 256)),  # never larger than the video itself
    ],
)
def test_the_preview_is_small_with_the_videos_shape(size, expected):
    assert poster.preview_size(size) == expected


def test_the_poster_is_taken_after_the_hooks_headline_has_come_in():
    assert 0 < poster.poster_time_s(2.0) < 2.0
    assert poster.poster_time_s(0.0) == 0.0
