import hmac
from datetime import timedelta
from typing import ClassVar, Self

from pydantic import Field, SecretStr, field_validator, model_validator

from services.accounts.models import SUBSCRIPTION_TIERS
from services.common.settings import (
    DEV_INTERNAL_TOKEN,
    BaseConfig,
    DatabaseConfig,
    OutboxConfig,
    RedisConfig,
    production_secret_problem,
)

# Used only when DEBUG is true, so the admin CLI works against `make dev` with no .env.
DEV_ADMIN_TOKEN = "dev-admin-token-not-secret"  # noqa: S105


def admin_token_problem(admin_token: SecretStr | None, internal_token: SecretStr | None) -> str | None:
    """Why ADMIN_TOKEN can't be used outside DEBUG, or None: it must be as strong as any secret, and
    not INTERNAL_TOKEN, which the gateway holds (an operator's credential the gateway has is none)."""
    if admin_token is not None and admin_token.get_secret_value() == DEV_ADMIN_TOKEN:
        return "ADMIN_TOKEN is a public development default (allowed only when DEBUG is true)"
    if problem := production_secret_problem("ADMIN_TOKEN", admin_token):
        return problem
    if (
        admin_token
        and internal_token
        and hmac.compare_digest(
            admin_token.get_secret_value().encode(), internal_token.get_secret_value().encode()
        )
    ):
        return "ADMIN_TOKEN must differ from INTERNAL_TOKEN (the gateway holds INTERNAL_TOKEN)"
    return None


class Settings(DatabaseConfig, RedisConfig, OutboxConfig):
    """Redis holds the login rate-limit counters and the events stream (accounts publishes its
    deletions there and consumes the generations' events).

    The assistant (chat replies, drafted scripts) uses a language model behind an OpenAI-compatible
    chat-completions API when LLM_BASE_URL, LLM_API_KEY and LLM_MODEL are all set."""

    # Checks of Postgres and Redis inside CheckDependencies give up after this long.
    probe_timeout_s: float = Field(0.8, gt=0)
    # How long a login session lasts (seconds, or ISO 8601 like P7D).
    session_ttl: timedelta = timedelta(days=7)
    # Ads a user may generate before credits are needed.
    free_videos: int = Field(3, ge=0)
    # Credits a new user starts with (besides the free videos, counted by free_videos_used).
    starting_credits: int = Field(0, ge=0)
    # Failed password checks (logins, current_password) refused beyond, before the password is
    # checked (services/accounts/rate_limit.py): per email from one client address ...
    login_rate_limit: int = Field(5, ge=1)
    login_rate_window_s: int = Field(60, ge=1)
    # ... per client address, whatever the emails ...
    login_address_rate_limit: int = Field(30, ge=1)
    login_address_rate_window_s: int = Field(900, ge=1)
    # ... and per email from all addresses, which then refuses the addresses that failed for it.
    login_email_rate_limit: int = Field(50, ge=1)
    login_email_rate_window_s: int = Field(900, ge=1)
    # Sign-ups per client address.
    signup_rate_limit: int = Field(10, ge=1)
    signup_rate_window_s: int = Field(3600, ge=1)
    # Argon2 work (each ~100 ms of CPU and 64 MiB) runs in two pools, so sign-ups can't starve
    # logins: password checks at most this many at once, and beyond this many waiting, 429 at once ...
    password_verify_concurrency: int = Field(2, ge=1)
    password_verify_queue: int = Field(32, ge=1)
    # ... and new hashes (sign-ups, password changes) likewise.
    password_hash_concurrency: int = Field(1, ge=1)
    password_hash_queue: int = Field(8, ge=1)

    # The language model: base URL of an OpenAI-compatible API (the part before /chat/completions),
    # its key and model name. Unset (or empty) leaves the assistant unconfigured: chat replies are
    # refused and scripts are drafted from the template.
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str | None = None
    # All the time one assistant answer may take, retries included.
    llm_timeout_s: float = Field(60.0, gt=0)
    llm_max_tokens: int = Field(1500, ge=1)
    llm_temperature: float = Field(0.7, ge=0, le=2)

    # Credits each subscription tier grants per calendar month (UTC), as JSON; a tier not named
    # grants none. Renewed by every replica every TIER_RENEWAL_INTERVAL_S, once per user and month.
    tier_monthly_credits: dict[str, int] = {"free": 0, "pro": 20, "business": 100}
    tier_renewal_interval_s: float = Field(3600.0, gt=0)
    # The operators' credential for the AccountsAdmin service (python -m services.accounts.admin),
    # sent as x-admin-token besides the internal token. Unset: the admin calls are refused
    # (DEBUG uses a public dev value). The gateway never has it.
    admin_token: SecretStr | None = None

    @field_validator("admin_token", mode="before")
    @classmethod
    def _empty_admin_token_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("tier_monthly_credits")
    @classmethod
    def _known_tiers(cls, value: dict[str, int]) -> dict[str, int]:
        if unknown := set(value) - set(SUBSCRIPTION_TIERS):
            raise ValueError(
                f"unknown tiers {sorted(unknown)}; the tiers are {', '.join(SUBSCRIPTION_TIERS)}"
            )
        if any(credits < 0 for credits in value.values()):
            raise ValueError("credits per month must not be negative")
        return value

    @model_validator(mode="after")
    def _admin_token(self) -> Self:
        if self.debug:
            if self.admin_token is None:
                self.admin_token = SecretStr(DEV_ADMIN_TOKEN)
        elif self.admin_token is not None and (
            problem := admin_token_problem(self.admin_token, self.internal_token)
        ):
            raise ValueError(problem)
        return self

    @field_validator("llm_base_url", "llm_api_key", "llm_model", mode="before")
    @classmethod
    def _empty_is_unset(cls, value):
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("llm_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/") if value else value

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_base_url and self.llm_api_key and self.llm_model)


class AdminSettings(BaseConfig):
    """The admin CLI's settings: where accounts is (ACCOUNTS_ADDR), the internal token every call
    carries, and the operators' ADMIN_TOKEN, read like the services read theirs."""

    admin_token: SecretStr | None = None
    dev_secrets: ClassVar[dict[str, str]] = {
        "internal_token": DEV_INTERNAL_TOKEN,
        "admin_token": DEV_ADMIN_TOKEN,
    }

    @field_validator("admin_token", mode="before")
    @classmethod
    def _empty_admin_token_is_unset(cls, value: object) -> object:
        return None if value == "" else value
