"""docker-compose.yml and deploy/Dockerfile, checked as files (no Docker engine needed):
commands name modules that exist, host ports are unique, every long-running service has a
healthcheck, one-shot jobs are waited for, dependencies wait on conditions, each app service builds
its role's target of deploy/ on python:3.11-slim as a non-root user, and every interpolated variable
is documented."""

from __future__ import annotations

import importlib
import importlib.util
import re

import pytest

from devstack.stack import ROOT
from tests.support.compose import REFERENCE, compose, compose_variables, strings_in
from tests.support.dockerfile import command as image_command
from tests.support.dockerfile import stages, user

ENV_EXAMPLE = ROOT / ".env.example"

APP_SERVICES = ("gateway", "accounts", "media", "jobs", "jobs-worker")
# The deploy/Dockerfile target (and image) each app service runs.
ROLE_OF = {
    "gateway": "gateway",
    "accounts": "accounts",
    "media": "media",
    "jobs": "jobs",
    "jobs-worker": "worker",
}
BACKING_SERVICES = ("postgres", "redis", "minio")


def services() -> dict[str, dict]:
    return compose()["services"]


def _example_variables() -> set[str]:
    return set(re.findall(r"^#?\s?([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), re.MULTILINE))


def _module_of(command: list[str]) -> str:
    """The module a `python -m module ...` command runs; for uvicorn, the module of its app."""
    assert command[:2] == ["python", "-m"], f"not a `python -m` command: {command}"
    if command[2] == "uvicorn":
        app = next(arg for arg in command[3:] if ":" in arg and not arg.startswith("-"))
        return app.split(":")[0]
    return command[2]


def _host_ports(service: dict) -> list[str]:
    published = []
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            published.append(f"{entry.get('host_ip', '')}:{entry['published']}")
        else:
            parts = str(entry).split(":")
            assert len(parts) >= 2, f"publish ports as HOST:CONTAINER, not {entry!r}"
            published.append(":".join(parts[:-1]))
    return published


def test_the_stack_has_its_services():
    assert set(APP_SERVICES + BACKING_SERVICES) <= set(services())


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_command_runs_a_module_of_this_repo(name):
    module = _module_of(services()[name]["command"])
    assert module.startswith("services."), module
    assert importlib.util.find_spec(module) is not None, f"{name}: no module {module}"


def test_app_commands_are_the_ones_make_dev_runs():
    from devstack.stack import Ports, Stack

    stack = Stack(data_dir=ROOT / ".data", ports=Ports(), env={"HOST": "0.0.0.0"})
    dev = {
        app: ["python", *stack.command(app)[1:]] for app in ("gateway", "accounts", "media", "jobs", "worker")
    }
    assert services()["jobs-worker"]["command"] == dev.pop("worker")
    for app, command in dev.items():
        assert services()[app]["command"] == command


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_image_builds_from_deploy(name):
    build = services()[name]["build"]
    assert (ROOT / build["context"]).resolve() == ROOT
    assert build["dockerfile"].startswith("deploy/")
    assert (ROOT / build["context"] / build["dockerfile"]).is_file()


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_reads_env_file(name):
    env_file = services()[name]["env_file"]
    files = env_file if isinstance(env_file, list) else [env_file]
    assert ".env" in [f["path"] if isinstance(f, dict) else f for f in files]


def test_host_ports_are_unique():
    published = [port for service in services().values() for port in _host_ports(service)]
    ports_only = [p.rsplit(":", 1)[-1] for p in published]
    assert len(ports_only) == len(set(ports_only)), published


def test_expected_host_ports():
    expected = {"gateway": {"8000"}, "postgres": {"5432"}, "redis": {"6379"}, "minio": {"9000", "9001"}}
    for name, ports in expected.items():
        assert {p.rsplit(":", 1)[-1] for p in _host_ports(services()[name])} == ports, name


def test_worker_can_scale():
    worker = services()["jobs-worker"]
    assert "container_name" not in worker
    assert not worker.get("ports"), "a published port would clash between replicas"


def _one_shot(name: str, service: dict) -> bool:
    return service.get("restart") == "no"


def test_every_long_running_service_has_a_healthcheck():
    for name, service in services().items():
        if _one_shot(name, service):
            continue
        check = service.get("healthcheck")
        assert check and check.get("test") and not check.get("disable"), f"{name} has no healthcheck"


def test_one_shot_jobs_are_waited_for_until_they_succeed():
    one_shots = {name for name, service in services().items() if _one_shot(name, service)}
    assert "minio-init" in one_shots
    for job in one_shots:
        conditions = [
            deps[job]["condition"]
            for service in services().values()
            if isinstance(deps := service.get("depends_on", {}), dict) and job in deps
        ]
        assert conditions, f"nothing waits for {job}"
        assert set(conditions) == {"service_completed_successfully"}, job


def test_depends_on_uses_conditions():
    for name, service in services().items():
        deps = service.get("depends_on", {})
        assert isinstance(deps, dict), f"{name}: depends_on needs conditions, not a list"
        for dep, spec in deps.items():
            assert dep in services(), f"{name} depends on unknown {dep}"
            expected = (
                "service_completed_successfully" if _one_shot(dep, services()[dep]) else "service_healthy"
            )
            assert spec.get("condition") == expected, f"{name} -> {dep}"


SETTINGS_MODULE = {
    "gateway": "services.gateway.config",
    "accounts": "services.accounts.config",
    "media": "services.media.config",
    "jobs": "services.jobs.config",
    "jobs-worker": "services.jobs.config",
}
# A setting a service reads -> the compose service it needs up first.
SERVER_FOR_SETTING = {"database_url": "postgres", "redis_url": "redis", "aws_s3_bucket": "minio"}


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_waits_for_the_servers_its_settings_name(name):
    fields = importlib.import_module(SETTINGS_MODULE[name]).Settings.model_fields
    needed = {server for setting, server in SERVER_FOR_SETTING.items() if setting in fields}
    assert needed <= set(services()[name].get("depends_on", {})), f"{name} must wait for {needed}"


def test_healthcheck_scripts_exist():
    for name, service in services().items():
        test = service.get("healthcheck", {}).get("test", [])
        for arg in test if isinstance(test, list) else []:
            if isinstance(arg, str) and arg.startswith("deploy/"):
                assert (ROOT / arg).is_file(), f"{name}: {arg} does not exist"


def test_grpc_services_are_probed_on_their_own_port():
    ports = {"accounts": 50051, "media": 50052, "jobs": 50053}
    for name, port in ports.items():
        service = services()[name]
        assert service["environment"][f"{name.upper()}_PORT"] == str(port)
        assert f"127.0.0.1:{port}" in service["healthcheck"]["test"]


def test_app_environment_points_at_the_compose_servers():
    for name in APP_SERVICES:
        env = services()[name]["environment"]
        assert "@postgres:5432/zapcut_adgen" in env["DATABASE_URL"]
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        assert env["AWS_S3_ENDPOINT_URL"] == "http://minio:9000"
        assert env["ACCOUNTS_ADDR"] == "accounts:50051"
        assert env["MEDIA_ADDR"] == "media:50052"
        assert env["JOBS_ADDR"] == "jobs:50053"
        assert env["MIGRATE_ON_START"] == "true"
        assert env["DEBUG"] == "false"


def test_secrets_are_required_not_defaulted():
    for text in strings_in(compose()):
        for m in REFERENCE.finditer(text):
            if m["name"] in ("SECRET_KEY", "INTERNAL_TOKEN", "AWS_SECRET_ACCESS_KEY"):
                assert m["rest"].startswith(":?"), f"{m.group(0)}: a secret must fail when unset, not default"


def test_postgres_keeps_its_data_in_a_named_volume():
    postgres = services()["postgres"]
    assert postgres["image"].startswith("postgres:15")
    assert any(str(v).startswith("postgres_data:") for v in postgres["volumes"])
    assert "postgres_data" in compose()["volumes"]
    assert postgres["environment"]["POSTGRES_DB"] == "zapcut_adgen"


def test_every_interpolated_variable_is_in_env_example():
    missing = sorted(compose_variables() - _example_variables())
    assert not missing, f"add to .env.example: {', '.join(missing)}"


def test_dockerfile_uses_python_311_slim_and_a_non_root_user():
    all_stages = stages()
    external = {stage.base for stage in all_stages.values() if stage.base not in all_stages} - {"scratch"}
    assert external and all(base.startswith("python:3.11-slim") for base in external), external
    for role in set(ROLE_OF.values()):
        assert user(role), f"the {role} image must switch to a non-root USER"
        assert user(role).split(":")[0] not in ("root", "0"), f"{role}: {user(role)}"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_builds_its_roles_image(name):
    role = ROLE_OF[name]
    build = services()[name]["build"]
    assert build["target"] == role
    assert role in stages(), f"deploy/Dockerfile has no target {role}"
    assert services()[name]["image"].split(":")[0] == f"zapcut/{role}"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_command_is_its_images_command(name):
    assert services()[name]["command"] == image_command(ROLE_OF[name])


def test_dockerignore_keeps_local_state_out_of_the_image():
    ignored = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".env", ".venv", ".data", ".git"} <= ignored
