"""The voice catalog through the gateway: GET /api/voices, and each voice's sample, rendered by the
real worker at its start, stored in S3 through media and handed out by a redirect."""

from __future__ import annotations

import asyncio
import tempfile
import time

import av
import httpx

from services.common.voices import VOICES
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


async def test_each_voice_sample_is_real_speech_of_that_voice(http):
    durations = {}
    for voice_id in VOICES:
        # Bounded, not a speed check: under a full suite's load the worker may have just restarted
        # (another module's test) and be waiting out its backoff for media.
        deadline = time.monotonic() + 180
        while (reply := await http.get(f"/api/voices/{voice_id}/sample")).status_code == 503:
            # The worker renders the samples when it starts, possibly after this test began.
            assert reply.json()["service"] == "worker"
            assert time.monotonic() < deadline, reply.text
            await asyncio.sleep(0.5)
        assert reply.status_code == 307, reply.text
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
