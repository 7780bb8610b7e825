"""A second accounts process, configured differently from the stack's, with a gateway in front of it
(media and jobs stay the stack's): for tests of settings the shared stack must not carry (a language
model, limits low enough to reach)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from devstack.processes import (
    ManagedProcess,
    free_port,
    grpc_loopback_host,
    grpc_loopback_target,
    stop_all,
    wait_for_port,
)
from devstack.stack import GATEWAY_UVICORN_OPTIONS, ROOT
from tests.support.api import register_database


@contextlib.contextmanager
def accounts_behind_a_gateway(stack, name: str, settings: dict[str, str]) -> Iterator[tuple[int, int]]:
    """Start `accounts-{name}` with `settings` over the stack's environment and `gateway-{name}` in
    front of it; yields (accounts port, gateway port) and stops both afterwards."""
    accounts_port, gateway_port = free_port(), free_port()
    env = stack.app_env() | settings
    env |= {
        "ACCOUNTS_PORT": str(accounts_port),
        "ACCOUNTS_ADDR": grpc_loopback_target(accounts_port),
        "PORT": str(gateway_port),
    }
    commands = {
        f"accounts-{name}": ([sys.executable, "-m", "services.accounts"], accounts_port, grpc_loopback_host()),
        f"gateway-{name}": (
            [sys.executable, "-m", "uvicorn", "services.gateway.main:app", "--host", "127.0.0.1",
             "--port", str(gateway_port), "--no-access-log"],
            gateway_port,
            "127.0.0.1",
        ),
    }  # fmt: skip
    started: list[ManagedProcess] = []
    try:
        for process_name, (argv, port, host) in commands.items():
            process = ManagedProcess(
                process_name, argv, env=env, cwd=ROOT, log_file=stack.log_dir / f"{process_name}.log"
            )
            started.append(process.start())
            wait_for_port(port, 60, process, host)
        register_database(f"http://127.0.0.1:{gateway_port}", env["DATABASE_URL"])
        yield accounts_port, gateway_port
    finally:
        stop_all(started, on_stop=lambda _message: None)


@contextlib.contextmanager
def another_gateway(stack, name: str, settings: dict[str, str]) -> Iterator[tuple[int, ManagedProcess]]:
    """A second gateway process `gateway-{name}` in front of the stack's services, with `settings`
    over the stack's environment; yields (its port, the process) and stops it afterwards."""
    port = free_port()
    env = stack.app_env() | settings | {"PORT": str(port)}
    argv = [sys.executable, "-m", "uvicorn", "services.gateway.main:app", "--host", "127.0.0.1",
            "--port", str(port), *GATEWAY_UVICORN_OPTIONS]  # fmt: skip
    process = ManagedProcess(
        f"gateway-{name}", argv, env=env, cwd=ROOT, log_file=stack.log_dir / f"gateway-{name}.log"
    )
    try:
        process.start()
        wait_for_port(port, 60, process, "127.0.0.1")
        yield port, process
    finally:
        stop_all([process], on_stop=lambda _message: None)
