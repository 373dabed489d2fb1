# One image for all four services; SERVICE picks which one `ruralfund serve` runs.
#   docker build --build-arg SERVICE=claims -t ruralfund-claims .
#   docker run -e SERVICE=funds ruralfund-claims        # same image, another service
# Both stages use the same base so the venv's interpreter path (/usr/local/bin/python3.11)
# exists in the final stage. PYTHON_IMAGE may be any Debian-like image with python3.11 and its
# venv module (`make compose-test` builds one from Debian packages when no registry answers).
# Builds with the classic builder too (DOCKER_BUILDKIT=0): no RUN --mount, no heredocs.
ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------- builder
FROM ${PYTHON_IMAGE} AS builder

# uv from PyPI through pip (no binaries fetched from elsewhere); pinned for repeatable builds.
ARG UV_VERSION=0.13.9
# A PyPI mirror (simple index URL) for networks where PyPI is slow or out of reach, e.g.
# https://mirrors.aliyun.com/pypi/simple/ (RURALFUND_PYPI_MIRROR in compose's .env). Empty: PyPI.
ARG PYPI_MIRROR=
# In its own venv: Debian's system python refuses a system-wide pip install (PEP 668).
RUN python3 -m venv /opt/uv \
 && /opt/uv/bin/pip install --no-cache-dir --disable-pip-version-check \
        ${PYPI_MIRROR:+--index-url "$PYPI_MIRROR"} "uv==${UV_VERSION}"

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=python3.11 \
    UV_NATIVE_TLS=true \
    PATH=/opt/uv/bin:${PATH} \
    UV_PROJECT_ENVIRONMENT=/app/.venv

# UV_NATIVE_TLS: uv trusts the system's CA store (a TLS-inspecting proxy's CA added there).
WORKDIR /src

# Dependencies first, from the lock and the members' pyproject files only: editing code
# then reuses this layer instead of reinstalling every dependency.
COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/
COPY services/claims/pyproject.toml services/claims/
COPY services/funds/pyproject.toml services/funds/
COPY services/logistics/pyproject.toml services/logistics/
COPY services/notify/pyproject.toml services/notify/
COPY services/console/pyproject.toml services/console/
# uv sync --frozen fetches the file URLs written in uv.lock whatever index is set (uv issue
# 19625), so with a mirror the locked versions are exported with their hashes and installed
# from it: the same files (every hash is checked), from another host. The sync below then finds
# them installed and adds only our own packages.
RUN if [ -n "$PYPI_MIRROR" ]; then \
      uv export --frozen --all-packages --no-dev --no-emit-workspace --format requirements-txt \
          -o /tmp/requirements.txt \
      && uv venv /app/.venv \
      && uv pip install --python /app/.venv/bin/python --no-cache --require-hashes \
          --index-url "$PYPI_MIRROR" -r /tmp/requirements.txt; \
    else \
      uv sync --frozen --all-packages --no-dev --no-install-workspace --no-cache; \
    fi

# Then our own packages, installed as wheels (--no-editable) so the final stage needs
# only /app/.venv and none of the source tree.
COPY . .
RUN uv sync --frozen --all-packages --no-dev --no-editable --no-cache

# ---------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime

# RURALFUND_HTTP_HOST: the settings default, 127.0.0.1, is unreachable from outside a container.
ENV PATH=/app/.venv/bin:${PATH} \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    RURALFUND_ENV=production \
    RURALFUND_HTTP_HOST=0.0.0.0 \
    RURALFUND_HTTP_PORT=8000

# Fixed uid/gid so volume permissions and Kubernetes runAsUser are predictable.
RUN groupadd --system --gid 10001 ruralfund \
 && useradd --system --uid 10001 --gid ruralfund --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin ruralfund \
 && install -d -o ruralfund -g ruralfund -m 0755 /var/lib/ruralfund/calendar /var/lib/ruralfund/clock
# ^ compose mounts a named volume there; a new volume copies this owner, so
#   `ruralfund calendar load` (run in a service container) can write the year files; the
#   clock directory holds the dev clock's file shared by the four (make compose-test only).

# Owned by root and read-only to the service user: a compromised process cannot
# rewrite its own code.
COPY --from=builder /app/.venv /app/.venv

# Last, so the four services' images share every layer above (SERVICE changes only this).
ARG SERVICE=claims
ENV SERVICE=${SERVICE}

WORKDIR /app
USER ruralfund:ruralfund
EXPOSE 8000

ENTRYPOINT ["ruralfund"]
# Exec-form CMD cannot expand $SERVICE, so `ruralfund serve` with no argument takes the
# service from the SERVICE environment variable. Compose passes it explicitly as well.
CMD ["serve"]
