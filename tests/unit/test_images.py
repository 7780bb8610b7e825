"""Each image (deploy/Dockerfile target) has what its process imports, and the lean ones lack what
they must not carry: checked without Docker, from the source and the lock files.

From a role's entry point, every module of ours it can reach is walked (read with `ast`, nothing is
imported), lazy imports inside functions included, since they run sooner or later; each third-party
module found must come from a package pinned in requirements/<role>.txt (the lock its image
installs). The walk stops at the modules a role never runs (NOT_RUN_BY), and a second check proves
they are not imported when the entry point is.
"""

from __future__ import annotations

from importlib.metadata import packages_distributions

import pytest
from packaging.utils import canonicalize_name

from devstack.stack import ROOT
from tests.support.dockerfile import command, lineage, stages
from tests.support.locks import ROLES, pins
from tests.support.role_imports import ENTRY_POINTS, NOT_RUN_BY, RENDERER, S3, reach


def missing_packages(role: str, pinned: set[str]) -> list[str]:
    providers = packages_distributions()
    _, third_party = reach(ENTRY_POINTS[role], lazy=True, stop=NOT_RUN_BY.get(role, ()))
    missing = []
    for top in sorted(third_party):
        candidates = {canonicalize_name(dist) for dist in providers.get(top, [])}
        assert candidates, f"{role} imports {top}, which no installed package provides"
        if not candidates & pinned:
            missing.append(f"{role} imports {top} (from {', '.join(sorted(candidates))})")
    return missing


@pytest.mark.parametrize("role", ROLES)
def test_every_module_a_role_imports_comes_from_its_lock_file(role):
    missing = missing_packages(role, set(pins(role)))
    assert not missing, f"not in requirements/{role}.txt: " + "; ".join(missing)


@pytest.mark.parametrize("role", sorted(NOT_RUN_BY))
def test_what_a_role_never_runs_is_not_imported_with_its_entry_point(role):
    reached, _ = reach(ENTRY_POINTS[role], lazy=False)
    imported = sorted(m for m in reached for s in NOT_RUN_BY[role] if m == s or m.startswith(s + "."))
    assert not imported, f"{role} imports at start what its image lacks: {imported}"


def test_the_gateway_image_has_no_renderer_and_no_s3_client():
    assert not (RENDERER | S3) & set(pins("gateway"))


def test_only_the_worker_image_has_the_renderer():
    assert set(pins("worker")) >= RENDERER
    for role in set(ROLES) - {"worker"}:
        assert not RENDERER & set(pins(role)), role


def test_only_the_media_image_has_the_s3_client():
    for role in ROLES:
        assert bool(S3 & set(pins(role))) == (role == "media"), role


def test_the_check_fails_when_a_lock_lacks_an_import():
    worker = set(pins("worker")) - {"av"}
    assert any(line.startswith("worker imports av ") for line in missing_packages("worker", worker))
    gateway = set(pins("gateway")) - {"fastapi"}
    assert any(line.startswith("gateway imports fastapi ") for line in missing_packages("gateway", gateway))


# --- deploy/Dockerfile: a target per role, built from that role's lock only --------------------


def _installs(stage_name: str) -> list[str]:
    """The lock files the stages of a target copy in and install from."""
    copied = []
    for stage in lineage(stage_name):
        for copy in stage.args("COPY"):
            words = copy.split()
            if words[0].startswith("--from="):
                copied += _installs(words[0].removeprefix("--from="))
            else:
                copied += [w for w in words[:-1] if w.startswith("requirements/")]
        for run in stage.args("RUN"):
            if "pip install" in run:
                assert "--require-hashes" in run, f"{stage.name}: pip install without --require-hashes"
    return copied


@pytest.mark.parametrize("role", ROLES)
def test_each_role_has_a_target_built_from_its_lock_only(role):
    assert role in stages(), f"deploy/Dockerfile has no target {role}"
    assert _installs(role) == [f"requirements/{role}.txt"]


@pytest.mark.parametrize("role", ROLES)
def test_each_target_runs_what_make_dev_runs(role):
    from devstack.stack import Ports, Stack

    stack = Stack(data_dir=ROOT / ".data", ports=Ports(), env={"HOST": "0.0.0.0"})
    assert command(role) == ["python", *stack.command(role)[1:]]


def test_final_images_have_no_pip_or_setuptools():
    for role in ROLES:
        deps = lineage(f"{role}-deps")[0]
        assert any("pip uninstall --yes --quiet pip setuptools" in run for run in deps.args("RUN")), role
