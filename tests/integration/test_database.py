"""The schema as Postgres sees it, in the test database the stack migrated."""

import uuid

import psycopg
import pytest

TABLES = {
    "accounts": {
        "users",
        "sessions",
        "brands",
        "ad_projects",
        "chat_messages",
        "scripts",
        "outbox",
        "credit_ledger",
    },
    "media": {"media_objects"},
    "jobs": {
        "generations",
        "generation_jobs",
        "generation_outputs",
        "lora_models",
        "outbox",
        "webhook_endpoints",
        "webhook_deliveries",
    },
}


def _new_user(db, email=None) -> uuid.UUID:
    email = email or f"{uuid.uuid4().hex}@example.com"
    return db.execute(
        "INSERT INTO accounts.users (email, name, password_hash) VALUES (%s, 'T', 'x') RETURNING id", (email,)
    ).fetchone()[0]


def test_connection(db):
    assert db.execute("SELECT 1").fetchone() == (1,)


def test_all_tables_exist_in_their_service_schema(db):
    rows = db.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema IN ('accounts', 'media', 'jobs') AND table_name <> 'alembic_version'"
    ).fetchall()
    found: dict[str, set[str]] = {}
    for schema, table in rows:
        found.setdefault(schema, set()).add(table)
    assert found == TABLES


def test_uuid_keys_are_generated_by_postgres(db):
    user_id = _new_user(db)
    assert isinstance(user_id, uuid.UUID) and user_id.version == 4


def test_bad_foreign_key_fails(db):
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        db.execute("INSERT INTO accounts.brands (user_id, title) VALUES (%s, 'x')", (uuid.uuid4(),))


def test_deleting_a_user_cascades_to_brands_projects_and_below(db):
    user_id = _new_user(db)
    brand_id = db.execute(
        "INSERT INTO accounts.brands (user_id, title) VALUES (%s, 'b') RETURNING id", (user_id,)
    ).fetchone()[0]
    project_id = db.execute(
        "INSERT INTO accounts.ad_projects (user_id, brand_id) VALUES (%s, %s) RETURNING id",
        (user_id, brand_id),
    ).fetchone()[0]
    db.execute(
        "INSERT INTO accounts.chat_messages (ad_project_id, role, content) VALUES (%s, 'user', 'hi')",
        (project_id,),
    )
    db.execute("INSERT INTO accounts.scripts (ad_project_id, storyline) VALUES (%s, 's')", (project_id,))
    db.execute(
        "INSERT INTO accounts.sessions (user_id, token, expires_at) VALUES (%s, %s, now() + interval '1 day')",
        (user_id, uuid.uuid4().hex * 2),
    )

    db.execute("DELETE FROM accounts.users WHERE id = %s", (user_id,))

    for table, column, value in [
        ("brands", "user_id", user_id),
        ("ad_projects", "user_id", user_id),
        ("chat_messages", "ad_project_id", project_id),
        ("scripts", "ad_project_id", project_id),
        ("sessions", "user_id", user_id),
    ]:
        count = db.execute(f"SELECT count(*) FROM accounts.{table} WHERE {column} = %s", (value,)).fetchone()[
            0
        ]
        assert count == 0, table


def test_indexes_exist(db):
    indexes = db.execute(
        "SELECT schemaname, tablename, indexdef FROM pg_indexes WHERE schemaname IN ('accounts', 'media', 'jobs')"
    ).fetchall()

    def indexed(schema, table, column):
        return any(s == schema and t == table and f"({column}" in d for s, t, d in indexes)

    for schema, table, column in [
        ("accounts", "brands", "user_id"),
        ("accounts", "ad_projects", "user_id"),
        ("accounts", "ad_projects", "brand_id"),
        ("accounts", "ad_projects", "status"),
        ("accounts", "sessions", "user_id"),
        ("accounts", "sessions", "token"),
        ("accounts", "chat_messages", "ad_project_id"),
        ("accounts", "scripts", "ad_project_id"),
        ("jobs", "generation_jobs", "ad_project_id"),
        ("jobs", "generation_jobs", "status"),
        ("jobs", "lora_models", "brand_id"),
        ("jobs", "lora_models", "status"),
        ("media", "media_objects", "key"),
    ]:
        assert indexed(schema, table, column), f"{schema}.{table}({column}) has no index"


def test_email_is_unique_regardless_of_case(db):
    email = f"{uuid.uuid4().hex}@example.com"
    _new_user(db, email)
    with pytest.raises(psycopg.errors.UniqueViolation):
        _new_user(db, email.upper())


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO accounts.users (email, name, password_hash, subscription_tier) VALUES (%s, 'n', 'x', 'gold')",
        "INSERT INTO accounts.users (email, name, password_hash, credits) VALUES (%s, 'n', 'x', -1)",
    ],
)
def test_check_constraints_reject_bad_values(db, sql):
    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute(sql, (f"{uuid.uuid4().hex}@example.com",))


def test_enumerated_columns_are_checked(db):
    user_id = _new_user(db)
    brand_id = db.execute(
        "INSERT INTO accounts.brands (user_id, title) VALUES (%s, 'b') RETURNING id", (user_id,)
    ).fetchone()[0]
    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute(
            "INSERT INTO accounts.ad_projects (user_id, brand_id, status) VALUES (%s, %s, 'bogus')",
            (user_id, brand_id),
        )
    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute(
            "INSERT INTO jobs.generation_jobs (ad_project_id, job_type, status) VALUES (%s, 'diagnostic', 'lost')",
            (uuid.uuid4(),),
        )
    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute("INSERT INTO jobs.lora_models (brand_id, status) VALUES (%s, 'meh')", (uuid.uuid4(),))


def test_updated_at_is_maintained_by_the_database(db):
    user_id = _new_user(db)
    before = db.execute("SELECT updated_at FROM accounts.users WHERE id = %s", (user_id,)).fetchone()[0]
    # A plain SQL update (no ORM involved) still moves updated_at, since a trigger keeps it.
    db.execute("SELECT pg_sleep(0.01)")
    db.execute("UPDATE accounts.users SET name = 'changed' WHERE id = %s", (user_id,))
    after = db.execute("SELECT updated_at FROM accounts.users WHERE id = %s", (user_id,)).fetchone()[0]
    assert after > before


def test_jsonb_columns(db):
    types = dict(
        db.execute(
            "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns "
            "WHERE table_schema IN ('accounts', 'jobs') AND data_type = 'jsonb'"
        ).fetchall()
    )
    for column in [
        "brands.brand_guidelines",
        "brands.product_images",
        "ad_projects.ad_details",
        "scripts.scenes",
        "generation_jobs.input_params",
    ]:
        assert types.get(column) == "jsonb", column


def test_no_foreign_keys_cross_service_schemas(db):
    crossing = db.execute(
        """
        SELECT tc.table_schema, tc.table_name, ccu.table_schema
        FROM information_schema.table_constraints tc
        JOIN information_schema.constraint_column_usage ccu ON tc.constraint_name = ccu.constraint_name
        WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema <> ccu.table_schema
        """
    ).fetchall()
    assert crossing == []
