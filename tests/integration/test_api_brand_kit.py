"""The brand kit through the real gateway, accounts, media, S3 (moto) and PostgreSQL: guidelines
checked on write, the fonts, a brand's logo and audio files by both upload paths, a project's voice
and music settings, and all of it in a started generation's plan."""

from __future__ import annotations

import uuid

import grpc
import pytest

from services.common.brand_kit import DEFAULT_COLORS, FONTS
from services.common.context import USER_ID_HEADER
from services.common.voices import DEFAULT_VOICE, VOICES
from tests.support import brand_kit as files
from tests.support.api import assert_error_body, assert_validation_error, new_brand, new_project
from tests.support.brands import (
    ask_upload,
    confirm,
    download,
    exists,
    multipart_upload,
    poll,
    presigned_upload,
    put_to_s3,
    stored_keys,
)
from tests.support.generation import ready_project, start
from zapcut.accounts.v1 import accounts_pb2 as pb

# A voice other than the default, of another language (the catalog's content may change).
OTHER_VOICE = next(v for v in VOICES.values() if v.language != VOICES[DEFAULT_VOICE].language)

GUIDELINES = {
    "colors": {"primary": "#0B6E4F", "secondary": "#F2C14E", "background": "#FFFFFF"},
    "font": "Lato",
    "tone": "bright",
}

# --- guidelines --------------------------------------------------------------------------------


async def test_documented_guidelines_are_stored_and_the_list_form_still_works(http, owner):
    brand = await new_brand(http, owner["headers"], brand_guidelines=GUIDELINES)
    assert brand["brand_guidelines"] == GUIDELINES
    legacy = await new_brand(http, owner["headers"], brand_guidelines={"colors": ["#0B6E4F", "#F2C14E"]})
    assert legacy["brand_guidelines"]["colors"] == ["#0B6E4F", "#F2C14E"]


@pytest.mark.parametrize(
    ("guidelines", "field"),
    [
        ({"colors": {"primary": "green"}}, "body.brand_guidelines.colors.primary"),
        ({"colors": {"primary": "#0B6E4F", "background": "#FFF"}}, "body.brand_guidelines.colors.background"),
        ({"colors": ["#0B6E4F", "yellow"]}, "body.brand_guidelines.colors.secondary"),
        ({"font": "Papyrus"}, "body.brand_guidelines.font"),
    ],
)
async def test_a_bad_color_or_font_is_422_naming_the_field_on_create_and_patch(
    http, owner, guidelines, field
):
    created = await http.post(
        "/api/brands", json={"title": "Acme", "brand_guidelines": guidelines}, headers=owner["headers"]
    )
    assert_validation_error(created, field)
    brand = await new_brand(http, owner["headers"], brand_guidelines=GUIDELINES)
    patched = await http.patch(
        f"/api/brands/{brand['id']}", json={"brand_guidelines": guidelines}, headers=owner["headers"]
    )
    assert_validation_error(patched, field)
    again = await http.get(f"/api/brands/{brand['id']}", headers=owner["headers"])
    assert again.json()["brand_guidelines"] == GUIDELINES


async def test_every_bad_documented_field_is_named_at_once(http, owner):
    brand = await new_brand(http, owner["headers"], brand_guidelines=GUIDELINES)
    bad = {"colors": {"primary": "green", "secondary": "#F2C14E", "background": "#FFF"}, "font": "Papyrus"}

    patched = await http.patch(
        f"/api/brands/{brand['id']}", json={"brand_guidelines": bad}, headers=owner["headers"]
    )

    details = assert_validation_error(patched)
    assert sorted(d["field"] for d in details) == [
        "body.brand_guidelines.colors.background",
        "body.brand_guidelines.colors.primary",
        "body.brand_guidelines.font",
    ]


