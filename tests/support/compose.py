"""docker-compose.yml as data: its services and the variables it interpolates."""

from __future__ import annotations

import re
from collections.abc import Iterator

import yaml

from devstack.stack import ROOT

COMPOSE_FILE = ROOT / "docker-compose.yml"
REFERENCE = re.compile(r"(?<!\$)\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<rest>[^}]*)\}")


def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def strings_in(node) -> Iterator[str]:
    """Every string in a parsed YAML document, keys included."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from strings_in(key)
            yield from strings_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings_in(item)


def compose_variables() -> set[str]:
    """Variables compose interpolates (`${VAR}`, `${VAR:-default}`, `${VAR:?message}`); `$${VAR}` is a
    literal for the container's shell and does not count."""
    return {m["name"] for text in strings_in(compose()) for m in REFERENCE.finditer(text)}
