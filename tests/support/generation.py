"""A real generation as tests drive it through the gateway: a project ready to generate (a brand
with product images, an approved script), starting it, waiting for it, and what it hands out."""

from __future__ import annotations

import asyncio
import io
import time

import httpx
from PIL import Image

from tests.support.api import new_brand, new_project

SCENES = [
    {"order": 1, "description": "Hook: the can on a sunny table", "duration_s": 1,
     "on_screen_text": "Summer in a can", "voiceover_text": "Meet Acme."},
    {"order": 2, "description": "Close-up of the bubbles", "duration_s": 1},
    {"order": 3, "description": "Call to action", "duration_s": 1,
     "on_screen_text": "Buy now", "voiceover_text": "Get yours today."},
]  # fmt: skip


def png(color: tuple[int, int, int], size=(640, 480)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


async def ready_project(
    http, user: dict, *, images=3, scenes=SCENES, image_bytes: bytes | None = None
) -> dict:
    """A brand with product images and a project with an approved script."""
    brand = await new_brand(http, user["headers"])
    for i in range(images):
        data = image_bytes or png((60 * i % 255, 120, 200))
        reply = await http.post(
            f"/api/brands/{brand['id']}/files?kind=product_image",
            files={"file": (f"p{i}.png", data, "image/png")},
            headers=user["headers"],
        )
        assert reply.status_code == 201, reply.text
    project = await new_project(http, user["headers"], brand["id"])
    reply = await http.put(
        f"/api/projects/{project['id']}/script",
        json={"storyline": "A bright summer ad", "scenes": scenes},
        headers=user["headers"],
    )
    assert reply.status_code == 200, reply.text
    reply = await http.post(f"/api/projects/{project['id']}/script/approve", headers=user["headers"])
    assert reply.status_code == 200, reply.text
    return project


async def start(http, user, project_id, key: str | None = None, **body):
    headers = dict(user["headers"])
    if key:
        headers["Idempotency-Key"] = key
    return await http.post(
        f"/api/projects/{project_id}/generate",
        json={"aspect": "9:16", "resolution": 360, **body},
        headers=headers,
    )


async def wait_for(
    http, user, project_id, statuses: set[str], timeout_s: float = 300, seen: list | None = None
):
    deadline = time.monotonic() + timeout_s
    while True:
        reply = await http.get(f"/api/projects/{project_id}/generation", headers=user["headers"])
        assert reply.status_code == 200, reply.text
        body = reply.json()
        if seen is not None:
            seen.append(body["progress"])
        if body["status"] in statuses:
            return body
        assert time.monotonic() < deadline, f"still {body['status']} after {timeout_s} s: {body}"
        await asyncio.sleep(0.5)


async def me(http, user) -> dict:
    return (await http.get("/api/auth/me", headers=user["headers"])).json()


TERMINAL = {"completed", "failed", "cancelled"}


async def generate(http, user, project_id: str, **body) -> dict:
    """Run a generation to its end; the finished generation as GET .../generation shows it."""
    reply = await start(http, user, project_id, **body)
    assert reply.status_code == 202, reply.text
    done = await wait_for(http, user, project_id, TERMINAL)
    assert done["status"] == "completed", done
    return done


async def cancel_once(
    http, user, project_id: str, step_done, timeout_s: float = 180, generation_id: str | None = None
) -> None:
    """Cancel the project's running generation (which must be `generation_id`, when given) as soon
    as a step `step_done(job)` accepts has completed (so some of its files are stored, some not)."""
    deadline = time.monotonic() + timeout_s
    while True:
        body = (await http.get(f"/api/projects/{project_id}/generation", headers=user["headers"])).json()
        assert body["status"] not in TERMINAL and body["id"] == (generation_id or body["id"]), body
        if any(step_done(j) and j["status"] == "completed" for j in body["jobs"]):
            break
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.3)
    reply = await http.post(f"/api/projects/{project_id}/generation/cancel", headers=user["headers"])
    assert reply.status_code == 200, reply.text


async def ended_in_history(http, user, project_id: str, generation_id: str, timeout_s: float = 120) -> dict:
    """The generation as the history shows it once every job of it has ended (a cancelled one's
    running steps stop at their next checkpoint, a moment after the cancel)."""
    deadline = time.monotonic() + timeout_s
    while True:
        generation = (await history(http, user, project_id))[generation_id]
        if all(j["status"] in TERMINAL for j in generation["jobs"]):
            return generation
        assert time.monotonic() < deadline, generation
        await asyncio.sleep(0.5)


async def history(http, user, project_id: str) -> dict[str, dict]:
    reply = await http.get(f"/api/projects/{project_id}/generations", headers=user["headers"])
    assert reply.status_code == 200, reply.text
    return {g["id"]: g for g in reply.json()["items"]}


async def outputs(generation: dict) -> dict[str, bytes]:
    """What a generation hands out, downloaded: its final ad, poster, preview and captions and each
    job's output, by name."""
    urls = {j["name"]: j["output_url"] for j in generation["jobs"] if j["output_url"]}
    for name in ("final", "poster", "preview", "captions"):
        if generation.get(f"{name}_url"):
            urls[name] = generation[f"{name}_url"]
    files = {}
    async with httpx.AsyncClient(timeout=60) as client:
        for name, url in urls.items():
            reply = await client.get(url)
            assert reply.status_code == 200, (
                f"{name} of generation {generation['id']}: HTTP {reply.status_code}"
            )
            files[name] = reply.content
    return files


async def project_becomes(http, user, project_id: str, status: str, timeout_s: float = 60) -> dict:
    """The project once its status is `status`: a project follows its generations through their
    events (jobs' outbox, the events stream, accounts), a moment after the generation changed."""
    deadline = time.monotonic() + timeout_s
    while True:
        project = (await http.get(f"/api/projects/{project_id}", headers=user["headers"])).json()
        if project["status"] == status:
            return project
        assert time.monotonic() < deadline, f"the project is still {project['status']}, not {status}"
        await asyncio.sleep(0.2)
