"""The S3 server devstack runs: moto's S3 over HTTP, kept on disk when given a directory.

    python -m devstack.s3_server --host 127.0.0.1 --port 19000 [--data-dir .data/s3]

Without --data-dir it is moto's server as `python -m moto.server` runs it: everything in memory (the
test stack). With it, the state in that directory is loaded before the port opens, written back
SAVE_DELAY_S after a change (so a SIGKILL loses at most the last moment's changes) and once more on
SIGTERM/SIGINT (see devstack/s3_snapshot.py for what is kept and how).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

# Seconds between a change and its write: a burst of requests (a multipart upload) is written once.
SAVE_DELAY_S = 0.5
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class SnapshotLock:
    """Requests share it; a snapshot takes it alone, so it never pickles a backend mid-change.

    A waiting snapshot holds back new requests, so a steady stream of them cannot starve it.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._requests = 0
        self._snapshot = False

    @contextlib.contextmanager
    def request(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._snapshot)
            self._requests += 1
        try:
            yield
        finally:
            with self._cond:
                self._requests -= 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._snapshot)
            self._snapshot = True
            self._cond.wait_for(lambda: self._requests == 0)
        try:
            yield
        finally:
            with self._cond:
                self._snapshot = False
                self._cond.notify_all()


class PersistedS3:
    """moto's WSGI app, noting every request that may change state, and the thread that saves it."""

    def __init__(self, app: WSGIApplication, data_dir: Path) -> None:
        self.app = app
        self.data_dir = data_dir
        self.lock = SnapshotLock()
        self.changed = threading.Event()
        self.stopping = threading.Event()
        self.saver = threading.Thread(target=self._save_after_changes, name="s3-snapshot", daemon=True)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        with self.lock.request():
            response = self.app(environ, start_response)
        if environ.get("REQUEST_METHOD") not in READ_ONLY_METHODS:
            self.changed.set()
        return response

    def _save_after_changes(self) -> None:
        while self.changed.wait() and not self.stopping.is_set():
            time.sleep(SAVE_DELAY_S)
            self.save()

    def save(self) -> None:
        from devstack import s3_snapshot

        self.changed.clear()
        try:
            with self.lock.snapshot():
                s3_snapshot.save(self.data_dir)
        except Exception as exc:  # noqa: BLE001 - keep serving; the next change tries again
            say(f"could not write the S3 snapshot to {self.data_dir}: {exc!r}")
            self.changed.set()
            time.sleep(1)

    def close(self) -> None:
        """Stop saving in the background and write the final state."""
        self.stopping.set()
        self.changed.set()  # wakes the saver, which sees stopping
        self.saver.join(30)
        self.save()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack.s3_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, help="keep the S3 state here (default: memory only)")
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))  # what moto.server sets for the URLs it builds

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    from devstack import s3_snapshot
    from services.common.logging import configure_logging

    # werkzeug logs each request line, presigned query strings included: through the one logging
    # setup, whose filter redacts them like every other process's.
    configure_logging("s3", os.environ.get("LOG_LEVEL", "INFO"), os.environ.get("LOG_FORMAT", "text"))
    app: WSGIApplication = DomainDispatcherApplication(create_backend_app)
    persisted = None
    if args.data_dir is not None:
        args.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            if s3_snapshot.load(args.data_dir):
                say(f"loaded the S3 state kept in {args.data_dir}")
        except s3_snapshot.SnapshotError as exc:
            say(f"{exc}; move {args.data_dir} away to start with an empty S3")
            raise SystemExit(2) from None
        app = persisted = PersistedS3(app, args.data_dir)
    server = make_server(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    serving = threading.Thread(target=server.serve_forever, name="s3-http", daemon=True)
    serving.start()
    if persisted is not None:
        persisted.saver.start()
    say(f"S3 (moto) on http://{args.host}:{args.port}" + (f", kept in {args.data_dir}" if persisted else ""))
    stop.wait()
    server.shutdown()
    if persisted is not None:
        persisted.close()


if __name__ == "__main__":
    main()
