"""The `replicate` generation provider: Replicate's HTTP API driven with httpx.

client.py speaks the API (predictions, trainings, models; retries, polling, streamed downloads),
inputs.py maps our scenes onto each model's inputs, media.py fits what comes back to the provider
contract with FFmpeg, provider.py is the Provider and trainings.py runs LoRA trainings.
"""

from services.jobs.providers.replicate.client import ClientOptions, ReplicateClient, ReplicateHTTPError
from services.jobs.providers.replicate.provider import ReplicateProvider
from services.jobs.providers.replicate.trainings import ReplicateTrainings

__all__ = [
    "ClientOptions",
    "ReplicateClient",
    "ReplicateHTTPError",
    "ReplicateProvider",
    "ReplicateTrainings",
]
