#!/bin/sh
# Container entrypoint: pick the settings module, refuse a production start
# without its own secrets, then replace itself with the given command (so
# SIGTERM from `docker stop` reaches gunicorn or the worker directly).
set -eu

case "${SEKISPE_DEMO:-0}" in
  1)
    # The demo: production settings plus the demo-data command, over plain
    # http on localhost. The key is public on purpose: a demo has no secrets.
    export DJANGO_SETTINGS_MODULE=sekispe.settings.demo
    if [ -z "${SECRET_KEY:-}" ]; then
      export SECRET_KEY="sekispe-demo-only-key-not-secret-never-use-in-production"
    fi
    # Nothing in front of the demo but the published loopback port.
    if [ -z "${TRUSTED_PROXY_HOPS:-}" ]; then
      export TRUSTED_PROXY_HOPS=0
    fi
    ;;
  0 | "")
    export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-sekispe.settings.prod}"
    if [ -z "${SECRET_KEY:-}" ]; then
      echo "sekispe: SECRET_KEY is not set. Set it (see docs/deployment.md)," \
        "or try the local demo with SEKISPE_DEMO=1." >&2
      exit 64
    fi
    # compose.yaml's default database password is the demo's, and public.
    case "${DATABASE_URL:-}" in
      *://sekispe:sekispe@*)
        echo "sekispe: the database password is the demo's; set POSTGRES_PASSWORD" \
          "(see docs/deployment.md)." >&2
        exit 64
        ;;
    esac
    ;;
  *)
    echo "sekispe: SEKISPE_DEMO must be 1 or 0, not '${SEKISPE_DEMO}'." >&2
    exit 64
    ;;
esac

exec "$@"
