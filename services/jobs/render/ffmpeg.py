"""Running the ffmpeg binary from the imageio-ffmpeg wheel.

ffmpeg runs in its own process group, so cancelling kills it and anything it started, and it gets
SIGKILL when the thread that started it dies (a work horse killed by RQ must not leave an encoder
burning CPU). While it runs, the job's checkpoint is called every POLL_S seconds; when it raises
(Cancelled), ffmpeg is killed and the exception propagates.
"""

from __future__ import annotations

import collections
import ctypes
import functools
import logging
import math
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import imageio_ffmpeg

from services.jobs.media_types import JobIO, PermanentProviderError, TransientProviderError

log = logging.getLogger(__name__)

POLL_S = 0.5
STDERR_LINES = 25  # what a failure message quotes from ffmpeg's own words
KILL_WAIT_S = 5.0
CRASH_ATTEMPTS = 2
_PR_SET_PDEATHSIG = 1


class FFmpegError(PermanentProviderError):
    """ffmpeg failed; the message names the step and quotes ffmpeg's last error lines."""


@functools.cache
def executable() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


@functools.cache
def cpu_count() -> int:
    """The CPUs this process may use: its affinity (a container's cpuset), further capped by a
    cgroup v2 CPU quota (a Kubernetes CPU limit), which the core count alone does not show."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        pass
    return max(1, cpus)


def encoder_threads() -> int:
    """x264's own rule (1.5 threads a CPU), applied to the CPUs we may really use."""
    return max(1, cpu_count() * 3 // 2)


@functools.cache
def _prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _die_with_parent() -> None:  # runs in the child between fork and exec
    prctl = _prctl()
    if prctl is not None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def run(
    io: JobIO,
    args: list[str],
    *,
    what: str,
    duration_s: float | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> None:
    """Run `ffmpeg <args>` to completion. `what` names the step in errors ("rendering scene 2").
    With duration_s, on_progress gets the fraction of the output written so far (0..1).

    ffmpeg failing on its own (bad input, a bad graph) is an FFmpegError, permanent. ffmpeg dying
    by a signal it was not sent (a crash in one of its threads, the OOM killer) is run once more,
    then reported as a TransientProviderError, which the pipeline retries with backoff."""
    for attempt in range(1, CRASH_ATTEMPTS + 1):
        returncode, said = _run_once(io, args, what, duration_s, on_progress)
        if returncode == 0:
            return
        message = _failure(what, returncode, said)
        if returncode > 0:
            raise FFmpegError(message)
        log.warning("%s (attempt %d of %d)", message, attempt, CRASH_ATTEMPTS)
    raise TransientProviderError(message)


def _run_once(
    io: JobIO,
    args: list[str],
    what: str,
    duration_s: float | None,
    on_progress: Callable[[float], None] | None,
) -> tuple[int, collections.deque[str]]:
    cmd = [executable(), "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-progress", "pipe:1"]
    _prctl()  # resolved here: the child must not load libraries between fork and exec
    try:
        proc = subprocess.Popen(
            [*cmd, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    except OSError as exc:
        raise FFmpegError(f"{what}: cannot start ffmpeg ({exc})") from exc

    written_s = [0.0]
    stderr_tail: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)
    readers = [
        threading.Thread(target=_read_progress, args=(proc.stdout, written_s), daemon=True),
        threading.Thread(target=_read_lines, args=(proc.stderr, stderr_tail), daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        while True:
            try:
                proc.wait(timeout=POLL_S)
                break
            except subprocess.TimeoutExpired:
                pass
            io.checkpoint()
            if on_progress is not None and duration_s:
                on_progress(min(1.0, written_s[0] / duration_s))
    except BaseException:
        kill(proc)
        raise
    finally:
        for reader in readers:
            reader.join(timeout=KILL_WAIT_S)
    return proc.returncode, stderr_tail


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL ffmpeg's whole process group and reap it."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=KILL_WAIT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _failure(what: str, returncode: int, stderr_tail: collections.deque[str]) -> str:
    """`rendering scene 2 failed: ffmpeg exited with status 1: <its last error lines>`."""
    if returncode < 0:
        try:
            how = f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            how = f"was killed by signal {-returncode}"
    else:
        how = f"exited with status {returncode}"
    said = " | ".join(line for line in stderr_tail if line) or "no error output"
    return f"{what} failed: ffmpeg {how}: {said}"


def _read_progress(stream, written_s: list[float]) -> None:
    # `-progress` writes key=value lines; out_time_us is how much output has been written.
    for raw in stream:
        key, _, value = raw.decode("ascii", "replace").strip().partition("=")
        if key == "out_time_us" and value.isdigit():
            written_s[0] = int(value) / 1_000_000
    stream.close()


def _read_lines(stream, tail: collections.deque[str]) -> None:
    for raw in stream:
        tail.append(raw.decode("utf-8", "replace").strip())
    stream.close()
