"""Ports devstack picks for servers: inside the range DEVSTACK_PORT_RANGE names, which the test suite
sets per pytest-xdist worker (tests/conftest.py) so that no two workers pick the same port."""

from __future__ import annotations

import pytest

from devstack import processes


def test_ports_are_picked_inside_the_range_named(monkeypatch):
    monkeypatch.setenv(processes.PORT_RANGE_VARIABLE, "21000-21049")
    ports = processes.free_ports(5)
    assert len(set(ports)) == 5 and all(21000 <= p <= 21049 for p in ports)


def test_without_a_range_the_whole_default_one_is_used(monkeypatch):
    monkeypatch.delenv(processes.PORT_RANGE_VARIABLE, raising=False)
    assert processes.pick_ports_from() == processes.PICK_PORTS_FROM


def test_a_malformed_range_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(processes.PORT_RANGE_VARIABLE, "low-high")
    with pytest.raises(RuntimeError, match="DEVSTACK_PORT_RANGE must be LOW-HIGH"):
        processes.pick_ports_from()


def test_each_test_worker_has_a_part_of_its_own(monkeypatch):
    """What tests/conftest.py set for this process, when it is an xdist worker: a part of the default."""
    chosen = processes.pick_ports_from()
    assert chosen.start >= processes.PICK_PORTS_FROM.start and chosen.stop <= processes.PICK_PORTS_FROM.stop
