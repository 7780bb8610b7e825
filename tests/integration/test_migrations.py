"""Every service's Alembic environment goes up, down one, down to base and up again, in a
database of its own (not the one the running stack uses)."""

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from devstack.backing import create_database
from services.common.db import create_sync_db
from services.common.migrations import SERVICES, alembic_config, include_name_for, upgrade_head


@pytest.fixture
def scratch_db(stack):
    return create_database(stack.env["DATABASE_URL"], f"migrations_{uuid.uuid4().hex[:12]}")


def _tables(url: str, schema: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s AND table_name <> 'alembic_version'",
            (schema,),
        ).fetchall()
    return {r[0] for r in rows}


def _alembic(service: str, url: str, *args: str) -> subprocess.CompletedProcess:
    """The documented one-line form: alembic -c migrations/<service>/alembic.ini <args>."""
    return subprocess.run(
        [sys.executable, "-m", "alembic", "-c", f"migrations/{service}/alembic.ini", *args],
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("service", SERVICES)
def test_up_down_base_and_up_again_with_the_cli(scratch_db, service):
    def at_head() -> bool:
        current = _alembic(service, scratch_db, "current")
        assert current.returncode == 0, current.stderr
        return "(head)" in current.stdout

    for args, head, has_tables in [
        (("upgrade", "head"), True, True),
        (("downgrade", "-1"), False, None),
        (("upgrade", "head"), True, True),
        (("downgrade", "base"), False, False),
        (("upgrade", "head"), True, True),
    ]:
        result = _alembic(service, scratch_db, *args)
        assert result.returncode == 0, result.stderr
        assert at_head() == head, args
        if has_tables is not None:
            assert bool(_tables(scratch_db, service)) == has_tables, args


@pytest.mark.parametrize("service", SERVICES)
def test_models_and_migrations_agree(scratch_db, service):
    import importlib

    models = importlib.import_module(f"services.{service}.models")
    upgrade_head(service, scratch_db)
    engine = create_sync_db(scratch_db, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn,
                opts={
                    "include_schemas": True,
                    "include_name": include_name_for(service),
                    "compare_type": True,
                },
            )
            diff = compare_metadata(ctx, models.Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"{service}: models and migrations differ: {diff}"


def test_replicas_migrating_at_once_take_turns(scratch_db):
    # Several processes start together, as replicas do; the advisory lock makes them take turns.
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "services.common.migrations", *SERVICES],
            env={**os.environ, "DATABASE_URL": scratch_db},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(3)
    ]
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, out
    for service in SERVICES:
        assert _tables(scratch_db, service)


def test_downgrade_through_the_api_leaves_the_schema_empty(scratch_db):
    for service in SERVICES:
        upgrade_head(service, scratch_db)
        engine = create_sync_db(scratch_db, pool_size=1, max_overflow=0)
        with engine.connect() as conn:
            command.downgrade(alembic_config(service, conn), "base")
            conn.commit()
        engine.dispose()
        assert _tables(scratch_db, service) == set()


def test_jobs_calls_still_due_become_outbox_events_and_back(scratch_db):
    """jobs 0004 turns the refunds and project statuses still owed to accounts into outbox events
    (nothing owed is lost on the way to one mechanism), and its downgrade turns them back."""

    def migrate(revision: str, down: bool = False) -> None:
        result = _alembic("jobs", scratch_db, "downgrade" if down else "upgrade", revision)
        assert result.returncode == 0, result.stderr

    migrate("0003")
    user, project = uuid.uuid4(), uuid.uuid4()
    refunded = datetime.now(UTC)
    rows = {  # status, charge, refund_due, refunded_at, project_status_due
        "failed_owed": ("failed", "credit", True, None, "failed"),
        "failed_paid": ("failed", "credit", True, refunded, None),
        "completed_owed": ("completed", "free_video", False, None, "completed"),
        "started_owed": ("processing", "free_video", False, None, "generating"),
        "nothing_owed": ("completed", "free_video", False, None, None),
    }
    ids = {}
    with psycopg.connect(scratch_db, autocommit=True) as db:
        for name, row in rows.items():
            ids[name] = db.execute(
                "INSERT INTO jobs.generations (ad_project_id, user_id, aspect, resolution, provider, status,"
                " charge, refund_due, refunded_at, project_status_due)"
                " VALUES (%s, %s, '9:16', 360, 'local', %s, %s, %s, %s, %s) RETURNING id",
                (project, user, *row),
            ).fetchone()[0]
    migrate("0004")
    with psycopg.connect(scratch_db) as db:
        events = {
            aggregate: (event_type, payload)
            for aggregate, event_type, payload in db.execute(
                "SELECT aggregate_id, event_type, payload FROM jobs.outbox ORDER BY sequence"
            )
        }
    names = {v: k for k, v in ids.items()}
    assert {names[a] for a in events} == {"failed_owed", "completed_owed", "started_owed"}
    ids_payload = {"user_id": str(user), "project_id": str(project)}
    assert events[ids["failed_owed"]] == (
        "generation.settled",
        {"generation_id": str(ids["failed_owed"]), **ids_payload, "status": "failed", "refund": True,
         "project_status": "failed"},
    )  # fmt: skip
    assert events[ids["completed_owed"]][1]["refund"] is False
    assert events[ids["started_owed"]] == (
        "generation.started",
        {"generation_id": str(ids["started_owed"]), **ids_payload, "project_status": "generating"},
    )

    migrate("0003", down=True)
    with psycopg.connect(scratch_db) as db:
        due = dict(
            (names[i], (refund, status))
            for i, refund, status in db.execute(
                "SELECT id, refund_due, project_status_due FROM jobs.generations"
            )
        )
    assert due["failed_owed"] == (True, "failed")
    assert due["completed_owed"] == (False, "completed")
    assert due["started_owed"] == (False, "generating")
    assert due["nothing_owed"] == (False, None)


