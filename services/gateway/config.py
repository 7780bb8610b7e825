"""Gateway settings (environment variables, on top of the shared BaseConfig)."""

from __future__ import annotations

import json
from typing import Annotated, ClassVar

from fastapi import Depends, Request
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from services.common.logo import MAX_LOGO_BYTES
from services.common.settings import DEV_SECRET_KEY, BaseConfig

MIB = 1024 * 1024


class Settings(BaseConfig):
    # Where `python -m services.gateway` listens; devstack and compose pass --host/--port to uvicorn.
    host: str = "0.0.0.0"
    port: int = Field(8000, ge=1, le=65535)

    # The gateway's signing secret; outside DEBUG it must be set, 32+ bytes and not the dev value
    # (BaseConfig checks every secret in dev_secrets).
    secret_key: SecretStr | None = None
    dev_secrets: ClassVar[dict[str, str]] = BaseConfig.dev_secrets | {"secret_key": DEV_SECRET_KEY}

    # Browser origins allowed to call the API with credentials. A comma-separated list or a JSON array.
    cors_origins: Annotated[list[str], NoDecode] = ["http://localhost:3000"]

    # Largest request body accepted (413 beyond it); upload routes get their own limit by path prefix.
    max_body_bytes: int = Field(MIB, ge=0)
    # Requests handled at once; beyond this the gateway sheds load with 429 instead of queueing.
    max_concurrent_requests: int = Field(256, ge=1)
    # Seconds a client is told to wait (Retry-After) after an overload 429.
    overload_retry_after_s: int = Field(1, ge=1)
    # Deepest nesting of arrays/objects a JSON body may have (422 beyond it), on every route.
    max_json_depth: int = Field(32, ge=2, le=1000)

    # Largest Replicate webhook delivery (413 beyond it; the step then advances by polling). A
    # prediction's JSON carries its input, a product image as a data URI included; it must stay
    # under gRPC's 8 MiB message limit on its way to jobs.
    replicate_webhook_max_bytes: int = Field(6 * MIB, ge=1, le=7 * MIB)

    # Brand files: product images (PNG, JPEG, WebP) and brand assets (those and PDF).
    max_product_image_bytes: int = Field(10 * MIB, ge=1)
    max_brand_asset_bytes: int = Field(25 * MIB, ge=1)
    # A logo (PNG with transparency, SVG) is read whole to check it: at most media's own bound.
    max_logo_bytes: int = Field(2 * MIB, ge=1, le=MAX_LOGO_BYTES)
    # A brand's own music track (MP3, WAV, AAC/M4A).
    max_audio_bytes: int = Field(50 * MIB, ge=1)
    # How long a presigned upload URL (and its upload_id) stays valid.
    upload_url_expiry_s: int = Field(900, ge=60, le=7 * 24 * 3600)

    # Each call behind /api/health gets this long; the whole check is bounded by HEALTH_DEADLINE_S.
    # A little over the services' own probe timeout (0.8 s), so a hung server is reported by the
    # service that owns it (with its reason) rather than as a silent service.
    health_call_timeout_s: float = Field(0.9, gt=0)

    # How long an Authenticate reply is reused for the same token (0: ask accounts on every
    # request). Only while accounts' revocation stream is up; a revoked token is dropped when its
    # revocation arrives (services/gateway/auth_cache.py).
    auth_cache_ttl_s: float = Field(2.0, ge=0, le=60)
    # Tokens cached at most, per gateway process (the oldest go first).
    auth_cache_max_entries: int = Field(10_000, ge=1)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [origin.strip() for origin in text.split(",") if origin.strip()]
        return value

    @field_validator("secret_key", mode="before")
    @classmethod
    def _empty_secret_is_unset(cls, value: object) -> object:
        return None if value == "" else value


async def app_settings(request: Request) -> Settings:
    """The settings the running app was built with (a FastAPI dependency)."""
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(app_settings)]
