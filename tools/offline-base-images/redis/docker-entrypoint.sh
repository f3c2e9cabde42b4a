#!/bin/sh
# Entrypoint of the redis stand-in; follows the official redis image's one.
set -e

# first arg is `-f` or `--some-option`, or a config file: run redis-server with it
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
    set -- redis-server "$@"
fi

# started as root: own the data dir, then drop to the redis user (uid 999)
if [ "$1" = 'redis-server' ] && [ "$(id -u)" = '0' ]; then
    find . \! -user redis -exec chown redis '{}' +
    exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi

# set an appropriate umask (if one isn't set already)
um="$(umask)"
if [ "$um" = '0022' ]; then
    umask 0077
fi

case "${2:-}" in
    # informational flags only work as the first argument of redis-server
    -v | --version | -h | --help | --test-memory | --check-system) exec "$@" ;;
esac

if [ "$1" = 'redis-server' ]; then
    # Protected mode is pointless in a container (ports are published
    # explicitly): turn it off unless a given config file sets it.  A later
    # --protected-mode argument still wins.
    doProtectedMode=1
    configFile=
    if [ -f "${2:-}" ]; then
        configFile="$2"
        if grep -q '^protected-mode' "$configFile"; then
            doProtectedMode=
        fi
    fi
    if [ "$doProtectedMode" = 1 ]; then
        shift # "redis-server"
        if [ "$configFile" ]; then
            shift
        fi
        set -- --protected-mode no "$@"
        if [ "$configFile" ]; then
            set -- "$configFile" "$@"
        fi
        set -- redis-server "$@" # redis-server [config file] --protected-mode no [other options]
    fi
fi

exec "$@"
