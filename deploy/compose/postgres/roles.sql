-- One login role per service, each owning the schema named after it and nothing else.
--
-- Why: a service that can read another's tables couples them behind the events' back, and a
-- compromised service could rewrite the ledger. With one role per schema PostgreSQL itself
-- enforces "each service owns its schema; no service reads another's tables".
--
-- Idempotent, so the same script both creates the roles (first start of the compose
-- PostgreSQL, via init-roles.sh) and rotates their passwords (run it again with new ones):
--   psql -v ON_ERROR_STOP=1 -v dbname=ruralfund \
--        -v claims_password=... -v funds_password=... \
--        -v logistics_password=... -v notify_password=... -f roles.sql
-- psql substitutes :'var' (a quoted literal) and :"var" (a quoted identifier); a DO block
-- would not see psql variables, hence format(...) \gexec.

\set ON_ERROR_STOP on

-- Nobody but the owner (and the services it grants) may connect or create schemas.
REVOKE ALL ON DATABASE :"dbname" FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

SELECT format('CREATE ROLE %I LOGIN', svc)
FROM unnest(ARRAY['claims', 'funds', 'logistics', 'notify']) AS svc
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = svc) \gexec

-- Passwords are (re)set every time: this is also the rotation step.
SELECT format('ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L', svc, pw)
FROM (VALUES ('claims', :'claims_password'), ('funds', :'funds_password'),
             ('logistics', :'logistics_password'), ('notify', :'notify_password')) AS p(svc, pw)
\gexec

-- CREATE on the database only because the migration runner (ruralfund_common.db.migrate)
-- starts with CREATE SCHEMA IF NOT EXISTS, which PostgreSQL checks before noticing that the
-- schema exists. It lets a role make new schemas of its own, never enter another's.
SELECT format('GRANT CONNECT, CREATE ON DATABASE %I TO %I', current_database(), svc)
FROM unnest(ARRAY['claims', 'funds', 'logistics', 'notify']) AS svc \gexec

SELECT format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', svc, svc)
FROM unnest(ARRAY['claims', 'funds', 'logistics', 'notify']) AS svc \gexec

-- A schema made earlier by a superuser (e.g. before this script existed) changes hands too.
SELECT format('ALTER SCHEMA %I OWNER TO %I', svc, svc)
FROM unnest(ARRAY['claims', 'funds', 'logistics', 'notify']) AS svc \gexec

-- Each role sees only its own schema: revoke what PUBLIC may have been granted on the others.
SELECT format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', svc)
FROM unnest(ARRAY['claims', 'funds', 'logistics', 'notify']) AS svc \gexec
