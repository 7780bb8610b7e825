"""The dependency layout of pyproject.toml and the lock files `make lock` writes (requirements/*.txt),
read as data: what each role requires, and what its lock pins for this interpreter."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from devstack.stack import ROOT

REQUIREMENTS = ROOT / "requirements"
PROJECT = "zapcut-adgen"
# The images built by deploy/Dockerfile: one target and one lock file each.
ROLES = ("gateway", "accounts", "media", "jobs", "worker")
# requirements/dev.txt: every role, the local servers and the tools (make install, CI).
DEV_EXTRAS = ("dev", "local")

_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)\s*(?:;(?P<marker>[^\\]*))?")


@dataclass
class Pin:
    version: str
    hashes: int = 0
    # Whom uv's "# via" comments name as the reason for this pin.
    via: set[str] = field(default_factory=set)


@cache
def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def requirements_of(extras: tuple[str, ...]) -> list[Requirement]:
    """The core dependencies plus those of `extras`, self-references (zapcut-adgen[all]) expanded."""
    project = pyproject()["project"]
    found = [Requirement(text) for text in project["dependencies"]]
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for text in project["optional-dependencies"][extra]:
            requirement = Requirement(text)
            if canonicalize_name(requirement.name) == PROJECT:
                todo.extend(requirement.extras)
            else:
                found.append(requirement)
    return found


def lock_file(name: str):
    return REQUIREMENTS / f"{name}.txt"


@cache
def pins(name: str) -> dict[str, Pin]:
    """Package (canonical name) -> its pin in requirements/<name>.txt, for the running interpreter
    (a universal lock pins some packages once per Python version, under a marker)."""
    found: dict[str, Pin] = {}
    current: Pin | None = None
    via_block = False
    for line in lock_file(name).read_text().splitlines():
        if match := _PIN.match(line):
            marker = (match["marker"] or "").strip()
            applies = not marker or Marker(marker).evaluate()
            current = Pin(match["version"]) if applies else None
            if current is not None:
                found[canonicalize_name(match["name"])] = current
            via_block = False
        elif current is None:
            continue
        elif "--hash=" in line:
            current.hashes += 1
        elif line.strip().startswith("# via"):
            rest = line.strip()[len("# via") :].strip()
            via_block = not rest
            if rest:
                current.via.add(rest)
        elif via_block and line.strip().startswith("#"):
            current.via.add(line.strip().lstrip("#").strip())
    return found
