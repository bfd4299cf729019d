"""TLS between nodes: self-signed certificates, TLS 1.3, and SPKI pinning instead of a CA.

A node serving with ``--tls`` makes (once) an ECDSA P-256 key and a self-signed certificate in
``HOME/tls/``. Peers pin the SHA-256 of the certificate's DER SubjectPublicKeyInfo (hex), so a
renewed certificate with the same key keeps its pin, and no certificate authority is involved.

The client checks the pin inside the TLS handshake, before a single byte of HTTP is sent: a
connection whose certificate carries another key fails as a connection error. Only TLS 1.3 is
offered, and the server accepts nothing older (``server_context``). Hostname and chain
validation are replaced by the pin, not added to it. The TLS key file must be readable by its
owner only (``check_key_file``), like the node's signing keys.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import ssl
import stat
from pathlib import Path
from typing import Any

import httpcore
import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from parley.core.errors import KeyFileError, PeerAddressError

CERT_DAYS = 825


def spki_hash(cert_der: bytes) -> str:
    """Hex SHA-256 of a certificate's DER SubjectPublicKeyInfo."""
    cert = x509.load_der_x509_certificate(cert_der)
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest()


def check_pin(text: str) -> str:
    """Normalise a SPKI pin given by hand (hex, colons allowed)."""
    pin = text.strip().lower().replace(":", "")
    if len(pin) != 64 or any(c not in "0123456789abcdef" for c in pin):
        raise PeerAddressError(
            f"--tls-spki {text!r} is not a SHA-256 hash in hex",
            hint="copy the tls_spki line of the peer's 'parley node info'",
        )
    return pin


def client_context() -> ssl.SSLContext:
    """The TLS 1.3 client context that reaches pinned peers (the pin is checked after)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the SPKI pin replaces chain and name checks
    return context


def server_context(key_path: Path, cert_path: Path) -> ssl.SSLContext:
    """The served TLS context: the node's key and certificate, TLS 1.3 only, HTTP/1.1."""
    check_key_file(key_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(str(cert_path), str(key_path))
    context.set_alpn_protocols(["http/1.1"])
    return context


def check_key_file(key_path: Path) -> None:
    """Refuse a TLS key file that is missing or readable by anyone but its owner."""
    try:
        mode = key_path.stat().st_mode
    except FileNotFoundError as exc:
        raise KeyFileError(f"TLS key file {key_path} is missing") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"TLS key file {key_path} is readable by others (mode {stat.S_IMODE(mode):o})",
            hint=f"chmod 600 {key_path}",
        )


def _check_peer(ssl_object: Any, pin: str) -> None:
    der = ssl_object.getpeercert(True) if ssl_object is not None else None
    if not der:
        raise httpcore.ConnectError("TLS peer presented no certificate")
    found = spki_hash(der)
    if found != pin:
        raise httpcore.ConnectError(
            f"TLS certificate pin mismatch: the server's key is {found}, pinned {pin}"
        )


class _PinnedStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, pin: str) -> None:
        self.inner = inner
        self.pin = pin

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, timeout)

    def close(self) -> None:
        self.inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        stream = self.inner.start_tls(ssl_context, server_hostname, timeout)
        try:
            _check_peer(stream.get_extra_info("ssl_object"), self.pin)
        except httpcore.ConnectError:
            stream.close()
            raise
        return stream

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class _PinnedBackend(httpcore.NetworkBackend):
    def __init__(self, pin: str) -> None:
        self.inner = httpcore.SyncBackend()
        self.pin = pin

    def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        return _PinnedStream(self.inner.connect_tcp(*args, **kwargs), self.pin)


class _AsyncPinnedStream(httpcore.AsyncNetworkStream):
    def __init__(self, inner: httpcore.AsyncNetworkStream, pin: str) -> None:
        self.inner = inner
        self.pin = pin

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self.inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self.inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self.inner.start_tls(ssl_context, server_hostname, timeout)
        try:
            _check_peer(stream.get_extra_info("ssl_object"), self.pin)
        except httpcore.ConnectError:
            await stream.aclose()
            raise
        return stream

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class _AsyncPinnedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, pin: str) -> None:
        self.inner = httpcore.AnyIOBackend()
        self.pin = pin

    async def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        return _AsyncPinnedStream(await self.inner.connect_tcp(*args, **kwargs), self.pin)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def pinned_transport(pin: str | None) -> httpx.HTTPTransport:
    """A transport that speaks TLS 1.3 and checks the peer's SPKI pin."""
    if pin is None:
        raise PeerAddressError("an https peer needs a pinned SPKI hash")
    context = client_context()
    transport = httpx.HTTPTransport(verify=context)
    # httpx has no hook for the TLS handshake; its pool takes a network backend that does.
    transport._pool = httpcore.ConnectionPool(  # noqa: SLF001
        ssl_context=context, network_backend=_PinnedBackend(pin)
    )
    return transport


def async_pinned_transport(pin: str | None) -> httpx.AsyncHTTPTransport:
    """``pinned_transport`` for async clients."""
    if pin is None:
        raise PeerAddressError("an https peer needs a pinned SPKI hash")
    context = client_context()
    transport = httpx.AsyncHTTPTransport(verify=context)
    transport._pool = httpcore.AsyncConnectionPool(  # noqa: SLF001
        ssl_context=context, network_backend=_AsyncPinnedBackend(pin)
    )
    return transport


def tls_paths(home: Path) -> tuple[Path, Path]:
    """Where a node home keeps its TLS key and certificate."""
    return home / "tls" / "key.pem", home / "tls" / "cert.pem"


def ensure_certificate(home: Path, name: str, now: dt.datetime | None = None) -> str:
    """Make the node's TLS key and self-signed certificate if missing; return the SPKI pin."""
    key_path, cert_path = tls_paths(home)
    if not key_path.exists():
        key_path.parent.mkdir(mode=0o700, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        cert_path.unlink(missing_ok=True)
    key_obj = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key_obj, ec.EllipticCurvePrivateKey):
        raise KeyFileError(f"{key_path} does not hold an ECDSA key")
    if not cert_path.exists():
        start = now or dt.datetime.now(dt.UTC)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key_obj.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start - dt.timedelta(days=1))
            .not_valid_after(start + dt.timedelta(days=CERT_DAYS))
            .sign(key_obj, hashes.SHA256())
        )
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return certificate_pin(home)


def certificate_pin(home: Path) -> str:
    """The SPKI pin of the node home's TLS certificate."""
    _key, cert_path = tls_paths(home)
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return spki_hash(cert.public_bytes(serialization.Encoding.DER))
