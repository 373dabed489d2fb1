"""A private CA and the certificates for TLS between the services, NATS and PostgreSQL
(``ruralfund deploy certs``).

Why our own CA: NATS and PostgreSQL sit inside the county's network under names no public CA
signs (``nats``, ``postgres``, ``nats.nats.svc``). The services verify the servers against this
CA only (not the system's trust store), and the servers may verify the services' client
certificates against it (NATS ``verify: true``, PostgreSQL ``clientcert=verify-full``).

ECDSA P-256 keys: nats-server (Go), PostgreSQL (OpenSSL) and Python's ssl all take them, and
they are small and fast to make. A second run into the same directory keeps the CA (so the
services' trust does not change) and issues fresh server and client certificates: that is
renewal, and adding a host name.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["CA_DAYS", "LEAF_DAYS", "Bundle", "make_bundle"]

CA_DAYS: Final = 3650
#: Leaf certificates: a little over two years, as browsers once capped them; renew by running
#: the command again (the CA stays).
LEAF_DAYS: Final = 825
#: Names every server certificate carries besides the operator's: compose's service name and
#: this machine's loopback addresses (published ports, tests).
DEFAULT_NATS_HOSTS: Final = ("nats", "localhost", "127.0.0.1", "::1")
DEFAULT_POSTGRES_HOSTS: Final = ("postgres", "localhost", "127.0.0.1", "::1")
#: Client certificates: one per service (PostgreSQL's clientcert=verify-full matches the CN to
#: the role, so the CN is the service's role name) and one for the operator.
DEFAULT_CLIENTS: Final = ("claims", "funds", "logistics", "notify", "ops")
_ORG: Final = "ruralfund"
_CLIENT_RE: Final = re.compile(r"[a-z][a-z0-9_]{0,62}")
_RESERVED: Final = frozenset({"ca", "nats-server", "postgres-server"})


@dataclass(frozen=True)
class Bundle:
    """Paths of what :func:`make_bundle` wrote."""

    directory: Path
    ca_reused: bool
    files: tuple[Path, ...]


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORG),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _san(hosts: Sequence[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys(hosts):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def _write(path: Path, data: bytes, mode: int) -> Path:
    # Created with its final mode: a key is never readable by others, not even for a moment.
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return path


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _ca(now: dt.datetime, name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = _key()
    subject = _name(name)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _leaf(ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, now: dt.datetime, days: int,
          common_name: str, hosts: Sequence[str], *, server: bool) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = _key()
    usage = [ExtendedKeyUsageOID.SERVER_AUTH] if server else [ExtendedKeyUsageOID.CLIENT_AUTH]
    builder = (
        x509.CertificateBuilder().subject_name(_name(common_name)).issuer_name(ca_cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False, key_cert_sign=False,
                                     crl_sign=False, content_commitment=False, data_encipherment=False,
                                     key_agreement=True, encipher_only=False, decipher_only=False),
                       critical=True)
        .add_extension(x509.ExtendedKeyUsage(usage), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    if hosts:
        builder = builder.add_extension(_san(hosts), critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def _load_ca(directory: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate] | None:
    key_path, cert_path = directory / "ca.key", directory / "ca.crt"
    if not (key_path.exists() and cert_path.exists()):
        return None
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{key_path} is not an ECDSA key made by this command")  # noqa: TRY004 - a bad file, said to the operator
    return key, x509.load_pem_x509_certificate(cert_path.read_bytes())


def make_bundle(
    directory: Path,
    *,
    nats_hosts: Sequence[str] = (),
    postgres_hosts: Sequence[str] = (),
    clients: Sequence[str] = DEFAULT_CLIENTS,
    days: int = LEAF_DAYS,
    ca_name: str = "ruralfund private CA",
    now: dt.datetime | None = None,
) -> Bundle:
    """Write ``ca.crt``/``ca.key`` (kept if present), ``nats-server.crt``/``.key``,
    ``postgres-server.crt``/``.key`` and ``<client>.crt``/``.key`` per client into ``directory``.
    Keys are 0600, certificates 0644."""
    if not 1 <= days <= CA_DAYS:
        raise ValueError(f"days must be between 1 and {CA_DAYS}")
    for client in clients:
        if not _CLIENT_RE.fullmatch(client) or client in _RESERVED:
            raise ValueError(f"client {client!r}: lower-case letters, digits and _ (a role or NATS user name), "
                             f"not {', '.join(sorted(_RESERVED))}")
    now = now or dt.datetime.now(dt.UTC)
    directory.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    loaded = _load_ca(directory)
    if loaded is None:
        ca_key, ca_cert = _ca(now, ca_name)
        files += [_write(directory / "ca.key", _pem_key(ca_key), 0o600),
                  _write(directory / "ca.crt", _pem_cert(ca_cert), 0o644)]
    else:
        ca_key, ca_cert = loaded
    leaves = [("nats-server", "nats", [*DEFAULT_NATS_HOSTS, *nats_hosts], True),
              ("postgres-server", "postgres", [*DEFAULT_POSTGRES_HOSTS, *postgres_hosts], True),
              *((client, client, [], False) for client in dict.fromkeys(clients))]
    for stem, common_name, hosts, server in leaves:
        key, cert = _leaf(ca_key, ca_cert, now, days, common_name, hosts, server=server)
        files += [_write(directory / f"{stem}.key", _pem_key(key), 0o600),
                  _write(directory / f"{stem}.crt", _pem_cert(cert), 0o644)]
    return Bundle(directory=directory, ca_reused=loaded is not None, files=tuple(files))
