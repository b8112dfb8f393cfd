#!/usr/bin/env bash
# Run a command with the test services (PostgreSQL, MariaDB, moto) up, and stop
# them afterwards, whatever happens:
#
#   bash scripts/with-services.sh npx jest test/support/services.test.ts
#
# The command sees the connection settings from .services/env in its
# environment (KMSSEC_PG_*, KMSSEC_MYSQL_*, KMSSEC_MOTO_ENDPOINT, ...).
# The script exits with the command's exit code.
#
#   KMSSEC_SKIP_SERVICES=1  start nothing; tests that need the services are skipped (loudly).
#   KMSSEC_SERVICES=1       already set by an outer caller: the services are up, just run the command.
set -euo pipefail

SERVICES="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/services.sh"

if (($# == 0)); then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi

if [[ ${KMSSEC_SKIP_SERVICES:-} == 1 ]]; then
  {
    echo "======================================================================"
    echo "KMSSEC_SKIP_SERVICES=1: not starting PostgreSQL, MariaDB and moto;"
    echo "tests that need them will be SKIPPED: running \`$*\` without them."
    echo "======================================================================"
  } >&2
  exec "$@"
fi

if [[ ${KMSSEC_SERVICES:-} == 1 ]]; then
  # An outer with-services.sh (or the caller) already started them.
  exec "$@"
fi

# Set the trap before starting, so a half-finished start is cleaned up too.
# INT/TERM during the start are turned into a normal exit so the EXIT trap runs.
trap 'bash "$SERVICES" stop' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bash "$SERVICES" start
# shellcheck source=/dev/null
source "$(bash "$SERVICES" env)"

# Run the command in the background and wait for it, so a SIGTERM/SIGINT sent to
# this script is passed on to it right away (bash defers traps until a
# foreground child exits). `<&0` keeps stdin (e.g. for `jest --watch`), which
# bash would otherwise replace with /dev/null for a background command.
set +e
"$@" <&0 &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' TERM
trap 'kill -INT "$child" 2>/dev/null' INT
# `wait` also returns early when a trapped signal arrives: keep waiting until
# the command has really exited, then report its exit code.
until wait "$child"; rc=$?; ! kill -0 "$child" 2>/dev/null; do :; done
exit "$rc"
