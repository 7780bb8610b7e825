from datetime import timedelta

from pydantic import Field

from services.common.settings import DatabaseConfig, RedisConfig


class Settings(DatabaseConfig, RedisConfig):
    """Redis holds the login rate-limit counters and the stream the outbox relay publishes to."""

    # Checks of Postgres and Redis inside CheckDependencies give up after this long.
    probe_timeout_s: float = Field(0.8, gt=0)
    # How long a login session lasts (seconds, or ISO 8601 like P7D).
    session_ttl: timedelta = timedelta(days=7)
    # Credits a new user starts with (besides the free videos, counted by free_videos_used).
    starting_credits: int = Field(0, ge=0)
    # Login attempts allowed per email and per client IP in each window.
    login_rate_limit: int = Field(5, ge=1)
    login_rate_window_s: int = Field(60, ge=1)
    # Argon2 hashes and checks run at most this many at once (each is ~100 ms of CPU and 64 MiB) ...
    password_hash_concurrency: int = Field(2, ge=1)
    # ... and beyond this many waiting, a sign-in is refused at once with 429.
    password_hash_queue: int = Field(32, ge=1)
    # How often the outbox relay looks for unpublished events when nothing woke it.
    outbox_poll_interval_s: float = Field(1.0, gt=0)
