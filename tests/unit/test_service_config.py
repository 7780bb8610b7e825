"""The service config every channel carries: round-robin, a retry policy on UNAVAILABLE for the
idempotent methods only, and every method of every proto placed on purpose in one list or the other."""

from __future__ import annotations

import json

from services.common import grpc_client, service_config
from services.common.service_config import IDEMPOTENT_WRITES, NOT_RETRIED, all_methods, is_read


def test_every_method_is_either_retried_or_not_retried_on_purpose():
    unplaced = [
        m for m in all_methods() if not is_read(m) and m not in IDEMPOTENT_WRITES and m not in NOT_RETRIED
    ]
    assert unplaced == [], f"place these in IDEMPOTENT_WRITES or NOT_RETRIED: {unplaced}"
    both = [m for m in all_methods() if (is_read(m) or m in IDEMPOTENT_WRITES) and m in NOT_RETRIED]
    assert both == []
    # No stale names: every listed method exists.
    assert set(IDEMPOTENT_WRITES) | set(NOT_RETRIED) <= set(all_methods())


def test_reads_and_idempotent_writes_are_retried_and_creates_are_not():
    retried = set(service_config.retried_methods())
    for method in (
        "zapcut.accounts.v1.Accounts/Authenticate",
        "zapcut.accounts.v1.Accounts/ListBrands",
        "zapcut.accounts.v1.Accounts/GetProject",
        "zapcut.accounts.v1.Accounts/ChargeGeneration",
        "zapcut.media.v1.Media/PresignDownloads",
        "zapcut.media.v1.Media/ConfirmUpload",
        "zapcut.jobs.v1.Jobs/GetGeneration",
        "zapcut.jobs.v1.Jobs/StartGeneration",
    ):
        assert method in retried, method
    for method in (
        "zapcut.accounts.v1.Accounts/SignUp",
        "zapcut.accounts.v1.Accounts/CreateBrand",
        "zapcut.accounts.v1.Accounts/AddMessage",
        "zapcut.accounts.v1.Accounts/ReplyToMessage",
        "zapcut.jobs.v1.Jobs/CreateJob",
        "zapcut.media.v1.Media/UploadObject",
    ):
        assert method not in retried, method


def test_every_channel_carries_round_robin_and_the_retry_policy():
    options = dict(grpc_client.CHANNEL_OPTIONS)
    assert options["grpc.enable_retries"] == 1
    config = json.loads(str(options["grpc.service_config"]))
    assert config["loadBalancingConfig"] == [{"round_robin": {}}]
    [method_config] = config["methodConfig"]
    policy = method_config["retryPolicy"]
    assert policy["retryableStatusCodes"] == ["UNAVAILABLE", "CANCELLED"]
    assert 2 <= policy["maxAttempts"] <= 5  # gRPC caps attempts at 5
    named = {f"{n['service']}/{n['method']}" for n in method_config["name"]}
    assert named == set(service_config.retried_methods())
    # Every entry names a method: an entry with a service alone would retry the whole service.
    assert all(n.get("method") for n in method_config["name"])
