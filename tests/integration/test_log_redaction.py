"""No working credential in any log line, of any process the stack runs: the services, the workers
and their work horses, the gateway, and the servers devstack starts. Signed URLs are the easy ones to
leak: libraries log whole request URLs (httpx's "HTTP Request: GET ...?X-Amz-Signature=..."), and
such a URL works for whoever reads it until it expires."""

from __future__ import annotations

import re
from pathlib import Path

from services.common.logging import REDACTED_QUERY
from tests.support.api import PASSWORD, new_user
from tests.support.fake_replicate import TOKEN as REPLICATE_TOKEN
from tests.support.generation import ready_project, start, wait_for
from tests.support.stack import INTERNAL_TOKEN, SECRET_KEY

# What a credential looks like in a line, whatever the value.
CREDENTIAL_PATTERNS = [
    re.compile(r"X-Amz-Signature=[0-9a-fA-F]{16,}"),
    re.compile(r"X-Amz-Credential=[^&\s\"']{8,}"),
    re.compile(r"(?i)bearer\s+(?!\*\*\*)[A-Za-z0-9._~+/=-]{20,}"),
]


def credential_lines(log_dir: Path, secrets: list[str]) -> list[str]:
    """Every log line of every process that carries a credential: `file:line: what`."""
    found = []
    for log in sorted(log_dir.glob("*.log")):
        for number, line in enumerate(log.read_text(errors="replace").splitlines(), 1):
            hits = [p.pattern for p in CREDENTIAL_PATTERNS if p.search(line)]
            hits += [f"secret {s[:4]}..." for s in secrets if s in line]
            if hits:
                found.append(f"{log.name}:{number}: {', '.join(hits)}: {line[:200]}")
    return found


def stack_secrets(stack) -> list[str]:
    env = stack.env
    return [
        INTERNAL_TOKEN,
        SECRET_KEY,
        env["AWS_SECRET_ACCESS_KEY"],
        REPLICATE_TOKEN,
        env["REPLICATE_WEBHOOK_SECRET"],
    ]


async def test_no_process_logs_a_credential_through_a_whole_generation(stack, http):
    """Sign up, log in, upload, list (signed URLs), generate (workers fetch inputs and store outputs
    through signed URLs), then read every process's log."""
    user = await new_user(http)
    project = await ready_project(http, user, images=1)
    brand = (await http.get(f"/api/projects/{project['id']}", headers=user["headers"])).json()["brand_id"]
    listed = await http.get(f"/api/brands/{brand}", headers=user["headers"])
    assert listed.status_code == 200, listed.text
    assert (await start(http, user, project["id"])).status_code == 202
    done = await wait_for(http, user, project["id"], {"completed", "failed"})
    assert done["status"] == "completed", done

    leaks = credential_lines(stack.log_dir, [*stack_secrets(stack), user["token"], PASSWORD])

    assert leaks == []
    # And the lines that would carry one are there, redacted: without this the test would pass
    # just as well if those lines were no longer logged at all.
    redacted = [
        line
        for log in stack.log_dir.glob("*.log")
        for line in log.read_text(errors="replace").splitlines()
        if "HTTP Request:" in line and REDACTED_QUERY in line
    ]
    assert redacted, "no signed URL request was logged (redacted) through a whole generation"
