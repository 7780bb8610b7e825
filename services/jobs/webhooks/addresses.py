"""Where a webhook may go: https URLs to public addresses only (no SSRF into our own network).

Checked twice: when an endpoint is registered or changed (the URL's form, and its host's addresses
when it has a name), and at every delivery, after DNS resolution, on the very address the sender
then connects to (services.jobs.webhooks.sending), so a name that resolves to a public address at
registration and to 10.0.0.1 later (DNS rebinding) is refused at delivery. Refused: loopback,
private (RFC 1918, unique-local fc00::/7), link-local (169.254/16, where cloud metadata answers,
fe80::/10), carrier-grade NAT (100.64/10), multicast, unspecified, reserved and documentation
ranges, and public-looking IPv6 forms that carry one of those IPv4 addresses (mapped, NAT64, 6to4).

With WEBHOOK_ALLOW_LOOPBACK (development only, refused unless DEBUG) a URL may also be
http(s)://127.0.0.1:<port> or http(s)://[::1]:<port> (by address, never a name), so a developer and
the tests can receive webhooks on this machine.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from services.common.errors import InvalidArgument

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2048
# IPv6 prefixes that embed an IPv4 address in their low 32 bits (NAT64) or after 2002: (6to4).
NAT64 = ipaddress.ip_network("64:ff9b::/96")
SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
LOOPBACKS = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))


class RefusedAddress(ValueError):
    """A URL or an address a webhook may not be sent to; the message says why."""


@dataclass(frozen=True)
class Target:
    """A checked URL: its scheme, host (a name, or an address) and port."""

    url: str
    scheme: str
    host: str
    port: int
    # The host is an address, not a name (nothing to resolve).
    literal: IPAddress | None


def is_public(ip: IPAddress) -> bool:
    """Whether an address is on the public internet: never our loopback, private network, link-local
    or metadata addresses, whatever form it is written in."""
    if ip.is_multicast or not ip.is_global:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped
        if ip in NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        elif ip in SIX_TO_FOUR:
            embedded = ip.sixtofour
        if embedded is not None and not is_public(embedded):
            return False
    return True


def allowed(ip: IPAddress, allow_loopback: bool) -> bool:
    return is_public(ip) or (allow_loopback and ip in LOOPBACKS)


def parse(url: str, allow_loopback: bool) -> Target:
    """The URL's target if its form is acceptable; RefusedAddress otherwise. Names are not resolved
    here (see resolve)."""
    if len(url) > MAX_URL_LENGTH:
        raise RefusedAddress(f"must be at most {MAX_URL_LENGTH} characters")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise RefusedAddress("must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise RefusedAddress(f"is not a valid URL ({exc})") from None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in ("https", "http") or not host:
        raise RefusedAddress("must be an https:// URL")
    if parts.username is not None or parts.password is not None:
        raise RefusedAddress("must not contain a user name or password")
    if parts.fragment:
        raise RefusedAddress("must not contain a #fragment")
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    loopback = allow_loopback and literal in LOOPBACKS
    if scheme != "https" and not loopback:
        raise RefusedAddress("must be an https:// URL")
    if literal is not None and not allowed(literal, allow_loopback):
        raise RefusedAddress(f"must point to a public address, not {literal}")
    if literal is None and (host == "localhost" or host.endswith((".localhost", ".local", ".internal"))):
        raise RefusedAddress(f"must point to a public address, not {host}")
    return Target(url, scheme, host, port or (443 if scheme == "https" else 80), literal)


def resolve(target: Target, allow_loopback: bool) -> list[IPAddress]:
    """The addresses to connect to for `target`, every one of them allowed; RefusedAddress when the
    name does not resolve, or resolves to any address that is not (a name that points partly
    inside our network is refused as a whole)."""
    if target.literal is not None:
        return [target.literal]
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise RefusedAddress(f"host {target.host} does not resolve ({exc})") from None
    found: list[IPAddress] = []
    for *_, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).partition("%")[0])
        if not allowed(ip, allow_loopback):
            raise RefusedAddress(f"host {target.host} resolves to {ip}, which is not a public address")
        if ip not in found:
            found.append(ip)
    if not found:
        raise RefusedAddress(f"host {target.host} does not resolve")
    return found


def check_url(url: str, allow_loopback: bool) -> Target:
    """For registration: the form and the host's current addresses; InvalidArgument naming `url`."""
    try:
        target = parse(url, allow_loopback)
        resolve(target, allow_loopback)
    except RefusedAddress as exc:
        raise InvalidArgument(f"url {exc}") from None
    return target
