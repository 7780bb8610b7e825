"""Object keys (services.media.keys): pure functions, so plain unit tests."""

import uuid

import pytest

from services.common.errors import InvalidArgument
from services.media import keys

PID = "0b6f1c8e-3f57-4a3e-9d2a-4c1f7a9e8b10"
BID = "7d3c2b1a-0e9f-4d8c-8b7a-6f5e4d3c2b1a"
GID = "5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c1b"


def test_keys_are_built_from_ids():
    assert keys.final_video(PID, GID) == keys.ObjectKey(
        f"generated-videos/{PID}/{GID}/final_ad.mp4",
        ad_project_id=uuid.UUID(PID),
        generation_id=uuid.UUID(GID),
    )
    assert keys.product_image(BID, "hero.png") == keys.ObjectKey(
        f"product-images/{BID}/hero.png", brand_id=uuid.UUID(BID)
    )
    assert keys.brand_asset(BID, "logo_v2-final.svg").key == f"brand-assets/{BID}/logo_v2-final.svg"
    assert keys.scene_video(PID, GID, 3).key == f"scene-videos/{PID}/{GID}/scene_3.mp4"
    assert keys.audio_track(PID, GID, "voiceover", 1).key == f"audio/{PID}/{GID}/voiceover_1.mp3"
    assert keys.generation_file(PID, GID, "captions.vtt").key == f"generated-videos/{PID}/{GID}/captions.vtt"


def test_captions_keys_parse_beside_the_final_video_and_nothing_else_does():
    parsed = keys.parse_key(f"generated-videos/{PID}/{GID}/captions.vtt")
    assert (parsed.ad_project_id, parsed.generation_id) == (uuid.UUID(PID), uuid.UUID(GID))
    for wrong in (f"generated-videos/{PID}/{GID}/captions.srt", f"generated-videos/{PID}/{GID}/notes.vtt"):
        with pytest.raises(InvalidArgument, match="does not match"):
            keys.parse_key(wrong)


def test_every_generation_output_is_keyed_by_its_generation_inside_its_project():
    other = str(uuid.uuid4())
    for build in (
        lambda g: keys.final_video(PID, g),
        lambda g: keys.scene_video(PID, g, 1),
        lambda g: keys.audio_track(PID, g, "music", 1),
        lambda g: keys.generation_file(PID, g, "poster.jpg"),
    ):
        mine, theirs = build(GID), build(other)
        assert mine.key != theirs.key  # two generations of one project never share a key
        kind, project, generation, _name = mine.key.split("/")
        assert (project, generation) == (PID, GID)  # the project first: one prefix per kind


@pytest.mark.parametrize(
    "name",
    ["poster.jpg", "preview.mp4", "captions.vtt", "final_ad.mp4", "poster-16x9.jpg", "preview-1x1.mp4"],
)
def test_a_generations_files_sit_beside_its_final_video_and_parse_back(name):
    built = keys.generation_file(PID, GID, name)
    assert built.key == f"generated-videos/{PID}/{GID}/{name}"
    assert keys.parse_key(built.key) == built


@pytest.mark.parametrize(
    "name", ["poster.png", "preview.jpg", "x.mp4", "poster-4x3.jpg", "poster-16x9", "../poster.jpg", ""]
)
def test_a_generation_file_of_another_name_is_invalid_argument(name):
    with pytest.raises(InvalidArgument, match="generation's file name"):
        keys.generation_file(PID, GID, name)
    # Nor can such a key be named raw; and only the final video has a key from before generation ids.
    with pytest.raises(InvalidArgument):
        keys.parse_key(f"generated-videos/{PID}/{GID}/{name}")
    with pytest.raises(InvalidArgument):
        keys.parse_key(f"generated-videos/{PID}/poster.jpg")


def test_ids_are_written_in_canonical_lower_case():
    assert keys.final_video(PID.upper(), GID.upper()).key == f"generated-videos/{PID}/{GID}/final_ad.mp4"


