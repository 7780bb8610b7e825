"""The `replicate` generation provider: Replicate's HTTP API driven with httpx.

client.py speaks the API (predictions, trainings, models; retries, polling, streamed downloads),
inputs.py maps our scenes onto each model's inputs, media.py fits what comes back to the provider
contract with FFmpeg, provider.py is the Provider, trainings.py runs LoRA trainings and
webhooks.py verifies Replicate's signed webhooks.
"""

from services.jobs.providers.replicate.client import ClientOptions, ReplicateClient, ReplicateHTTPError
from services.jobs.providers.replicate.provider import ReplicateProvider
from services.jobs.providers.replicate.trainings import ReplicateTrainings
from services.jobs.providers.replicate.webhooks import WebhookVerificationError, sign_webhook, verify_webhook

__all__ = [
    "ClientOptions",
    "ReplicateClient",
    "ReplicateHTTPError",
    "ReplicateProvider",
    "ReplicateTrainings",
    "WebhookVerificationError",
    "sign_webhook",
    "verify_webhook",
]
