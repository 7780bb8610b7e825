"""A generation step through the replicate provider, against the local server that speaks
Replicate's API: when the provider keeps answering 5xx past the client's own retries, the step
tries again after a backoff and succeeds; a prediction that fails fails the step with its message;
the plan's brand kit reaches the video model's prompt, and the end card is drawn with no prediction.

The step runs in this process on a scratch jobs database (so the stack's reconciler and local
workers leave it alone), with the stack's real media service, S3 and Redis."""

from __future__ import annotations

import asyncio
import io
import subprocess
import uuid

import imageio_ffmpeg
import psycopg
import pytest
from psycopg.types.json import Json

from services.jobs.config import Settings
from services.jobs.generation import steps as generation_steps
from services.jobs.generation.plan import make_plan
from services.jobs.media_types import PermanentProviderError
from services.jobs.queue.job_types import JobContext
from services.jobs.runtime import Runtime
from tests.integration.test_layouts import logo_image
from tests.support.api import new_brand
from tests.support.brands import multipart_upload
from tests.support.replicate_steps import replicate_settings, scratch_jobs_db, user_with_brand_image

VIDEO = "wavespeedai/wan-2.1-i2v-480p"


@pytest.fixture(scope="module")
def jobs_db(stack):
    return scratch_jobs_db(stack, "replicate_steps")


def settings_for(stack, fake, jobs_db) -> Settings:
    return replicate_settings(
        stack,
        fake,
        jobs_db,
        generation_retry_base_s=0.2,
        replicate_poll_initial_s=0.1,
        replicate_poll_max_s=0.2,
    )


async def scene_step(http, jobs_db) -> tuple[str, str]:
    """A brand image in S3, and a pending generation with one scene step in the scratch database."""
    user, image_key = await user_with_brand_image(http)
    project_id = str(uuid.uuid4())
    plan = make_plan(
        [{"order": 1, "description": "a can", "duration_s": 1}], [image_key], "16:9", 240, "replicate"
    )
    with psycopg.connect(jobs_db, autocommit=True) as conn:
        generation_id = conn.execute(
            "INSERT INTO jobs.generations (ad_project_id, user_id, status, aspect, resolution, provider, plan) "
            "VALUES (%s, %s, 'pending', '16:9', 240, 'replicate', %s) RETURNING id",
            (project_id, user["id"], Json(plan)),
        ).fetchone()[0]
        step_id = conn.execute(
            "INSERT INTO jobs.generation_jobs (ad_project_id, generation_id, name, job_type, status, input_params) "
            "VALUES (%s, %s, 'scene_1', 'scene', 'processing', %s) RETURNING id",
            (project_id, generation_id, Json({"generation_id": str(generation_id), "n": 1})),
        ).fetchone()[0]
    return str(step_id), str(generation_id)


def run_step(stack, settings: Settings, step_id: str, generation_id: str) -> dict:
    runtime = Runtime.from_settings(settings)  # the replicate provider, by settings
    try:
        ctx = JobContext(step_id, "", runtime)
        params = {"generation_id": generation_id, "n": 1}
        return generation_steps.scene(ctx, params)
    finally:
        runtime.close()


@pytest.fixture(scope="module")
def clip(stack_replicate):
    path = stack_replicate.files_dir / "clip.mp4"
    subprocess.run(  # noqa: S603
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", "testsrc=size=320x240:rate=16:duration=2", "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )  # fmt: skip
    return path.name


async def test_a_step_retries_after_provider_5xx_and_succeeds(http, stack, stack_replicate, jobs_db, clip):
    stack_replicate.script(VIDEO, polls=1, output=clip)
    # Two 500s: the client's one retry is used up, so the step's first attempt fails transiently.
    stack_replicate.fail_next("POST", f"/v1/models/{VIDEO}/predictions", 500, times=2)
    step_id, generation_id = await scene_step(http, jobs_db)
    settings = settings_for(stack, stack_replicate, jobs_db)

    result = await asyncio.to_thread(run_step, stack, settings, step_id, generation_id)

    with psycopg.connect(jobs_db) as conn:
        attempts, provider, remote_id, output = conn.execute(
            "SELECT attempts, provider, replicate_job_id, output_url FROM jobs.generation_jobs WHERE id = %s",
            (step_id,),
        ).fetchone()
    assert attempts == 2 and provider == "replicate" and remote_id
    assert output == result["output_key"] and output.endswith("/scene_1.mp4")
    creates = stack_replicate.calls("POST", f"/v1/models/{VIDEO}/predictions")
    assert [c.status for c in creates][:2] == [500, 500] and len(creates) == 3


