"""Scratch space inside the job's workdir, and outputs that appear only when complete."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from services.jobs.media_types import JobIO


@contextmanager
def scratch(io: JobIO, prefix: str) -> Iterator[Path]:
    """A private directory under io.workdir, removed afterwards: steps of one job may share the
    workdir, and a long job should not keep every intermediate file until it ends."""
    io.workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=prefix, dir=io.workdir) as path:
        yield Path(path)


@contextmanager
def atomic_output(out: Path) -> Iterator[Path]:
    """Yield a path to write instead of `out`; it is renamed onto `out` only when the block
    succeeds, so a failed or cancelled render never leaves a truncated file under the real name."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.stem}.partial{out.suffix}")
    try:
        yield partial
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, out)
