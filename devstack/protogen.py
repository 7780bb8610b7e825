"""Regenerate the Python stubs beside the .proto files: `make protos` (python -m devstack.protogen).

`--check` regenerates into a temporary directory and exits 1 when the committed stubs differ,
which is what the stale-stubs test runs.
"""

from __future__ import annotations

import filecmp
import sys
import tempfile
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

PROTO_ROOT = Path(__file__).resolve().parent.parent / "protos"


def proto_files() -> list[Path]:
    return sorted(PROTO_ROOT.rglob("*.proto"))


def generate(out_dir: Path) -> list[Path]:
    """Compile every .proto under protos/ into out_dir; return the files written, relative to it."""
    well_known = str(resources.files("grpc_tools") / "_proto")
    files = [str(p.relative_to(PROTO_ROOT)) for p in proto_files()]
    rc = protoc.main(
        [
            "grpc_tools.protoc",
            f"-I{PROTO_ROOT}",
            f"-I{well_known}",
            f"--python_out={out_dir}",
            f"--pyi_out={out_dir}",
            f"--grpc_python_out={out_dir}",
            *files,
        ]
    )
    if rc != 0:
        raise SystemExit(f"protoc failed with exit code {rc}")
    # Every directory on the way is a regular package so setuptools and mypy find them.
    for d in {p.parent for p in out_dir.rglob("*.py")}:
        while d != out_dir:
            (d / "__init__.py").touch()
            d = d.parent
    return sorted(
        p.relative_to(out_dir) for p in out_dir.rglob("*") if p.suffix in (".py", ".pyi") and p.is_file()
    )


def check() -> list[str]:
    """Names of generated files that are missing or differ from a fresh generation."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(Path(tmp))
        return [
            str(rel)
            for rel in fresh
            if not (PROTO_ROOT / rel).exists()
            or not filecmp.cmp(Path(tmp) / rel, PROTO_ROOT / rel, shallow=False)
        ]


def main() -> None:
    if "--check" in sys.argv[1:]:
        stale = check()
        if stale:
            print("stale generated stubs (run `make protos`): " + ", ".join(stale))
            raise SystemExit(1)
        print("generated stubs are up to date")
        return
    written = generate(PROTO_ROOT)
    print(f"generated {len(written)} files under {PROTO_ROOT}")


if __name__ == "__main__":
    main()