async def test_accounts_refuses_bad_guidelines_from_any_caller(accounts_stub, owner):
    as_owner = ((USER_ID_HEADER, owner["id"]),)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await accounts_stub.CreateBrand(
            pb.CreateBrandRequest(title="Acme", brand_guidelines_json='{"colors": {"primary": "blue"}}'),
            metadata=as_owner,
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details().startswith("brand_guidelines.colors.primary: ")
    brand = await accounts_stub.CreateBrand(pb.CreateBrandRequest(title="Acme"), metadata=as_owner)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await accounts_stub.UpdateBrand(
            pb.UpdateBrandRequest(id=brand.id, brand_guidelines_json='{"font": "Wingdings"}'),
            metadata=as_owner,
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details().startswith("brand_guidelines.font: ")


async def test_the_fonts_are_listed_in_pages(http, owner):
    first = await http.get("/api/fonts", params={"limit": 4}, headers=owner["headers"])
    assert first.status_code == 200, first.text
    rest = await http.get(
        "/api/fonts", params={"limit": 4, "cursor": first.json()["next_cursor"]}, headers=owner["headers"]
    )
    fonts = first.json()["items"] + rest.json()["items"]
    assert rest.json()["next_cursor"] is None
    assert [f["name"] for f in fonts] == list(FONTS)
    assert all(f["license"] == "OFL-1.1" and f["style"] for f in fonts)
    assert_error_body(await http.get("/api/fonts", params={"cursor": "Nope"}, headers=owner["headers"]), 422)
    assert_error_body(await http.get("/api/fonts"), 401)


# --- the logo ----------------------------------------------------------------------------------


async def test_a_transparent_png_logo_uploads_and_a_new_logo_replaces_it(http, owner, brand, media_stub):
    first = files.png("RGBA")
    reply = await multipart_upload(http, owner, brand["id"], first, kind="logo", filename="logo.png")
    assert reply.status_code == 201, reply.text
    logo = reply.json()["logo"]
    assert logo["key"].startswith(f"brand-assets/{brand['id']}/") and logo["content_type"] == "image/png"
    assert reply.json()["brand_assets"] == [] and reply.json()["product_images"] == []
    assert await download(logo["url"]) == first

    replaced = await presigned_upload(
        http,
        owner,
        brand["id"],
        files.SVG_LOGO,
        kind="logo",
        content_type="image/svg+xml",
        filename="logo.svg",
    )
    assert replaced["logo"]["content_type"] == "image/svg+xml"
    assert not await exists(media_stub, logo["key"])  # one logo per brand: the old object is gone
    shown = (await http.get(f"/api/brands/{brand['id']}", headers=owner["headers"])).json()
    assert shown["logo"]["key"] == replaced["logo"]["key"]

    removed = await http.delete(f"/api/brands/{brand['id']}/logo", headers=owner["headers"])
    assert removed.status_code == 200, removed.text
    assert removed.json()["logo"] is None
    assert not await exists(media_stub, replaced["logo"]["key"])
    assert_error_body(await http.delete(f"/api/brands/{brand['id']}/logo", headers=owner["headers"]), 404)


@pytest.mark.parametrize(
    ("data", "content_type", "says"),
    [
        (files.png("RGB"), "image/png", "transparency"),
        (files.SVG_WITH_SCRIPT, "image/svg+xml", "script"),
        (files.SVG_WITH_EXTERNAL_IMAGE, "image/svg+xml", "reference other files"),
        (files.SVG_WITH_ENTITY, "image/svg+xml", "DOCTYPE"),
        (files.NOT_SVG, "image/svg+xml", "not an SVG"),
        (files.png("RGBA"), "image/jpeg", "must be one of"),
    ],
)
async def test_what_is_no_logo_is_refused_by_both_paths_and_nothing_is_kept(
    http, owner, brand, media_stub, data, content_type, says
):
    reply = await multipart_upload(http, owner, brand["id"], data, kind="logo", content_type=content_type)
    assert says in assert_error_body(reply, 422)["detail"]
    ticket = await ask_upload(
        http, owner, brand["id"], kind="logo", content_type=content_type, size=len(data)
    )
    if ticket.status_code == 201:  # the type is a logo's: the content is checked at confirm
        assert (await put_to_s3(ticket.json(), data)).status_code == 200
        confirmed = await confirm(http, owner, brand["id"], ticket.json()["upload_id"])
        assert says in assert_error_body(confirmed, 422)["detail"]
    else:
        assert says in assert_error_body(ticket, 422)["detail"]
    shown = (await http.get(f"/api/brands/{brand['id']}", headers=owner["headers"])).json()
    assert shown["logo"] is None
    assert await stored_keys(media_stub, f"brand-assets/{brand['id']}/") == []
    assert await stored_keys(media_stub, f"incoming/brand-assets/{brand['id']}/") == []


async def test_a_logo_over_its_size_limit_is_413(http, owner, brand):
    ticket = await ask_upload(
        http, owner, brand["id"], kind="logo", content_type="image/png", size=2 * 1024 * 1024 + 1
    )
    assert_error_body(ticket, 413)


# --- audio files -------------------------------------------------------------------------------


async def test_audio_files_upload_by_both_paths_and_are_checked_by_their_bytes(
    http, owner, brand, media_stub
):
    track = files.wav()
    reply = await multipart_upload(
        http, owner, brand["id"], track, kind="audio", content_type="audio/x-wav", filename="theme.wav"
    )
    assert reply.status_code == 201, reply.text
    [wav] = reply.json()["audio_files"]
    assert wav["content_type"] == "audio/wav" and await download(wav["url"]) == track
    mp3 = await presigned_upload(
        http, owner, brand["id"], files.MP3, kind="audio", content_type="audio/mpeg", filename="jingle.mp3"
    )
    assert [f["filename"] for f in mp3["audio_files"]] == ["theme.wav", "jingle.mp3"]

    disguised = await multipart_upload(
        http, owner, brand["id"], files.png("RGBA"), kind="audio", content_type="audio/mpeg", filename="x.mp3"
    )
    assert "content is not audio/mpeg" in assert_error_body(disguised, 422)["detail"]
    video = await multipart_upload(http, owner, brand["id"], track, kind="audio", content_type="video/mp4")
    assert_error_body(video, 422)
    assert len(await stored_keys(media_stub, f"brand-assets/{brand['id']}/")) == 2


# --- a project's settings ----------------------------------------------------------------------


async def test_a_projects_voice_and_music_default_and_can_be_set(http, owner, brand):
    project = await new_project(http, owner["headers"], brand["id"])
    assert project["settings"] == {
        "voice": DEFAULT_VOICE,
        "language": VOICES[DEFAULT_VOICE].language,
        "speaking_rate": 1.0,
        "music_mood": "upbeat",
        "music_tempo_bpm": None,
        "music_track_key": None,
    }
    created = await http.post(
        "/api/projects",
        json={
            "brand_id": brand["id"],
            "settings": {"voice": OTHER_VOICE.id, "speaking_rate": 1.2, "music_mood": "calm"},
        },
        headers=owner["headers"],
    )
    assert created.status_code == 201, created.text
    settings = created.json()["settings"]
    assert (settings["voice"], settings["language"], settings["speaking_rate"]) == (
        OTHER_VOICE.id,
        OTHER_VOICE.language,
        1.2,
    )

    patched = await http.patch(
        f"/api/projects/{created.json()['id']}",
        json={"settings": {"music_tempo_bpm": 96, "speaking_rate": None}},
        headers=owner["headers"],
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["settings"] == {**settings, "music_tempo_bpm": 96, "speaking_rate": 1.0}
    shown = await http.get(f"/api/projects/{created.json()['id']}", headers=owner["headers"])
    assert shown.json()["settings"] == patched.json()["settings"]


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"voice": "robot"}, "body.settings.voice"),
        ({"language": "tlh"}, "body.settings.language"),
        ({"speaking_rate": 2.5}, "body.settings.speaking_rate"),
        ({"music_mood": "sad"}, "body.settings.music_mood"),
        ({"music_tempo_bpm": 20}, "body.settings.music_tempo_bpm"),
        ({"tempo": 20}, "body.settings.tempo"),
    ],
)
async def test_a_bad_setting_is_422_naming_it(http, owner, brand, settings, field):
    created = await http.post(
        "/api/projects", json={"brand_id": brand["id"], "settings": settings}, headers=owner["headers"]
    )
    assert_validation_error(created, field)
    project = await new_project(http, owner["headers"], brand["id"])
    patched = await http.patch(
        f"/api/projects/{project['id']}", json={"settings": settings}, headers=owner["headers"]
    )
    assert_validation_error(patched, field)


