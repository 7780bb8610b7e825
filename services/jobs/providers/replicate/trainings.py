"""LoRA trainings on Replicate. A training runs a trainer model version on a dataset and writes a
new version into a destination model, which must already exist: `create` makes it first (private,
on CPU hardware: it only holds the weights) when it is missing. The training's output holds the
new version and a `weights` URL, which render_scene takes as its `lora`."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from services.jobs.media_types import InputError, PermanentProviderError
from services.jobs.providers.replicate.client import (
    Checkpoint,
    ClientOptions,
    ModelRef,
    ReplicateClient,
    ReplicateHTTPError,
    no_checkpoint,
)
from services.jobs.replicate_webhooks.mailbox import Mailbox

# Trainings run far longer than predictions' 30 minutes.
TRAINING_MAX_WAIT_S = 4 * 3600
# Replicate's rule for model names.
_MODEL_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


class ReplicateTrainings:
    def __init__(
        self, settings: Any, *, client: ReplicateClient | None = None, mailbox: Mailbox | None = None
    ):
        """From the jobs Settings: REPLICATE_API_TOKEN, REPLICATE_LORA_TRAINER and
        REPLICATE_LORA_DESTINATION_OWNER (needed for destinations given without an owner); with a
        mailbox (and REPLICATE_WEBHOOK_URL), trainings advance on their webhook too."""
        self.client = client or ReplicateClient(ClientOptions.from_settings(settings), mailbox=mailbox)
        self.trainer = ModelRef.parse(settings.replicate_lora_trainer)
        self.destination_owner = settings.replicate_lora_destination_owner

    def close(self) -> None:
        self.client.close()

    def destination(self, name: str) -> str:
        """ "owner/name" for a destination given as either that or a bare name under our owner."""
        owner, _, model = name.rpartition("/")
        owner = owner or self.destination_owner or ""
        if not owner:
            raise PermanentProviderError("LoRA training needs REPLICATE_LORA_DESTINATION_OWNER")
        if not _MODEL_NAME.match(model) or not re.match(r"^[\w.-]+$", owner):
            raise InputError(f"not a valid Replicate model name: {name!r} (lowercase, digits, . _ -)")
        return f"{owner}/{model}"

    def trainer_version(self) -> ModelRef:
        """The trainer as pinned, or at its latest version when configured as "owner/name"."""
        if self.trainer.version:
            return self.trainer
        model = self.client.get_model(self.trainer.owner, self.trainer.name)
        version = ((model or {}).get("latest_version") or {}).get("id")
        if not version:
            raise PermanentProviderError(f"trainer {self.trainer.model} not found or has no version")
        self.trainer = ModelRef(self.trainer.owner, self.trainer.name, version)
        return self.trainer

    def ensure_model(self, destination: str, *, description: str | None = None) -> dict:
        """The destination model, created (private, cpu) when it does not exist yet."""
        owner, name = self.destination(destination).split("/")
        existing = self.client.get_model(owner, name)
        if existing is not None:
            return existing
        extra = {"description": description} if description else {}
        try:
            return self.client.create_model(owner, name, visibility="private", hardware="cpu", **extra)
        except ReplicateHTTPError as exc:
            # Another worker created it between our GET and POST.
            if exc.status == 409:
                model = self.client.get_model(owner, name)
                if model is not None:
                    return model
            raise

    def create(self, destination: str, input: dict, *, checkpoint: Checkpoint = no_checkpoint) -> dict:
        dest = self.destination(destination)
        self.ensure_model(dest)
        return self.client.create_training(self.trainer_version(), dest, input, checkpoint=checkpoint)

    def get(self, training_id: str) -> dict:
        return self.client.get_training(training_id)

    def wait(
        self,
        training: dict,
        *,
        checkpoint: Checkpoint = no_checkpoint,
        on_update: Callable[[dict], None] = lambda training: None,
        max_wait_s: float = TRAINING_MAX_WAIT_S,
    ) -> dict:
        """Same rules as a prediction's wait (cancellation, deadline, failure messages)."""
        return self.client.wait(
            training, kind="trainings", checkpoint=checkpoint, on_update=on_update, max_wait_s=max_wait_s
        )

    @staticmethod
    def weights_url(training: dict) -> str:
        weights = (training.get("output") or {}).get("weights")
        if not weights:
            raise PermanentProviderError(f"training {training.get('id')} has no weights in its output")
        return weights
