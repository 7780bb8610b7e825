"""Config errors stop a process with one line naming the variable; logs never carry secrets."""

import json
import os
import socket
import subprocess
import sys

import pytest

from services.common.logging import redact

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(module: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PYTHONPATH")}
    return subprocess.run(
        [sys.executable, "-m", module],
        env={**base, **env},
        cwd="/tmp",  # no .env file here: only what we pass counts
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DATABASE_URL": "postgresql://u@127.0.0.1:1/db"}, "INTERNAL_TOKEN"),
        ({"INTERNAL_TOKEN": "t0ken-value"}, "DATABASE_URL"),
        ({"INTERNAL_TOKEN": "t0ken-value", "DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        (
            {
                "INTERNAL_TOKEN": "t0ken-value",
                "DATABASE_URL": "postgresql://u@h/db",
                "ACCOUNTS_PORT": "eighty",
            },
            "ACCOUNTS_PORT",
        ),
        (
            {"INTERNAL_TOKEN": "t0ken-value", "DATABASE_URL": "postgresql://u@h/db", "LOG_LEVEL": "LOUD"},
            "LOG_LEVEL",
        ),
    ],
)
def test_bad_config_stops_accounts_with_one_line_naming_the_variable(env, named):
    result = _run("services.accounts", {"DEBUG": "false", "REDIS_URL": "redis://127.0.0.1:1/0", **env})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert named in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert "t0ken-value" not in result.stderr


def test_gateway_needs_secret_key_when_not_debugging():
    result = subprocess.run(
        [sys.executable, "-m", "uvicorn", "services.gateway.main:app", "--port", "0"],
        env={"PATH": os.environ["PATH"], "DEBUG": "false", "INTERNAL_TOKEN": "t0ken-value"},
        cwd="/tmp",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


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


def test_json_logs_are_one_object_per_line_without_secrets():
    code = (
        "import logging\n"
        "from services.common.logging import configure_logging\n"
        "configure_logging('svc', 'INFO', 'json', ['VERYSECRETTOKEN'])\n"
        "log = logging.getLogger('t')\n"
        "log.info('connecting to %s', 'postgresql://u:pw12345@h/db')\n"
        "log.warning('token VERYSECRETTOKEN leaked?')\n"
        "try:\n    raise ValueError('password=abc123')\nexcept ValueError:\n    log.exception('boom')\n"
        "log.debug('hidden at INFO')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    lines = result.stdout.strip().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["level"] for r in records] == ["INFO", "WARNING", "ERROR"]
    assert all(r["service"] == "svc" and r["ts"].endswith("Z") for r in records)
    assert (
        "pw12345" not in result.stdout
        and "VERYSECRETTOKEN" not in result.stdout
        and "abc123" not in result.stdout
    )
    assert "ValueError" in records[2]["exc"]


def test_busy_port_gives_one_clear_line():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "devstack"],
            env={**os.environ, "PORT": str(port)},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"port {port} is busy" in result.stderr and "PORT" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
