"""The whole stack on one machine: backing servers (when not configured), migrations, and the
gateway, accounts, media, jobs and worker processes. `make dev` and the test suite both use this,
so there is one place that starts servers.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from devstack import backing
from devstack.backing import Backing
from devstack.processes import (
    ManagedProcess,
    grpc_loopback_host,
    grpc_loopback_target,
    port_is_free,
    stop_all,
    wait_for_port,
)

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "media", "jobs", "worker", "gateway")
# How uvicorn serves the gateway; the bench serves its single-process floor the same way. (uvloop
# and httptools come with uvicorn[standard], and uvicorn's default "auto" picks them.)
GATEWAY_UVICORN_OPTIONS = ("--no-access-log",)
GRPC_APPS = {"accounts": "ACCOUNTS_PORT", "media": "MEDIA_PORT", "jobs": "JOBS_PORT"}


class PortBusy(SystemExit):
    def __init__(self, port: int, variable: str):
        super().__init__(f"port {port} is busy: stop what uses it, or set {variable} to another port")
        self.port = port
        self.variable = variable


@dataclass
class Ports:
    gateway: int = 8000
    accounts: int = 50051
    media: int = 50052
    jobs: int = 50053
    postgres: int = 55432
    redis: int = 56379
    s3: int = 59000

    VARIABLES = {
        "gateway": "PORT",
        "accounts": "ACCOUNTS_PORT",
        "media": "MEDIA_PORT",
        "jobs": "JOBS_PORT",
        "postgres": "DEV_POSTGRES_PORT",
        "redis": "DEV_REDIS_PORT",
        "s3": "DEV_S3_PORT",
    }

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Ports:
        ports = cls()
        for name, var in cls.VARIABLES.items():
            if env.get(var):
                try:
                    setattr(ports, name, int(env[var]))
                except ValueError:
                    raise SystemExit(f"configuration error: {var} is invalid: not a port number") from None
        return ports


@dataclass
class Stack:
    data_dir: Path
    ports: Ports
    env: dict[str, str]
    durable: bool = True  # False in tests: fsync off, nothing kept
    log_dir: Path | None = None  # None: prefixed lines on the console
    console: IO[str] | None = None
    notice: Callable[[str], None] = print  # devstack's own lines (make dev: `devstack | ...`)
    workers: int = 1
    backing: dict[str, Backing] = field(default_factory=dict)
    apps: dict[str, ManagedProcess] = field(default_factory=dict)

    # --- backing servers -----------------------------------------------------------------------

    def check_ports(self, names: list[str]) -> None:
        for name in names:
            port = getattr(self.ports, name)
            hosts = ["127.0.0.1", "0.0.0.0"]
            if name in GRPC_APPS and grpc_loopback_host() != "127.0.0.1":
                hosts.append(grpc_loopback_host())
            if not all(port_is_free(port, host) for host in hosts):
                raise PortBusy(port, Ports.VARIABLES[name])

    def needed_backing(self) -> list[str]:
        wanted = {"postgres": "DATABASE_URL", "redis": "REDIS_URL", "s3": "AWS_S3_ENDPOINT_URL"}
        return [name for name, var in wanted.items() if not self.env.get(var)]

    def start_backing(self) -> None:
        for name in self.needed_backing():
            self.start_backing_server(name)

    def start_backing_server(self, name: str) -> Backing:
        log = self._log(name)
        if name == "postgres":
            server = backing.start_postgres(
                self.data_dir / "postgres",
                self.ports.postgres,
                log_file=log,
                durable=self.durable,
                console=self.console,
                notice=self.notice,
            )
            self.env["DATABASE_URL"] = server.url
        elif name == "redis":
            server = backing.start_valkey(
                self.ports.redis,
                data_dir=self.data_dir / "valkey" if self.durable else None,
                log_file=log,
                console=self.console,
            )
            self.env["REDIS_URL"] = server.url
        elif name == "s3":
            server = backing.start_s3(
                self.ports.s3,
                data_dir=self.data_dir / "s3" if self.durable else None,
                log_file=log,
                console=self.console,
            )
            self.env["AWS_S3_ENDPOINT_URL"] = server.url
            self.env.setdefault("AWS_ACCESS_KEY_ID", "devstack")
            self.env.setdefault("AWS_SECRET_ACCESS_KEY", "devstack")
        else:
            raise ValueError(name)
        self.backing[name] = server
        return server

    def stop_backing_server(self, name: str) -> None:
        self.backing[name].process.stop()

    def restart_backing_server(self, name: str) -> None:
        """Start a stopped backing server again on the same port (and data directory)."""
        self.start_backing_server(name)

    def migrate(self) -> None:
        from services.common.migrations import SERVICES, upgrade_head

        for service in SERVICES:
            upgrade_head(service, self.env["DATABASE_URL"])

    # --- application processes -----------------------------------------------------------------

    def app_env(self) -> dict[str, str]:
        env = dict(self.env)
        env.setdefault("PYTHONUNBUFFERED", "1")
        env.setdefault("AWS_REGION", "us-east-1")
        env.setdefault("AWS_S3_BUCKET", "zapcut-adgen-dev")
        env["PORT"] = str(self.ports.gateway)
        # Loopback only, whatever .env says for compose: the dev internal token is public, so a gRPC
        # port reachable from the network would let anyone act as any user.
        env["GRPC_BIND_HOST"] = grpc_loopback_host()
        for app in GRPC_APPS:
            env[f"{app.upper()}_PORT"] = str(getattr(self.ports, app))
            env[f"{app.upper()}_ADDR"] = self.grpc_address(app)
        return env

    def grpc_address(self, app: str) -> str:
        """Where a gRPC service of this stack listens, as a gRPC target (loopback, see app_env)."""
        return grpc_loopback_target(getattr(self.ports, app))

    @property
    def gateway_host(self) -> str:
        """127.0.0.1, unless HOST opens the gateway (and only the gateway) to other interfaces."""
        return self.env.get("HOST") or "127.0.0.1"

    def command(self, app: str) -> list[str]:
        py = sys.executable
        if app == "gateway":
            return [
                py, "-m", "uvicorn", "services.gateway.main:app",
                "--host", self.gateway_host, "--port", str(self.ports.gateway),
                *GATEWAY_UVICORN_OPTIONS,
            ]  # fmt: skip
        if app.startswith("worker"):
            return [py, "-m", "services.jobs.worker"]
        return [py, "-m", f"services.{app}"]

    def start_app(self, app: str, wait: bool = True) -> ManagedProcess:
        proc = ManagedProcess(
            app,
            self.command(app),
            env=self.app_env(),
            cwd=ROOT,
            log_file=self._log(app),
            console=self.console,
        ).start()
        self.apps[app] = proc
        if wait:
            self.wait_app(app)
        return proc

    def wait_app(self, app: str, timeout_s: float = 60) -> None:
        proc = self.apps[app]
        base = app.split("-")[0]
        if base in GRPC_APPS:
            wait_for_port(getattr(self.ports, base), timeout_s, proc, grpc_loopback_host())
        elif base == "gateway":
            wait_for_port(self.ports.gateway, timeout_s, proc)
        else:
            time.sleep(0.5)
            if not proc.running:
                raise RuntimeError(f"{app} exited with code {proc.returncode}")

    def stop_app(self, app: str, timeout_s: float = 15) -> None:
        self.apps[app].stop(timeout_s)

    def kill_app(self, app: str) -> None:
        self.apps[app].kill()

    def start_apps(self, only: set[str] | None = None) -> None:
        """Start the services (and workers), wait for them to listen, then the gateway."""
        names = ["accounts", "media", "jobs"] + [
            "worker" if i == 0 else f"worker-{i + 1}" for i in range(self.workers)
        ]
        names = [n for n in names if only is None or n.split("-")[0] in only]
        for app in names:
            self.start_app(app, wait=False)
        for app in names:
            self.wait_app(app)
        if only is None or "gateway" in only:
            self.start_app("gateway")

    def restart(self, proc: ManagedProcess) -> None:
        """Start a dead process again: same command, port and data; without waiting for it."""
        proc.stop()  # reaps it and kills what is left of its group (postgres backends, an RQ horse)
        if proc.name == "postgres":
            backing.remove_stale_pid(self.data_dir / "postgres" / "postmaster.pid")
        proc.start()

    def all_processes(self) -> list[ManagedProcess]:
        return [b.process for b in self.backing.values()] + list(self.apps.values())

    def stop(self, on_stop=lambda _msg: None) -> None:
        stop_all(self.all_processes(), on_stop=on_stop)

    def _log(self, name: str) -> Path | None:
        return self.log_dir / f"{name}.log" if self.log_dir is not None else None


def load_dotenv_into(env: dict[str, str], path: Path) -> dict[str, str]:
    """Values from .env fill in what the real environment does not set (twelve-factor: env wins)."""
    if path.exists():
        from dotenv import dotenv_values

        for key, value in dotenv_values(path).items():
            if value is not None and key not in env:
                env[key] = value
    return env


def data_dir(env: dict[str, str]) -> Path:
    """Where make dev keeps Postgres and Redis data between runs (DEV_DATA_DIR, default .data/)."""
    return Path(env.get("DEV_DATA_DIR") or ROOT / ".data").resolve()


def dev_env() -> dict[str, str]:
    env = load_dotenv_into(dict(os.environ), ROOT / ".env")
    env.setdefault("DEBUG", "true")
    return env