@pytest.mark.parametrize(
    "build",
    [
        lambda: keys.final_video("not-a-uuid", GID),
        lambda: keys.final_video("", GID),
        lambda: keys.final_video("{" + PID + "}", GID),
        lambda: keys.final_video(PID.replace("-", ""), GID),
        lambda: keys.final_video(PID, ""),
        lambda: keys.final_video(PID, "../" + GID),
        lambda: keys.scene_video(PID, "not-a-uuid", 1),
        lambda: keys.audio_track(PID, GID.replace("-", ""), "music", 1),
        lambda: keys.product_image("x", "a.png"),
        lambda: keys.product_image(BID, ""),
        lambda: keys.product_image(BID, ".hidden"),
        lambda: keys.product_image(BID, "a..b"),
        lambda: keys.product_image(BID, "../etc/passwd"),
        lambda: keys.product_image(BID, "dir/file.png"),
        lambda: keys.product_image(BID, "sp ace.png"),
        lambda: keys.product_image(BID, "x" * 201),
        lambda: keys.brand_asset(BID, "bad\nname"),
        lambda: keys.scene_video(PID, GID, -1),
        lambda: keys.audio_track(PID, GID, "Voice", 1),
        lambda: keys.audio_track(PID, GID, "", 1),
        lambda: keys.audio_track(PID, GID, "a" * 21, 1),
    ],
)
def test_bad_parts_are_invalid_argument(build):
    with pytest.raises(InvalidArgument):
        build()


def test_a_name_of_200_characters_is_fine():
    assert keys.product_image(BID, "x" * 200).key.endswith("/" + "x" * 200)


@pytest.mark.parametrize(
    "key,brand_id,project_id,generation_id",
    [
        (f"generated-videos/{PID}/{GID}/final_ad.mp4", None, PID, GID),
        (f"product-images/{BID}/hero.png", BID, None, None),
        (f"brand-assets/{BID}/logo.svg", BID, None, None),
        (f"scene-videos/{PID}/{GID}/scene_12.mp4", None, PID, GID),
        (f"audio/{PID}/{GID}/music_0.mp3", None, PID, GID),
        # Written before outputs were keyed by generation: still presigned and deleted by key.
        (f"generated-videos/{PID}/final_ad.mp4", None, PID, None),
        (f"scene-videos/{PID}/scene_12.mp4", None, PID, None),
        (f"audio/{PID}/music_0.mp3", None, PID, None),
    ],
)
def test_raw_keys_in_the_layout_are_accepted_with_their_owner(key, brand_id, project_id, generation_id):
    parsed = keys.parse_key(key)
    assert parsed.key == key
    assert parsed.brand_id == (uuid.UUID(brand_id) if brand_id else None)
    assert parsed.ad_project_id == (uuid.UUID(project_id) if project_id else None)
    assert parsed.generation_id == (uuid.UUID(generation_id) if generation_id else None)


def test_built_keys_parse_back_to_themselves():
    for built in (
        keys.final_video(PID, GID),
        keys.product_image(BID, "a.b-c_d"),
        keys.brand_asset(BID, "x"),
        keys.scene_video(PID, GID, 2**32 - 1),
        keys.audio_track(PID, GID, "sfx2", 0),
    ):
        assert keys.parse_key(built.key) == built


@pytest.mark.parametrize(
    "key,message",
    [
        ("", "empty"),
        ("../x", ".."),
        (f"product-images/{BID}/../x", ".."),
        ("/abs", "'/'"),
        (f"/product-images/{BID}/a.png", "'/'"),
        ("other-prefix/x", "must start with one of"),
        ("generated-videos", "must start with one of"),
        (f"product-images/{BID}/a\x00.png", "control characters"),
        (f"product-images/{BID}/a\n.png", "control characters"),
        (f"product-images/{BID}/a\x7f.png", "control characters"),
        ("product-images/not-a-uuid/a.png", "does not match"),
        (f"product-images/{BID.upper()}/a.png", "does not match"),
        (f"product-images/{BID}/", "does not match"),
        (f"product-images/{BID}/dir/a.png", "does not match"),
        (f"product-images/{BID}/.hidden", "does not match"),
        (f"generated-videos/{PID}/other.mp4", "does not match"),
        (f"generated-videos/{PID}/final_ad.mp4/x", "does not match"),
        (f"scene-videos/{PID}/scene_01.mp4", "does not match"),
        (f"scene-videos/{PID}/scene_4294967296.mp4", "does not match"),
        (f"scene-videos/{PID}/scene_x.mp4", "does not match"),
        (f"audio/{PID}/Music_1.mp3", "does not match"),
        (f"audio/{PID}/music_1.wav", "does not match"),
        (f"generated-videos/{PID}/{GID.upper()}/final_ad.mp4", "does not match"),
        (f"generated-videos/{PID}/not-a-uuid/final_ad.mp4", "does not match"),
        (f"scene-videos/{PID}/{GID}/{GID}/scene_1.mp4", "does not match"),
        (f"scene-videos/{PID}/{GID}/scene_01.mp4", "does not match"),
        (f"audio/{PID}/{GID}/Music_1.mp3", "does not match"),
        (f"audio/{PID}//music_1.mp3", "does not match"),
        ("product-images/" + "a" * 1100, "longer than"),
    ],
)
def test_raw_keys_outside_the_layout_are_invalid_argument(key, message):
    with pytest.raises(InvalidArgument) as err:
        keys.parse_key(key)
    assert message in err.value.message


