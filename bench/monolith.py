"""The monolith-style floor: a plain single-process FastAPI app doing, directly on the stack's own
Postgres, Redis and S3, the work behind the gateway's `GET /api/brands` and `GET /api/health`.

    python -m uvicorn bench.monolith:app --port PORT   (the bench starts it, with the gateway's options)

`GET /brands`: the bearer token's session (the same SHA-256 digest accounts stores, the same
indexed query), the 20 newest of its user's brands, and a presigned GET URL per file with boto3.
`GET /health`: the checks /api/health has the services make (Postgres, Redis, the S3 bucket), at
once. What the services add on top (gRPC hops, the internal token, the media records) is what the
bench's ratios measure. Configured like media (DATABASE_URL, REDIS_URL, AWS_*).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import boto3
from botocore.config import Config
from fastapi import FastAPI, HTTPException, Request
from sqlalchemy import func, select

from services.accounts.models import Brand, Session, User
from services.accounts.tokens import token_digest
from services.common.db import create_async_db, ping, session_factory
from services.common.redis_clients import async_redis
from services.common.settings import load_settings
from services.media.config import Settings

BRANDS_LISTED = 20
URL_EXPIRY_S = 3600

settings = load_settings(Settings)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    engine = create_async_db(settings.database_url.get_secret_value(), settings.db_pool_size)
    key, secret = settings.aws_access_key_id, settings.aws_secret_access_key
    app.state.sessions = session_factory(engine)
    app.state.engine = engine
    app.state.redis = async_redis(settings)
    app.state.s3 = boto3.client(
        "s3",
        endpoint_url=settings.aws_s3_endpoint_url,
        region_name=settings.aws_region,
        aws_access_key_id=key.get_secret_value() if key else None,
        aws_secret_access_key=secret.get_secret_value() if secret else None,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    try:
        yield
    finally:
        await app.state.redis.aclose()
        await engine.dispose()


app = FastAPI(lifespan=lifespan)


@app.get("/brands")
async def brands(request: Request) -> dict:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "missing bearer token")
    async with request.app.state.sessions() as db:
        user_id = await db.scalar(
            select(User.id)
            .join(Session, Session.user_id == User.id)
            .where(Session.token == token_digest(token.strip()), Session.expires_at > func.now())
        )
        if user_id is None:
            raise HTTPException(401, "invalid or expired token")
        rows = (
            await db.scalars(
                select(Brand)
                .where(Brand.user_id == user_id)
                .order_by(Brand.created_at.desc(), Brand.id.desc())
                .limit(BRANDS_LISTED)
            )
        ).all()
    s3 = request.app.state.s3

    def files(items: list[dict]) -> list[dict]:
        return [
            item
            | {
                "url": s3.generate_presigned_url(
                    "get_object",
                    Params={"Bucket": settings.aws_s3_bucket, "Key": item["key"]},
                    ExpiresIn=URL_EXPIRY_S,
                )
            }
            for item in items
        ]

    items = [
        {
            "id": str(b.id),
            "title": b.title,
            "description": b.description,
            "brand_guidelines": b.brand_guidelines,
            "product_images": files(b.product_images),
            "brand_assets": files(b.brand_assets),
            "created_at": b.created_at.isoformat(),
            "updated_at": b.updated_at.isoformat(),
        }
        for b in rows
    ]
    return {"items": items, "next_cursor": None}


@app.get("/health")
async def health(request: Request) -> dict:
    state = request.app.state
    await asyncio.gather(
        ping(state.engine),
        state.redis.ping(),
        asyncio.to_thread(state.s3.head_bucket, Bucket=settings.aws_s3_bucket),
    )
    return {"status": "healthy", "db_connected": True, "redis_connected": True, "s3_connected": True}