def test_accounts_charges_move_into_the_credit_ledger_and_back(scratch_db):
    """accounts 0006 moves charges (and their refunds) into the credit ledger, with an opening row
    for the credits they do not explain, so the ledger sums to every balance; its downgrade
    rebuilds charges from the ledger."""

    def migrate(revision: str, down: bool = False) -> None:
        result = _alembic("accounts", scratch_db, "downgrade" if down else "upgrade", revision)
        assert result.returncode == 0, result.stderr

    migrate("0005")
    refunded = datetime.now(UTC)
    with psycopg.connect(scratch_db, autocommit=True) as db:

        def user(credits: int, free_videos_used: int) -> uuid.UUID:
            return db.execute(
                "INSERT INTO accounts.users (email, name, password_hash, credits, free_videos_used)"
                " VALUES (%s, 'T', 'x', %s, %s) RETURNING id",
                (f"{uuid.uuid4().hex}@example.com", credits, free_videos_used),
            ).fetchone()[0]

        paid, untouched, free = user(4, 3), user(7, 0), user(0, 1)
        charges = {  # generation -> (user, kind, refunded_at)
            uuid.uuid4(): (paid, "credit", None),
            uuid.uuid4(): (paid, "credit", refunded),
            uuid.uuid4(): (free, "free_video", None),
            uuid.uuid4(): (free, "free_video", refunded),
        }
        for generation, (owner, kind, refunded_at) in charges.items():
            db.execute(
                "INSERT INTO accounts.charges (user_id, generation_id, kind, refunded_at) VALUES (%s, %s, %s, %s)",
                (owner, generation, kind, refunded_at),
            )
    migrate("0006")
    with psycopg.connect(scratch_db) as db:
        sums = {
            row[0]: row[1:]
            for row in db.execute(
                "SELECT u.id, u.credits, sum(l.amount)::int, count(l.*)::int,"
                " (array_agg(l.balance_after ORDER BY l.created_at DESC, l.id DESC))[1]"
                " FROM accounts.users u LEFT JOIN accounts.credit_ledger l ON l.user_id = u.id GROUP BY u.id"
            )
        }
        kinds = db.execute(
            "SELECT kind, count(*) FROM accounts.credit_ledger WHERE generation_id IS NOT NULL GROUP BY kind"
        ).fetchall()
    # paid: opening 5, two charges (-1 each), one refund (+1) -> 4; untouched: opening 7.
    assert sums[paid] == (4, 4, 4, 4)
    assert sums[untouched] == (7, 7, 1, 7)
    assert sums[free] == (0, 0, 3, 0)  # two free-video charges and a refund, no opening row
    assert dict(kinds) == {"charge": 4, "refund": 2}

    migrate("0005", down=True)
    with psycopg.connect(scratch_db) as db:
        back = {
            generation: (owner, kind, refunded_at is not None)
            for owner, generation, kind, refunded_at in db.execute(
                "SELECT user_id, generation_id, kind, refunded_at FROM accounts.charges"
            )
        }
    assert back == {g: (owner, kind, at is not None) for g, (owner, kind, at) in charges.items()}


def test_jobs_outputs_stored_before_0006_become_generation_outputs(scratch_db):
    """jobs 0006 records every file a step stored before it (output_url) as a generation output of
    the kind its step makes, so cancelling and listing treat older generations alike."""
    assert _alembic("jobs", scratch_db, "upgrade", "0005").returncode == 0
    project = uuid.uuid4()
    with psycopg.connect(scratch_db, autocommit=True) as db:
        generation = db.execute(
            "INSERT INTO jobs.generations (ad_project_id, user_id, aspect, resolution, provider, status)"
            " VALUES (%s, %s, '1:1', 360, 'local', 'completed') RETURNING id",
            (project, uuid.uuid4()),
        ).fetchone()[0]
        stored = {  # step name, job type -> key (None: stored nothing)
            ("scene_1", "scene"): f"scene-videos/{project}/{generation}/scene_1.mp4",
            ("voiceover", "voiceover"): f"audio/{project}/{generation}/voiceover_1.mp3",
            ("music", "music"): None,
            ("composite", "composite"): f"generated-videos/{project}/{generation}/final_ad.mp4",
        }
        for (name, job_type), key in stored.items():
            db.execute(
                "INSERT INTO jobs.generation_jobs (ad_project_id, generation_id, name, job_type, status,"
                " output_url) VALUES (%s, %s, %s, %s, 'completed', %s)",
                (project, generation, name, job_type, key),
            )
    assert _alembic("jobs", scratch_db, "upgrade", "0006").returncode == 0
    with psycopg.connect(scratch_db) as db:
        rows = set(
            db.execute("SELECT kind, aspect, key, content_type FROM jobs.generation_outputs").fetchall()
        )
    assert rows == {
        ("scene_video", "1:1", stored[("scene_1", "scene")], "video/mp4"),
        ("voiceover", None, stored[("voiceover", "voiceover")], "audio/mpeg"),
        ("final_video", "1:1", stored[("composite", "composite")], "video/mp4"),
    }
    assert _alembic("jobs", scratch_db, "downgrade", "0005").returncode == 0
    assert "generation_outputs" not in _tables(scratch_db, "jobs")
