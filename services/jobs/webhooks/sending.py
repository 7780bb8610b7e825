"""One attempt at one webhook: sign the body the Standard Webhooks way and POST it, to an address
checked after DNS resolution, never following a redirect.

The sender resolves the host itself, checks every address (services.jobs.webhooks.addresses), and
connects to the checked address with the URL's host in the `Host` header and as the TLS server name
(SNI, and the name the certificate must match), so there is no window between the check and the
connection in which DNS could point the name somewhere else. A 3xx is a failed attempt (its
Location is not followed: it could point inside our network). Only the status is read, never the
body, so a receiver can't make the worker read gigabytes.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import httpx
from standardwebhooks import Webhook

from services.jobs.webhooks.addresses import IPAddress, RefusedAddress, Target, parse, resolve

USER_AGENT = "Zapcut-Webhooks/1"


@dataclass(frozen=True)
class Attempt:
    delivered: bool
    status_code: int | None
    error: str | None
    duration_ms: int


def signed_headers(secret: str, message_id: str, body: str, at: datetime) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }


def encode(payload: dict) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def pinned_url(target: Target, ip: IPAddress) -> str:
    """The URL with the checked address in place of the host."""
    parts = urlsplit(target.url)
    host = f"[{ip}]" if ip.version == 6 else str(ip)
    return urlunsplit((target.scheme, f"{host}:{target.port}", parts.path or "/", parts.query, ""))


def host_header(target: Target) -> str:
    default = 443 if target.scheme == "https" else 80
    host = f"[{target.host}]" if target.literal is not None and target.literal.version == 6 else target.host
    return host if target.port == default else f"{host}:{target.port}"


def send(
    url: str, secret: str, message_id: str, payload: dict, *, timeout_s: float, allow_loopback: bool
) -> Attempt:
    started = time.monotonic()

    def attempt(delivered: bool, status: int | None, error: str | None) -> Attempt:
        return Attempt(delivered, status, error, int((time.monotonic() - started) * 1000))

    try:
        target = parse(url, allow_loopback)
        addresses = resolve(target, allow_loopback)
    except RefusedAddress as exc:
        return attempt(False, None, f"refused: the URL {exc}")
    body = encode(payload)
    headers = signed_headers(secret, message_id, body, datetime.now(UTC)) | {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "host": host_header(target),
    }
    extensions = {"sni_hostname": target.host} if target.scheme == "https" and target.literal is None else {}
    error = "no address to connect to"
    with httpx.Client(timeout=httpx.Timeout(timeout_s), follow_redirects=False, trust_env=False) as client:
        for ip in addresses:
            request = client.build_request(
                "POST", pinned_url(target, ip), content=body.encode(), headers=headers, extensions=extensions
            )
            try:
                response = client.send(request, stream=True)
            except httpx.ConnectError as exc:
                error = f"could not connect to {ip}: {exc}"
                continue  # the host's next address
            except httpx.TimeoutException:
                return attempt(False, None, f"no answer within {timeout_s:g} s")
            except httpx.HTTPError as exc:
                return attempt(False, None, f"{type(exc).__name__}: {exc}")
            response.close()
            status = response.status_code
            if 200 <= status < 300:
                return attempt(True, status, None)
            if 300 <= status < 400:
                return attempt(False, status, f"HTTP {status}: redirects are not followed")
            return attempt(False, status, f"HTTP {status}")
    return attempt(False, None, error)
