"""Each image's environment, built for real: a fresh virtualenv per role with only its lock file
installed (requirements/<role>.txt, hashes required, as deploy/Dockerfile installs it; uv's cache makes
this seconds), in which every module the role runs is imported, in a clean environment, from the
source tree as the image runs it (PYTHONPATH, no install). The gateway's environment also shows
that it has no renderer and no S3 client.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from devstack.stack import ROOT
from tests.support.locks import ROLES, lock_file
from tests.support.role_imports import ENTRY_POINTS, NOT_RUN_BY, RENDERER, S3, reach

UV = Path(sys.executable).parent / "uv"


def _role_env(role: str, root: Path) -> Path:
    venv = root / role
    run = {"check": True, "capture_output": True, "text": True, "timeout": 600}
    subprocess.run([str(UV), "venv", "--quiet", "--python", sys.executable, str(venv)], **run)
    subprocess.run(
        [str(UV), "pip", "install", "--quiet", "--require-hashes", "-r", str(lock_file(role))],
        env={**os.environ, "VIRTUAL_ENV": str(venv)},
        **run,
    )
    return venv / "bin" / "python"


def _imports(python: Path, modules: list[str], cwd: Path) -> subprocess.CompletedProcess:
    script = (
        "import importlib, json, sys\n"
        "from importlib.metadata import distributions\n"
        "failed = {}\n"
        f"for name in {modules!r}:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as exc:\n"
        "        failed[name] = f'{type(exc).__name__}: {exc}'\n"
        "print(json.dumps({'failed': failed, 'installed': sorted(d.metadata['Name'] for d in distributions())}))\n"
    )
    # Nothing of this machine's environment, and no .env (cwd is empty): the image's situation.
    # DEBUG=true only so that the gateway's settings, loaded on import, accept the dev secrets.
    env = {"PATH": os.defpath, "PYTHONPATH": f"{ROOT}:{ROOT / 'protos'}", "DEBUG": "true", "HOME": str(cwd)}
    return subprocess.run(
        [str(python), "-c", script], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def envs(tmp_path_factory) -> dict[str, Path]:
    if not UV.exists():
        pytest.fail(
            f"uv is not installed beside {sys.executable} (requirements/dev.txt has it): run make install"
        )
    root = tmp_path_factory.mktemp("image-envs")
    return {role: _role_env(role, root) for role in ROLES}


@pytest.mark.parametrize("role", ROLES)
def test_every_module_a_role_runs_imports_in_an_environment_of_its_lock_alone(role, envs, tmp_path):
    reached, _ = reach(ENTRY_POINTS[role], lazy=True, stop=NOT_RUN_BY.get(role, ()))
    # __main__ modules start servers when imported: the modules they import are in the list.
    modules = sorted(m for m in reached if not m.endswith("__main__"))
    result = _imports(envs[role], modules, tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["failed"] == {}, f"in an environment of requirements/{role}.txt alone: {report['failed']}"
    installed = {canonicalize_name(name) for name in report["installed"]}
    if role == "gateway":
        assert not installed & (RENDERER | S3), installed & (RENDERER | S3)
    if role != "worker":
        assert not installed & RENDERER, installed & RENDERER
    assert ("boto3" in installed) == (role == "media")


def test_the_worker_fails_to_import_in_the_gateways_environment(envs, tmp_path):
    """The check above can fail: the worker's modules in the gateway's environment."""
    result = _imports(envs["gateway"], ["services.jobs.worker.main", "services.jobs.render.speech"], tmp_path)
    report = json.loads(result.stdout.splitlines()[-1])
    assert set(report["failed"]) == {"services.jobs.worker.main", "services.jobs.render.speech"}
