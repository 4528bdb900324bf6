# A throwaway PostgreSQL cluster for the tests, from Debian's packages.
#
# Source it (`source .ci/postgres.sh`) from .ci/run or a shell: it installs `postgresql` when
# initdb is missing, creates a cluster in a temporary directory as the `postgres` user (trust
# authentication, listening on 127.0.0.1 only, on a free port), starts it, and exports
#   AUTOCODER_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:PORT/postgres
# Tests make a database of their own on it for each test (tests/app/conftest.py). The cluster
# is stopped when the sourcing shell exits (unless that shell already has an EXIT trap: then
# `autocoder_postgres_stop` does it).

_pg_bin=""
for _candidate in /usr/lib/postgresql/*/bin; do
    [[ -x "$_candidate/initdb" ]] && _pg_bin="$_candidate"
done
if [[ -z "$_pg_bin" ]]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql >/dev/null
    for _candidate in /usr/lib/postgresql/*/bin; do
        [[ -x "$_candidate/initdb" ]] && _pg_bin="$_candidate"
    done
fi
if [[ -z "$_pg_bin" ]]; then
    echo "postgres.sh: initdb not found after installing postgresql" >&2
    return 1 2>/dev/null || exit 1
fi

AUTOCODER_TEST_POSTGRES_DIR="$(mktemp -d /tmp/autocoder-pg.XXXXXX)"
export AUTOCODER_TEST_POSTGRES_DIR
chown postgres: "$AUTOCODER_TEST_POSTGRES_DIR"
_pg_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

_as_postgres() {
    if [[ "$(id -un)" == postgres ]]; then "$@"; else runuser -u postgres -- "$@"; fi
}

_as_postgres "$_pg_bin/initdb" -D "$AUTOCODER_TEST_POSTGRES_DIR/data" -U postgres \
    --auth=trust --encoding=UTF8 --no-locale >"$AUTOCODER_TEST_POSTGRES_DIR/initdb.log"
# Throwaway data: no fsync. Enough connections for three replicas, their sessions and the tests.
_as_postgres "$_pg_bin/pg_ctl" -D "$AUTOCODER_TEST_POSTGRES_DIR/data" -w -t 60 \
    -l "$AUTOCODER_TEST_POSTGRES_DIR/server.log" \
    -o "-c listen_addresses=127.0.0.1 -p $_pg_port -k $AUTOCODER_TEST_POSTGRES_DIR" \
    -o "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" \
    start >/dev/null

export AUTOCODER_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$_pg_port/postgres"
echo "postgres.sh: PostgreSQL $("$_pg_bin/postgres" --version | awk '{print $3}') at 127.0.0.1:$_pg_port"

autocoder_postgres_stop() {
    _as_postgres "$_pg_bin/pg_ctl" -D "$AUTOCODER_TEST_POSTGRES_DIR/data" -m immediate stop \
        >/dev/null 2>&1 || true
    rm -rf "$AUTOCODER_TEST_POSTGRES_DIR"
}
if [[ -z "$(trap -p EXIT)" ]]; then
    trap autocoder_postgres_stop EXIT
fi
