#!/bin/sh
# Runs once, on the first start of an empty data directory (docker-entrypoint-initdb.d),
# as the superuser from POSTGRES_USER. Passwords come from the container's environment
# (docker-compose.yml, from .env) and reach SQL only as psql variables, never as text here.
set -eu
: "${POSTGRES_CLAIMS_PASSWORD:?}" "${POSTGRES_FUNDS_PASSWORD:?}"
: "${POSTGRES_LOGISTICS_PASSWORD:?}" "${POSTGRES_NOTIFY_PASSWORD:?}"
: "${POSTGRES_CLAIMS_OWNER_PASSWORD:?}" "${POSTGRES_FUNDS_OWNER_PASSWORD:?}"
: "${POSTGRES_LOGISTICS_OWNER_PASSWORD:?}" "${POSTGRES_NOTIFY_OWNER_PASSWORD:?}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v dbname="$POSTGRES_DB" \
  -v claims_password="$POSTGRES_CLAIMS_PASSWORD" \
  -v funds_password="$POSTGRES_FUNDS_PASSWORD" \
  -v logistics_password="$POSTGRES_LOGISTICS_PASSWORD" \
  -v notify_password="$POSTGRES_NOTIFY_PASSWORD" \
  -v claims_owner_password="$POSTGRES_CLAIMS_OWNER_PASSWORD" \
  -v funds_owner_password="$POSTGRES_FUNDS_OWNER_PASSWORD" \
  -v logistics_owner_password="$POSTGRES_LOGISTICS_OWNER_PASSWORD" \
  -v notify_owner_password="$POSTGRES_NOTIFY_OWNER_PASSWORD" \
  -f /ruralfund/roles.sql
