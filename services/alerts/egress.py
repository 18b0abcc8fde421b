"""Where a webhook may send the platform's requests: public addresses only, unless the deployment allows
its own receiver (``TLAB_WEBHOOK_ALLOW``: CIDRs or host:port).

Found probing the platform (issue 19): ``POST /v1/webhooks`` took ``http://127.0.0.1:9108/metrics``,
``http://169.254.169.254/...`` (cloud metadata), ``http://[::1]:15432/``, ``http://10.0.0.1/``, and the
delivery log then told an admin token holder which inside ports answer (a port scanner). The check runs
twice: at registration (a 422 for an address, or a name resolving to one) and at every connection, after
DNS resolution, on the address then connected to (``PinnedTransport``): a name that resolved to a public
address at registration and to an inside one later (DNS rebinding) is refused before any packet is sent to it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from core.settings import webhook_allowance

logger = logging.getLogger(__name__)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")


class DestinationRefused(ValueError):
    """The destination is not public and not allowed; the message says which address and why."""


class RefusedConnection(httpx.ConnectError):
    """A webhook connection refused before connecting (its address is not public): logged like any failure."""


@dataclass(frozen=True)
class Allowance:
    """One entry of ``TLAB_WEBHOOK_ALLOW``: a network (any port), or a host (address or name) and a port."""

    network: Network | None = None
    host: str | None = None
    port: int | None = None

    def covers(self, host: str, address: Address | None, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            return address is not None and _plain(address) in self.network
        if address is not None:
            try:
                return _plain(ipaddress.ip_address(self.host or "")) == _plain(address)
            except ValueError:
                pass
        return (self.host or "").lower() == host.lower()


def parse_allow(entries: Iterable[str]) -> tuple[Allowance, ...]:
    """``["10.1.2.0/24", "127.0.0.1:8099", "[::1]:9000", "hooks.internal:443"]`` -> allowances; a ValueError
    names an entry that is none of these (the syntax is ``core.settings.webhook_allowance``'s: the settings
    refuse a bad list at start in every process)."""
    found = []
    for entry in (e.strip() for e in entries):
        if not entry:
            continue
        read = webhook_allowance(entry)
        if isinstance(read, tuple):
            found.append(Allowance(host=read[0], port=read[1]))
        else:
            found.append(Allowance(network=read))
    return tuple(found)


def _plain(address: Address) -> Address:
    """An IPv4-mapped IPv6 address (::ffff:127.0.0.1) is the IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def inside_kind(address: Address) -> str | None:
    """What makes ``address`` an inside one (None: public)."""
    address = _plain(address)
    checks = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local (cloud metadata among them)"),
        (address.is_multicast, "multicast"),
        (isinstance(address, ipaddress.IPv6Address) and address in UNIQUE_LOCAL, "unique-local"),
        (address.is_private, "private"),
        (address.is_reserved, "reserved"),
        (not address.is_global, "not public"),
    )
    return next((kind for inside, kind in checks if inside), None)


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def resolve(host: str, port: int) -> list[Address]:
    """Every address ``host`` resolves to (itself for an address). DestinationRefused if none."""
    literal = _literal(host)
    if literal is not None:
        return [literal]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise DestinationRefused(f"{host} does not resolve ({exc})") from exc
    seen: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if address not in seen:
            seen.append(address)
    return seen


def refusal(host: str, address: Address, port: int, allow: Sequence[Allowance]) -> str | None:
    """Why ``host`` at ``address``:``port`` may not be sent to (None: it may)."""
    kind = inside_kind(address)
    if kind is None or any(a.covers(host, address, port) for a in allow):
        return None
    named = host if _literal(host) is not None else f"{host} ({address})"
    return f"{named} is a {kind} address: not a webhook destination (a deployment's own receiver: TLAB_WEBHOOK_ALLOW)"


def check_url(url: httpx.URL | str, allow: Sequence[Allowance]) -> None:
    """At registration: every address the URL's host resolves to now must be public or allowed."""
    parsed = httpx.URL(str(url))
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    for address in resolve(parsed.host, port):
        reason = refusal(parsed.host, address, port, allow)
        if reason is not None:
            raise DestinationRefused(reason)


def pinned_address(host: str, port: int, allow: Sequence[Allowance]) -> Address:
    """At connection: resolve once and pick the first address that may be sent to; the connection goes to
    that address (the name is not resolved again), so what was checked is what is reached."""
    reasons = []
    for address in resolve(host, port):
        reason = refusal(host, address, port, allow)
        if reason is None:
            return address
        reasons.append(reason)
    raise DestinationRefused("; ".join(reasons))


class PinnedTransport(httpx.AsyncBaseTransport):
    """An httpx transport that resolves the request's host once, refuses an inside address (unless allowed)
    before connecting, and connects to the checked address with the original Host header and TLS server
    name (certificates are verified against the name, not the address)."""

    def __init__(self, allow: Sequence[Allowance], **transport_options: Any) -> None:
        self.allow = tuple(allow)
        self._inner = httpx.AsyncHTTPTransport(trust_env=False, **transport_options)  # no proxy from the env

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        try:
            address = await asyncio.get_running_loop().run_in_executor(None, pinned_address, host, port, self.allow)
        except DestinationRefused as exc:
            raise RefusedConnection(str(exc), request=request) from exc
        if _literal(host) is None:
            request.url = request.url.copy_with(host=str(address))  # Host header: set from the name already
            if request.url.scheme == "https":
                request.extensions = {**request.extensions, "sni_hostname": host}
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()
