"""Config errors stop a process with one line naming the variable; logs never carry secrets."""

import json
import os
import secrets
import socket
import subprocess
import sys

import pytest

from devstack.stack import ROOT
from services.common.settings import DEV_INTERNAL_TOKEN, DEV_SECRET_KEY

# A value that passes the production checks (43 characters, as the documented generator makes).
TOKEN = secrets.token_urlsafe(32)


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
        ({"INTERNAL_TOKEN": TOKEN}, "DATABASE_URL"),
        ({"INTERNAL_TOKEN": TOKEN, "DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        (
            {
                "INTERNAL_TOKEN": TOKEN,
                "DATABASE_URL": "postgresql://u@h/db",
                "ACCOUNTS_PORT": "eighty",
            },
            "ACCOUNTS_PORT",
        ),
        (
            {"INTERNAL_TOKEN": TOKEN, "DATABASE_URL": "postgresql://u@h/db", "LOG_LEVEL": "LOUD"},
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
    assert TOKEN not in result.stderr


def _run_gateway(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "uvicorn", "services.gateway.main:app", "--port", "0"],
        env={"PATH": os.environ["PATH"], "DEBUG": "false", **env},
        cwd="/tmp",
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_gateway_needs_secret_key_when_not_debugging():
    result = _run_gateway({"INTERNAL_TOKEN": TOKEN})
    assert result.returncode == 2
    assert "SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def assert_stops_naming(result: subprocess.CompletedProcess, variable: str, why: str, value: str) -> None:
    """Exit status 2 and one line that names the variable and why, never its value."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("configuration error: "), lines[0]
    assert f"{variable} {why}" in lines[0], lines[0]
    assert value not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr + result.stdout


WEAK_SECRETS = [
    (DEV_INTERNAL_TOKEN, "is a public development default"),
    (DEV_SECRET_KEY, "is a public development default"),
    ("x" * 31, "is shorter than 32 bytes"),
    ("pässwörd-of-30-bytes-exactly", "is shorter than 32 bytes"),
]


@pytest.mark.parametrize(
    ("value", "why"), WEAK_SECRETS, ids=["dev-token", "dev-key", "31-bytes", "30-bytes-utf8"]
)
@pytest.mark.parametrize(
    "module", ["services.accounts", "services.media", "services.jobs", "services.jobs.worker"]
)
def test_services_refuse_a_weak_internal_token_in_production(module, value, why):
    env = {"DEBUG": "false", "INTERNAL_TOKEN": value}
    env |= {"DATABASE_URL": "postgresql://u@127.0.0.1:1/db", "REDIS_URL": "redis://127.0.0.1:1/0"}

    assert_stops_naming(_run(module, env), "INTERNAL_TOKEN", why, value)


@pytest.mark.parametrize(
    ("value", "why"), WEAK_SECRETS, ids=["dev-token", "dev-key", "31-bytes", "30-bytes-utf8"]
)
@pytest.mark.parametrize("module", ["services.jobs", "services.jobs.worker"])
def test_jobs_refuses_a_weak_secret_key_in_production(module, value, why):
    """jobs and its workers hold SECRET_KEY too: it seals the users' webhook signing secrets."""
    env = {"DEBUG": "false", "INTERNAL_TOKEN": TOKEN, "SECRET_KEY": value}
    env |= {"DATABASE_URL": "postgresql://u@127.0.0.1:1/db", "REDIS_URL": "redis://127.0.0.1:1/0"}

    assert_stops_naming(_run(module, env), "SECRET_KEY", why, value)


@pytest.mark.parametrize(
    ("value", "why"), WEAK_SECRETS, ids=["dev-token", "dev-key", "31-bytes", "30-bytes-utf8"]
)
@pytest.mark.parametrize("variable", ["SECRET_KEY", "INTERNAL_TOKEN"])
def test_gateway_refuses_weak_secrets_in_production(variable, value, why):
    env = {"SECRET_KEY": TOKEN, "INTERNAL_TOKEN": TOKEN} | {variable: value}

    assert_stops_naming(_run_gateway(env), variable, why, value)


def test_gateway_names_every_weak_secret_on_its_one_line():
    result = _run_gateway({"SECRET_KEY": DEV_SECRET_KEY, "INTERNAL_TOKEN": "tiny-token"})

    assert_stops_naming(result, "INTERNAL_TOKEN", "is shorter than 32 bytes", "tiny-token")
    assert "SECRET_KEY is a public development default" in result.stderr
    assert "secrets.token_urlsafe(32)" in result.stderr  # how to make a good one


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
