# syntax=docker/dockerfile:1.7
# One image for all four services; SERVICE picks which one `ruralfund serve` runs.
#   docker build --build-arg SERVICE=claims -t ruralfund-claims .
#   docker run -e SERVICE=funds ruralfund-claims        # same image, another service
# Both stages use the same base so the venv's interpreter path (/usr/local/bin/python3.11)
# exists in the final stage.
ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------- builder
FROM ${PYTHON_IMAGE} AS builder

# uv from PyPI through pip (no binaries fetched from elsewhere); pinned for repeatable builds.
ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir --disable-pip-version-check "uv==${UV_VERSION}"

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv

WORKDIR /src

# Dependencies first, from the lock and the members' pyproject files only: editing code
# then reuses this layer instead of reinstalling every dependency.
COPY pyproject.toml uv.lock .python-version ./
COPY shared/pyproject.toml shared/
COPY services/claims/pyproject.toml services/claims/
COPY services/funds/pyproject.toml services/funds/
COPY services/logistics/pyproject.toml services/logistics/
COPY services/notify/pyproject.toml services/notify/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --all-packages --no-dev --no-install-workspace

# Then our own packages, installed as wheels (--no-editable) so the final stage needs
# only /app/.venv and none of the source tree.
COPY . .
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --all-packages --no-dev --no-editable

# ---------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime

ARG SERVICE=claims
# RURALFUND_HTTP_HOST: the settings default, 127.0.0.1, is unreachable from outside a container.
ENV SERVICE=${SERVICE} \
    PATH=/app/.venv/bin:${PATH} \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    RURALFUND_ENV=production \
    RURALFUND_HTTP_HOST=0.0.0.0 \
    RURALFUND_HTTP_PORT=8000

# Fixed uid/gid so volume permissions and Kubernetes runAsUser are predictable.
RUN groupadd --system --gid 10001 ruralfund \
 && useradd --system --uid 10001 --gid ruralfund --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin ruralfund \
 && install -d -o ruralfund -g ruralfund -m 0755 /var/lib/ruralfund/calendar
# ^ compose mounts a named volume there; a new volume copies this owner, so
#   `ruralfund calendar load` (run in a service container) can write the year files.

# Owned by root and read-only to the service user: a compromised process cannot
# rewrite its own code.
COPY --from=builder /app/.venv /app/.venv

WORKDIR /app
USER ruralfund:ruralfund
EXPOSE 8000

ENTRYPOINT ["ruralfund"]
# Exec-form CMD cannot expand $SERVICE, so `ruralfund serve` with no argument takes the
# service from the SERVICE environment variable. Compose passes it explicitly as well.
CMD ["serve"]
