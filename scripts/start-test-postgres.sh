#!/usr/bin/env bash
# Starts a local PostgreSQL server for the PostgreSQL tests (JobStorePostgresTest) and prints its JDBC URL on stdout
# (everything else goes to stderr), e.g.
#
#   export GLIMPSE_TEST_POSTGRES_URL=$(scripts/start-test-postgres.sh)
#   export GLIMPSE_TEST_POSTGRES_USER=glimpse GLIMPSE_TEST_POSTGRES_PASSWORD=glimpse
#
# Idempotent. Debian/Ubuntu (postgresql-common tools: pg_lsclusters, pg_createcluster, pg_ctlcluster); run as root
# (or with sudo available). Uses the first online cluster, else starts the first one listed, else creates one of the
# newest installed version. Ensures role glimpse (password glimpse) and database glimpse_test owned by it.
set -euo pipefail

ROLE=glimpse
PASSWORD=glimpse
DB=glimpse_test

log() { echo "start-test-postgres: $*" >&2; }

SUDO=()
if ((EUID != 0)); then
  command -v sudo >/dev/null 2>&1 || { log "run as root (or install sudo)"; exit 1; }
  SUDO=(sudo)
fi

for tool in pg_lsclusters pg_createcluster pg_ctlcluster; do
  command -v "$tool" >/dev/null 2>&1 || { log "$tool not found: install PostgreSQL (Debian package postgresql)"; exit 1; }
done

# "version name port status ..." of the cluster to use: an online one if any, else the first listed.
pick_cluster() {
  { pg_lsclusters -h 2>/dev/null || true; } |
    awk 'NR == 1 { first = $0 } $4 ~ /^online/ && on == "" { on = $0 } END { print (on != "" ? on : first) }'
}

cluster=$(pick_cluster)
if [[ -z "$cluster" ]]; then
  version=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -1)
  [[ -n "$version" ]] || { log "no PostgreSQL server installed under /usr/lib/postgresql"; exit 1; }
  log "no cluster: creating $version/main"
  "${SUDO[@]}" pg_createcluster "$version" main >&2
  cluster=$(pick_cluster)
fi
read -r version name port status _ <<<"$cluster"

if [[ "$status" != online* ]]; then
  log "starting cluster $version/$name (port $port)"
  "${SUDO[@]}" pg_ctlcluster "$version" "$name" start >&2
fi

# Wait until it accepts connections (a fresh start may still be recovering).
pg_isready=/usr/lib/postgresql/$version/bin/pg_isready
command -v pg_isready >/dev/null 2>&1 && pg_isready=pg_isready
for i in $(seq 1 60); do
  if "$pg_isready" -q -h 127.0.0.1 -p "$port"; then break; fi
  ((i == 60)) && { log "cluster $version/$name does not accept connections on 127.0.0.1:$port"; exit 1; }
  sleep 0.5
done

# As the postgres superuser over the local socket (peer authentication); from / so psql need not read our cwd.
psql_admin() {
  (cd / && "${SUDO[@]}" runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$port" -d postgres -tA "$@")
}

if [[ -z "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" ]]; then
  log "creating role $ROLE"
  psql_admin -c "CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD'"
else
  psql_admin -c "ALTER ROLE $ROLE LOGIN PASSWORD '$PASSWORD'"
fi
if [[ -z "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" ]]; then
  log "creating database $DB"
  psql_admin -c "CREATE DATABASE $DB OWNER $ROLE"
fi

# The tests connect over TCP with a password: check that works before handing out the URL.
if command -v psql >/dev/null 2>&1; then
  (cd / && PGPASSWORD=$PASSWORD psql -X -q -h 127.0.0.1 -p "$port" -U "$ROLE" -d "$DB" -tAc "SELECT 1" >/dev/null) \
    || { log "cannot log in as $ROLE on 127.0.0.1:$port (check listen_addresses and pg_hba.conf of $version/$name)"; exit 1; }
fi

log "cluster $version/$name online on 127.0.0.1:$port; database $DB, role $ROLE"
echo "jdbc:postgresql://127.0.0.1:$port/$DB"
