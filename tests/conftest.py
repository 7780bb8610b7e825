"""What every test process shares, unit and integration alike.

One temporary directory per `pytest` run (its path in ZAPCUT_TEST_RUN_DIR), made by the process that
runs the session and inherited by pytest-xdist's workers through the environment: each worker's stack
keeps its data and logs in `<run dir>/<worker>`. It is removed at the end, unless KEEP_TEST_LOGS is
set, when its path is printed instead.
"""

from __future__ import annotations

import os

# The suite forks processes (the stack's apps, restarted by tests) while its gRPC channels are open;
# gRPC's at-fork handlers would run in those children. Set before anything imports grpc.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
import shutil
import tempfile

from devstack.processes import PICK_PORTS_FROM, PORT_RANGE_VARIABLE

# Each pytest-xdist worker picks its servers' ports from a part of devstack's range of its own (and
# so do the processes it starts): tests stop a server and start it again on its port, and another
# worker starting a server meanwhile must not take that port.
if (worker := os.environ.get("PYTEST_XDIST_WORKER", "")).startswith("gw"):
    _share = len(PICK_PORTS_FROM) // max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    _low = PICK_PORTS_FROM.start + int(worker[2:]) * _share
    os.environ[PORT_RANGE_VARIABLE] = f"{_low}-{_low + _share - 1}"

RUN_DIR_VARIABLE = "ZAPCUT_TEST_RUN_DIR"
# make test gives each pytest-xdist worker whole modules (--dist loadfile: a module's fixtures are
# set up once), in collection order. These tests/integration modules take the longest (most of a minute each, from
# --durations): first, longest first, so that the run does not end with one worker still busy with
# one of them while the others have nothing left to do.
LONGEST_MODULES = (
    "test_replicas.py",
    "test_worker_recovery.py",
    "test_devstack.py",
    "test_api_assistant.py",
    "test_cascades.py",
    "test_api_brands_files.py",
    "test_jobs.py",
    "test_generation.py",
    "test_config_and_logging.py",
    "test_migrations.py",
)


def _is_xdist_worker(config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config):
    if not _is_xdist_worker(config):
        os.environ[RUN_DIR_VARIABLE] = tempfile.mkdtemp(prefix="zapcut-test-")


def pytest_terminal_summary(terminalreporter, config):
    if os.environ.get("KEEP_TEST_LOGS") and not _is_xdist_worker(config):
        terminalreporter.write_line(f"test stack logs kept in {os.environ[RUN_DIR_VARIABLE]}/*/logs")


def pytest_unconfigure(config):
    if not _is_xdist_worker(config) and not os.environ.get("KEEP_TEST_LOGS"):
        shutil.rmtree(os.environ.pop(RUN_DIR_VARIABLE), ignore_errors=True)


def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        name = item.path.name
        if item.path.parent.name == "integration" and name in LONGEST_MODULES:
            return LONGEST_MODULES.index(name)
        return len(LONGEST_MODULES)

    items.sort(key=rank)


def pytest_sessionfinish(session, exitstatus):
    # pytest's exit 5 ("no tests collected") must fail CI rather than pass silently.
    if exitstatus == 5:
        session.exitstatus = 1
