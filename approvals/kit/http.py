"""Outbound HTTP: the httpx client factory with timeouts, a User-Agent and an SSRF guard.

Owns every outbound connection to a URL someone else chose (callbacks). The guard runs at
connect time inside httpcore's network backend: it resolves the host once, refuses
non-public addresses unless allowed, and connects the socket to the vetted address while
the Host header and TLS SNI keep the name, so DNS rebinding between check and connect
cannot redirect the connection. Domain-free: imports nothing else from approvals.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import anyio
import anyio.to_thread
import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]
SocketOptions = Iterable[httpcore.SOCKET_OPTION] | None

ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_USER_AGENT = "approvals (+https://github.com/approvals/approvals)"
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class BlockedDestination(Exception):
    """Refused before connecting. Not an httpx.RequestError: those are retried, this never."""

    code = "blocked_destination"
    status = 422

    def __init__(self, message: str, *, host: str | None = None, address: str | None = None):
        super().__init__(message)
        self.host = host
        self.address = address


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for `host`, in its preference order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def blocked_reason(address: IPAddress) -> str | None:
    """Why `address` is not a public unicast destination, or None if it is one."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        # An IPv6 form that reaches an IPv4 host is judged by that host: ::ffff:127.0.0.1
        # is loopback however it is spelled.
        if embedded is not None and (reason := blocked_reason(embedded)) is not None:
            return f"{reason} (IPv4 {embedded} inside {address})"
        if address.ipv4_mapped is not None:
            return None
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("non-public", not address.is_global),
    )
    return next((label for label, hit in checks if hit), None)


def _normalise_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return host.encode("idna").decode("ascii") if host and not host.isascii() else host
    except UnicodeError:
        return host


def _url_host(url: str | httpx.URL) -> str:
    return _normalise_host(httpx.URL(url).raw_host.decode("ascii"))


def host_matches(host: str, patterns: Sequence[str]) -> bool:
    """`example.org` matches exactly; `*.example.org` matches any subdomain, not the apex."""
    host = _normalise_host(host)
    return any(
        host == wanted or (wanted.startswith("*.") and host.endswith(wanted[1:]))
        for wanted in map(_normalise_host, patterns)
    )


def host_allowed(url: str | httpx.URL, allowlist: Sequence[str]) -> bool:
    """Whether the URL's host (not its userinfo or path) is in a client's callback allowlist."""
    try:
        return host_matches(_url_host(url), allowlist)
    except (httpx.InvalidURL, UnicodeError):
        return False


