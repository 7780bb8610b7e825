"""Child processes that never outlive the process that started them.

Each child runs in its own session (so a terminal's Ctrl-C reaches only the supervisor, which then
stops the children in order) and gets PR_SET_PDEATHSIG, so even a SIGKILLed supervisor leaves no
orphan. Stopping sends the child's own stop signal to its whole process group, waits, then SIGKILLs.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None

COLORS = ["\033[36m", "\033[35m", "\033[33m", "\033[32m", "\033[34m", "\033[31m", "\033[96m", "\033[95m"]
RESET = "\033[0m"


def _die_with_parent() -> None:
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def as_user(user: str | None) -> dict:
    """Popen arguments that drop to `user` with its own group and no supplementary root groups."""
    if user is None:
        return {}
    import pwd

    pw = pwd.getpwnam(user)
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}


@functools.cache
def grpc_loopback_host() -> str:
    """The loopback address the dev gRPC services bind: ::1 where this machine has IPv6 loopback.

    Where IPv6 works, gRPC binds an IPv4 address through a dual-stack IPv6 socket (listed as
    ::ffff:127.0.0.1), which tools that check listening sockets read as "not loopback"; ::1 is
    loopback to every tool. Without IPv6, gRPC binds 127.0.0.1 on a plain IPv4 socket."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return "127.0.0.1"
    return "::1"


def grpc_loopback_target(port: int) -> str:
    """The gRPC target of a dev service listening on `port` (see grpc_loopback_host)."""
    from services.common.grpc_client import grpc_target

    return grpc_target(grpc_loopback_host(), port)


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(taken: set[int] | frozenset[int] = frozenset()) -> int:
    return free_ports(1, taken)[0]


# Where free_ports picks: below Linux's ephemeral range (ip_local_port_range, 32768-60999 by
# default), from which the kernel takes the local port of every outgoing connection. A server
# picked from inside it may find its port taken, when it restarts, by a connection made meanwhile
# (or one in TIME_WAIT); the suite restarts servers on their ports all the time.
PICK_PORTS_FROM = range(20000, 32768)
# "LOW-HIGH" (inclusive): pick only there. The test suite gives each of its parallel processes a
# part of PICK_PORTS_FROM of its own (tests/conftest.py), inherited by the processes they start: a
# port one of them frees while a test has its server stopped is never picked by another meanwhile.
PORT_RANGE_VARIABLE = "DEVSTACK_PORT_RANGE"


def pick_ports_from() -> range:
    low, sep, high = os.environ.get(PORT_RANGE_VARIABLE, "").partition("-")
    if not sep:
        return PICK_PORTS_FROM
    try:
        return range(int(low), int(high) + 1)
    except ValueError:
        raise RuntimeError(f"{PORT_RANGE_VARIABLE} must be LOW-HIGH, not {low}{sep}{high!r}") from None


def _ephemeral_ports() -> range:
    try:
        low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        return range(32768, 61000)
    return range(low, high + 1)


def free_ports(count: int, taken: set[int] | frozenset[int] = frozenset()) -> list[int]:
    """`count` distinct free ports outside the ephemeral range: all held open at once while
    picking, so none is handed out twice; none of `taken` (ports given out but maybe not bound yet)."""
    ephemeral = _ephemeral_ports()
    pick_from = pick_ports_from()
    candidates = [p for p in pick_from if p not in ephemeral and p not in taken]
    random.shuffle(candidates)
    held: list[socket.socket] = []
    try:
        for port in candidates:
            if len({s.getsockname()[1] for s in held}) == count:
                break
            # Free on both loopbacks: the dev gRPC services listen on ::1 (grpc_loopback_host),
            # where another stack's service may hold a port that 127.0.0.1 shows free.
            pair = [socket.socket(socket.AF_INET, socket.SOCK_STREAM)]
            if grpc_loopback_host() == "::1":
                pair.append(socket.socket(socket.AF_INET6, socket.SOCK_STREAM))
            try:
                for s in pair:
                    s.bind(("127.0.0.1" if s.family == socket.AF_INET else "::1", port))
            except OSError:
                for s in pair:
                    s.close()
                continue
            held.extend(pair)
        if len(held) < count * (2 if grpc_loopback_host() == "::1" else 1):
            raise RuntimeError(f"fewer than {count} free ports in {pick_from}")
        return [s.getsockname()[1] for s in held if s.family == socket.AF_INET]
    finally:
        for s in held:
            s.close()


def wait_for_port(
    port: int, timeout_s: float, proc: ManagedProcess | None = None, host: str = "127.0.0.1"
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and not proc.running:
            raise RuntimeError(f"{proc.name} exited with code {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout_s:.0f} s")


class ManagedProcess:
    """One child process; its output goes to a prefixed console stream or to a log file."""

    _color = 0

    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
        stop_signal: int = signal.SIGTERM,
        log_file: Path | None = None,
        console: IO[str] | None = None,
    ):
        self.name = name
        self.argv = argv
        self.env = env
        self.cwd = cwd
        self.user = user
        self.stop_signal = stop_signal
        self.log_file = log_file
        self.console = console
        self.popen: subprocess.Popen | None = None
        self._pump: threading.Thread | None = None
        self.color = COLORS[ManagedProcess._color % len(COLORS)]
        ManagedProcess._color += 1

    def start(self) -> ManagedProcess:
        log: IO[bytes] | None = None
        if self.log_file is not None:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            log = open(self.log_file, "ab")  # noqa: SIM115 - owned by the child
        self.popen = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=self.cwd,
            **as_user(self.user),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if log is None else log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        if log is None:
            self._pump = threading.Thread(target=self._copy_output, name=f"log-{self.name}", daemon=True)
            self._pump.start()
        else:
            log.close()
        return self

    def _copy_output(self) -> None:
        assert self.popen is not None and self.popen.stdout is not None
        stream = self.console or sys.stdout
        tty = stream.isatty()
        prefix = f"{self.color}{self.name:>9} |{RESET} " if tty else f"{self.name:>9} | "
        for raw in iter(self.popen.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            try:
                stream.write(prefix + line + "\n")
                stream.flush()
            except (ValueError, OSError):
                break

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.popen.poll() if self.popen else None

    def signal_group(self, sig: int) -> None:
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, sig)

    def stop(self, timeout_s: float = 15.0) -> None:
        """Ask politely, then insist; always reap, so nothing is left behind."""
        if self.popen is None:
            return
        if self.running:
            self.signal_group(self.stop_signal)
            try:
                self.popen.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.signal_group(signal.SIGKILL)
                self.popen.wait(5)
        # Grandchildren (an RQ work horse, say) may still hold the group.
        self.signal_group(signal.SIGKILL)
        if self._pump is not None:
            self._pump.join(2)

    def kill(self) -> None:
        """SIGKILL the whole group at once, as a crash would."""
        self.signal_group(signal.SIGKILL)
        if self.popen is not None:
            self.popen.wait(10)


def stop_all(
    processes: list[ManagedProcess], timeout_s: float = 15.0, on_stop: Callable[[str], None] = print
) -> None:
    """Stop in reverse start order: apps before the servers they use."""
    for proc in reversed(processes):
        if proc.running:
            on_stop(f"stopping {proc.name}")
        proc.stop(timeout_s)
