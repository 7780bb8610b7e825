"""The brand kit's pure parts: guidelines (colors, font), logos (a PNG with transparency or a safe
SVG), a project's voice and music settings, and the plan entries made of them."""

from __future__ import annotations

import pytest

from services.accounts import project_settings
from services.accounts.models import AdProject, Brand
from services.common.brand_kit import DEFAULT_COLORS, DEFAULT_FONT, GuidelinesError, check_guidelines, look_of
from services.common.errors import InvalidArgument
from services.common.logo import logo_problem
from services.common.music import DEFAULT_MOOD
from services.common.voices import DEFAULT_VOICE, VOICES
from services.jobs.generation import brand_kit
from services.jobs.generation.plan import make_plan
from tests.support import brand_kit as files
from zapcut.accounts.v1 import accounts_pb2 as pb

# --- guidelines --------------------------------------------------------------------------------


def test_colors_by_role_fill_in_the_missing_roles():
    look = look_of({"colors": {"primary": "#0b6e4f"}, "font": "Lato", "tone": "bright"})
    assert look.colors == {**DEFAULT_COLORS, "primary": "#0B6E4F"}
    assert look.font == "Lato"


def test_the_list_form_still_works_first_color_primary():
    look = look_of({"colors": ["#111111", "#222222"]})
    assert look.colors == {**DEFAULT_COLORS, "primary": "#111111", "secondary": "#222222"}
    assert look_of({}).as_dict() == {"colors": DEFAULT_COLORS, "font": DEFAULT_FONT}


@pytest.mark.parametrize(
    ("guidelines", "field"),
    [
        ({"colors": {"primary": "red"}}, "brand_guidelines.colors.primary"),
        ({"colors": {"primary": "#12345"}}, "brand_guidelines.colors.primary"),
        ({"colors": {"accent": "#123456"}}, "brand_guidelines.colors.accent"),
        ({"colors": ["#111111", "nope"]}, "brand_guidelines.colors.secondary"),
        ({"colors": ["#111111"] * 4}, "brand_guidelines.colors"),
        ({"colors": "#111111"}, "brand_guidelines.colors"),
        ({"font": "Comic Sans MS"}, "brand_guidelines.font"),
        ({"font": 3}, "brand_guidelines.font"),
    ],
)
def test_a_malformed_documented_field_is_named(guidelines, field):
    with pytest.raises(GuidelinesError) as err:
        check_guidelines(guidelines)
    assert err.value.field == field
    assert isinstance(err.value, InvalidArgument)
    assert err.value.message.startswith(f"{field}: ")


def test_undocumented_fields_pass_untouched():
    guidelines = {"tone": "calm", "audience": ["commuters"], "colors": ["#FFFFFF"]}
    assert check_guidelines(guidelines) is guidelines


# --- logos -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("image/png", files.png("RGBA")),
        ("image/png", files.png("LA")),
        ("image/png", files.png("RGB", transparent_palette=True)),
        ("image/svg+xml", files.SVG_LOGO),
    ],
)
def test_a_transparent_png_or_a_plain_svg_is_a_logo(content_type, data):
    assert logo_problem(content_type, data) is None


@pytest.mark.parametrize(
    ("content_type", "data", "says"),
    [
        ("image/png", files.png("RGB"), "transparency"),
        ("image/png", files.png("L"), "transparency"),
        ("image/png", b"\x89PNG\r\n\x1a\n", "not a PNG"),
        ("image/svg+xml", files.SVG_WITH_SCRIPT, "<script>"),
        ("image/svg+xml", files.SVG_WITH_HANDLER, "event handlers"),
        ("image/svg+xml", files.SVG_WITH_EXTERNAL_IMAGE, "reference other files"),
        ("image/svg+xml", files.SVG_WITH_EXTERNAL_CSS, "import"),
        ("image/svg+xml", files.SVG_WITH_ENTITY, "DOCTYPE"),
        ("image/svg+xml", files.NOT_SVG, "not an SVG"),
        ("image/svg+xml", b"<svg", "well-formed"),
        ("image/jpeg", b"\xff\xd8\xff", "PNG or an SVG"),
    ],
)
def test_what_is_no_logo_is_refused_with_the_reason(content_type, data, says):
    problem = logo_problem(content_type, data)
    assert problem is not None and says in problem


# A voice other than the default, of another language (the catalog's content may change).
OTHER_VOICE = next(v for v in VOICES.values() if v.language != VOICES[DEFAULT_VOICE].language)

# --- a project's settings ----------------------------------------------------------------------


def _brand(*audio_keys: str) -> Brand:
    return Brand(title="Acme", audio_files=[{"key": key} for key in audio_keys])


