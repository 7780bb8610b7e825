"""The whole stack on one machine: backing servers (when not configured), migrations, and the
gateway, accounts, media, jobs and worker processes. `make dev` and the test suite both use this,
so there is one place that starts servers.

With `replicas` above 1 (DEV_REPLICAS), every service, the gateway and the workers run that many
processes: replica n (from 2) of a gRPC service is named `accounts-n` and listens on its own port
(`replica_ports`); every client reaches a service through a target listing all its replicas, spread
round-robin as in Kubernetes; the gateways listen on private ports behind the local balancer
(devstack/balancer.py), which alone holds PORT.
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
    free_port,
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
# make dev's further replicas of a process listening on port P: P + 1000, P + 2000, ...
REPLICA_PORT_STEP = 1000
# How long devstack waits for a stopping app before SIGKILL: a little longer than the app's own grace.
STOP_MARGIN_S = 5.0


def replica_name(app: str, n: int) -> str:
    """The process name of replica n (1-based) of app: accounts, accounts-2, accounts-3, ..."""
    return app if n == 1 else f"{app}-{n}"


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
    postgres: int = 15432
    redis: int = 16379
    s3: int = 19000

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
    replicas: int = 1  # processes of each service and of the gateway (DEV_REPLICAS)
    # Ports of replicas 2.. of each gRPC service and of every gateway behind the balancer ("gateway"
    # lists them all); unset ones are port + 1000 * (n - 1) (the gateways': PORT + 1000 * n).
    replica_ports: dict[str, list[int]] = field(default_factory=dict)
    backing: dict[str, Backing] = field(default_factory=dict)
    apps: dict[str, ManagedProcess] = field(default_factory=dict)
    # Each gRPC service's and worker's METRICS_PORT: a free port picked at its first start and kept
    # when it restarts (the gateway serves /metrics on its own port).
    metrics_ports: dict[str, int] = field(default_factory=dict)

    # --- backing servers -----------------------------------------------------------------------

    def check_ports(self, names: list[str]) -> None:
        for name in names:
            hosts = ["127.0.0.1", "0.0.0.0"]
            if name in GRPC_APPS and grpc_loopback_host() != "127.0.0.1":
                hosts.append(grpc_loopback_host())
            ports = [getattr(self.ports, name)]
            if name in GRPC_APPS:
                ports = self.app_ports(name)
            elif name == "gateway" and self.replicas > 1:
                ports += self.app_ports("gateway")
            for port in ports:
                if not all(port_is_free(port, host) for host in hosts):
                    raise PortBusy(port, Ports.VARIABLES[name])

    def app_ports(self, app: str) -> list[int]:
        """The port of each replica of a gRPC service, or of each gateway behind the balancer."""
        if app == "gateway":
            if "gateway" in self.replica_ports:
                return self.replica_ports["gateway"][: self.replicas]
            return [self.ports.gateway + REPLICA_PORT_STEP * n for n in range(1, self.replicas + 1)]
        base = getattr(self.ports, app)
        extra = self.replica_ports.get(app) or [base + REPLICA_PORT_STEP * n for n in range(1, self.replicas)]
        return [base, *extra][: self.replicas]

    def replica_names(self, app: str) -> list[str]:
        count = self.workers if app == "worker" else self.replicas
        return [replica_name(app, n) for n in range(1, count + 1)]

    def listen_port(self, name: str) -> int:
        """The port the process `name` (accounts-2, gateway, ...) listens on."""
        app, _, n = name.partition("-")
        if app == "balancer":
            return self.ports.gateway
        if app == "gateway" and self.replicas == 1:
            return self.ports.gateway
        return self.app_ports(app)[int(n or 1) - 1]

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

    def app_env(self, name: str = "") -> dict[str, str]:
        """The environment of the process `name` (a replica gets its own port)."""
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
        app = name.partition("-")[0]
        if app in GRPC_APPS or (app == "gateway" and self.replicas > 1):
            port = self.listen_port(name)
            env["PORT" if app == "gateway" else f"{app.upper()}_PORT"] = str(port)
        return env

    def grpc_address(self, app: str) -> str:
        """Where a gRPC service of this stack listens, as a gRPC target (loopback, see app_env):
        host:port, or with replicas every replica's address (`ipv6:[::1]:50051,[::1]:51051`), which
        the channel's round-robin spreads calls over."""
        if self.replicas == 1:
            return grpc_loopback_target(getattr(self.ports, app))
        host = grpc_loopback_host()
        scheme = "ipv6" if ":" in host else "ipv4"
        return f"{scheme}:" + ",".join(grpc_loopback_target(port) for port in self.app_ports(app))

    @property
    def gateway_host(self) -> str:
        """127.0.0.1, unless HOST opens the gateway (and only the gateway) to other interfaces."""
        return self.env.get("HOST") or "127.0.0.1"

    def command(self, app: str) -> list[str]:
        py = sys.executable
        if app == "balancer":
            backends = [f"127.0.0.1:{port}" for port in self.app_ports("gateway")]
            return [
                py,
                "-m",
                "devstack.balancer",
                "--listen",
                f"{self.gateway_host}:{self.ports.gateway}",
                *backends,
            ]
        if app.startswith("gateway"):
            # Behind the balancer, the gateways listen on loopback only: HOST opens the balancer.
            host = self.gateway_host if self.replicas == 1 else "127.0.0.1"
            return [
                py, "-m", "uvicorn", "services.gateway.main:app",
                "--host", host, "--port", str(self.listen_port(app)),
                *GATEWAY_UVICORN_OPTIONS,
                "--timeout-graceful-shutdown", str(int(self.shutdown_grace_s)),
            ]  # fmt: skip
        if app.startswith("worker"):
            return [py, "-m", "services.jobs.worker"]
        return [py, "-m", f"services.{app.partition('-')[0]}"]

    @property
    def shutdown_grace_s(self) -> float:
        from services.common.settings import BaseConfig

        grace = self.env.get("SHUTDOWN_GRACE_S")
        return float(grace) if grace else float(BaseConfig.model_fields["shutdown_grace_s"].default)

    def assigned_ports(self) -> set[int]:
        """Every port this stack has given out, bound yet or not (a metrics port must be another)."""
        ports = {getattr(self.ports, name) for name in Ports.VARIABLES}
        ports |= set(self.metrics_ports.values())
        for app in [*GRPC_APPS, "gateway"]:
            ports |= set(self.app_ports(app))
        return ports

    def metrics_url(self, app: str) -> str:
        if app.partition("-")[0] == "gateway":
            # Each gateway on its own port: behind the balancer, PORT reaches one of them at random.
            return f"http://127.0.0.1:{self.listen_port(app)}/metrics"
        return f"http://{grpc_loopback_target(self.metrics_ports[app])}/metrics"

    def metrics_line(self) -> str:
        """Where each process's Prometheus metrics are, in one line."""
        return "metrics: " + "  ".join(
            f"{app} {self.metrics_url(app)}" for app in self.apps if app != "balancer"
        )

    def start_app(self, app: str, wait: bool = True) -> ManagedProcess:
        env = self.app_env(app)
        if app.partition("-")[0] not in ("gateway", "balancer"):
            if app not in self.metrics_ports:
                self.metrics_ports[app] = free_port(self.assigned_ports())
            env["METRICS_PORT"] = str(self.metrics_ports[app])
        proc = ManagedProcess(
            app,
            self.command(app),
            env=env,
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
            wait_for_port(self.listen_port(app), timeout_s, proc, grpc_loopback_host())
        elif base in ("gateway", "balancer"):
            wait_for_port(self.listen_port(app), timeout_s, proc)
        else:
            time.sleep(0.5)
            if not proc.running:
                raise RuntimeError(f"{app} exited with code {proc.returncode}")

    def stop_app(self, app: str, timeout_s: float | None = None) -> None:
        self.apps[app].stop(self.stop_timeout_s if timeout_s is None else timeout_s)

    @property
    def stop_timeout_s(self) -> float:
        """SIGTERM, then this long for in-flight calls to finish (SHUTDOWN_GRACE_S and a margin),
        then SIGKILL."""
        return self.shutdown_grace_s + STOP_MARGIN_S

    def kill_app(self, app: str) -> None:
        self.apps[app].kill()

    def start_apps(self, only: set[str] | None = None) -> None:
        """Start the services (and workers), wait for them to listen, then the gateway."""
        names = [name for app in ("accounts", "media", "jobs", "worker") for name in self.replica_names(app)]
        names = [n for n in names if only is None or n.split("-")[0] in only]
        for app in names:
            self.start_app(app, wait=False)
        for app in names:
            self.wait_app(app)
        if only is None or "gateway" in only:
            gateways = self.replica_names("gateway")
            for app in gateways:
                self.start_app(app, wait=False)
            for app in gateways:
                self.wait_app(app)
            if self.replicas > 1:
                self.start_app("balancer")

    def restart(self, proc: ManagedProcess) -> None:
        """Start a dead process again: same command, port and data; without waiting for it."""
        proc.stop()  # reaps it and kills what is left of its group (postgres backends, an RQ horse)
        if proc.name == "postgres":
            backing.remove_stale_pid(self.data_dir / "postgres" / "postmaster.pid")
        proc.start()

    def all_processes(self) -> list[ManagedProcess]:
        return [b.process for b in self.backing.values()] + list(self.apps.values())

    def stop(self, on_stop=lambda _msg: None) -> None:
        stop_all(self.all_processes(), timeout_s=self.stop_timeout_s, on_stop=on_stop)

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