async def test_the_music_track_must_be_one_of_the_brands_audio_files(http, owner, other, brand):
    project = await new_project(http, owner["headers"], brand["id"])
    elsewhere = await new_brand(http, other["headers"])
    foreign = (
        await multipart_upload(
            http, other, elsewhere["id"], files.wav(), kind="audio", content_type="audio/wav"
        )
    ).json()["audio_files"][0]["key"]
    image = (await multipart_upload(http, owner, brand["id"], files.png("RGBA"), kind="logo")).json()["logo"]
    for key in (foreign, image["key"], f"brand-assets/{brand['id']}/nothing.mp3"):
        reply = await http.patch(
            f"/api/projects/{project['id']}",
            json={"settings": {"music_track_key": key}},
            headers=owner["headers"],
        )
        assert "settings.music_track_key" in assert_error_body(reply, 422)["detail"]

    track = (
        await multipart_upload(http, owner, brand["id"], files.wav(), kind="audio", content_type="audio/wav")
    ).json()["audio_files"][0]
    reply = await http.patch(
        f"/api/projects/{project['id']}",
        json={"settings": {"music_track_key": track["key"]}},
        headers=owner["headers"],
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["settings"]["music_track_key"] == track["key"]

    name = track["key"].rsplit("/", 1)[1]
    removed = await http.delete(f"/api/brands/{brand['id']}/audio-files/{name}", headers=owner["headers"])
    assert removed.status_code == 200, removed.text
    shown = await http.get(f"/api/projects/{project['id']}", headers=owner["headers"])
    assert shown.json()["settings"]["music_track_key"] is None  # back to generated music


# --- into the plan -----------------------------------------------------------------------------


async def test_a_started_generation_plans_with_the_brand_kit_and_the_projects_settings(http, owner, db):
    project = await ready_project(http, owner, images=1)
    brand_id = project["brand_id"]
    reply = await http.patch(
        f"/api/brands/{brand_id}",
        json={"title": "Acme Kit", "brand_guidelines": {"colors": ["#0b6e4f"], "font": "Fjalla One"}},
        headers=owner["headers"],
    )
    assert reply.status_code == 200, reply.text
    logo = await multipart_upload(
        http, owner, brand_id, files.SVG_LOGO, kind="logo", content_type="image/svg+xml"
    )
    track = await multipart_upload(http, owner, brand_id, files.wav(), kind="audio", content_type="audio/wav")
    logo_key, track_key = logo.json()["logo"]["key"], track.json()["audio_files"][0]["key"]
    settings = {
        "voice": OTHER_VOICE.id,
        "speaking_rate": 0.9,
        "music_mood": "dramatic",
        "music_track_key": track_key,
    }
    reply = await http.patch(
        f"/api/projects/{project['id']}", json={"settings": settings}, headers=owner["headers"]
    )
    assert reply.status_code == 200, reply.text

    started = await start(http, owner, project["id"])
    assert started.status_code == 202, started.text
    generation_id = started.json()["id"]
    try:
        (plan,) = db.execute("SELECT plan FROM jobs.generations WHERE id = %s", (generation_id,)).fetchone()
    finally:
        await http.post(f"/api/projects/{project['id']}/generation/cancel", headers=owner["headers"])
    assert plan["brand"] == {
        "name": "Acme Kit",
        "colors": {**DEFAULT_COLORS, "primary": "#0B6E4F"},
        "font": "Fjalla One",
        "logo_key": logo_key,
    }
    assert plan["voice"] == {"voice": OTHER_VOICE.id, "language": OTHER_VOICE.language, "rate": 0.9}
    assert plan["music"] == {"mood": "dramatic", "tempo_bpm": None, "track_key": track_key}


async def test_another_users_brand_files_and_projects_stay_not_found(http, owner, other, brand):
    reply = await multipart_upload(http, other, brand["id"], files.png("RGBA"), kind="logo")
    assert_error_body(reply, 404)
    assert_error_body(await http.delete(f"/api/brands/{brand['id']}/logo", headers=other["headers"]), 404)
    name = f"{uuid.uuid4().hex[:12]}-x.wav"
    assert_error_body(
        await http.delete(f"/api/brands/{brand['id']}/audio-files/{name}", headers=owner["headers"]), 404
    )


async def test_deleting_the_brand_removes_its_logo_and_audio_objects(http, owner, media_stub):
    brand = await new_brand(http, owner["headers"])
    await multipart_upload(http, owner, brand["id"], files.png("RGBA"), kind="logo")
    await multipart_upload(http, owner, brand["id"], files.wav(), kind="audio", content_type="audio/wav")
    prefix = f"brand-assets/{brand['id']}/"
    assert len(await stored_keys(media_stub, prefix)) == 2
    assert (await http.delete(f"/api/brands/{brand['id']}", headers=owner["headers"])).status_code == 204
    # media follows the brand.deleted event
    assert await poll(lambda: _nothing_under(media_stub, prefix), timeout_s=30)


async def _nothing_under(media_stub, prefix: str) -> bool:
    return await stored_keys(media_stub, prefix) == []
