"""TLS to NATS: the client context from the files ``ruralfund deploy certs`` makes.

PostgreSQL needs nothing here: asyncpg reads ``sslmode=verify-full&sslrootcert=...&sslcert=
...&sslkey=...`` from DATABASE_URL itself. nats-py takes an ``ssl.SSLContext``, so the
settings ``RURALFUND_NATS_TLS_CA_FILE`` (the private CA the server's certificate must chain
to, instead of the system's trust store), ``..._CERT_FILE`` and ``..._KEY_FILE`` (this
client's certificate, for a server with ``verify: true``) become one here.
"""

from __future__ import annotations

import ssl
from typing import Any

__all__ = ["nats_tls_options"]


def nats_tls_options(ca_file: str | None, cert_file: str | None = None,
                     key_file: str | None = None) -> dict[str, Any]:
    """``nats.connect`` keyword arguments: ``{"tls": context}``, or none without a CA file.

    The context verifies the server's certificate and its host name against the URL's host
    (``ssl.create_default_context``: CERT_REQUIRED, check_hostname). A client certificate
    needs its key, and the other way round.
    """
    if (cert_file is None) != (key_file is None):
        raise ValueError("a NATS TLS client certificate needs its key (RURALFUND_NATS_TLS_CERT_FILE "
                         "and RURALFUND_NATS_TLS_KEY_FILE go together)")
    if ca_file is None:
        if cert_file is not None:
            raise ValueError("RURALFUND_NATS_TLS_CERT_FILE needs RURALFUND_NATS_TLS_CA_FILE")
        return {}
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert_file is not None:
        context.load_cert_chain(cert_file, key_file)
    return {"tls": context}
