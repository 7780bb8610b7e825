"""The generated TypeScript client (clients/typescript): fresh from the OpenAPI document, compiled
by `tsc` with `strict` on, and driving the whole product flow against the test stack with Node.

Skipped, with the reason, only where Node.js or npm is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from devstack import clientgen
from tests.support.api import client_ip_headers

CLIENT = clientgen.CLIENT
pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("npm") is None,
    reason="Node.js with npm is not installed; the TypeScript client cannot be built here",
)


@pytest.fixture(scope="module")
def installed() -> None:
    clientgen.install(CLIENT)


def _npx(
    *args: str, env: dict[str, str] | None = None, timeout_s: float = 300
) -> subprocess.CompletedProcess:
    npx = shutil.which("npx")
    assert npx is not None, "npx comes with npm"
    return subprocess.run(
        [npx, "--no-install", *args],
        cwd=CLIENT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def test_the_committed_client_is_what_the_document_generates(installed):
    done = subprocess.run(
        [sys.executable, "-m", "devstack.clientgen", "--check"],
        cwd=clientgen.ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_client_and_the_flow_compile_with_strict_on(installed):
    done = _npx("tsc", "--noEmit")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_flow_runs_against_the_stack_through_the_client(installed, gateway_url, tmp_path):
    built = _npx("tsc", "--outDir", str(tmp_path))
    assert built.returncode == 0, built.stdout + built.stderr
    (tmp_path / "package.json").write_text('{"type": "module"}')  # ES modules, as in clients/typescript

    node = shutil.which("node")
    assert node is not None
    done = subprocess.run(
        [node, str(tmp_path / "flow" / "flow.js")],
        env={
            **os.environ,
            "ZAPCUT_API": gateway_url,
            # Its sign-up counts against an address of its own, not the one the fuzzer's hundreds
            # of sign-ups on the same stack exhausted.
            "ZAPCUT_FORWARDED_FOR": client_ip_headers()["X-Forwarded-For"],
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    for line in (
        "uploaded 1 product image(s) through a presigned URL",
        "progress completed 100%",
        "downloaded the final video",
        "cancelled the second generation",
        "a brand with an empty title: 422",
        "an unknown brand: 404",
        "logged out; the token is refused",
        "flow: done",
    ):
        assert line in output, output
