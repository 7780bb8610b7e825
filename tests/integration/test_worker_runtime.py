"""A work horse takes over the runtime its worker made before forking (services/jobs/runtime.py):
the same settings and engine, so no job pays for loading and initialising the database dialect
again (0.3-0.4 s a job before), with connections of its own, and the worker's left working."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from devstack.stack import ROOT

HORSE = textwrap.dedent(
    """
    import os
    from services.jobs.runtime import runtime

    worker = runtime()
    with worker.engine.connect() as conn:  # the worker's pooled connection, open across the fork
        conn.exec_driver_sql("select 1")
    pid = os.fork()
    if pid == 0:
        horse = runtime()
        with horse.engine.connect() as conn:
            conn.exec_driver_sql("select 1")
        horse.redis.ping()
        took_over = horse is not worker and horse.engine is worker.engine and horse.settings is worker.settings
        os._exit(0 if took_over else 3)
    _, status = os.waitpid(pid, 0)
    with worker.engine.connect() as conn:  # still the worker's, untouched by the horse
        conn.exec_driver_sql("select 1")
    worker.redis.ping()
    print("horse exit", os.waitstatus_to_exitcode(status))
    """
)


def test_a_work_horse_takes_over_its_workers_runtime(stack):
    done = subprocess.run(
        [sys.executable, "-c", HORSE],
        env=stack.app_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "horse exit 0", done.stdout + done.stderr
