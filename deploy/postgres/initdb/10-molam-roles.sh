#!/usr/bin/env bash
# Runs once, when the postgres container starts on an empty data volume
# (mounted into /docker-entrypoint-initdb.d), as the superuser.
#
# Two roles (DESIGN §3): molam_owner owns the database and its schema and runs
# the migrations; molam_app is what every app process connects as. molam_app
# gets its table privileges from `manage.py grant_app_role molam_app`, run by
# the owner after each migrate: all DML except UPDATE/DELETE/TRUNCATE on
# ops_actions_log.
#
# Environment: MOLAM_OWNER_DB_PASSWORD, MOLAM_APP_DB_PASSWORD (required);
# MOLAM_DB_NAME, MOLAM_OWNER_DB_ROLE, MOLAM_APP_DB_ROLE (defaults below).
set -euo pipefail

: "${MOLAM_OWNER_DB_PASSWORD:?MOLAM_OWNER_DB_PASSWORD must be set}"
: "${MOLAM_APP_DB_PASSWORD:?MOLAM_APP_DB_PASSWORD must be set}"

# psql substitutes the :'var' (literal) and :"var" (identifier) references
# itself, quoting them; the heredoc is quoted so the shell leaves them alone.
psql -v ON_ERROR_STOP=1 --no-psqlrc \
  --username "${POSTGRES_USER:-postgres}" --dbname postgres \
  -v db="${MOLAM_DB_NAME:-molam_ops}" \
  -v owner="${MOLAM_OWNER_DB_ROLE:-molam_owner}" \
  -v app="${MOLAM_APP_DB_ROLE:-molam_app}" \
  -v owner_pw="$MOLAM_OWNER_DB_PASSWORD" \
  -v app_pw="$MOLAM_APP_DB_PASSWORD" <<'SQL'
CREATE ROLE :"owner" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'owner_pw';
CREATE ROLE :"app" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD :'app_pw';
CREATE DATABASE :"db" OWNER :"owner";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"app";
\connect :"db"
-- The owner owns the schema; the app may use it but never create in it.
ALTER SCHEMA public OWNER TO :"owner";
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"app";
SQL
