"""Configuration from environment variables (and `.env` when present), through pydantic-settings.

Each service declares its own settings class on top of these bases; `load_settings` turns a
missing or malformed variable into one line naming it and exit status 2, instead of a traceback.
"""

from __future__ import annotations

import sys
from typing import Any, ClassVar, Literal, Self, TypeVar

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Used only when DEBUG is true, so `make dev` works with no .env; production must set real values.
DEV_INTERNAL_TOKEN = "dev-internal-token-not-secret"  # noqa: S105
DEV_SECRET_KEY = "dev-secret-key-not-secret"  # noqa: S105
# Outside DEBUG a secret must be at least this long (256 bits when random), and never a dev value.
MIN_SECRET_BYTES = 32
SECRET_HINT = 'generate a value with: python3 -c "import secrets; print(secrets.token_urlsafe(32))"'  # noqa: S105


def production_secret_problem(name: str, value: SecretStr | None) -> str | None:
    """Why a secret can't be used when DEBUG is false, or None. Never includes the value."""
    if value is None:
        return f"{name} is required when DEBUG is false"
    raw = value.get_secret_value()
    if raw in (DEV_INTERNAL_TOKEN, DEV_SECRET_KEY):
        return f"{name} is a public development default (allowed only when DEBUG is true)"
    if len(raw.encode()) < MIN_SECRET_BYTES:
        return f"{name} is shorter than {MIN_SECRET_BYTES} bytes"
    return None


def secret_value(secret: SecretStr | None) -> str:
    """The value of a secret field (INTERNAL_TOKEN, SECRET_KEY) of a loaded settings object. The
    fields are optional only until validation, which sets the dev value under DEBUG and refuses a
    missing one otherwise; so None here is a settings object built without validation."""
    if secret is None:
        raise RuntimeError("a required secret is unset: build settings with load_settings")
    return secret.get_secret_value()


class BaseConfig(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    debug: bool = False
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["text", "json"] = "text"

    # Shared secret carried as x-internal-token on every internal gRPC call.
    internal_token: SecretStr | None = None

    # Where the gRPC services listen (host part for the server, port per service) ...
    grpc_bind_host: str = "0.0.0.0"
    accounts_port: int = Field(50051, ge=1, le=65535)
    media_port: int = Field(50052, ge=1, le=65535)
    jobs_port: int = Field(50053, ge=1, le=65535)
    # ... and where clients reach them.
    accounts_addr: str = "localhost:50051"
    media_addr: str = "localhost:50052"
    jobs_addr: str = "localhost:50053"

    grpc_deadline_s: float = Field(5.0, gt=0)
    health_deadline_s: float = Field(1.0, gt=0)
    # How long a stopping server (a gRPC service, the gateway) lets in-flight calls finish after
    # SIGTERM; Kubernetes' terminationGracePeriodSeconds and devstack's stop wait a little longer.
    shutdown_grace_s: float = Field(25.0, ge=0)
    # A stopping gRPC service says NOT_SERVING and goes on serving this long before it stops
    # taking calls, so that its clients' health watches move new calls to the other replicas.
    shutdown_drain_s: float = Field(1.0, ge=0, le=10)
    # Where a gRPC service or a worker serves its Prometheus metrics over HTTP (on GRPC_BIND_HOST);
    # 0: no metrics server. The gateway serves /metrics on its own port instead.
    metrics_port: int = Field(0, ge=0, le=65535)

    @field_validator("internal_token", mode="before")
    @classmethod
    def _empty_token_is_unset(cls, value: object) -> object:
        # An empty shared secret is no secret: treat INTERNAL_TOKEN= like a missing one.
        return None if value == "" else value

    # The secrets this process needs (field -> the dev value DEBUG fills in when it is unset); the
    # gateway adds its SECRET_KEY.
    dev_secrets: ClassVar[dict[str, str]] = {"internal_token": DEV_INTERNAL_TOKEN}

    @model_validator(mode="after")
    def _secrets(self) -> Self:
        """DEBUG fills in the dev values; otherwise every secret must be set, not a dev value and
        at least MIN_SECRET_BYTES long, or the process stops naming each one that is not."""
        problems = []
        for field, dev_value in self.dev_secrets.items():
            value = getattr(self, field)
            if self.debug:
                if value is None:
                    setattr(self, field, SecretStr(dev_value))
            elif problem := production_secret_problem(field.upper(), value):
                problems.append(problem)
        if problems:
            raise ValueError("; ".join([*problems, SECRET_HINT]))
        return self


class DatabaseConfig(BaseConfig):
    database_url: SecretStr
    db_pool_size: int = Field(5, ge=1)
    db_max_overflow: int = Field(15, ge=0)
    # Apply this service's migrations at start-up, under an advisory lock.
    migrate_on_start: bool = False

    @model_validator(mode="after")
    def _postgres_url(self) -> Self:
        url = self.database_url.get_secret_value()
        if not url.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
            raise ValueError("DATABASE_URL must be a postgresql:// URL")
        return self


class RedisConfig(BaseConfig):
    redis_url: SecretStr
    # Short, so a dead Redis fails a call fast instead of hanging it.
    redis_socket_timeout_s: float = Field(1.0, gt=0)
    # The Redis Stream on which services publish their events for each other (services.common.outbox):
    # accounts its deletions, jobs how generations went.
    events_stream: str = "zapcut:events"

    @model_validator(mode="after")
    def _redis_url(self) -> Self:
        if not self.redis_url.get_secret_value().startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("REDIS_URL must be a redis:// or rediss:// URL")
        return self


class OutboxConfig(BaseConfig):
    """For a service that publishes events through its outbox (accounts, jobs)."""

    # How often the outbox relay looks for unpublished events when nothing woke it (events written
    # by another process, such as a worker, wait at most this long).
    outbox_poll_interval_s: float = Field(1.0, gt=0)


S = TypeVar("S", bound=BaseSettings)


def load_settings(cls: type[S], **overrides: Any) -> S:
    """Build settings or stop the process with one line per bad variable."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        print(f"configuration error: {describe_validation_error(exc)}", file=sys.stderr)
        raise SystemExit(2) from None


def describe_validation_error(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        name = "_".join(str(p) for p in err["loc"]).upper()
        if err["type"] == "missing":
            problems.append(f"{name} is required but not set")
        elif not name:
            # model-level validators already name the variable in their message
            problems.append(str(err["msg"]).removeprefix("Value error, "))
        else:
            # never echo the input: it may be a secret
            problems.append(f"{name} is invalid: {err['msg']}")
    return "; ".join(problems)
