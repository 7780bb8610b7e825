"""moto's S3 state on disk: what `make dev`'s S3 server loads at start and writes back after changes.

The snapshot is moto's own S3 backend objects, pickled (moto's FakeKey defines __getstate__ /
__setstate__ for exactly this), so everything moto knows survives: buckets, versioning, every object
version with its version id, delete markers, multipart uploads in progress, lifecycle rules, tags.
Object bytes are kept apart, one file per distinct content under blobs/ (named by SHA-256), so a
change rewrites only the small state file and the new objects, never every object again.

Layout of the directory:
    state.pickle   format, moto version, and each account's backend (object bytes as blob references)
    blobs/<sha256> object contents
A write goes to a temporary file that is then renamed over the old one, blobs before the state that
refers to them, so a crash at any point leaves the previous snapshot or the new one, whole.
Loading a pickle runs code named in it: this reads only the directory devstack itself writes
(.data/s3 of the checkout, or DEV_DATA_DIR), like the Postgres and valkey data next to it.
"""

from __future__ import annotations

import contextlib
import copyreg
import hashlib
import io
import os
import pickle
import tempfile
from pathlib import Path

import moto
from moto.s3.models import FakeKey, s3_backends
from moto.s3.utils import _VersionedKeyStore

FORMAT = 1
STATE_FILE = "state.pickle"
BLOBS = "blobs"
# Set on each FakeKey once its bytes are in a blob. moto never changes a key's bytes after creating
# it (a new version is a new FakeKey), so the name stays right and each object is hashed once.
_BLOB_ATTR = "_devstack_blob"
# The constructor pickle protocol 2 rebuilds objects with; typeshed does not declare it.
_NEWOBJ = copyreg.__newobj__  # type: ignore[attr-defined]


class SnapshotError(Exception):
    """The snapshot on disk cannot be read by this moto."""


class _BlobRef:
    def __init__(self, name: str):
        self.name = name


class _Pickler(pickle.Pickler):
    def __init__(self, file, blob_dir: Path):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.blob_dir = blob_dir
        self.blobs: set[str] = set()

    def reducer_override(self, obj):
        if isinstance(obj, FakeKey):
            # What FakeKey.__getstate__ keeps, without reading the bytes again when a blob has them.
            state = {k: v for k, v in obj.__dict__.items() if k not in ("_value_buffer", "lock")}
            name = state.get(_BLOB_ATTR)
            if name is None or not (self.blob_dir / name).exists():
                name = _write_blob(self.blob_dir, _value(obj))
                setattr(obj, _BLOB_ATTR, name)
                state[_BLOB_ATTR] = name
            state["value"] = _BlobRef(name)
            self.blobs.add(name)
            # Rebuilt with FakeKey.__new__ and its own __setstate__, which gets the bytes back.
            return _NEWOBJ, (type(obj),), state
        if isinstance(obj, _VersionedKeyStore):
            # Its items() yield only each key's latest version; pickle would keep just those.
            versions = {name: list(keys) for name, keys in dict.items(obj)}
            return _NEWOBJ, (type(obj),), versions, None, None, _set_versions
        return NotImplemented

    def persistent_id(self, obj):
        return obj.name if isinstance(obj, _BlobRef) else None


def _set_versions(store: _VersionedKeyStore, versions: dict[str, list]) -> None:
    dict.update(store, versions)


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, blob_dir: Path):
        super().__init__(file)
        self.blob_dir = blob_dir

    def persistent_load(self, pid):
        return (self.blob_dir / pid).read_bytes()


def _value(key: FakeKey) -> bytes:
    try:
        return key.value
    except ValueError:  # its buffer was closed: a deleted key still referenced (as moto does too)
        return b""


def _write_blob(blob_dir: Path, data: bytes) -> str:
    name = hashlib.sha256(data).hexdigest()
    path = blob_dir / name
    if not path.exists():
        _write_atomically(path, data)
    return name


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _backends() -> dict[tuple[str, str], object]:
    return {
        (account_id, region): backend
        for account_id, per_region in s3_backends.items()
        for region, backend in per_region.items()
    }


def save(directory: Path) -> int:
    """Write the S3 state of this process to `directory`; returns how many objects it holds.

    The caller keeps requests out while this runs (a backend changing under pickle is torn).
    """
    blob_dir = directory / BLOBS
    blob_dir.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    pickler = _Pickler(buffer, blob_dir)
    pickler.dump(
        {
            "format": FORMAT,
            "moto": moto.__version__,
            "backends": {key: backend.__dict__ for key, backend in _backends().items()},
        }
    )
    _write_atomically(directory / STATE_FILE, buffer.getvalue())
    # Only now that the new state is in place may blobs it no longer refers to go.
    for path in blob_dir.iterdir():
        if path.name not in pickler.blobs and not path.name.startswith(".tmp-"):
            path.unlink(missing_ok=True)
    return len(pickler.blobs)


def load(directory: Path) -> bool:
    """Load the snapshot in `directory` into this process's moto, if there is one."""
    path = directory / STATE_FILE
    if not path.exists():
        return False
    try:
        with path.open("rb") as f:
            snapshot = _Unpickler(f, directory / BLOBS).load()
        if snapshot.get("format") != FORMAT:
            raise ValueError(f"unknown format {snapshot.get('format')!r}")
    except Exception as exc:
        raise SnapshotError(f"cannot read {path} with moto {moto.__version__}: {exc!r}") from exc
    for (account_id, region), state in snapshot["backends"].items():
        backend = s3_backends[account_id][region]
        backend.__dict__.clear()
        backend.__dict__.update(state)
    return True
