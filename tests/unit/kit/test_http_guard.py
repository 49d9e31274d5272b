"""Outbound HTTP guard: address classes, allowlists, refusal before connect, pinned connections.

No traffic leaves the machine: refusals are proven with a recording network backend that
would have connected, and the only real sockets are to a loopback server in this process.
"""

from __future__ import annotations

import http.server
import ipaddress
import threading
from collections.abc import Iterator, Sequence

import httpcore
import httpx
import pytest

from approvals.kit.http import (
    AsyncGuardedBackend,
    BlockedDestination,
    Guard,
    blocked_reason,
    build_async_client,
    build_client,
    check_url,
    host_allowed,
)

PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:2800:220:1:248:1893:25c8:1946"
OK_RESPONSE = [b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"]


def fake_resolver(table: dict[str, Sequence[str]]):
    calls: list[str] = []

    def resolve(host: str, port: int) -> Sequence[str]:
        calls.append(host)
        if host in table:
            return table[host]
        ipaddress.ip_address(host)  # literals resolve to themselves, names must be listed
        return [host]

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


class RecordingBackend(httpcore.MockBackend):
    """Would connect (answering 200) and records where; proves refusal happens before."""

    def __init__(self) -> None:
        super().__init__(OK_RESPONSE)
        self.connected: list[tuple[str, int]] = []

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        self.connected.append((host, port))
        return super().connect_tcp(host, port, timeout, local_address, socket_options)


class AsyncRecordingBackend(httpcore.AsyncMockBackend):
    def __init__(self) -> None:
        super().__init__(OK_RESPONSE)
        self.connected: list[tuple[str, int]] = []

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        self.connected.append((host, port))
        return await super().connect_tcp(host, port, timeout, local_address, socket_options)


class TestBlockedReason:
    @pytest.mark.parametrize(
        ("address", "reason"),
        [
            ("10.0.0.1", "private"),
            ("192.168.1.1", "private"),
            ("172.16.0.1", "private"),
            ("127.0.0.1", "loopback"),
            ("127.1.2.3", "loopback"),
            ("::1", "loopback"),
            ("169.254.169.254", "link-local"),
            ("fe80::1", "link-local"),
            ("0.0.0.0", "unspecified"),  # noqa: S104 - the address under test
            ("::", "unspecified"),
            ("224.0.0.1", "multicast"),
            ("ff02::1", "multicast"),
            ("fc00::1", "private"),
            ("240.0.0.1", "reserved"),
            ("100.64.0.1", "non-public"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:10.0.0.1", "private"),
            ("::ffff:169.254.169.254", "link-local"),
            ("2002:7f00:1::", "loopback"),  # 6to4 wrapping 127.0.0.1
            ("64:ff9b::a00:1", "private"),  # NAT64 wrapping 10.0.0.1
            ("::127.0.0.1", "reserved"),  # deprecated IPv4-compatible form
        ],
    )
    def test_non_public_addresses_are_named(self, address, reason):
        found = blocked_reason(ipaddress.ip_address(address))
        assert found is not None
        assert found.startswith(reason)

    @pytest.mark.parametrize("address", [PUBLIC_V4, "8.8.8.8", PUBLIC_V6, "::ffff:8.8.8.8"])
    def test_public_addresses_pass(self, address):
        assert blocked_reason(ipaddress.ip_address(address)) is None


class TestHostAllowed:
    @pytest.mark.parametrize(
        ("url", "allowed"),
        [
            ("https://hooks.example.org/cb", True),
            ("https://HOOKS.Example.ORG./cb", True),
            ("https://a.b.partner.test/x", True),
            ("https://partner.test/x", False),  # the wildcard does not cover the apex
            ("https://evilpartner.test/x", False),
            ("https://hooks.example.org.evil.test/", False),
            ("https://hooks.example.org@evil.test/", False),  # userinfo is not the host
            ("https://evil.test/?u=hooks.example.org", False),
            ("https://bücher.example/", True),
            ("http://[::1", False),  # unparseable
        ],
    )
    def test_exact_and_wildcard_entries(self, url, allowed):
        allowlist = ["hooks.example.org", "*.partner.test", "xn--bcher-kva.example"]
        assert host_allowed(url, allowlist) is allowed

    def test_empty_allowlist_allows_nothing(self):
        assert host_allowed("https://hooks.example.org/", []) is False


class TestCheckUrl:
    @pytest.mark.parametrize(
        "url",
        [
            "ftp://hooks.example.org/",
            "file:///etc/passwd",
            "gopher://hooks.example.org/",
            "javascript:alert(1)",
            "https:///no-host",
        ],
    )
    def test_refuses_non_http_schemes_and_missing_hosts(self, url):
        with pytest.raises(BlockedDestination):
            check_url(url)

    def test_refuses_hosts_outside_the_allowlist_with_a_readable_message(self):
        with pytest.raises(BlockedDestination, match="not in this client's callback allowlist"):
            check_url("https://evil.test/", ["hooks.example.org"])

    def test_returns_the_parsed_url(self):
        assert check_url("https://hooks.example.org/cb").host == "hooks.example.org"

    @pytest.mark.parametrize(
        "url",
        ["https://ci:s3cret@hooks.example.org/cb", "https://ci@hooks.example.org/cb"],
    )
    def test_refuses_credentials_in_the_url_without_repeating_them(self, url):
        with pytest.raises(BlockedDestination, match="carries credentials") as caught:
            check_url(url, ["hooks.example.org"])
        assert "s3cret" not in str(caught.value) and "ci@" not in str(caught.value)


class TestCredentialsNeverSent:
    async def test_a_stored_url_with_credentials_is_never_contacted(self):
        backend = AsyncRecordingBackend()
        guard = Guard(resolver=fake_resolver({"hooks.example.org": [PUBLIC_V4]}))
        async with build_async_client(guard=guard, network_backend=backend) as client:
            with pytest.raises(BlockedDestination, match="carries credentials"):
                await client.post("https://ci:s3cret@hooks.example.org/cb", content=b"{}")
        assert backend.connected == []


class TestGuardVet:
    def test_name_resolving_to_a_private_address_is_refused(self):
        guard = Guard(resolver=fake_resolver({"intranet.example.org": ["10.1.2.3"]}))
        with pytest.raises(BlockedDestination, match=r"10\.1\.2\.3, a private address") as err:
            guard.vet("intranet.example.org", 443)
        assert err.value.host == "intranet.example.org"
        assert err.value.address == "10.1.2.3"

    def test_one_private_answer_among_public_ones_refuses_the_name(self):
        guard = Guard(resolver=fake_resolver({"mixed.example.org": [PUBLIC_V4, "127.0.0.1"]}))
        with pytest.raises(BlockedDestination):
            guard.vet("mixed.example.org", 443)

    def test_public_answers_are_returned_in_order(self):
        guard = Guard(resolver=fake_resolver({"cb.example.org": [PUBLIC_V6, PUBLIC_V4]}))
        assert guard.vet("cb.example.org", 443) == [PUBLIC_V6, PUBLIC_V4]

    def test_allowed_network_lets_a_private_address_through(self):
        guard = Guard(allowed_addresses=["10.0.0.0/8"], resolver=fake_resolver({}))
        assert guard.vet("10.0.0.1", 80) == ["10.0.0.1"]
        with pytest.raises(BlockedDestination):
            guard.vet("192.168.0.1", 80)

    def test_allowed_address_also_covers_its_ipv4_mapped_form(self):
        guard = Guard(allowed_addresses=["127.0.0.1"], resolver=fake_resolver({}))
        assert guard.vet("::ffff:127.0.0.1", 80) == ["::ffff:7f00:1"]

    def test_allowed_host_skips_the_address_check(self):
        guard = Guard(
            allowed_hosts=["*.internal.test"],
            resolver=fake_resolver({"cb.internal.test": ["10.9.9.9"]}),
        )
        assert guard.vet("cb.internal.test", 80) == ["10.9.9.9"]

    def test_resolution_failure_is_a_retryable_connect_error(self):
        def failing(host: str, port: int) -> Sequence[str]:
            raise OSError("no such host")

        with pytest.raises(httpcore.ConnectError):
            Guard(resolver=failing).vet("gone.example.org", 443)

    def test_localhost_is_refused_through_the_system_resolver(self):
        with pytest.raises(BlockedDestination, match="loopback"):
            Guard().vet("localhost", 80)

    def test_check_destination_validates_a_callback_url_without_connecting(self):
        guard = Guard(resolver=fake_resolver({"cb.example.org": [PUBLIC_V4]}))
        assert guard.check_destination("https://cb.example.org/x", ["cb.example.org"]) == [
            PUBLIC_V4
        ]
        with pytest.raises(BlockedDestination):
            guard.check_destination("https://169.254.169.254/latest/meta-data/")


class TestClientRefusesBeforeConnecting:
    @pytest.mark.parametrize(
        "url",
        [
            "http://10.0.0.1/",
            "http://127.0.0.1:8080/",
            "http://[::1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::ffff:127.0.0.1]/",
            "http://0.0.0.0/",
            "http://localhost/",
            "http://localtest.example.org/",
        ],
    )
    def test_blocked_destinations_never_reach_the_network(self, url):
        backend = RecordingBackend()
        names = {"localhost": ["127.0.0.1", "::1"], "localtest.example.org": ["127.0.0.1"]}
        guard = Guard(resolver=fake_resolver(names))
        with (
            build_client(guard=guard, network_backend=backend) as client,
            pytest.raises(BlockedDestination),
        ):
            client.get(url)
        assert backend.connected == []

    def test_public_destination_connects_to_the_vetted_address_and_keeps_the_host(self):
        backend = RecordingBackend()
        resolver = fake_resolver({"cb.example.org": [PUBLIC_V4]})
        with build_client(guard=Guard(resolver=resolver), network_backend=backend) as client:
            response = client.get("http://cb.example.org:8080/hook")
        assert response.status_code == 200
        assert backend.connected == [(PUBLIC_V4, 8080)]
        assert response.request.headers["host"] == "cb.example.org:8080"

    def test_dns_rebinding_cannot_swap_the_address_after_the_check(self):
        answers = iter([[PUBLIC_V4], ["127.0.0.1"]])
        seen: list[str] = []

        def rebinding(host: str, port: int) -> Sequence[str]:
            seen.append(host)
            return next(answers)

        backend = RecordingBackend()
        with build_client(guard=Guard(resolver=rebinding), network_backend=backend) as client:
            assert client.get("http://rebind.example.org/").status_code == 200
        # One resolution, and the socket went to exactly the address that was vetted.
        assert seen == ["rebind.example.org"]
        assert backend.connected == [(PUBLIC_V4, 80)]

    def test_allowlist_is_enforced_by_the_client(self):
        backend = RecordingBackend()
        resolver = fake_resolver({"evil.test": [PUBLIC_V4]})
        with (
            build_client(
                guard=Guard(resolver=resolver),
                allowlist=["hooks.example.org"],
                network_backend=backend,
            ) as client,
            pytest.raises(BlockedDestination, match="allowlist"),
        ):
            client.get("https://evil.test/")
        assert backend.connected == []

    def test_redirects_are_not_followed(self):
        def redirect(request: httpx.Request) -> httpx.Response:
            return httpx.Response(302, headers={"Location": "http://169.254.169.254/"})

        with build_client(transport=httpx.MockTransport(redirect)) as client:
            response = client.get("https://cb.example.org/")
        assert response.status_code == 302
        assert response.next_request is not None  # left for the caller, never followed

    def test_injected_transport_still_gets_scheme_checks_and_the_user_agent(self):
        seen: list[httpx.Request] = []

        def record(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(204)

        with build_client(transport=httpx.MockTransport(record), user_agent="t/1") as client:
            client.post("https://cb.example.org/", content=b"{}")
            with pytest.raises(BlockedDestination):
                client.get("ftp://cb.example.org/")
        assert [r.headers["user-agent"] for r in seen] == ["t/1"]

    def test_default_timeouts_are_bounded(self):
        with build_client() as client:
            assert client.timeout.connect == 5.0
            assert client.timeout.read == 10.0


class TestAsyncClient:
    async def test_blocked_destination_never_reaches_the_network(self):
        backend = AsyncRecordingBackend()
        guard = Guard(resolver=fake_resolver({}))
        async with build_async_client(guard=guard, network_backend=backend) as client:
            with pytest.raises(BlockedDestination, match="link-local"):
                await client.get("http://169.254.169.254/")
        assert backend.connected == []

    async def test_public_destination_connects_to_the_vetted_address(self):
        backend = AsyncRecordingBackend()
        guard = Guard(resolver=fake_resolver({"cb.example.org": [PUBLIC_V4]}))
        async with build_async_client(guard=guard, network_backend=backend) as client:
            response = await client.get("https://cb.example.org/hook")
        assert response.status_code == 200
        assert backend.connected == [(PUBLIC_V4, 443)]

    async def test_slow_resolution_is_a_connect_timeout(self):
        release = threading.Event()

        def slow(host: str, port: int) -> Sequence[str]:
            release.wait(5)
            return [PUBLIC_V4]

        backend = AsyncGuardedBackend(Guard(resolver=slow), AsyncRecordingBackend())
        try:
            with pytest.raises(httpcore.ConnectTimeout):
                await backend.connect_tcp("slow.example.org", 443, timeout=0.05)
        finally:
            release.set()


class _Recorder(http.server.BaseHTTPRequestHandler):
    hosts: list[str] = []  # noqa: RUF012 - shared by the one server in this module

    def do_GET(self) -> None:
        self.hosts.append(self.headers["Host"])
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def loopback_server() -> Iterator[tuple[int, list[str]]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], _Recorder.hosts
    server.shutdown()
    server.server_close()


class TestLoopbackServer:
    """The only real connections in these tests; they stay on 127.0.0.1."""

    def test_loopback_is_refused_by_default(self, loopback_server):
        port, hosts = loopback_server
        before = len(hosts)
        with build_client() as client, pytest.raises(BlockedDestination, match="loopback"):
            client.get(f"http://127.0.0.1:{port}/")
        assert len(hosts) == before

    def test_loopback_is_reached_when_its_address_is_allowed(self, loopback_server):
        port, _ = loopback_server
        with build_client(guard=Guard(allowed_addresses=["127.0.0.1"])) as client:
            assert client.get(f"http://127.0.0.1:{port}/").text == "ok"

    def test_pinned_connection_keeps_the_name_in_the_host_header(self, loopback_server):
        port, hosts = loopback_server
        guard = Guard(
            allowed_addresses=["127.0.0.0/8"],
            resolver=fake_resolver({"receiver.test": ["127.0.0.1"]}),
        )
        with build_client(guard=guard) as client:
            assert client.get(f"http://receiver.test:{port}/").status_code == 200
        assert hosts[-1] == f"receiver.test:{port}"

    async def test_async_client_reaches_an_allowed_loopback_host(self, loopback_server):
        port, _ = loopback_server
        guard = Guard(allowed_hosts=["localhost"])
        async with build_async_client(guard=guard) as client:
            assert (await client.get(f"http://localhost:{port}/")).text == "ok"
