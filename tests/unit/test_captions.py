"""Captions as pure data: words to cues, cues to WebVTT and back, and a plan's sound settings."""

from __future__ import annotations

from PIL import Image

from services.common.voices import DEFAULT_VOICE, MAX_SPEAKING_RATE
from services.jobs.generation import rendering, sound
from services.jobs.media_types import Size, SpokenWord
from services.jobs.render import captions, layouts, music, vtt


def spoken(
    text: str, start: float = 0.0, step: float = 0.3, pause_after: dict | None = None
) -> list[SpokenWord]:
    words, t = [], start
    for i, word in enumerate(text.split()):
        words.append(SpokenWord(word, t, t + step - 0.02))
        t += step + (pause_after or {}).get(i, 0.0)
    return words


def test_cues_break_at_punctuation_and_pauses_and_split_long_clauses_evenly():
    words = spoken("Meet Zapcut, the cold brew that keeps up with you. Order now", pause_after={9: 0.5})
    assert [c.text for c in captions.cues(words)] == [
        "Meet Zapcut,",
        "the cold brew that",
        "keeps up with you.",
        "Order now",
    ]
    pause = spoken("one two three four", pause_after={1: 0.4})
    assert [c.text for c in captions.cues(pause)] == ["one two", "three four"]


def test_a_cue_lasts_from_its_first_word_to_its_last():
    words = spoken("Sealed fresh.", start=5.0)
    (cue,) = captions.cues(words)
    assert (cue.start_s, cue.end_s) == (words[0].start_s, words[-1].end_s)


def test_vtt_round_trip_keeps_times_to_the_millisecond_and_escapes_markup():
    cues = [captions.Cue(0.15, 1.2345, "Fish & chips <b>now</b>"), captions.Cue(3661.5, 3662.0, "Later")]
    document = vtt.write(cues)
    assert document.startswith("WEBVTT\n\n1\n00:00:00.150 --> 00:00:01.234\nFish &amp; chips &lt;b&gt;")
    assert "01:01:01.500 --> 01:01:02.000" in document
    back = vtt.read(document)
    assert [c.text for c in back] == [c.text for c in cues]
    assert all(
        abs(a.start_s - b.start_s) < 0.001 and abs(a.end_s - b.end_s) < 0.001
        for a, b in zip(back, cues, strict=True)
    )


def test_plans_without_sound_settings_use_the_defaults():
    assert sound.voice_of({}).voice == DEFAULT_VOICE and sound.voice_of({}).rate == 1.0
    assert sound.music_of({}) == sound.MusicSettings(music.DEFAULT_MOOD, None)
    assert sound.track_key({}) is None


def test_plan_sound_settings_are_read_and_kept_in_range():
    voice = sound.voice_of({"voice": {"voice": "de-m1", "language": "de", "rate": 9}})
    assert (voice.voice, voice.language, voice.rate) == ("de-m1", "de", MAX_SPEAKING_RATE)
    assert sound.voice_of({"voice": {"voice": "gone", "language": "fr"}}).voice == "fr-f1"
    settings = sound.music_of({"music": {"mood": "calm", "tempo_bpm": 500, "track_key": None}})
    assert settings == sound.MusicSettings("calm", music.MAX_BPM)
    assert sound.music_of({"music": {"mood": "polka"}}).mood == music.DEFAULT_MOOD
    assert sound.track_key({"music": {"track_key": "brand-assets/x/song.mp3"}}) == "brand-assets/x/song.mp3"


def test_a_split_scene_has_its_captions_under_its_product_and_no_scene_repeats_its_headline(tmp_path):
    """Each scene's region: the split layout's (a wide frame) puts the panel under the product, off
    the headline block's edge; the end card's call to action, also said by the voice, is burned in
    once (as the button), while the VTT keeps every cue."""
    size = Size(1280, 720, 30)
    plan = {
        "width": size.width,
        "height": size.height,
        "scenes": [
            {"duration_s": 3.0, "layout": "full_bleed", "on_screen_text": "Fizz with real fruit"},
            {"duration_s": 3.0, "layout": "split", "on_screen_text": "Real fruit, zero sugar"},
            {"duration_s": 3.0, "layout": "end_card", "on_screen_text": "Grab a can today"},
        ],
    }
    regions = rendering.caption_regions(plan, size)
    cue_list = [
        captions.Cue(0.5, 2.0, "Meet Acme."),
        captions.Cue(3.2, 4.0, "Zero sugar."),  # the headline's words: shown already
        captions.Cue(4.2, 5.5, "None at all."),
        captions.Cue(6.5, 8.0, "Grab a can, today!"),
        captions.Cue(8.0, 8.6, "Grab a can"),  # part of the headline's words, in order: also shown
    ]

    panels = captions.render_panels(cue_list, size, tmp_path, regions=regions)

    assert [p.cue.text for p in panels] == ["Meet Acme.", "None at all."]
    hook, split = panels
    assert abs(hook.x + Image.open(hook.path).width / 2 - size.width / 2) <= 1
    split_centre = split.x + Image.open(split.path).width / 2
    assert abs(split_centre - size.width * layouts.SPLIT_PRODUCT_CENTRE_X) <= 1
    assert split.x > size.width * 0.5  # clear of the headline block on the left
    # A tall frame's split scene has its product below the headline: captions stay centred.
    tall = Size(720, 1280, 30)
    assert rendering.caption_regions(plan | {"width": 720, "height": 1280}, tall)[1].centre == 0.5
