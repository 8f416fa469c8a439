#!/usr/bin/env bash
# Start a local PostgreSQL server for the tests and benchmarks, idempotently.
#
# Works as root on Debian 12 without systemd (containers, CI): installs the `postgresql`
# package when it is missing, creates and starts the Debian cluster with pg_ctlcluster,
# waits until it accepts TCP connections, and makes sure role and database exist.
# Prints the database URL on stdout (everything else goes to stderr), so
#
#     export ABACO_TEST_POSTGRES_URL="$(scripts/start-postgres.sh)"
#
# works. Environment knobs: PG_ROLE, PG_PASSWORD, PG_DATABASE, PG_PORT (defaults
# abaco / abaco / abaco_test / 5432), PG_CLUSTER (default main).
set -euo pipefail

PG_ROLE=${PG_ROLE:-abaco}
PG_PASSWORD=${PG_PASSWORD:-abaco}
PG_DATABASE=${PG_DATABASE:-abaco_test}
PG_PORT=${PG_PORT:-5432}
PG_CLUSTER=${PG_CLUSTER:-main}

log() { echo "start-postgres: $*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

as_postgres() {
    if [ "$(id -un)" = postgres ]; then
        "$@"
    elif command -v runuser >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        as_root su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
    fi
}

# 1. the server packages
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || ! command -v pg_ctlcluster >/dev/null 2>&1; then
    log "installing postgresql"
    export DEBIAN_FRONTEND=noninteractive
    # without systemd, let the package install but not try to start services
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
        as_root chmod +x /usr/sbin/policy-rc.d
        remove_policy=1
    fi
    as_root apt-get update -qq >&2
    as_root apt-get install -y -qq postgresql >&2
    if [ "${remove_policy:-0}" = 1 ]; then as_root rm -f /usr/sbin/policy-rc.d; fi
fi

PG_VERSION=${PG_VERSION:-$(ls /usr/lib/postgresql | sort -V | tail -n 1)}

# 2. the cluster
as_root install -d -o postgres -g postgres -m 2775 /var/run/postgresql
if ! pg_lsclusters -h 2>/dev/null | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1 == v && $2 == c {found=1} END {exit !found}'; then
    log "creating cluster $PG_VERSION/$PG_CLUSTER on port $PG_PORT"
    as_root pg_createcluster --port "$PG_PORT" "$PG_VERSION" "$PG_CLUSTER" >&2
fi
port=$(pg_lsclusters -h | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1 == v && $2 == c {print $3}')
status=$(pg_lsclusters -h | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1 == v && $2 == c {print $4}')
if [ "$port" != "$PG_PORT" ]; then
    log "cluster $PG_VERSION/$PG_CLUSTER listens on $port, not $PG_PORT: using $port"
    PG_PORT=$port
fi
if [ "$status" != online ]; then
    log "starting cluster $PG_VERSION/$PG_CLUSTER"
    # a stale pid file from a killed server keeps pg_ctlcluster from starting
    datadir=$(pg_lsclusters -h | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1 == v && $2 == c {print $6}')
    if [ -f "$datadir/postmaster.pid" ]; then
        pid=$(head -n 1 "$datadir/postmaster.pid")
        if ! kill -0 "$pid" 2>/dev/null; then
            log "removing stale $datadir/postmaster.pid"
            as_root rm -f "$datadir/postmaster.pid"
        fi
    fi
    as_root pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start >&2 || {
        log "pg_ctlcluster failed; last server log lines:"
        as_root tail -n 30 "/var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log" >&2 || true
        exit 1
    }
fi

# 3. wait until it accepts TCP connections
for _ in $(seq 1 60); do
    if pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; then break; fi
    sleep 0.5
done
if ! pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; then
    log "PostgreSQL did not accept connections on 127.0.0.1:$PG_PORT within 30 s"
    exit 1
fi

# 4. role and database
psql_admin() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres "$@"; }
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$PG_ROLE'")" != 1 ]; then
    log "creating role $PG_ROLE"
    psql_admin -c "CREATE ROLE \"$PG_ROLE\" LOGIN PASSWORD '$PG_PASSWORD' CREATEDB"
else
    psql_admin -c "ALTER ROLE \"$PG_ROLE\" LOGIN PASSWORD '$PG_PASSWORD' CREATEDB"
fi
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'")" != 1 ]; then
    log "creating database $PG_DATABASE"
    psql_admin -c "CREATE DATABASE \"$PG_DATABASE\" OWNER \"$PG_ROLE\""
fi

echo "postgresql://$PG_ROLE:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DATABASE"
