"""The import graph of services/, read from the source (nothing is imported): no import circles,
and the boundaries docs/architecture.md promises between the services.

Every import counts, wherever it is written: at the top, inside a function (a lazy import is still
a dependency) and under TYPE_CHECKING (so is a type). A circle is looked for at every level of the
package tree: among the modules and subpackages of each package, where one depends on another if
any module inside it imports any module inside the other. So a circle between two packages
(render -> providers -> render) counts even when no two modules import each other.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("accounts", "gateway", "jobs", "media")
# Third-party packages only one service may import.
OWNED_LIBRARIES = {"boto3": "media", "botocore": "media"}


@cache
def modules() -> dict[str, Path]:
    """Dotted name -> file of every module under services/ (a package is its __init__.py)."""
    found = {}
    for path in sorted((ROOT / "services").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


@cache
def imports() -> dict[str, set[str]]:
    """Module -> every name it imports: a module of ours where it names one, else the name given."""
    known = modules()
    graph = {}
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        names = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                for alias in node.names:
                    # `from package import module` imports the module; `from module import name` the module.
                    names.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
        graph[name] = names
    return graph


def ours(imported: str) -> bool:
    return imported == "services" or imported.startswith("services.")


def child_of(package: str, module: str) -> str | None:
    """The module or subpackage of `package` that holds `module` (None if outside, or the package itself)."""
    if not module.startswith(package + "."):
        return None
    return module[len(package) + 1 :].split(".")[0]


def circles() -> list[str]:
    """One line per circle found: the package, the members going round, and an import per step."""
    graph = imports()
    packages = sorted({name for name, path in modules().items() if path.name == "__init__.py"})
    found = []
    for package in packages:
        edges: dict[str, dict[str, tuple[str, str]]] = {}
        for importer, imported_names in graph.items():
            source = child_of(package, importer)
            if source is None:
                continue
            for imported in imported_names:
                target = child_of(package, imported)
                if target is not None and target != source:
                    edges.setdefault(source, {}).setdefault(target, (importer, imported))
        for group, cycle in _cycles(edges):
            steps = [edges[a][b] for a, b in zip(cycle, cycle[1:], strict=False)]
            found.append(
                f"{package}: {', '.join(sorted(group))} depend on each other, e.g. {' -> '.join(cycle)} ("
                + "; ".join(f"{importer} imports {imported}" for importer, imported in steps)
                + ")"
            )
    return found


def _cycles(edges: dict[str, dict[str, tuple[str, str]]]) -> list[tuple[set[str], list[str]]]:
    """Each group of members that depend on each other (strongly connected), with one cycle through
    it (its first member repeated at the end)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm; the graphs are small
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in edges.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return [(group, _path_round(sorted(group)[0], group, edges)) for group in groups]


def _path_round(start: str, group: set[str], edges: dict[str, dict[str, tuple[str, str]]]) -> list[str]:
    """The shortest way from start back to start inside the group (breadth first)."""
    paths = {target: [start, target] for target in edges.get(start, {}) if target in group}
    while start not in paths:
        paths = {
            target: path + [target]
            for node, path in sorted(paths.items())
            for target in edges.get(node, {})
            if target in group and target not in path[1:]
        } or {start: [start, start]}
    return paths[start]


def test_no_module_or_package_under_services_is_part_of_an_import_circle():
    found = circles()
    assert not found, "import circles:\n" + "\n".join(found)


def test_each_service_imports_only_itself_common_and_the_protos():
    crossing = []
    for module, imported_names in imports().items():
        parts = module.split(".")
        if len(parts) < 2:
            continue
        own = "services." + parts[1]
        allowed = (own, "services.common") if parts[1] in SERVICES else ("services.common",)
        for imported in sorted(filter(ours, imported_names)):
            if not any(imported == a or imported.startswith(a + ".") for a in allowed):
                crossing.append(f"{module} imports {imported}")
    assert crossing == []


def test_only_media_imports_the_s3_libraries():
    elsewhere = [
        f"{module} imports {imported}"
        for module, imported_names in imports().items()
        for imported in imported_names
        if (owner := OWNED_LIBRARIES.get(imported.split(".")[0]))
        and not module.startswith(f"services.{owner}.")
    ]
    assert elsewhere == []


def test_the_circle_finder_finds_a_circle_between_packages():
    edges = {
        "render": {"providers": ("a", "b")},
        "providers": {"render": ("c", "d")},
        "api": {"render": ("e", "f")},
    }
    assert _cycles(edges) == [({"providers", "render"}, ["providers", "render", "providers"])]
    assert _cycles({"a": {"b": ("", "")}, "b": {"c": ("", "")}}) == []
