"""What the bench talks to: the gateway URL, the three gRPC addresses, the internal token and the
login rate limit, resolved the way `make dev` resolves them (environment, then .env, then the dev
defaults)."""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from devstack.backing import DATABASE_NAME
from devstack.processes import grpc_loopback_target
from devstack.stack import Ports, dev_env
from services.common.settings import DEV_INTERNAL_TOKEN

GRPC_SERVICES = ("accounts", "media", "jobs")


class BenchError(Exception):
    """Stops the bench with one line on stderr and exit status 1."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Target:
    gateway_url: str
    grpc: dict[str, str]  # service -> host:port
    internal_token: str
    login_rate_limit: int = 5  # logins per email (and per client IP) a window, as the stack is configured
    # The environment the stack's processes run with, with the URLs of its Postgres, Redis and S3:
    # what the bench's floor processes (the single-process app, the bare RQ worker) are started with.
    env: dict[str, str] = field(default_factory=dict)

    @property
    def gateway_host_port(self) -> tuple[str, int]:
        parts = urlsplit(self.gateway_url)
        return parts.hostname or "localhost", parts.port or (443 if parts.scheme == "https" else 80)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def resolve(gateway_url: str | None) -> Target:
    env = dev_env()
    ports = Ports.from_env(env)
    url = (gateway_url or f"http://localhost:{ports.gateway}").rstrip("/")
    if urlsplit(url).scheme not in ("http", "https"):
        raise BenchError(f"--gateway must be an http:// URL, not {url!r}")
    # devstack always derives each service's address from its port; an *_ADDR in the real
    # environment (not .env, which may hold a template value) still wins, for a stack run by hand.
    grpc = {
        name: os.environ.get(f"{name.upper()}_ADDR") or grpc_loopback_target(getattr(ports, name))
        for name in GRPC_SERVICES
    }
    token = env.get("INTERNAL_TOKEN") or None
    if token is None:
        if not _truthy(env.get("DEBUG")):
            raise BenchError("INTERNAL_TOKEN is not set (and DEBUG is false, so there is no dev default)")
        token = DEV_INTERNAL_TOKEN
    try:
        login_rate_limit = int(env.get("LOGIN_RATE_LIMIT") or 5)
    except ValueError:
        raise BenchError(
            f"LOGIN_RATE_LIMIT must be a whole number, not {env['LOGIN_RATE_LIMIT']!r}"
        ) from None
    target = Target(url, grpc, token, max(login_rate_limit, 1), floor_env(env, ports, token))
    _require_loopback(target)
    return target


def floor_env(env: dict[str, str], ports: Ports, token: str) -> dict[str, str]:
    """The stack's environment, with the backing servers `make dev` starts when no URL is set."""
    env = dict(env) | {"INTERNAL_TOKEN": token}
    if not env.get("DATABASE_URL"):
        env["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:{ports.postgres}/{DATABASE_NAME}"
    if not env.get("REDIS_URL"):
        env["REDIS_URL"] = f"redis://127.0.0.1:{ports.redis}/0"
    if not env.get("AWS_S3_ENDPOINT_URL"):
        env["AWS_S3_ENDPOINT_URL"] = f"http://127.0.0.1:{ports.s3}"
        env["AWS_ACCESS_KEY_ID"] = env.get("AWS_ACCESS_KEY_ID") or "devstack"
        env["AWS_SECRET_ACCESS_KEY"] = env.get("AWS_SECRET_ACCESS_KEY") or "devstack"
    return env


def _require_loopback(target: Target) -> None:
    hosts = [("--gateway", target.gateway_host_port[0])]
    hosts += [
        (f"{name.upper()}_ADDR", addr.rsplit(":", 1)[0].strip("[]")) for name, addr in target.grpc.items()
    ]
    for source, host in hosts:
        if not is_loopback(host):
            raise BenchError(f"{source}: the bench only targets this machine (loopback), not {host!r}")


def is_loopback(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)
