#!/bin/bash
# The entrypoint of the stand-in postgres:16 image (stand-in-images.sh). It does what
# the official image's entrypoint does for a deployment like ours: on an empty data
# directory it runs initdb as POSTGRES_USER with POSTGRES_PASSWORD (scram-sha-256 over
# TCP, trust on the local socket), creates POSTGRES_DB, runs the *.sql and *.sh files
# of /docker-entrypoint-initdb.d, then runs the server listening on every address.
# Like the official image, POSTGRES_PASSWORD, POSTGRES_USER and POSTGRES_DB may be
# given as files instead (POSTGRES_PASSWORD_FILE=/run/secrets/postgres_password).
set -Eeo pipefail

file_env() { # file_env VAR: VAR from the file VAR_FILE names, if it is set
    local var=$1 file_var="${1}_FILE"
    if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
        echo "error: both $var and $file_var are set (but are exclusive)" >&2
        exit 1
    fi
    if [ -n "${!file_var:-}" ]; then
        export "$var"="$(<"${!file_var}")"
        unset "$file_var"
    fi
}

if [ "${1:0:1}" = "-" ]; then
    set -- postgres "$@"
fi

# Read as root, before dropping to postgres: the files may be readable by root only.
file_env POSTGRES_PASSWORD
file_env POSTGRES_USER
file_env POSTGRES_DB

if [ "$1" = postgres ] && [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown -R postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 0700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
fi

if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    POSTGRES_USER=${POSTGRES_USER:-postgres}
    POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}
    if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "${POSTGRES_HOST_AUTH_METHOD:-}" != trust ]; then
        echo "error: the database is uninitialized and POSTGRES_PASSWORD is not set" >&2
        echo "       (set it, or POSTGRES_HOST_AUTH_METHOD=trust to allow every connection)" >&2
        exit 1
    fi
    auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
    pwfile=$(mktemp)
    printf '%s\n' "${POSTGRES_PASSWORD:-}" >"$pwfile"
    initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust \
        --auth-host="$auth" --encoding=UTF8 --locale=C.UTF-8 -D "$PGDATA" >/dev/null
    rm -f "$pwfile"
    printf "host all all all %s\n" "$auth" >>"$PGDATA/pg_hba.conf"
    printf "listen_addresses = '*'\n" >>"$PGDATA/postgresql.conf"

    # A server on the socket only while the database is prepared.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    psql=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --dbname postgres)
    if [ "$POSTGRES_DB" != postgres ]; then
        "${psql[@]}" --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";' >/dev/null
    fi
    for file in /docker-entrypoint-initdb.d/*; do
        case "$file" in
            *.sql) "${psql[@]}" --dbname "$POSTGRES_DB" -f "$file" ;;
            *.sh) . "$file" ;;
            *) ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    echo "PostgreSQL init process complete; ready for start up."
fi

exec "$@"
