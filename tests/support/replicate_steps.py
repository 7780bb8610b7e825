"""Generation steps through the replicate provider, run in the test process on a scratch jobs
database (so the stack's reconciler and workers leave them alone) with the stack's real media, S3
and Redis: what test_generation_replicate.py and test_replicate_webhooks.py share."""

from __future__ import annotations

import uuid

from devstack.backing import create_database
from services.common.migrations import upgrade_head
from services.jobs.config import Settings
from tests.support.api import new_brand, new_user
from tests.support.fake_replicate import TOKEN
from tests.support.generation import png
from tests.support.stack import INTERNAL_TOKEN, SECRET_KEY


def scratch_jobs_db(stack, prefix: str) -> str:
    url = create_database(stack.env["DATABASE_URL"], f"{prefix}_{uuid.uuid4().hex[:8]}")
    upgrade_head("jobs", url)
    return url


def replicate_settings(stack, fake, jobs_db: str, **overrides) -> Settings:
    """jobs' settings for steps on the scratch database, with the fake Replicate as the provider."""
    values = {
        "database_url": jobs_db,
        "redis_url": stack.env["REDIS_URL"],
        "internal_token": INTERNAL_TOKEN,
        "secret_key": SECRET_KEY,
        "media_addr": stack.grpc_address("media"),
        "accounts_addr": stack.grpc_address("accounts"),
        "generation_provider": "replicate",
        "replicate_api_token": TOKEN,
        "replicate_base_url": fake.base_url,
        "replicate_max_retries": 1,
    }
    return Settings(_env_file=None, **(values | overrides))


async def user_with_brand_image(http) -> tuple[dict, str]:
    """A new user with a brand whose product image is in S3: (user, the image's key)."""
    user = await new_user(http)
    brand = await new_brand(http, user["headers"])
    reply = await http.post(
        f"/api/brands/{brand['id']}/files?kind=product_image",
        files={"file": ("p.png", png((200, 90, 40)), "image/png")},
        headers=user["headers"],
    )
    assert reply.status_code == 201, reply.text
    return user, reply.json()["product_images"][0]["key"]
