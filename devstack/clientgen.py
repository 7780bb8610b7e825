"""Regenerate the TypeScript client in clients/typescript: `make client` (python -m devstack.clientgen).

Two steps, both committed so a frontend developer needs neither Python nor a running stack:
1. `openapi.json`: the gateway's OpenAPI document, built in a process with a clean environment
   (DEBUG=true and nothing else), so it is what the code says, not what a developer's `.env` set.
2. `src/generated/`: the client, written from that document by @hey-api/openapi-ts, the version
   pinned in clients/typescript/package-lock.json (installed with `npm ci` when missing).

`--check` does both into a temporary copy and exits 1 naming every file that differs from the
committed one, which is what the stale-client test runs.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLIENT = ROOT / "clients" / "typescript"
DOCUMENT = "openapi.json"
GENERATED = "src/generated"
# What the generator reads besides the document; copied into the temporary tree for --check.
INPUTS = ("package.json", "package-lock.json", "openapi-ts.config.ts", "tsconfig.json")

DUMP = """
import json, sys
from services.gateway.config import Settings
from services.gateway.main import create_app
json.dump(create_app(Settings()).openapi(), sys.stdout, indent=2, ensure_ascii=False)
sys.stdout.write("\\n")
"""


class ClientGenError(Exception):
    pass


def npm() -> str:
    found = shutil.which("npm")
    if found is None:
        raise ClientGenError("npm is not installed: the TypeScript client needs Node.js 20.19+ with npm")
    return found


def openapi_document() -> str:
    env = {"PATH": os.environ.get("PATH", ""), "DEBUG": "true", "LOG_LEVEL": "WARNING"}
    done = subprocess.run(
        [sys.executable, "-c", DUMP], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise ClientGenError(f"building the OpenAPI document failed:\n{done.stderr}")
    return done.stdout


def install(package_dir: Path) -> None:
    """node_modules from the lock file, as CI installs it; skipped when it is already there."""
    if (package_dir / "node_modules" / ".package-lock.json").exists():
        return
    _run([npm(), "ci", "--no-audit", "--no-fund", "--loglevel=error"], package_dir)


def generate(package_dir: Path) -> None:
    (package_dir / DOCUMENT).write_text(openapi_document())
    shutil.rmtree(package_dir / GENERATED, ignore_errors=True)
    _run([npm(), "run", "--silent", "generate"], package_dir)


def check() -> list[str]:
    """Names of committed files that differ from a fresh generation (or are missing or extra)."""
    install(CLIENT)
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        for name in INPUTS:
            shutil.copy2(CLIENT / name, fresh / name)
        (fresh / "node_modules").symlink_to(CLIENT / "node_modules")
        generate(fresh)
        names = {DOCUMENT} | {
            str(p.relative_to(d)) for d in (fresh, CLIENT) for p in (d / GENERATED).rglob("*") if p.is_file()
        }
        return sorted(
            name
            for name in names
            if not (fresh / name).is_file()
            or not (CLIENT / name).is_file()
            or not filecmp.cmp(fresh / name, CLIENT / name, shallow=False)
        )


def _run(command: list[str], cwd: Path) -> None:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ClientGenError(f"{' '.join(command[1:])} failed in {cwd}:\n{done.stdout}{done.stderr}")


def main() -> None:
    try:
        if "--check" in sys.argv[1:]:
            stale = check()
            if stale:
                sys.exit(f"the TypeScript client is stale (run `make client`): {', '.join(stale)}")
            print("the TypeScript client is up to date")
            return
        install(CLIENT)
        generate(CLIENT)
    except ClientGenError as exc:
        sys.exit(str(exc))
    print(f"wrote {CLIENT.relative_to(ROOT)}/{DOCUMENT} and {GENERATED}/")


if __name__ == "__main__":
    main()
