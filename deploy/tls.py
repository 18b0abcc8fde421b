"""A private certificate authority for the broker's TLS listener, for the local stack and the tests.

``ensure_private_ca`` keeps a CA (10 years) and a server certificate it signs (825 days, the longest
that TLS clients accept, renewed when it has under 30 days left or lacks a host name) in one folder.
Devices trust ``ca.crt``; ``ca.key`` never leaves the folder (mode 600). For a broker reachable from
outside, use certificates from a real authority instead (TLAB_MQTT_TLS_CERTFILE and friends: README).
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from core.private_files import write_private

CA_DAYS = 3650
SERVER_DAYS = 825
RENEW_BEFORE = timedelta(days=30)


@dataclass(frozen=True)
class TlsFiles:
    cafile: Path | None  # None: a certificate from a public authority, which clients already trust
    certfile: Path
    keyfile: Path


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    write_private(path, pem)  # 0600 from its creation: never readable by others, not even for an instant


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def _san(hostnames: list[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for name in dict.fromkeys(hostnames):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            names.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(names)


def _issue_ca(folder: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Territoire Lab local CA ({os.uname().nodename})")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )  # digital_signature, key_cert_sign, crl_sign
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_key(folder / "ca.key", key)
    write_private(folder / "ca.crt", cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return cert, key


def _server_cert_fits(path: Path, ca: x509.Certificate, hostnames: list[str]) -> bool:
    if not path.exists():
        return False
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    if cert.issuer != ca.subject or cert.not_valid_after_utc - datetime.now(UTC) < RENEW_BEFORE:
        return False
    have = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(_san(hostnames)) <= set(have)


def ensure_private_ca(folder: Path, hostnames: list[str]) -> TlsFiles:
    """CA and server certificate for ``hostnames`` in ``folder``, issued or renewed as needed."""
    folder.mkdir(parents=True, exist_ok=True)
    cafile = folder / "ca.crt"
    files = TlsFiles(cafile, folder / "server.crt", folder / "server.key")
    if cafile.exists() and (folder / "ca.key").exists():
        ca = x509.load_pem_x509_certificate(cafile.read_bytes())
        ca_key = _load_key(folder / "ca.key")
    else:
        ca, ca_key = _issue_ca(folder)
    if _server_cert_fits(files.certfile, ca, hostnames) and files.keyfile.exists():
        return files
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0])]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=SERVER_DAYS))
        .add_extension(_san(hostnames), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(files.keyfile, key)
    write_private(files.certfile, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return files
