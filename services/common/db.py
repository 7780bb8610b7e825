"""SQLAlchemy engines for a service's own database (psycopg 3 underneath).

Services use the asyncio engine; RQ workers and Alembic, which are synchronous, use the sync one.
Pool sizes come from settings (5 kept, 20 at most by default).
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy
import sqlalchemy.ext.asyncio
from sqlalchemy import DateTime, MetaData, Table, func, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db_metrics import watch_pool
from services.common.settings import DatabaseConfig

CONNECT_TIMEOUT_S = 5

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def sqlalchemy_url(url: str) -> str:
    """postgresql://... (what users and compose write) -> postgresql+psycopg://... (what SQLAlchemy needs)."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError("DATABASE_URL must start with postgresql://")


# The engine factories are looked up on their modules at call time: OpenTelemetry's SQLAlchemy
# instrumentation (services.common.telemetry) replaces them there to trace every engine made after.


def create_async_db(database_url: str, pool_size: int = 5, max_overflow: int = 15) -> AsyncEngine:
    return sqlalchemy.ext.asyncio.create_async_engine(
        sqlalchemy_url(database_url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        pool_timeout=5,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
    )


def create_sync_db(database_url: str, pool_size: int = 5, max_overflow: int = 15) -> Engine:
    return sqlalchemy.create_engine(
        sqlalchemy_url(database_url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        pool_timeout=5,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


def schema_metadata(schema: str) -> MetaData:
    """The metadata of a service's declarative base: its tables all live in `schema` (one Postgres
    schema per service), their constraints named by NAMING_CONVENTION.

        class Base(DeclarativeBase):
            metadata = schema_metadata(SCHEMA)

    (A class statement, so the type checker knows the models' base.)"""
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def table_of(model: type[DeclarativeBase]) -> Table:
    """A model's Table, for Core statements: the declarative base types `__table__` as any
    FromClause, and every model of ours maps exactly one Table."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} does not map a single Table")
    return table


def uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True, server_default=func.gen_random_uuid())


def created_at() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


def updated_at() -> Mapped[datetime]:
    # Kept current by a trigger (see services.common.migrations.updated_at_trigger), not only by the ORM.
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


def in_values(column: str, values: tuple[str, ...]) -> str:
    """SQL for a CHECK constraint that limits an enumerated column to `values`."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def service_engine(settings: DatabaseConfig) -> AsyncEngine:
    """The asyncio engine of a service, from its DATABASE_URL and pool settings; its pool's use is
    exported as a metric."""
    engine = create_async_db(
        settings.database_url.get_secret_value(), settings.db_pool_size, settings.db_max_overflow
    )
    watch_pool("service", engine)
    return engine
