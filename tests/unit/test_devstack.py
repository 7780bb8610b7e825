"""The restart policy of `make dev`'s supervisor, as a plain unit test. make dev itself, run as a
user runs it: tests/integration/test_devstack.py."""

from __future__ import annotations

from devstack.supervisor import RestartPolicy


def test_restart_policy_backs_off_then_gives_up():
    policy = RestartPolicy(limit=5, window_s=60, first_backoff_s=1)
    assert [policy.died("accounts", t) for t in (0, 1, 3, 7)] == [1, 2, 4, 8]
    assert policy.died("media", 8) == 1  # counted per process
    assert policy.died("accounts", 15) is None  # the 5th death within 60 s
    # Deaths older than the window no longer count.
    calm = RestartPolicy(limit=5, window_s=60, first_backoff_s=1)
    assert [calm.died("jobs", t) for t in (0, 1, 2, 3)] == [1, 2, 4, 8]
    assert calm.died("jobs", 70) == 1