def check_url(url: str | httpx.URL, allowlist: Sequence[str] | None = None) -> httpx.URL:
    """Refuse non-http(s) schemes, missing hosts, credentials in the URL and (if given) hosts
    outside `allowlist`."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise BlockedDestination(f"not a valid URL: {exc}") from exc
    if parsed.scheme not in ALLOWED_SCHEMES:
        raise BlockedDestination(f"scheme {parsed.scheme!r} is not allowed; use http or https")
    if not parsed.host:
        raise BlockedDestination("URL has no host")
    if parsed.userinfo:
        # httpx would send them as Basic auth to whoever answers; callbacks are authenticated
        # by their signature instead. The credentials are not repeated in the message.
        raise BlockedDestination(
            "the URL carries credentials (user:password@host); remove them: callbacks are "
            "signed with the client's webhook secret"
        )
    if allowlist is not None and not host_allowed(parsed, allowlist):
        raise BlockedDestination(
            f"host {parsed.host!r} is not in this client's callback allowlist", host=parsed.host
        )
    return parsed


class Guard:
    """Decides which addresses a host may be reached at.

    `allowed_addresses` takes IPs or CIDRs (e.g. a loopback receiver in development);
    `allowed_hosts` takes host patterns whose every address is accepted.
    """

    def __init__(
        self,
        *,
        allowed_addresses: Sequence[str] = (),
        allowed_hosts: Sequence[str] = (),
        resolver: Resolver | None = None,
    ) -> None:
        self.allowed_networks: tuple[IPNetwork, ...] = tuple(
            ipaddress.ip_network(a, strict=False) for a in allowed_addresses
        )
        self.allowed_hosts = tuple(allowed_hosts)
        self.resolver: Resolver = resolver if resolver is not None else system_resolver

    def _address_allowed(self, address: IPAddress) -> bool:
        forms: list[IPAddress] = [address]
        if isinstance(address, ipaddress.IPv6Address) and (v4 := _embedded_ipv4(address)):
            forms.append(v4)
        return any(f in net for f in forms for net in self.allowed_networks)

    def vet(self, host: str, port: int) -> list[str]:
        """Resolve once and return the addresses to connect to, or raise BlockedDestination.

        One bad address refuses the whole name: a name that mixes public and private
        answers is how rebinding attacks start.
        """
        try:
            answers = self.resolver(host, port)
        except OSError as exc:
            # A resolution failure is transient (retryable), not a refusal.
            raise httpcore.ConnectError(f"cannot resolve {host!r}: {exc}") from exc
        if not answers:
            raise httpcore.ConnectError(f"{host!r} resolved to no address")
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in answers]
        if host_matches(host, self.allowed_hosts):
            return [str(a) for a in addresses]
        for address in addresses:
            reason = blocked_reason(address)
            if reason is not None and not self._address_allowed(address):
                raise BlockedDestination(
                    f"refused to connect to {host!r}: it resolves to {address}, a {reason} "
                    "address; allow the address or host explicitly if this is intended",
                    host=host,
                    address=str(address),
                )
        return [str(a) for a in addresses]

    def check_destination(
        self, url: str | httpx.URL, allowlist: Sequence[str] | None = None
    ) -> list[str]:
        """The full check without connecting, for validating a callback URL at intake."""
        parsed = check_url(url, allowlist)
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        return self.vet(_url_host(parsed), port)


class GuardedBackend(httpcore.NetworkBackend):
    """Sync httpcore backend: vet, then connect to the vetted IP (TLS still uses the name)."""

    def __init__(self, guard: Guard, inner: httpcore.NetworkBackend | None = None) -> None:
        self._guard = guard
        self._inner = inner if inner is not None else httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: SocketOptions = None,
    ) -> httpcore.NetworkStream:
        last: Exception | None = None
        for ip in self._guard.vet(host, port):
            try:
                return self._inner.connect_tcp(ip, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None  # noqa: S101 - vet() never returns an empty list
        raise last

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class AsyncGuardedBackend(httpcore.AsyncNetworkBackend):
    """Async twin of GuardedBackend; resolution runs in a worker thread under the timeout."""

    def __init__(self, guard: Guard, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._guard = guard
        self._inner = inner if inner is not None else httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: SocketOptions = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            with anyio.fail_after(timeout):
                # Abandon (not wait for) a hung getaddrinfo: it cannot be interrupted.
                addresses = await anyio.to_thread.run_sync(
                    self._guard.vet, host, port, abandon_on_cancel=True
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host!r} timed out") from exc
        last: Exception | None = None
        for ip in addresses:
            try:
                return await self._inner.connect_tcp(
                    ip, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None  # noqa: S101 - vet() never returns an empty list
        raise last

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


Verify = ssl.SSLContext | bool
DEFAULT_LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=10, keepalive_expiry=5)


def _pool_options(verify: Verify) -> dict[str, Any]:
    """What httpx itself would give its pool: our limits and a TLS context from `verify`."""
    return {
        "ssl_context": httpx.create_ssl_context(verify=verify, trust_env=False),
        "max_connections": DEFAULT_LIMITS.max_connections,
        "max_keepalive_connections": DEFAULT_LIMITS.max_keepalive_connections,
        "keepalive_expiry": DEFAULT_LIMITS.keepalive_expiry,
    }


def _pinned_transport(backend: httpcore.NetworkBackend, verify: Verify) -> httpx.HTTPTransport:
    transport = httpx.HTTPTransport(verify=verify, trust_env=False)
    # httpx 0.28 has no public hook for httpcore's network backend, so the pool is swapped
    # for an identical one that connects through the guard. The loopback tests in
    # tests/unit/kit/test_http_guard.py fail if this ever stops taking effect.
    transport._pool = httpcore.ConnectionPool(**_pool_options(verify), network_backend=backend)
    return transport


def _async_pinned_transport(
    backend: httpcore.AsyncNetworkBackend, verify: Verify
) -> httpx.AsyncHTTPTransport:
    transport = httpx.AsyncHTTPTransport(verify=verify, trust_env=False)
    # Same swap as _pinned_transport, for the async pool.
    transport._pool = httpcore.AsyncConnectionPool(**_pool_options(verify), network_backend=backend)
    return transport


class GuardedTransport(httpx.BaseTransport):
    """Checks scheme and allowlist per request, then sends through `inner`: by default a
    pool connecting via GuardedBackend; tests inject `httpx.MockTransport` (URL checks only)
    or a fake `network_backend` (the full guard, no sockets)."""

    def __init__(
        self,
        guard: Guard | None = None,
        *,
        allowlist: Sequence[str] | None = None,
        inner: httpx.BaseTransport | None = None,
        network_backend: httpcore.NetworkBackend | None = None,
        verify: Verify = True,
    ) -> None:
        self._allowlist = allowlist
        backend = GuardedBackend(guard if guard is not None else Guard(), network_backend)
        self._inner = inner if inner is not None else _pinned_transport(backend, verify)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        check_url(request.url, self._allowlist)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


class AsyncGuardedTransport(httpx.AsyncBaseTransport):
    """Async twin of GuardedTransport."""

    def __init__(
        self,
        guard: Guard | None = None,
        *,
        allowlist: Sequence[str] | None = None,
        inner: httpx.AsyncBaseTransport | None = None,
        network_backend: httpcore.AsyncNetworkBackend | None = None,
        verify: Verify = True,
    ) -> None:
        self._allowlist = allowlist
        backend = AsyncGuardedBackend(guard if guard is not None else Guard(), network_backend)
        self._inner = inner if inner is not None else _async_pinned_transport(backend, verify)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        check_url(request.url, self._allowlist)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def build_client(
    *,
    guard: Guard | None = None,
    allowlist: Sequence[str] | None = None,
    timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    user_agent: str = DEFAULT_USER_AGENT,
    transport: httpx.BaseTransport | None = None,
    network_backend: httpcore.NetworkBackend | None = None,
    verify: Verify = True,
) -> httpx.Client:
    """A client for URLs chosen by others: guarded, bounded in time, no redirects, no proxies.

    Redirects stay off because a 3xx to an internal address is the classic SSRF bypass (each
    hop would be vetted anyway). trust_env stays off so HTTP(S)_PROXY cannot route around
    the guard.
    """
    return httpx.Client(
        transport=GuardedTransport(
            guard,
            allowlist=allowlist,
            inner=transport,
            network_backend=network_backend,
            verify=verify,
        ),
        timeout=timeout,
        headers={"User-Agent": user_agent},
        follow_redirects=False,
        trust_env=False,
    )


def build_async_client(
    *,
    guard: Guard | None = None,
    allowlist: Sequence[str] | None = None,
    timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    user_agent: str = DEFAULT_USER_AGENT,
    transport: httpx.AsyncBaseTransport | None = None,
    network_backend: httpcore.AsyncNetworkBackend | None = None,
    verify: Verify = True,
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=AsyncGuardedTransport(
            guard,
            allowlist=allowlist,
            inner=transport,
            network_backend=network_backend,
            verify=verify,
        ),
        timeout=timeout,
        headers={"User-Agent": user_agent},
        follow_redirects=False,
        trust_env=False,
    )
