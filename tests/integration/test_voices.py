"""The voice catalog through the gateway: GET /api/voices, and each voice's sample, rendered by the
real worker (at its start, or on demand when found missing), stored in S3 through media and handed
out by a redirect."""

from __future__ import annotations

import asyncio
import tempfile
import time

import av
import httpx

from services.common.voices import VOICES, sample_name
from tests.support.api import new_user


async def test_the_catalog_lists_every_voice_with_its_language_and_a_sample(http):
    user = await new_user(http)
    reply = await http.get("/api/voices", params={"limit": 100}, headers=user["headers"])
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["next_cursor"] is None
    assert [v["id"] for v in body["items"]] == list(VOICES)
    for voice in body["items"]:
        assert voice["language"] == VOICES[voice["id"]].language
        assert voice["gender"] in ("female", "male", "neutral")
        assert voice["sample_url"] == f"/api/voices/{voice['id']}/sample"
    # Filtered by language, and paged with a cursor.
    spanish = await http.get("/api/voices", params={"language": "es"}, headers=user["headers"])
    assert [v["id"] for v in spanish.json()["items"]] == ["es-f1"]
    first = (await http.get("/api/voices", params={"limit": 3}, headers=user["headers"])).json()
    rest = await http.get("/api/voices", params={"cursor": first["next_cursor"]}, headers=user["headers"])
    assert [v["id"] for v in first["items"] + rest.json()["items"]] == list(VOICES)
    bad = await http.get("/api/voices", params={"cursor": "nope"}, headers=user["headers"])
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")


async def sample_redirect(http, voice_id: str) -> httpx.Response:
    """The sample's 307, once rendered: a missing sample is 503 (Retry-After) while a worker renders
    it. Bounded, not a speed check: under a full suite's load the queue may be busy."""
    deadline = time.monotonic() + 180
    while (reply := await http.get(f"/api/voices/{voice_id}/sample")).status_code == 503:
        assert reply.json()["service"] == "worker", reply.text
        assert reply.headers["retry-after"].isdigit()
        assert time.monotonic() < deadline, reply.text
        await asyncio.sleep(0.5)
    assert reply.status_code == 307, reply.text
    return reply


async def test_each_voice_sample_is_real_speech_of_that_voice(http):
    durations = {}
    for voice_id in VOICES:
        reply = await sample_redirect(http, voice_id)
        async with httpx.AsyncClient(timeout=30) as client:
            audio = await client.get(reply.headers["location"])
        assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mpeg"
        with tempfile.NamedTemporaryFile(suffix=".mp3") as f:
            f.write(audio.content)
            f.flush()
            with av.open(f.name) as container:
                durations[voice_id] = float(container.duration) / av.time_base
    assert all(2.0 < d < 15.0 for d in durations.values()), durations
    assert len({round(d, 2) for d in durations.values()}) > 1  # not one file for all


async def test_an_unknown_voice_is_a_404_problem(http):
    reply = await http.get("/api/voices/klingon-1/sample")
    assert reply.status_code == 404
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert "GET /api/voices" in reply.json()["detail"]


async def test_a_sample_lost_from_the_bucket_is_rendered_again_on_demand(http, s3):
    """The worker renders the samples at its start; one that goes missing later (here deleted from
    the bucket behind media's back, as a lifecycle rule or a restored bucket would) is queued for
    rendering by the first request that finds it missing, with no worker restart."""
    voice_id = next(iter(VOICES))
    await sample_redirect(http, voice_id)  # stored by the worker's start
    key = f"voice-samples/{sample_name(voice_id)}"
    assert s3.delete(key).status_code == 204
    missing = await http.get(f"/api/voices/{voice_id}/sample")
    assert missing.status_code == 503, missing.text
    assert "being rendered" in missing.json()["detail"]
    reply = await sample_redirect(http, voice_id)
    async with httpx.AsyncClient(timeout=30) as client:
        audio = await client.get(reply.headers["location"])
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mpeg"
    assert len(audio.content) > 10_000
