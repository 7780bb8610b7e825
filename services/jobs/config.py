from typing import ClassVar, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from services.common.settings import DEV_SECRET_KEY, BaseConfig, DatabaseConfig, OutboxConfig, RedisConfig

# A worker is declared lost when its job's heartbeat is older than this many monitoring intervals
# (plus WORKER_LOST_MARGIN_S): one missed beat can be a slow Redis round trip, three cannot.
LOST_AFTER_INTERVALS = 3


class Settings(DatabaseConfig, RedisConfig, OutboxConfig):
    """Settings of the jobs service and of its RQ workers (both read the same variables).

    From RedisConfig: REDIS_URL (where RQ keeps its queues, registries and job hashes) and
    REDIS_SOCKET_TIMEOUT_S (every Redis command from the service gives up after it, so a dead Redis
    fails CreateJob fast with 503; workers keep RQ's own long timeout for their blocking dequeue).
    """

    # The RQ queue the service enqueues to and the workers listen on.
    rq_queue: str = Field("default", min_length=1)

    # How often the reconciler (inside the jobs service) repairs Postgres/RQ disagreements.
    reconcile_interval_s: float = Field(5.0, gt=0)
    # A pending row older than this with no RQ job behind it is (re-)enqueued; younger rows may
    # still be between CreateJob's commit and its enqueue.
    enqueue_grace_s: float = Field(10.0, ge=0)
    # How often a worker refreshes the heartbeat of the job it runs (RQ's job_monitoring_interval).
    # The service reads it too: it decides when a silent worker counts as dead.
    worker_job_monitoring_interval_s: int = Field(10, ge=1)
    # Slack on top of 3 missed heartbeats before a running job's worker is declared dead.
    worker_lost_margin_s: float = Field(5.0, ge=0)
    # How often a worker runs RQ's maintenance pass, which also restarts its scheduler process if
    # it died (it does when Redis goes away); RQ's 600 s would hold back retries that long.
    worker_maintenance_interval_s: int = Field(60, ge=5)
    # A job whose worker or work horse died is run again (on any worker) this many times; one more
    # loss fails it. Bounded, so a job that kills its horse every time (out of memory, say) ends.
    job_max_worker_losses: int = Field(2, ge=0, le=10)

    # RQ's job_timeout per job type: RQ's default of 180 s fits none of them.
    diagnostic_job_timeout_s: int = Field(60, ge=1)
    # A LoRA training's job follows the training at Replicate until it ends.
    lora_training_timeout_s: int = Field(4 * 3600, ge=60)
    # How long a failed RQ job stays inspectable in Redis; the row keeps its error for good.
    rq_failure_ttl_s: int = Field(7 * 24 * 3600, ge=60)

    # Checks of Postgres and Redis inside CheckDependencies give up after this long.
    probe_timeout_s: float = Field(0.8, gt=0)

    # --- generations ----------------------------------------------------------------------------
    # Who makes scenes, voiceover and music: "local" (FFmpeg on the workers, the default) or
    # "replicate" (needs REPLICATE_API_TOKEN). The composite is always made locally.
    generation_provider: Literal["local", "replicate"] = "local"
    # RQ's job_timeout for a generation step (a render or a remote prediction).
    generation_step_timeout_s: int = Field(1800, ge=10)
    # Attempts per step when the provider fails transiently (timeouts, 429, 5xx) ...
    generation_max_attempts: int = Field(3, ge=1, le=10)
    # ... waiting this long before the second, doubling each time.
    generation_retry_base_s: float = Field(2.0, ge=0)
    # Making one scene again (a new version of a completed generation): this many versions of a
    # generation are free; each one after that is charged like a generation (a free video or a
    # credit). 0 charges every one.
    regenerate_scene_free_versions: int = Field(3, ge=0, le=100)

    # --- webhooks to users' endpoints (services.jobs.webhooks) ------------------------------------
    # The key that encrypts the endpoints' signing secrets at rest is derived from SECRET_KEY (the
    # gateway's, the same value): set it for jobs and workers too; outside DEBUG it must be a real one.
    secret_key: SecretStr | None = None
    dev_secrets: ClassVar[dict[str, str]] = BaseConfig.dev_secrets | {"secret_key": DEV_SECRET_KEY}
    # Endpoints one user may register.
    webhook_max_endpoints_per_user: int = Field(10, ge=1, le=1000)
    # Each delivery attempt gives up after this long (connect, TLS, request and answer).
    webhook_timeout_s: float = Field(10.0, gt=0, le=60)
    # Retries wait about this long after the first failure, doubling each time up to
    # WEBHOOK_RETRY_MAX_S (with jitter), until WEBHOOK_RETRY_WINDOW_S after the event; then failed.
    webhook_retry_base_s: float = Field(10.0, gt=0)
    webhook_retry_max_s: float = Field(3600.0, gt=0)
    webhook_retry_window_s: float = Field(24 * 3600.0, gt=0)
    # How often the jobs service looks for deliveries that are due, when nothing woke it.
    webhook_dispatch_interval_s: float = Field(1.0, gt=0)
    # How long the final video's URL in a generation.completed stays valid (signed at each attempt).
    webhook_video_url_expiry_s: int = Field(24 * 3600, ge=60, le=7 * 24 * 3600)
    # Development only (refused unless DEBUG is true): endpoints may be http(s)://127.0.0.1:<port> or
    # [::1], so a developer, and the tests, can receive webhooks on this machine. Production allows
    # https URLs to public addresses only.
    webhook_allow_loopback: bool = False

    @field_validator(
        "replicate_api_token",
        "replicate_webhook_url",
        "replicate_webhook_secret",
        "secret_key",
        mode="before",
    )
    @classmethod
    def _empty_token_is_unset(cls, value):
        return None if value == "" else value

    @model_validator(mode="after")
    def _loopback_webhooks_only_in_debug(self):
        if self.webhook_allow_loopback and not self.debug:
            raise ValueError("WEBHOOK_ALLOW_LOOPBACK=true is allowed only when DEBUG is true")
        return self

    @model_validator(mode="after")
    def _replicate_needs_a_token(self):
        if self.generation_provider == "replicate" and self.replicate_api_token is None:
            raise ValueError("GENERATION_PROVIDER=replicate needs REPLICATE_API_TOKEN")
        return self

    @model_validator(mode="after")
    def _webhooks_need_their_secret(self):
        # Workers and the jobs service read the same variables: a URL without the secret would ask
        # Replicate for deliveries the service must refuse.
        if self.replicate_webhook_url and self.replicate_webhook_secret is None:
            raise ValueError("REPLICATE_WEBHOOK_URL needs REPLICATE_WEBHOOK_SECRET")
        if self.replicate_webhook_url and not self.replicate_webhook_url.startswith(("https://", "http://")):
            raise ValueError("REPLICATE_WEBHOOK_URL must be an http(s) URL")
        return self

    @property
    def worker_lost_after_s(self) -> float:
        return LOST_AFTER_INTERVALS * self.worker_job_monitoring_interval_s + self.worker_lost_margin_s

    # --- Replicate generation provider (services.jobs.providers.replicate) -------------------------
    # Unset token: the replicate provider refuses to start ("replicate provider needs ...").
    replicate_api_token: SecretStr | None = None
    replicate_base_url: str = "https://api.replicate.com"
    # Model refs are "owner/name" (official models, run at their latest version) or
    # "owner/name:version". Each needs an entry in providers/replicate/inputs.py (input mapping).
    # Wan 2.1 image-to-video at 480p: takes a start image, a frame count and fps, and a LoRA URL.
    replicate_video_model: str = "wavespeedai/wan-2.1-i2v-480p"
    # MiniMax Speech-02 Turbo text-to-speech.
    replicate_voice_model: str = "minimax/speech-02-turbo"
    # Meta's MusicGen, pinned: it is not an official model, so it needs a version.
    replicate_music_model: str = (
        "meta/musicgen:671ac645ce5e552cc63a54a2bbff63fcf798043055d2dac5fc9e36a837eedcfb"
    )
    # Per HTTP call; a slower answer counts as a transient error and is retried.
    replicate_timeout_s: float = Field(30.0, gt=0)
    # Replicate stops a prediction after 30 minutes anyway; past this we cancel it and fail.
    replicate_max_wait_s: float = Field(1800.0, gt=0)
    # Polling backs off exponentially between these bounds.
    replicate_poll_initial_s: float = Field(1.0, gt=0)
    replicate_poll_max_s: float = Field(10.0, gt=0)
    # Retries of one call on a timeout, connection error, 429 or 5xx before giving up (transient).
    replicate_max_retries: int = Field(5, ge=0)
    # Outputs larger than this are refused rather than filling the worker's disk.
    replicate_max_output_bytes: int = Field(512 * 1024 * 1024, ge=1)
    # Trains Wan 2.1 LoRAs from images, so its weights fit the video model above. "owner/name"
    # trains with the latest version (looked up); pin "owner/name:version" in production.
    replicate_lora_trainer: str = "ostris/wan-lora-trainer"
    # The account owning the destination models trainings write into (created when missing).
    replicate_lora_destination_owner: str | None = None
    # Replicate's webhooks (services/jobs/replicate_webhooks): with the URL set, every prediction and
    # training asks Replicate to POST its completion there, and the waiting step advances at once;
    # polling (above) stays as the fallback for a delivery that never comes. The public URL of the
    # gateway's POST /api/webhooks/replicate.
    replicate_webhook_url: str | None = None
    # The account's signing secret ("whsec_...", from GET /v1/webhooks/default/secret). The jobs
    # service verifies every delivery with it; unset, the endpoint answers 404.
    replicate_webhook_secret: SecretStr | None = None
