"""Webhooks to users' endpoints, the pure parts: which URLs and addresses are allowed, the retry
schedule, the secrets at rest, the signature, and the routes that must not shadow Replicate's."""

from __future__ import annotations

import ipaddress
import random
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import InvalidToken
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from services.common.errors import InvalidArgument
from services.jobs.webhooks import backoff
from services.jobs.webhooks.addresses import RefusedAddress, check_url, is_public, parse
from services.jobs.webhooks.secrets_box import SecretBox, new_secret
from services.jobs.webhooks.sending import encode, host_header, pinned_url, signed_headers

NOT_PUBLIC = [
    "127.0.0.1",  # loopback
    "127.8.9.10",
    "10.0.0.1",  # RFC 1918
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",  # link-local: cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",  # unspecified
    "224.0.0.1",  # multicast
    "255.255.255.255",
    "192.0.2.10",  # documentation
    "198.18.0.1",  # benchmarking
    "::1",
    "::",
    "fe80::1",  # link-local
    "fd00:ec2::254",  # unique-local (AWS's IPv6 metadata address)
    "fc00::5",
    "ff02::1",  # multicast (Python calls it global)
    "::ffff:10.0.0.1",  # IPv4-mapped private
    "::ffff:127.0.0.1",
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "2002:a00:1::",  # 6to4 of 10.0.0.1
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "64:ff9b::808:808"]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_addresses_inside_any_network_of_ours_are_not_public(address):
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are(address):
    assert is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "https://10.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hook",
        "https://[fd00:ec2::254]/",
        "https://100.64.1.2/",
        "https://[::ffff:192.168.0.1]/",
        "https://localhost/hook",
        "https://metadata.google.internal/",
        "http://93.184.216.34/hook",  # public, but not https
        "ftp://93.184.216.34/",
        "https://user:pass@93.184.216.34/",
        "https:///nohost",
        "https://93.184.216.34/a b",
        "https://93.184.216.34/#frag",
        "https://93.184.216.34:99999/",
        "https://93.184.216.34/" + "a" * 2100,
    ],
)
def test_urls_refused_in_production(url):
    with pytest.raises(InvalidArgument, match="^url "):
        check_url(url, allow_loopback=False)


def test_a_public_https_url_is_accepted_by_address():
    target = check_url("https://93.184.216.34:8443/hooks?x=1", allow_loopback=False)
    assert (target.scheme, target.host, target.port) == ("https", "93.184.216.34", 8443)


def test_loopback_by_address_only_when_allowed():
    assert parse("http://127.0.0.1:8080/hook", allow_loopback=True).port == 8080
    assert parse("http://[::1]:8080/hook", allow_loopback=True).host == "::1"
    # Still never a private network, nor loopback by name, nor another loopback address.
    for url in (
        "http://10.0.0.1/",
        "http://localhost:8080/",
        "http://127.0.0.2:8080/",
        "http://93.184.216.34/",
    ):
        with pytest.raises(RefusedAddress):
            parse(url, allow_loopback=True)


def test_a_name_that_resolves_to_loopback_is_refused():
    with pytest.raises(InvalidArgument, match="localhost"):
        check_url("https://localhost./hook", allow_loopback=False)


def test_an_attempt_connects_to_the_checked_address_with_the_name_as_host():
    target = parse("https://hooks.example.com/in/zapcut?tenant=7", allow_loopback=False)
    ip = ipaddress.ip_address("93.184.216.34")
    assert pinned_url(target, ip) == "https://93.184.216.34:443/in/zapcut?tenant=7"
    assert host_header(target) == "hooks.example.com"
    v6 = parse("https://hooks.example.com:8443", allow_loopback=False)
    assert pinned_url(v6, ipaddress.ip_address("2606:4700::1")) == "https://[2606:4700::1]:8443/"
    assert host_header(v6) == "hooks.example.com:8443"


def test_backoff_doubles_with_jitter_up_to_its_cap():
    rng = random.Random(7)
    for failures, ceiling in [(1, 10), (2, 20), (3, 40), (8, 1280), (9, 2560), (10, 3600), (40, 3600)]:
        for _ in range(50):
            delay = backoff.delay_s(failures, 10, 3600, rng)
            assert ceiling / 2 <= delay <= ceiling, (failures, delay)


def test_backoff_spreads_retries():
    rng = random.Random(1)
    assert len({round(backoff.delay_s(5, 10, 3600, rng), 3) for _ in range(20)}) > 15


def test_no_attempt_is_scheduled_past_the_window():
    created = datetime(2026, 12, 1, tzinfo=UTC)
    args = {"base_s": 10, "max_s": 3600, "window_s": 24 * 3600}
    early = backoff.next_attempt_at(created + timedelta(minutes=1), created, 3, **args)
    assert early is not None and early > created + timedelta(minutes=1)
    assert backoff.next_attempt_at(created + timedelta(hours=23, minutes=59), created, 30, **args) is None


def test_the_whole_schedule_fits_about_thirty_attempts_in_a_day():
    created = now = datetime(2026, 12, 1, tzinfo=UTC)
    rng, attempts = random.Random(3), 1
    while at := backoff.next_attempt_at(
        now, created, attempts, base_s=10, max_s=3600, window_s=86400, rng=rng
    ):
        now, attempts = at, attempts + 1
    assert 20 <= attempts <= 50
    assert now <= created + timedelta(days=1)


def test_secrets_are_sealed_and_opened_with_the_key_derived_from_secret_key():
    secret = new_secret()
    assert secret.startswith("whsec_") and len(secret) > 40
    box = SecretBox("k" * 32)
    sealed = box.seal(secret)
    assert secret.encode() not in sealed
    assert box.open(sealed) == secret
    with pytest.raises(InvalidToken):
        SecretBox("another key of thirty two bytes!").open(sealed)


def test_signed_headers_verify_with_the_standard_webhooks_library():
    secret = new_secret()
    body = encode({"type": "generation.completed", "timestamp": "2026-12-02T10:00:00Z", "data": {"é": 1}})
    headers = signed_headers(secret, "msg-1", body, datetime.now(UTC))
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(body.encode(), headers)["data"] == {"é": 1}
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body.encode(), headers)


def test_no_route_of_ours_takes_a_post_to_the_replicate_webhook():
    from fastapi.routing import APIRoute

    from services.gateway.api.routes import webhooks

    for route in webhooks.router.routes:
        assert isinstance(route, APIRoute)
        if "POST" in route.methods:
            match, _ = route.matches({"type": "http", "path": "/webhooks/replicate", "method": "POST"})
            assert match.name != "FULL", route.path


def test_loopback_endpoints_are_refused_outside_debug():
    from pydantic import ValidationError

    from services.jobs.config import Settings

    common = {
        "_env_file": None,
        "database_url": "postgresql://unused@127.0.0.1:1/unused",
        "redis_url": "redis://127.0.0.1:1/0",
        "webhook_allow_loopback": True,
    }
    with pytest.raises(ValidationError, match="WEBHOOK_ALLOW_LOOPBACK=true is allowed only when DEBUG"):
        Settings(**common, debug=False, internal_token="i" * 32, secret_key="s" * 32)
    assert Settings(**common, debug=True).webhook_allow_loopback
