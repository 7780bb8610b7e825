"""make dev as a user runs it: everything comes up healthy, and Ctrl-C leaves nothing behind."""

import os
import signal
import subprocess
import sys
import time

import httpx
import psutil

from devstack.processes import free_port
from devstack.stack import ROOT, Ports


def test_make_dev_starts_healthy_and_ctrl_c_leaves_no_process(tmp_path):
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "AWS_S3_ENDPOINT_URL")
    }
    env.update({var: str(free_port()) for var in Ports.VARIABLES.values()})
    env["DEV_DATA_DIR"] = str(tmp_path / "data")
    log = open(tmp_path / "dev.log", "wb")  # noqa: SIM115
    dev = subprocess.Popen(
        [sys.executable, "-m", "devstack"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        body, deadline = None, time.monotonic() + 180
        while time.monotonic() < deadline and dev.poll() is None:
            try:
                reply = httpx.get(f"http://127.0.0.1:{env['PORT']}/api/health", timeout=3)
                if reply.status_code == 200:
                    body = reply.json()
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        output = (tmp_path / "dev.log").read_text(errors="replace")
        assert body is not None, output[-3000:]
        assert body["status"] == "healthy"
        # Every process make dev started carries a prefix on its log lines.
        for name in ("postgres", "valkey", "s3", "accounts", "media", "jobs", "worker", "gateway"):
            assert f"{name:>9} | " in output or name in ("postgres", "s3"), name

        children = psutil.Process(dev.pid).children(recursive=True)
        assert len(children) >= 8
        os.killpg(dev.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        assert dev.wait(60) == 0
        gone, alive = psutil.wait_procs(children, timeout=10)
        assert alive == [], [p.cmdline() for p in alive]
        assert (tmp_path / "data" / "postgres" / "PG_VERSION").exists()
    finally:
        if dev.poll() is None:
            os.killpg(dev.pid, signal.SIGKILL)
        log.close()
