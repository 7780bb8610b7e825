"""Production secrets, development defaults and the redaction of secrets from log lines, as plain
unit tests. Processes that stop on bad configuration: tests/integration/test_config_and_logging.py."""

from __future__ import annotations

import secrets

from pydantic import SecretStr

from services.common.logging import redact
from services.common.settings import production_secret_problem

# A value that passes the production checks (43 characters, as the documented generator makes).
TOKEN = secrets.token_urlsafe(32)


def test_a_secret_of_32_bytes_is_enough():
    assert len("ü" * 16) == 16 and len(("ü" * 16).encode()) == 32
    for value in ("x" * 32, "ü" * 16, TOKEN):
        assert production_secret_problem("SECRET_KEY", SecretStr(value)) is None
    assert (
        production_secret_problem("SECRET_KEY", SecretStr("x" * 31)) == "SECRET_KEY is shorter than 32 bytes"
    )
    assert production_secret_problem("SECRET_KEY", None) == "SECRET_KEY is required when DEBUG is false"


def test_debug_mode_has_dev_defaults_for_secrets():
    from services.accounts.config import Settings

    settings = Settings(
        _env_file=None, debug=True, database_url="postgresql://u@h/db", redis_url="redis://127.0.0.1:1/0"
    )
    assert settings.internal_token.get_secret_value()


def test_redact_scrubs_secrets():
    line = (
        "connect postgresql://app:hunter2pass@db:5432/x with Authorization: Bearer abc.def-ghi "
        'password=letmein {"token": "tok123456"} secret_key: s3cr3t and the raw value SUPERSECRETVALUE'
    )
    out = redact(line, ["SUPERSECRETVALUE"])
    for secret in ("hunter2pass", "abc.def-ghi", "letmein", "tok123456", "s3cr3t", "SUPERSECRETVALUE"):
        assert secret not in out
    assert "postgresql://app:***@db:5432/x" in out
