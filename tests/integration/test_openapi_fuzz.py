"""Schemathesis against the running gateway, with its own /openapi.json as the contract: every
default check (no server error, every status, header, content type and body as documented, invalid
input refused, valid input accepted, use after delete, ...) in every phase (examples, coverage,
fuzzing, and the stateful phase that follows the document's links: create a brand, then get,
update and delete it, ...), as a fuzzing user of its own.

The operations that end the fuzzing user's session (logOut, deleteMe, and updateMe, which changes
the password and ends every other session) are left out of the fuzz run: the run would go on
unauthenticated and test nothing behind the login. They are exercised below, each with a user of
its own, against the same document. tests/support/schemathesis.toml says where the API refuses, on
purpose, values its document cannot describe (common passwords, opaque cursors, file contents).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.common.voices import VOICES
from tests.support.api import new_user, wait_until

pytestmark = pytest.mark.timeout(900)

SESSION_ENDERS = ("logOut", "deleteMe", "updateMe")
# Deterministic generation (schemathesis then needs no seed): the same cases every run, so a
# failure is reproduced by running the test again.
MAX_EXAMPLES = os.environ.get("FUZZ_MAX_EXAMPLES", "20")


# Where the API refuses, on purpose, values its document cannot describe (each with why).
CONFIG = Path(__file__).parents[1] / "support" / "schemathesis.toml"


def schemathesis_cli() -> str:
    return str(Path(sys.executable).with_name("st"))


async def test_the_gateway_keeps_its_openapi_contract_under_fuzzing(gateway_url, http, tmp_path):
    user = await new_user(http)
    # A voice's sample is 503 (documented) until a worker has rendered it, which a worker does when
    # it starts, and another module may just have restarted this stack's worker: the fuzzer counts
    # any 5xx as a server error, so it starts once every sample is there.
    await wait_until(lambda: _samples_rendered(http), "the voice samples to be rendered", timeout_s=180)
    command = [
        schemathesis_cli(),
        "--config-file",
        str(CONFIG),
        "run",
        f"{gateway_url}/openapi.json",
        "--header",
        f"Authorization: Bearer {user['token']}",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        MAX_EXAMPLES,
        "--generation-deterministic",
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--suppress-health-check",
        "all",
        "--no-color",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
    ]
    for operation in SESSION_ENDERS:
        command += ["--exclude-operation-id", operation]
    run = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=840, cwd=tmp_path
    )
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]


async def test_the_session_ending_operations_answer_as_documented(http):
    """logOut, updateMe (a password change) and deleteMe, as the fuzz run leaves them out: each with
    its own user, each answer checked against the document's statuses and Problem schema."""
    document = (await http.get("/openapi.json")).json()

    def documented(path: str, method: str) -> set[str]:
        return set(document["paths"][path][method]["responses"])

    renamer, changer, leaver, quitter = [await new_user(http) for _ in range(4)]
    answers = {
        ("/api/auth/me", "patch"): [
            await http.patch("/api/auth/me", json={"name": "Renamed"}, headers=renamer["headers"]),
            await http.patch(
                "/api/auth/me",
                json={"current_password": changer["password"], "new_password": "a new long passphrase"},
                headers=changer["headers"],
            ),
            await http.patch("/api/auth/me", json={"name": ""}, headers=renamer["headers"]),
            await http.patch("/api/auth/me", json={"name": "x"}),
        ],
        ("/api/auth/logout", "post"): [
            await http.post("/api/auth/logout", headers=quitter["headers"]),
            await http.post("/api/auth/logout", headers=quitter["headers"]),
        ],
        ("/api/auth/me", "delete"): [
            await http.delete("/api/auth/me", headers=leaver["headers"]),
            await http.delete("/api/auth/me", headers=leaver["headers"]),
        ],
    }
    for (path, method), responses in answers.items():
        for response in responses:
            assert str(response.status_code) in documented(path, method), (path, method, response.text)
            if response.status_code >= 400:
                assert response.headers["content-type"] == "application/problem+json"
                assert {"type", "title", "status", "detail", "instance"} <= set(response.json())
    assert [r.status_code for r in answers[("/api/auth/logout", "post")]] == [204, 401]
    assert [r.status_code for r in answers[("/api/auth/me", "delete")]] == [204, 401]
    assert [r.status_code for r in answers[("/api/auth/me", "patch")]] == [200, 200, 422, 401]
    # The changed password ended the changer's other sessions, not this one.
    assert (await http.get("/api/auth/me", headers=changer["headers"])).status_code == 200


async def _samples_rendered(http) -> bool:
    for voice_id in VOICES:
        if (await http.get(f"/api/voices/{voice_id}/sample")).status_code == 503:
            return False
    return True
