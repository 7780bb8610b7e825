from pydantic import Field

from services.common.settings import DatabaseConfig


class Settings(DatabaseConfig):
    # Checks of Postgres inside CheckDependencies give up after this long.
    probe_timeout_s: float = Field(0.8, gt=0)
