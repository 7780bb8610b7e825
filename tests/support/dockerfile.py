"""deploy/Dockerfile as data: its stages, each with its base and its instructions."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from devstack.stack import ROOT

DOCKERFILE = ROOT / "deploy" / "Dockerfile"


@dataclass
class Stage:
    name: str
    base: str
    # (INSTRUCTION, arguments) in order, continuation lines joined.
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def args(self, instruction: str) -> list[str]:
        return [rest for name, rest in self.instructions if name == instruction]


def stages() -> dict[str, Stage]:
    found: dict[str, Stage] = {}
    current: Stage | None = None
    logical = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not logical):
            continue
        logical += line[:-1] + " " if line.endswith("\\") else line
        if line.endswith("\\"):
            continue
        instruction, _, rest = logical.partition(" ")
        logical = ""
        if instruction.upper() == "FROM":
            words = rest.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else f"stage{len(found)}"
            current = found[name] = Stage(name, words[0])
        elif current is not None:
            current.instructions.append((instruction.upper(), rest.strip()))
    return found


def lineage(name: str) -> list[Stage]:
    """The stage and the stages it is built on, nearest first."""
    all_stages = stages()
    chain = [all_stages[name]]
    while chain[-1].base in all_stages:
        chain.append(all_stages[chain[-1].base])
    return chain


def command(name: str) -> list[str]:
    """The CMD a target runs (exec form), from the stage or the nearest stage it is built on."""
    for stage in lineage(name):
        if cmds := stage.args("CMD"):
            return json.loads(cmds[-1])
    raise AssertionError(f"{name}: no CMD")


def user(name: str) -> str | None:
    for stage in lineage(name):
        if users := stage.args("USER"):
            return users[-1]
    return None
