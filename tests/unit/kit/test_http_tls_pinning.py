"""Pinned connections still speak TLS to the name: SNI and certificate checks use the host,
while the socket goes to the vetted address. Loopback only, with a throwaway certificate.
"""

from __future__ import annotations

import http.server
import ssl
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from approvals.kit.http import Guard, build_client


def _self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path, list[str]]]:
    cert_path, key_path = _self_signed(tmp_path_factory.mktemp("tls"), "receiver.test")
    server_names: list[str] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)

    def record_sni(_sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        server_names.append(name or "")

    context.sni_callback = record_sni  # type: ignore[assignment]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], cert_path, server_names
    server.shutdown()
    server.server_close()


def _resolver(host: str, port: int) -> Sequence[str]:
    return {"receiver.test": ["127.0.0.1"], "impostor.test": ["127.0.0.1"]}[host]


def _client(cert_path: Path) -> httpx.Client:
    guard = Guard(allowed_addresses=["127.0.0.1"], resolver=_resolver)
    return build_client(guard=guard, verify=ssl.create_default_context(cafile=str(cert_path)))


def test_sni_and_certificate_use_the_name_while_the_socket_uses_the_vetted_ip(tls_server):
    port, cert_path, server_names = tls_server
    with _client(cert_path) as client:
        assert client.get(f"https://receiver.test:{port}/").text == "ok"
    assert server_names[-1] == "receiver.test"


def test_certificate_for_another_name_is_refused(tls_server):
    port, cert_path, _ = tls_server
    with _client(cert_path) as client, pytest.raises(httpx.ConnectError, match="certificate"):
        client.get(f"https://impostor.test:{port}/")
