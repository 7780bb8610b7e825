"""pyproject.toml and the lock files agree (offline): every requirement of a role is pinned in its
lock, with hashes, at a version that satisfies it; and a lock pins nothing for pyproject's sake that
pyproject no longer asks for. `make lock` rewrites the locks after a change to pyproject.toml."""

from __future__ import annotations

import pytest
from packaging.utils import canonicalize_name

from tests.support.locks import DEV_EXTRAS, PROJECT, ROLES, Pin, lock_file, pins, requirements_of

LOCKS = {**{role: (role,) for role in ROLES}, "dev": DEV_EXTRAS}
FIX = "run `make lock` after changing pyproject.toml"


def disagreements(lock: str, extras: tuple[str, ...], pinned: dict | None = None) -> list[str]:
    pinned = pins(lock) if pinned is None else pinned
    problems = []
    wanted = set()
    for requirement in requirements_of(extras):
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(requirement.name)
        wanted.add(name)
        pin = pinned.get(name)
        if pin is None:
            problems.append(f"{requirement} is not pinned")
        elif not requirement.specifier.contains(pin.version, prereleases=True):
            problems.append(f"{requirement} is pinned at {pin.version}")
    for name, pin in pinned.items():
        if pin.hashes == 0:
            problems.append(f"{name} has no hash (pip --require-hashes refuses it)")
        reasons = {reason for reason in pin.via if not reason.startswith("-c ")}  # not the constraints
        if name not in wanted and reasons and all(reason.startswith(PROJECT) for reason in reasons):
            problems.append(f"{name} is pinned for {PROJECT}, which no longer requires it")
    return [f"requirements/{lock}.txt: {problem}" for problem in problems]


@pytest.mark.parametrize("lock", LOCKS)
def test_lock_file_pins_every_requirement_of_its_role(lock):
    assert lock_file(lock).is_file(), f"requirements/{lock}.txt is missing: {FIX}"
    problems = disagreements(lock, LOCKS[lock])
    assert not problems, "\n".join([*problems, FIX])


def test_lock_files_are_written_by_make_lock():
    for lock in LOCKS:
        assert "make lock" in lock_file(lock).read_text().splitlines()[1], lock


def test_the_check_finds_a_missing_a_stale_and_an_unwanted_pin():
    edited = dict(pins("gateway"))
    del edited["fastapi"]  # a requirement with no pin
    edited["uvicorn"] = Pin("0.1.0", hashes=1, via={PROJECT + " (pyproject.toml)"})  # too old
    edited["boto3"] = Pin("1.44.0", hashes=1, via={PROJECT + " (pyproject.toml)"})  # not asked for
    problems = "\n".join(disagreements("gateway", ("gateway",), edited))
    assert "fastapi>=" in problems and "is not pinned" in problems
    assert "uvicorn[standard]>=0.30 is pinned at 0.1.0" in problems
    assert "boto3 is pinned for zapcut-adgen, which no longer requires it" in problems


@pytest.mark.parametrize("role", ROLES)
def test_each_image_runs_the_versions_make_test_tests(role):
    dev = pins("dev")
    differ = [
        f"{name} {pin.version} (dev.txt: {dev[name].version if name in dev else 'absent'})"
        for name, pin in pins(role).items()
        if name not in dev or dev[name].version != pin.version
    ]
    assert not differ, f"requirements/{role}.txt: " + ", ".join(differ) + f"; {FIX}"
