-- Two login roles per service: <svc>_owner owns the schema named after the service and every
-- table in it, and only runs the migrations (compose's `migrate` service: `ruralfund db
-- migrate`); <svc> is the role the service runs as. The migration runner grants <svc>, schema-
-- wide, row access only (SELECT/INSERT/UPDATE/DELETE, none of UPDATE/DELETE on the append-only
-- ledger tables): owning nothing, it cannot ALTER a table, DROP a trigger or DISABLE a rule,
-- so the credential in the running service cannot rewrite the ledger's history.
--
-- Why one schema per service: a service that can read another's tables couples them behind the
-- events' back. PostgreSQL itself enforces "each service owns its schema; no service reads
-- another's tables".
--
-- Idempotent, so the same script both creates the roles (first start of the compose
-- PostgreSQL, via init-roles.sh), rotates their passwords (run it again with new ones) and
-- upgrades an installation where each service role owned its schema (REASSIGN below):
--   psql -v ON_ERROR_STOP=1 -v dbname=ruralfund \
--        -v claims_password=... -v claims_owner_password=... -v funds_password=... \
--        -v funds_owner_password=... -v logistics_password=... -v logistics_owner_password=... \
--        -v notify_password=... -v notify_owner_password=... -f roles.sql
-- psql substitutes :'var' (a quoted literal) and :"var" (a quoted identifier); a DO block
-- would not see psql variables, hence format(...) \gexec.

\set ON_ERROR_STOP on

-- Nobody but the owner (and the services it grants) may connect or create schemas.
REVOKE ALL ON DATABASE :"dbname" FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

SELECT format('CREATE ROLE %I LOGIN', r)
FROM unnest(ARRAY['claims', 'funds', 'logistics', 'notify',
                  'claims_owner', 'funds_owner', 'logistics_owner', 'notify_owner']) AS r
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) \gexec

-- Passwords are (re)set every time: this is also the rotation step.
SELECT format('ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD %L',
              r, pw)
FROM (VALUES ('claims', :'claims_password'), ('funds', :'funds_password'),
             ('logistics', :'logistics_password'), ('notify', :'notify_password'),
             ('claims_owner', :'claims_owner_password'), ('funds_owner', :'funds_owner_password'),
             ('logistics_owner', :'logistics_owner_password'), ('notify_owner', :'notify_owner_password'))
     AS p(r, pw)
\gexec

-- Connect, nothing more at the database level (the schemas are made here, not by the roles).
SELECT format('REVOKE CREATE, TEMPORARY ON DATABASE %I FROM %I', current_database(), r)
FROM unnest(ARRAY['claims', 'funds', 'logistics', 'notify',
                  'claims_owner', 'funds_owner', 'logistics_owner', 'notify_owner']) AS r \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), r)
FROM unnest(ARRAY['claims', 'funds', 'logistics', 'notify',
                  'claims_owner', 'funds_owner', 'logistics_owner', 'notify_owner']) AS r \gexec

SELECT format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', svc, svc || '_owner')
FROM unnest(ARRAY['claims', 'funds', 'logistics', 'notify']) AS svc \gexec

-- An installation from before the split: the service role owned its schema and tables. Hand
-- them to the owner role (the next `ruralfund db migrate` grants the service role its rows);
-- a schema made earlier by a superuser changes hands too.
SELECT format('REASSIGN OWNED BY %I TO %I', svc, svc || '_owner')
FROM unnest(ARRAY['claims', 'funds', 'logistics', 'notify']) AS svc \gexec
SELECT format('ALTER SCHEMA %I OWNER TO %I', svc, svc || '_owner')
FROM unnest(ARRAY['claims', 'funds', 'logistics', 'notify']) AS svc \gexec

-- Each role sees only its own schema: revoke what PUBLIC may have been granted on the others.
SELECT format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', svc)
FROM unnest(ARRAY['claims', 'funds', 'logistics', 'notify']) AS svc \gexec
