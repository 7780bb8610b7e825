"""The REST API under /api: one router per resource."""

from fastapi import APIRouter

from services.gateway.api.routes import (
    auth,
    brands,
    credits,
    fonts,
    generations,
    health,
    lora,
    projects,
    replicate_webhooks,
    voices,
    webhooks,
)

api_router = APIRouter(prefix="/api")
for module in (
    health,
    auth,
    credits,
    brands,
    fonts,
    lora,
    projects,
    voices,
    generations,
    replicate_webhooks,
    webhooks,
):
    api_router.include_router(module.router)

# Descriptions for /docs; a tag shows there even before its router has endpoints.
OPENAPI_TAGS = [
    {"name": "health", "description": "Liveness of the gateway, the services and the servers they use."},
    {"name": "auth", "description": "Accounts and sessions: sign-up, login, logout, the current user."},
    {"name": "brands", "description": "Brands, their product images and guidelines."},
    {"name": "lora", "description": "A brand's LoRA model, trained on its product images (Replicate)."},
    {"name": "projects", "description": "Ad projects: chat and scripts."},
    {"name": "generations", "description": "Generating the ad from an approved script: progress and result."},
    {
        "name": "webhooks",
        "description": "Webhooks: your endpoints for signed generation and LoRA events and their deliveries, "
        "and Replicate's deliveries in (signed, no bearer token).",
    },
]
