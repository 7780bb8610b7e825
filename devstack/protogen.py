"""Regenerate the Python stubs beside the .proto files: `make protos` (python -m devstack.protogen).

grpcio-tools writes the modules (`_pb2.py` messages, `_pb2_grpc.py` stubs and servicers);
mypy-protobuf's plugins write their type stubs (`_pb2.pyi`, `_pb2_grpc.pyi`), so every call through
a stub and every reply is typed. Its gRPC stubs type both flavours: `AccountsStub(channel)` on a
`grpc.aio.Channel` is an `AccountsAsyncStub` whose methods are awaited.

`--check` regenerates into a temporary directory and exits 1 when the committed stubs differ,
which is what the stale-stubs test runs.
"""

from __future__ import annotations

import filecmp
import sys
import sysconfig
import tempfile
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

PROTO_ROOT = Path(__file__).resolve().parent.parent / "protos"
# mypy-protobuf's protoc plugins, installed as scripts beside this interpreter (its dev extra).
PLUGIN_DIR = Path(sysconfig.get_path("scripts"))


def proto_files() -> list[Path]:
    return sorted(PROTO_ROOT.rglob("*.proto"))


def generate(out_dir: Path) -> list[Path]:
    """Compile every .proto under protos/ into out_dir; return the files written, relative to it."""
    well_known = str(resources.files("grpc_tools") / "_proto")
    files = [str(p.relative_to(PROTO_ROOT)) for p in proto_files()]
    plugins = {name: PLUGIN_DIR / f"protoc-gen-{name}" for name in ("mypy", "mypy_grpc")}
    missing = [str(path) for path in plugins.values() if not path.exists()]
    if missing:
        raise SystemExit(f"missing {', '.join(missing)}: install the dev extra (make install)")
    rc = protoc.main(
        [
            "grpc_tools.protoc",
            f"-I{PROTO_ROOT}",
            f"-I{well_known}",
            *(f"--plugin=protoc-gen-{name}={path}" for name, path in plugins.items()),
            f"--python_out={out_dir}",
            f"--grpc_python_out={out_dir}",
            # quiet: no "Writing mypy to ..." line per file
            f"--mypy_out=quiet:{out_dir}",
            f"--mypy_grpc_out=quiet:{out_dir}",
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
