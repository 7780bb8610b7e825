"""Alembic plumbing shared by the three environments under migrations/<service>/.

Each service keeps its tables and its own alembic_version table in its own schema. Upgrading at
start-up (MIGRATE_ON_START) happens under a Postgres advisory lock, so replicas starting together
take turns instead of racing.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from logging.config import fileConfig
from pathlib import Path

from alembic import command, context, op
from alembic.config import Config
from alembic.runtime.environment import IncludeNameFn, NameFilterParentNames, NameFilterType
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection

from services.common.db import create_sync_db
from services.common.settings import DatabaseConfig

MIGRATIONS_ROOT = Path(__file__).resolve().parents[2] / "migrations"
SERVICES = ("accounts", "media", "jobs")


def alembic_config(service: str, connection: Connection | None = None) -> Config:
    cfg = Config(str(MIGRATIONS_ROOT / service / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS_ROOT / service))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def run_env(schema: str, target_metadata: MetaData) -> None:
    """The body of every env.py: online migrations in `schema`, on a given or a new connection."""
    connection = context.config.attributes.get("connection")
    if connection is None and context.config.config_file_name:
        # Run from the alembic CLI: use the ini file's logging so progress is shown.
        fileConfig(context.config.config_file_name, disable_existing_loggers=False)
    if connection is not None:
        _run(connection, schema, target_metadata)
        return
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("configuration error: DATABASE_URL is required but not set")
    engine = create_sync_db(url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            _run(conn, schema, target_metadata)
    finally:
        engine.dispose()


def _run(connection: Connection, schema: str, target_metadata: MetaData) -> None:
    connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    connection.commit()
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table_schema=schema,
        include_schemas=True,
        include_name=include_name_for(schema),
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def include_name_for(schema: str) -> IncludeNameFn:
    """Autogenerate sees only this service's schema, and never its own alembic_version table."""

    def include_name(name: str | None, type_: NameFilterType, parent_names: NameFilterParentNames) -> bool:
        if type_ == "schema":
            return name == schema
        if type_ == "table":
            return name != "alembic_version"
        return True

    return include_name


def upgrade_head(service: str, database_url: str) -> None:
    """Apply `service`'s migrations up to head, one process at a time across all replicas."""
    lock_id = int.from_bytes(
        hashlib.sha256(f"zapcut-migrate-{service}".encode()).digest()[:8], "big", signed=True
    )
    engine = create_sync_db(database_url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": lock_id})
            try:
                conn.commit()
                command.upgrade(alembic_config(service, conn), "head")
                conn.commit()
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": lock_id})
                conn.commit()
    finally:
        engine.dispose()


async def upgrade_on_start(service: str, settings: DatabaseConfig) -> None:
    """MIGRATE_ON_START: bring the service's schema to head before it serves."""
    if settings.migrate_on_start:
        await asyncio.to_thread(upgrade_head, service, settings.database_url.get_secret_value())


# --- helpers for migration scripts -------------------------------------------------------------


def create_updated_at_function(schema: str) -> None:
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION "{schema}".set_updated_at() RETURNS trigger AS $$
        BEGIN
            NEW.updated_at = now();
            RETURN NEW;
        END;
        $$ LANGUAGE plpgsql
        """
    )


def drop_updated_at_function(schema: str) -> None:
    op.execute(f'DROP FUNCTION IF EXISTS "{schema}".set_updated_at()')


def create_updated_at_trigger(schema: str, table: str) -> None:
    op.execute(
        f'CREATE TRIGGER {table}_set_updated_at BEFORE UPDATE ON "{schema}"."{table}" '
        f'FOR EACH ROW EXECUTE FUNCTION "{schema}".set_updated_at()'
    )


def drop_updated_at_trigger(schema: str, table: str) -> None:
    op.execute(f'DROP TRIGGER IF EXISTS {table}_set_updated_at ON "{schema}"."{table}"')


def main() -> None:
    """python -m services.common.migrations [service ...]: upgrade the named services (default all)."""
    import sys

    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("configuration error: DATABASE_URL is required but not set")
    for service in sys.argv[1:] or SERVICES:
        upgrade_head(service, url)
        print(f"{service}: at head")


if __name__ == "__main__":
    main()
