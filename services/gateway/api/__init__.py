"""The REST API under /api: one router per resource."""

from fastapi import APIRouter

from services.gateway.api.routes import auth, brands, generations, health, lora, projects, webhooks

api_router = APIRouter(prefix="/api")
for module in (health, auth, brands, lora, projects, generations, webhooks):
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
        "description": "Your endpoints for signed generation and LoRA events, and their deliveries.",
    },
]
