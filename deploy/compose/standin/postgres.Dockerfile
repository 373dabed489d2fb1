# Stand-in for the official postgres image, for machines where no registry answers (make
# compose-test): Debian's postgresql package on a base image made from Debian packages, with an
# entrypoint doing what compose relies on from the official one (POSTGRES_USER/PASSWORD/DB,
# /docker-entrypoint-initdb.d, dropping root). Debian bookworm ships PostgreSQL 15; an operator
# uses the real image (RURALFUND_POSTGRES_IMAGE unset in .env). Classic builder compatible.
ARG BASE_IMAGE=local/debian-py311:bookworm
FROM ${BASE_IMAGE}

# No default cluster: the entrypoint makes one in PGDATA on first start, as the official image.
RUN mkdir -p /etc/postgresql-common/createcluster.d \
 && echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/no-main.conf \
 && apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s /usr/lib/postgresql/*/bin /usr/lib/postgresql/bin \
 && install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data \
 && install -d -o postgres -g postgres -m 2775 /var/run/postgresql

COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PATH=/usr/lib/postgresql/bin:${PATH} \
    PGDATA=/var/lib/postgresql/data
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