async def test_a_failed_prediction_fails_the_step_with_its_message(
    http, stack, stack_replicate, jobs_db, clip
):
    stack_replicate.script(VIDEO, polls=1, outcome="failed", error="NSFW content detected")
    step_id, generation_id = await scene_step(http, jobs_db)
    settings = settings_for(stack, stack_replicate, jobs_db)

    with pytest.raises(PermanentProviderError, match="NSFW content detected"):
        await asyncio.to_thread(run_step, stack, settings, step_id, generation_id)
    with psycopg.connect(jobs_db) as conn:
        (attempts,) = conn.execute(
            "SELECT attempts FROM jobs.generation_jobs WHERE id = %s", (step_id,)
        ).fetchone()
    assert attempts == 1  # a permanent error is not retried


async def test_scene_steps_prompt_in_the_plans_brand_kit_and_draw_the_end_card_locally(
    http, stack, stack_replicate, jobs_db, clip
):
    stack_replicate.script(VIDEO, polls=1, output=clip)
    user, image_key = await user_with_brand_image(http)
    brand = await new_brand(http, user["headers"])
    logo = io.BytesIO()
    logo_image().save(logo, format="PNG")
    reply = await multipart_upload(http, user, brand["id"], logo.getvalue(), kind="logo", filename="logo.png")
    assert reply.status_code == 201, reply.text
    kit = {
        "name": "Brewly",
        "colors": {"primary": "#D62828", "secondary": "#F77F00", "background": "#003049"},
        "font": "Fredoka One",
        "logo_key": reply.json()["logo"]["key"],
    }
    script = [
        {"order": 1, "description": "Hook: a mug steaming", "duration_s": 1, "on_screen_text": "Wake up"},
        {"order": 2, "description": "Call to action", "duration_s": 1, "on_screen_text": "Shop now"},
    ]
    plan = make_plan(script, [image_key], "9:16", 240, "replicate", brand=kit)
    assert [s["layout"] for s in plan["scenes"]] == ["full_bleed", "end_card"]
    project_id = str(uuid.uuid4())
    with psycopg.connect(jobs_db, autocommit=True) as conn:
        generation_id = conn.execute(
            "INSERT INTO jobs.generations (ad_project_id, user_id, status, aspect, resolution, provider, plan) "
            "VALUES (%s, %s, 'pending', '9:16', 240, 'replicate', %s) RETURNING id",
            (project_id, user["id"], Json(plan)),
        ).fetchone()[0]
        step_ids = [
            conn.execute(
                "INSERT INTO jobs.generation_jobs (ad_project_id, generation_id, name, job_type, status, input_params) "
                "VALUES (%s, %s, %s, 'scene', 'processing', %s) RETURNING id",
                (
                    project_id,
                    generation_id,
                    f"scene_{n}",
                    Json({"generation_id": str(generation_id), "n": n}),
                ),
            ).fetchone()[0]
            for n in (1, 2)
        ]
    settings = settings_for(stack, stack_replicate, jobs_db)

    def run_scenes() -> None:
        runtime = Runtime.from_settings(settings)
        try:
            for n, step_id in enumerate(step_ids, start=1):
                generation_steps.scene(
                    JobContext(str(step_id), "", runtime), {"generation_id": str(generation_id), "n": n}
                )
        finally:
            runtime.close()

    earlier = len(stack_replicate.calls("POST", f"/v1/models/{VIDEO}/predictions"))  # the fake is shared
    await asyncio.to_thread(run_scenes)

    [create] = stack_replicate.calls("POST", f"/v1/models/{VIDEO}/predictions")[earlier:]  # the footage only
    prompt = create.json["input"]["prompt"]
    assert "Brewly" in prompt and "primary red (#D62828)" in prompt and "opening shot" in prompt
    with psycopg.connect(jobs_db) as conn:
        rows = conn.execute(
            "SELECT name, replicate_job_id, output_url FROM jobs.generation_jobs WHERE generation_id = %s ORDER BY name",
            (generation_id,),
        ).fetchall()
    assert [(name, bool(remote)) for name, remote, _ in rows] == [("scene_1", True), ("scene_2", False)]
    assert all(output.endswith(f"/{name}.mp4") for name, _, output in rows)
