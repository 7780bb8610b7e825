"""Keeps `make dev` running: a process that dies is started again, the stack stops only for good reason.

A dead process (an app, or a server devstack started: postgres, valkey, s3) is restarted with the
same command, port and data after a pause that doubles with each death (1 s, 2 s, 4 s, ...). One that
dies RESTART_LIMIT times within RESTART_WINDOW_S is not going to get better by itself: then
everything stops, with one line naming it.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from devstack.processes import ManagedProcess
from devstack.stack import Stack

RESTART_LIMIT = 5  # deaths of one process within RESTART_WINDOW_S that stop the stack
RESTART_WINDOW_S = 60.0
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
POLL_S = 0.5  # how often processes are looked at


@dataclass
class RestartPolicy:
    limit: int = RESTART_LIMIT
    window_s: float = RESTART_WINDOW_S
    first_backoff_s: float = FIRST_BACKOFF_S
    max_backoff_s: float = MAX_BACKOFF_S
    deaths: dict[str, deque[float]] = field(default_factory=dict)

    def died(self, name: str, now: float) -> float | None:
        """Seconds to wait before restarting `name`, or None when it died too often to go on."""
        recent = self.deaths.setdefault(name, deque())
        recent.append(now)
        while recent[0] <= now - self.window_s:
            recent.popleft()
        if len(recent) >= self.limit:
            return None
        return min(self.first_backoff_s * 2 ** (len(recent) - 1), self.max_backoff_s)

    def recent_deaths(self, name: str) -> int:
        return len(self.deaths.get(name, ()))


def supervise(
    stack: Stack, stop: threading.Event, say: Callable[[str], None], policy: RestartPolicy | None = None
) -> int:
    """Watch every process until `stop` is set (0) or one dies too often (1)."""
    policy = policy or RestartPolicy()
    due: dict[ManagedProcess, float] = {}  # dead processes and when to start them again
    while not stop.is_set():
        now = time.monotonic()
        for proc in stack.all_processes():
            if proc in due or proc.running:
                continue
            delay = policy.died(proc.name, now)
            if delay is None:
                say(
                    f"{proc.name} {exit_status(proc.returncode)}, its {ordinal(policy.limit)} death within "
                    f"{policy.window_s:g} s; stopping everything"
                )
                return 1
            restarts = policy.recent_deaths(proc.name)
            say(
                f"{proc.name} {exit_status(proc.returncode)}; restarting in {delay:g} s "
                f"({ordinal(restarts)} restart in the last {policy.window_s:g} s)"
            )
            due[proc] = now + delay
        for proc, at in list(due.items()):
            if at <= now:
                del due[proc]
                try:
                    stack.restart(proc)
                except OSError as exc:  # its program is gone, say: no point in trying again
                    say(f"could not restart {proc.name}: {exc}; stopping everything")
                    return 1
                say(f"restarted {proc.name} (pid {proc.pid})")
        wait = min([POLL_S, *(at - now for at in due.values())])
        stop.wait(max(wait, 0.01))
    return 0


def exit_status(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            pass
    return f"exited with code {code}"


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
