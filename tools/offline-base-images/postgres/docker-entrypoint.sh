#!/usr/bin/env bash
# Entrypoint of the postgres stand-in; a shortened version of the official
# postgres image's one, with the same environment variables:
#   POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust),
#   POSTGRES_USER (default postgres), POSTGRES_DB (default $POSTGRES_USER),
#   POSTGRES_INITDB_ARGS, POSTGRES_HOST_AUTH_METHOD (default scram-sha-256),
#   each also as *_FILE (read from a file, e.g. a secret);
# initdb on first start only, then /docker-entrypoint-initdb.d/*.{sh,sql,sql.gz}.
set -Eeo pipefail

# file_env VAR [DEFAULT]: VAR from $VAR or from the file named by $VAR_FILE
file_env() {
    local var="$1" fileVar="${1}_FILE" def="${2:-}"
    if [ "${!var:-}" ] && [ "${!fileVar:-}" ]; then
        echo >&2 "error: both $var and $fileVar are set (but are exclusive)"
        exit 1
    fi
    local val="$def"
    if [ "${!var:-}" ]; then
        val="${!var}"
    elif [ "${!fileVar:-}" ]; then
        val="$(<"${!fileVar}")"
    fi
    export "$var"="$val"
    unset "$fileVar"
}

# first arg is `-f` or `--some-option`: run postgres with it
if [ "${1:0:1}" = '-' ]; then
    set -- postgres "$@"
fi

# `postgres --version`, `postgres -C setting` and the like just print and exit:
# no initdb for them (as in the official image)
want_help() {
    local arg
    for arg; do
        case "$arg" in
            -'?' | --help | --describe-config | -V | --version) return 0 ;;
        esac
    done
    return 1
}
if [ "$1" = 'postgres' ] && want_help "$@"; then
    exec "$@"
fi

# started as root: fix ownership of the data and socket dirs, then re-run this
# script as the postgres user (uid 999)
if [ "$1" = 'postgres' ] && [ "$(id -u)" = '0' ]; then
    mkdir -p "$PGDATA"
    find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
    chmod 00700 "$PGDATA"
    mkdir -p /var/run/postgresql
    chown postgres:postgres /var/run/postgresql
    chmod 03775 /var/run/postgresql
    exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

if [ "$1" = 'postgres' ]; then
    mkdir -p "$PGDATA"
    chmod 00700 "$PGDATA" 2>/dev/null || :

    if [ -s "$PGDATA/PG_VERSION" ]; then
        echo
        echo 'PostgreSQL Database directory appears to contain a database; Skipping initialization'
        echo
    else
        file_env POSTGRES_PASSWORD
        file_env POSTGRES_USER postgres
        file_env POSTGRES_DB "$POSTGRES_USER"
        file_env POSTGRES_INITDB_ARGS
        : "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"

        if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != 'trust' ]; then
            cat >&2 <<-'MSG'
				Error: Database is uninitialized and superuser password is not specified.
				       You must specify POSTGRES_PASSWORD to a non-empty value for the
				       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".

				       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all
				       connections without a password. This is *not* recommended.
			MSG
            exit 1
        fi

        # POSTGRES_INITDB_ARGS is word-split on purpose, as in the official
        # image.  The <(...) must be in the initdb command itself: its fd
        # only lives as long as the command that creates it.
        if [ -n "$POSTGRES_PASSWORD" ]; then
            # shellcheck disable=SC2086
            initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") $POSTGRES_INITDB_ARGS
        else
            # shellcheck disable=SC2086
            initdb --username="$POSTGRES_USER" $POSTGRES_INITDB_ARGS
        fi

        # every host may connect, with a password unless told otherwise
        printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"

        # a temporary server on the socket only, to create the database and run
        # the init scripts without anybody connecting meanwhile
        export PGUSER="$POSTGRES_USER" PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
        pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start

        psql_cmd=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
        if [ "$POSTGRES_DB" != 'postgres' ]; then
            "${psql_cmd[@]}" --dbname postgres --set db="$POSTGRES_DB" <<-'SQL'
				CREATE DATABASE :"db" ;
			SQL
        fi
        echo
        for f in /docker-entrypoint-initdb.d/*; do
            case "$f" in
                *.sh)
                    if [ -x "$f" ]; then
                        echo "$0: running $f"
                        "$f"
                    else
                        echo "$0: sourcing $f"
                        # shellcheck source=/dev/null
                        . "$f"
                    fi
                    ;;
                *.sql) echo "$0: running $f"; "${psql_cmd[@]}" --dbname "$POSTGRES_DB" -f "$f"; echo ;;
                *.sql.gz) echo "$0: running $f"; gunzip -c "$f" | "${psql_cmd[@]}" --dbname "$POSTGRES_DB"; echo ;;
                */\*) ;; # empty directory
                *) echo "$0: ignoring $f" ;;
            esac
        done

        pg_ctl -D "$PGDATA" -m fast -w stop
        unset PGPASSWORD
        echo
        echo 'PostgreSQL init process complete; ready for start up.'
        echo
    fi
fi

exec "$@"
