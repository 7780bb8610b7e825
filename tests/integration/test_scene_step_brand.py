"""The scene step of a local generation renders in the plan's brand kit: it fetches the logo that
plan["brand"] names from the bucket and lays out the scene the plan's design chose, and a plan
from before the brand kit still renders, in the default look.

The step runs in this process on a scratch jobs database (so the stack's reconciler and workers
leave it alone), with the stack's real media service, S3 and Redis; the stored scene is read back
through a presigned URL and its frames checked with PyAV."""

from __future__ import annotations

import asyncio
import io
import uuid

import av
import numpy as np
import psycopg
import pytest
from PIL import Image, ImageDraw
from psycopg.types.json import Json

from services.jobs.config import Settings
from services.jobs.generation import steps as generation_steps
from services.jobs.generation.plan import make_plan
from services.jobs.media_types import Size
from services.jobs.queue.job_types import JobContext
from services.jobs.render import layouts, logos
from services.jobs.runtime import Runtime
from tests.support.api import new_brand, new_user
from tests.support.generation import png
from tests.support.media import presigned_get
from tests.support.replicate_steps import scratch_jobs_db
from tests.support.stack import INTERNAL_TOKEN, SECRET_KEY

COLORS = {"primary": "#0B6E4F", "secondary": "#F2C14E", "background": "#F7F3E8"}


@pytest.fixture(scope="module")
def jobs_db(stack):
    return scratch_jobs_db(stack, "brand_steps")


def local_settings(stack, jobs_db: str) -> Settings:
    values = {
        "database_url": jobs_db,
        "redis_url": stack.env["REDIS_URL"],
        "internal_token": INTERNAL_TOKEN,
        "secret_key": SECRET_KEY,
        "media_addr": stack.grpc_address("media"),
        "accounts_addr": stack.grpc_address("accounts"),
        "generation_provider": "local",
    }
    return Settings(_env_file=None, **values)


def logo_png() -> bytes:
    logo = Image.new("RGBA", (300, 120), (0, 0, 0, 0))
    draw = ImageDraw.Draw(logo)
    draw.ellipse((4, 4, 112, 112), fill=(11, 110, 79, 255))
    draw.rectangle((130, 20, 290, 50), fill=(242, 193, 78, 255))
    draw.rectangle((130, 70, 250, 100), fill=(40, 40, 40, 255))
    out = io.BytesIO()
    logo.save(out, format="PNG")
    return out.getvalue()


async def brand_files(http) -> tuple[dict, str, str]:
    """A user whose brand has a product image and a logo in S3: (user, image key, logo key). The
    logo goes up as a brand asset, a PNG either way."""
    user = await new_user(http)
    brand = await new_brand(http, user["headers"])
    keys = []
    for kind, name, data in [
        ("product_image", "p.png", png((200, 90, 40))),
        ("brand_asset", "logo.png", logo_png()),
    ]:
        reply = await http.post(
            f"/api/brands/{brand['id']}/files?kind={kind}",
            files={"file": (name, data, "image/png")},
            headers=user["headers"],
        )
        assert reply.status_code == 201, reply.text
        keys.append(reply.json()[f"{kind}s"][0]["key"])
    return user, keys[0], keys[1]


def pending_scene_step(jobs_db: str, user_id: str, plan: dict, n: int) -> tuple[str, str]:
    project_id = str(uuid.uuid4())
    with psycopg.connect(jobs_db, autocommit=True) as conn:
        generation_id = conn.execute(
            "INSERT INTO jobs.generations (ad_project_id, user_id, status, aspect, resolution, provider, plan) "
            "VALUES (%s, %s, 'pending', %s, %s, 'local', %s) RETURNING id",
            (project_id, user_id, plan["aspect"], plan["resolution"], Json(plan)),
        ).fetchone()[0]
        step_id = conn.execute(
            "INSERT INTO jobs.generation_jobs (ad_project_id, generation_id, name, job_type, status, input_params) "
            "VALUES (%s, %s, %s, 'scene', 'processing', %s) RETURNING id",
            (project_id, generation_id, f"scene_{n}", Json({"generation_id": str(generation_id), "n": n})),
        ).fetchone()[0]
    return str(step_id), str(generation_id)


def run_scene(settings: Settings, step_id: str, generation_id: str, n: int) -> dict:
    runtime = Runtime.from_settings(settings)
    try:
        return generation_steps.scene(
            JobContext(step_id, "", runtime), {"generation_id": generation_id, "n": n}
        )
    finally:
        runtime.close()


def last_frame(data: bytes) -> np.ndarray:
    with av.open(io.BytesIO(data)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    return frames[-1].astype(np.float64)


def ncc(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


SCRIPT = [
    {"order": 1, "description": "Hook", "duration_s": 1, "on_screen_text": "Thirsty?"},
    {"order": 2, "description": "Call to action", "duration_s": 1, "on_screen_text": "Shop now"},
]


async def test_the_end_card_step_fetches_the_plans_logo(http, stack, media_stub, jobs_db, tmp_path):
    user, image_key, logo_key = await brand_files(http)
    plan = make_plan(SCRIPT, [image_key], "1:1", 240, "local")
    plan["brand"] = {"name": "Acme", "colors": COLORS, "font": "Lato", "logo_key": logo_key}
    assert plan["scenes"][1]["layout"] == "end_card"
    step_id, generation_id = pending_scene_step(jobs_db, user["id"], plan, 2)

    result = await asyncio.to_thread(run_scene, local_settings(stack, jobs_db), step_id, generation_id, 2)

    frame = last_frame((await presigned_get(media_stub, result["output_key"])).content)
    size = Size(240, 240)
    box, centre = layouts.logo_box(size)
    (tmp_path / "logo.png").write_bytes(logo_png())
    mark = logos.load_logo(tmp_path / "logo.png", box)
    backdrop = Image.new("RGBA", mark.size, (247, 243, 232, 255))
    template = np.asarray(Image.alpha_composite(backdrop, mark).convert("L"), dtype=np.float64)
    grey = frame @ np.array([0.299, 0.587, 0.114])
    x, y = centre[0] - mark.width // 2, centre[1] - mark.height // 2
    best = max(
        ncc(grey[y + dy : y + dy + mark.height, x + dx : x + dx + mark.width], template)
        for dy in range(-3, 4)
        for dx in range(-3, 4)
    )
    assert best > 0.9
    assert np.linalg.norm(frame[120, 5] - np.array([247, 243, 232])) < 30  # the brand's background


async def test_a_plan_from_before_the_brand_kit_renders_in_the_default_look(http, stack, media_stub, jobs_db):
    user, image_key, _logo_key = await brand_files(http)
    plan = make_plan(SCRIPT, [image_key], "1:1", 240, "local")
    for scene in plan["scenes"]:
        del scene["role"], scene["layout"]
    del plan["transitions"]
    step_id, generation_id = pending_scene_step(jobs_db, user["id"], plan, 1)

    result = await asyncio.to_thread(run_scene, local_settings(stack, jobs_db), step_id, generation_id, 1)

    frame = last_frame((await presigned_get(media_stub, result["output_key"])).content)
    assert frame.shape == (240, 240, 3) and frame.std() > 10
