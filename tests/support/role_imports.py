"""What each image's process runs, read from the source with `ast` (nothing is imported): the
modules of ours a role reaches from its entry points, and the third-party modules they import."""

from __future__ import annotations

import ast
import re
import sys
from functools import cache

from devstack.stack import ROOT

# What each image runs. The jobs image also runs the migration Job (deploy/k8s/base/migrate.yaml:
# python -m services.common.migrations), whose alembic environments (migrations/*/env.py) import
# every service's models.
ENTRY_POINTS = {
    "gateway": ("services.gateway.main",),
    "accounts": ("services.accounts.__main__",),
    "media": ("services.media.__main__",),
    "jobs": (
        "services.jobs.__main__",
        "services.common.migrations",
        "services.accounts.models",
        "services.media.models",
        "services.jobs.models",
    ),
    "worker": ("services.jobs.worker.__main__",),
}
# Reached only through imports inside functions the role never calls: the jobs service validates
# and enqueues job types but only workers build a provider (services/jobs/runtime.py), so the
# renderer and the providers stay out of its image.
NOT_RUN_BY = {
    "jobs": ("services.jobs.providers.local", "services.jobs.providers.replicate", "services.jobs.render")
}
# The renderer's packages: in the worker's image only.
RENDERER = {"imageio-ffmpeg", "av", "pillow", "espeakng-loader", "numpy"}
# Only media talks to S3.
S3 = {"boto3", "botocore", "s3transfer"}
OURS = ("services", "zapcut")
# `importlib.util.find_spec("name")` finds a package without importing it (password_policy reads
# zxcvbn's word list that way): it counts as an import.
FIND_SPEC = re.compile(r"""find_spec\(\s*["']([A-Za-z_][A-Za-z0-9_.]*)["']""")


@cache
def modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted((ROOT / "services").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = ast.parse(path.read_text())
    return found


@cache
def imports_of(module: str) -> tuple[tuple[str, bool], ...]:
    """(imported name, lazy) for each import in `module`; lazy means inside a function."""
    tree = modules()[module]
    is_package = (ROOT / module.replace(".", "/") / "__init__.py").is_file()
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, lazy: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if isinstance(child, ast.Import):
                found.extend((alias.name, lazy) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                found.append((base, lazy))
                found.extend((f"{base}.{alias.name}", lazy) for alias in child.names)
            elif isinstance(child, ast.Call) and (text := ast.unparse(child)) and "find_spec(" in text:
                found.extend((name, lazy) for name in FIND_SPEC.findall(text))
            visit(child, inner)

    visit(tree, False)
    return tuple(found)


def _ours(name: str) -> bool:
    return name.split(".")[0] in OURS


def _module_of(name: str) -> str | None:
    """The module of ours that `name` is, or is in (`services.x.y.Name` -> `services.x.y`)."""
    while name and name not in modules():
        name = name.rpartition(".")[0]
    return name or None


def reach(entries: tuple[str, ...], lazy: bool, stop: tuple[str, ...] = ()) -> tuple[set[str], set[str]]:
    """(our modules, third-party top-level names) that importing `entries` can reach. Importing a
    module runs its packages' __init__ first, so those count. With lazy=False, imports inside
    functions are not followed."""
    seen: set[str] = set()
    third_party: set[str] = set()
    todo = list(entries)
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            module = ".".join(parts[:i])
            if module not in modules() or module in seen:
                continue
            if any(module == s or module.startswith(s + ".") for s in stop):
                continue
            seen.add(module)
            for imported, is_lazy in imports_of(module):
                if is_lazy and not lazy:
                    continue
                if _ours(imported):
                    if (target := _module_of(imported)) is not None:
                        todo.append(target)
                else:
                    top = imported.split(".")[0]
                    if top and top not in sys.stdlib_module_names:
                        third_party.add(top)
    return seen, third_party