def test_settings_default_and_the_language_follows_the_voice():
    project = AdProject()
    assert project_settings.effective(project) == {
        "voice": DEFAULT_VOICE,
        "language": VOICES[DEFAULT_VOICE].language,
        "speaking_rate": 1.0,
        "music_mood": DEFAULT_MOOD,
        "music_tempo_bpm": None,
        "music_track_key": None,
    }
    project_settings.apply(project, {"voice": OTHER_VOICE.id}, _brand())
    assert project_settings.effective(project)["language"] == OTHER_VOICE.language
    project_settings.apply(project, {"language": VOICES[DEFAULT_VOICE].language}, _brand())
    assert project_settings.effective(project)["language"] == VOICES[DEFAULT_VOICE].language
    project_settings.apply(project, {"language": "", "voice": ""}, _brand())  # back to the defaults
    assert (project.voice, project.language) == (None, None)


def test_settings_are_set_when_valid():
    project = AdProject()
    brand = _brand("brand-assets/b/theme.mp3")
    project_settings.apply(
        project,
        {
            "speaking_rate": 1.2,
            "music_mood": "calm",
            "music_tempo_bpm": 80,
            "music_track_key": "brand-assets/b/theme.mp3",
        },
        brand,
    )
    assert (project.speaking_rate, project.music_mood, project.music_tempo_bpm, project.music_track_key) == (
        1.2,
        "calm",
        80,
        "brand-assets/b/theme.mp3",
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"voice": "robot"}, "settings.voice"),
        ({"language": "xx"}, "settings.language"),
        ({"speaking_rate": 3.0}, "settings.speaking_rate"),
        ({"speaking_rate": float("nan")}, "settings.speaking_rate"),
        ({"music_mood": "sad"}, "settings.music_mood"),
        ({"music_tempo_bpm": 400}, "settings.music_tempo_bpm"),
        ({"music_track_key": "brand-assets/b/other.mp3"}, "settings.music_track_key"),
    ],
)
def test_a_bad_setting_is_refused_naming_it(changes, field):
    with pytest.raises(InvalidArgument) as err:
        project_settings.apply(AdProject(), changes, _brand("brand-assets/b/theme.mp3"))
    assert err.value.message.startswith(f"{field}: ")


# --- the plan ----------------------------------------------------------------------------------

SCENES = [{"order": 1, "description": "Hook", "duration_s": 2}]


def test_a_plan_without_a_brand_kit_has_the_defaults():
    plan = make_plan(SCENES, [], "9:16", 360, "local")
    assert plan["brand"] == {"name": "", "colors": DEFAULT_COLORS, "font": DEFAULT_FONT, "logo_key": None}
    assert plan["voice"] == {"voice": DEFAULT_VOICE, "language": VOICES[DEFAULT_VOICE].language, "rate": 1.0}
    assert plan["music"] == {"mood": DEFAULT_MOOD, "tempo_bpm": None, "track_key": None}


def test_the_plan_carries_the_brand_kit_and_the_projects_settings():
    given = pb.GenerationInput(
        brand_title="Acme",
        brand_guidelines_json='{"colors": ["#0b6e4f"], "font": "Lato", "tone": "bright"}',
        logo=pb.BrandFile(key="brand-assets/b/logo.svg"),
        music_track=pb.BrandFile(key="brand-assets/b/theme.mp3"),
        project=pb.Project(
            settings=pb.ProjectSettings(
                voice=OTHER_VOICE.id,
                language=OTHER_VOICE.language,
                speaking_rate=1.1,
                music_mood="calm",
                music_tempo_bpm=80,
            )
        ),
    )
    plan = make_plan(
        SCENES,
        [],
        "9:16",
        360,
        "local",
        brand=brand_kit.brand_entry(given),
        voice=brand_kit.voice_entry(given),
        music=brand_kit.music_entry(given),
    )
    assert plan["brand"] == {
        "name": "Acme",
        "colors": {**DEFAULT_COLORS, "primary": "#0B6E4F"},
        "font": "Lato",
        "logo_key": "brand-assets/b/logo.svg",
    }
    assert plan["voice"] == {
        "voice": OTHER_VOICE.id,
        "language": OTHER_VOICE.language,
        "rate": pytest.approx(1.1),
    }
    assert plan["music"] == {"mood": "calm", "tempo_bpm": 80, "track_key": "brand-assets/b/theme.mp3"}


def test_a_choice_the_catalogs_no_longer_hold_reads_as_the_default():
    project = AdProject(voice="retired-voice", language="tlh", music_mood="retired-mood")
    settings = project_settings.effective(project)
    assert (settings["voice"], settings["language"], settings["music_mood"]) == (
        DEFAULT_VOICE,
        VOICES[DEFAULT_VOICE].language,
        DEFAULT_MOOD,
    )


def test_an_accounts_without_settings_means_the_defaults():
    given = pb.GenerationInput(brand_title="Acme")
    assert brand_kit.brand_entry(given)["logo_key"] is None
    assert brand_kit.voice_entry(given) == brand_kit.default_voice()
    assert brand_kit.music_entry(given) == brand_kit.default_music()