@pytest.mark.parametrize(
    "prefix", ["product-images/", f"product-images/{BID}/", "audio/", f"scene-videos/{PID}/scene_"]
)
def test_listing_prefixes_inside_the_layout_are_accepted(prefix):
    assert keys.check_prefix(prefix) == prefix


@pytest.mark.parametrize(
    "prefix",
    [
        "",
        "product-images",
        "other/",
        "/product-images/",
        "product-images/../x",
        "audio//x",
        "audio/\x01",
        "audio/a b",
    ],
)
def test_other_listing_prefixes_are_invalid_argument(prefix):
    with pytest.raises(InvalidArgument):
        keys.check_prefix(prefix)


def test_prefix_markers_are_only_the_layout_prefixes():
    assert all(keys.is_prefix_marker(p) for p in keys.PREFIXES)
    assert "incoming/" in keys.PREFIXES
    assert not keys.is_prefix_marker(f"product-images/{BID}/a.png")


def test_a_brand_file_is_staged_under_incoming():
    image = keys.product_image(BID, "hero.png")
    assert keys.staging(image) == keys.ObjectKey(f"incoming/{image.key}", brand_id=uuid.UUID(BID))
    asset = keys.brand_asset(BID, "guide.pdf")
    assert keys.staging(asset).key == f"incoming/brand-assets/{BID}/guide.pdf"
    for built in (image, asset):
        assert keys.parse_key(keys.staging(built).key) == keys.staging(built)


@pytest.mark.parametrize(
    "ref",
    [
        keys.final_video(PID, GID),
        keys.scene_video(PID, GID, 1),
        keys.audio_track(PID, GID, "music", 1),
        keys.ObjectKey(f"incoming/product-images/{BID}/a.png", brand_id=uuid.UUID(BID)),
    ],
)
def test_only_brand_files_are_staged(ref):
    with pytest.raises(InvalidArgument) as err:
        keys.staging(ref)
    assert "product images and brand assets only" in err.value.message


@pytest.mark.parametrize(
    "key",
    [
        f"incoming/{BID}/a.png",
        f"incoming/generated-videos/{PID}/final_ad.mp4",
        f"incoming/incoming/product-images/{BID}/a.png",
        f"incoming/product-images/{BID}/dir/a.png",
        f"incoming/product-images/{BID}/.hidden",
        "incoming/",
    ],
)
def test_staging_keys_outside_the_layout_are_invalid_argument(key):
    with pytest.raises(InvalidArgument):
        keys.parse_key(key)


def test_a_scene_of_another_placement_carries_its_aspect_and_parses_back():
    assert keys.scene_video(PID, GID, 2, "").key == f"scene-videos/{PID}/{GID}/scene_2.mp4"
    assert keys.scene_video(PID, GID, 2, "16:9").key == f"scene-videos/{PID}/{GID}/scene_2-16x9.mp4"
    for aspect in ("9:16", "1:1", "16:9"):
        built = keys.scene_video(PID, GID, 2, aspect)
        assert keys.parse_key(built.key) == built
    with pytest.raises(InvalidArgument, match="aspect"):
        keys.scene_video(PID, GID, 2, "4:3")
    with pytest.raises(InvalidArgument, match="layout"):
        keys.parse_key(f"scene-videos/{PID}/{GID}/scene_2-4x3.mp4")
