#!/usr/bin/env bash
# Start / stop the real services the tests talk to, each on a free loopback port:
#
#   PostgreSQL 15 with TLS      (ssl=on, server cert signed by a throw-away test CA,
#                                issued to the IP address 127.0.0.1 only)
#   PostgreSQL 15 with TLS, "name" twin (same CA, cert issued to the name localhost only)
#   PostgreSQL 15 without TLS   (ssl=off; proves TLS-requiring clients fail loudly)
#   MariaDB with TLS            (same test CA, cert for the IP 127.0.0.1 only)
#   MariaDB with TLS, "name" twin (same CA, cert for the name localhost only)
#   MariaDB without TLS         (--skip-ssl; same reason as above)
#   moto server                 (Secrets Manager and KMS API emulator)
#
# Two certificates, so that host name verification is really proven: a client
# that connects to 127.0.0.1 must accept the IP certificate and refuse the
# localhost one (MySQL clients that send no server name for an IP get this
# wrong), and a client that connects to localhost the other way round.
#
# Usage:
#   bash scripts/services.sh start   # (re)create .services/, start everything, write .services/env
#   bash scripts/services.sh stop    # stop everything `start` started; safe to repeat
#   bash scripts/services.sh env     # print the path of the env file to `source`
#
# All state (data dirs, sockets, logs, pid files, TLS material, env file) lives in
# $ROOT/.services, which is gitignored (or, when the database users cannot
# reach the checkout, in /tmp/kmssec-services-<checksum of the checkout path>).
# Nothing outside it is touched.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The servers run as the postgres and mysql users, so their state must be
# reachable by them. A checkout under a private directory (`mktemp -d` makes
# it 0700) gets a world-traversable state directory under /tmp instead, one
# per checkout, so that `start`, `stop` and `env` always agree on it.
reachable_by_db_users() {
  local user
  for user in postgres mysql; do
    id "$user" >/dev/null 2>&1 && runuser -u "$user" -- test -x "$ROOT" 2>/dev/null || return 1
  done
}
if reachable_by_db_users; then
  STATE="$ROOT/.services"
else
  STATE="/tmp/kmssec-services-$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)"
fi
ENV_FILE="$STATE/env"
TIMEOUT=${KMSSEC_SERVICES_TIMEOUT:-60} # seconds each service gets to accept connections

PG_BIN=/usr/lib/postgresql/15/bin

log() { echo "[services] $*"; }

# Print the last lines of a log file to stderr (used whenever a service fails).
show_log() {
  local file=$1
  echo "----- last 40 lines of $file -----" >&2
  if [[ -f $file ]]; then tail -n 40 "$file" >&2; else echo "(no log file)" >&2; fi
  echo "-----" >&2
}

# Is the process with this pid (possibly empty) alive?
alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }

# Is pid alive AND is its command line ours (contains the given string)? Guards
# against a stale pid file pointing at a recycled pid of some unrelated process.
ours() {
  local cmdline
  alive "$1" || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *"$2"* ]]
}

# Send SIGTERM to a pid (if `ours` with the given command-line string) and wait
# up to 30 s for it to go away; SIGKILL as a last resort.
terminate() {
  local pid=$1 match=$2 i
  ours "$pid" "$match" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 300; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  log "pid $pid ($match) ignored SIGTERM for 30 s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------------------
# stop
# ---------------------------------------------------------------------------

stop_pg() {
  local dir=$1 pid
  [[ -f $dir/data/postmaster.pid ]] || return 0
  pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)
  ours "$pid" "$dir/data" || return 0
  # A fast shutdown via pg_ctl, as the cluster owner; plain SIGTERM if that fails.
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 \
    || terminate "$pid" "$dir/data"
  log "stopped PostgreSQL ($(basename "$dir"))"
}

stop_mysql() {
  local dir=$1 pid stopped=
  # SIGTERM to the pid in its pid file is a clean shutdown (what `mariadb-admin
  # shutdown` does, minus the credentials). launcher.pid covers a server that
  # died or hung before writing its own pid file.
  for pid in $(cat "$dir/mariadbd.pid" "$dir/launcher.pid" 2>/dev/null || true); do
    if ours "$pid" "--datadir=$dir/data"; then
      terminate "$pid" "--datadir=$dir/data"
      stopped=1
    fi
  done
  [[ -z $stopped ]] || log "stopped MariaDB ($(basename "$dir"))"
}

stop_moto() {
  local pid
  pid=$(cat "$STATE/moto.pid" 2>/dev/null || true)
  ours "$pid" moto_server || return 0
  terminate "$pid" moto_server
  log "stopped moto"
}

# Stops all seven services in parallel; a no-op for whatever is not running.
stop_all() {
  [[ -d $STATE ]] || return 0
  local pids=() pid
  stop_pg "$STATE/pg-tls" & pids+=($!)
  stop_pg "$STATE/pg-notls" & pids+=($!)
  stop_pg "$STATE/pg-name" & pids+=($!)
  stop_mysql "$STATE/mysql-tls" & pids+=($!)
  stop_mysql "$STATE/mysql-name" & pids+=($!)
  stop_mysql "$STATE/mysql-notls" & pids+=($!)
  stop_moto & pids+=($!)
  for pid in "${pids[@]}"; do wait "$pid" || true; done
  rm -f "$ENV_FILE" # it described the services just stopped
}

# ---------------------------------------------------------------------------
# start
# ---------------------------------------------------------------------------

# Fail early, with an install hint, if a binary is missing.
check_binaries() {
  local missing=()
  [[ -x $PG_BIN/initdb && -x $PG_BIN/pg_ctl && -x $PG_BIN/postgres ]] \
    || missing+=("PostgreSQL 15 ($PG_BIN/{initdb,pg_ctl,postgres}): apt-get install postgresql-15")
  [[ -x $PG_BIN/pg_isready ]] || missing+=("pg_isready: apt-get install postgresql-client-15")
  MARIADBD=$(command -v mariadbd || command -v mysqld || true)
  [[ -z $MARIADBD && -x /usr/sbin/mariadbd ]] && MARIADBD=/usr/sbin/mariadbd
  [[ -z $MARIADBD && -x /usr/sbin/mysqld ]] && MARIADBD=/usr/sbin/mysqld
  [[ -n $MARIADBD ]] || missing+=("mariadbd/mysqld: apt-get install mariadb-server")
  command -v mariadb-install-db >/dev/null || missing+=("mariadb-install-db: apt-get install mariadb-server")
  command -v mariadb >/dev/null || missing+=("mariadb (client): apt-get install mariadb-client")
  command -v moto_server >/dev/null || missing+=("moto_server: pip install 'moto[server]'")
  command -v openssl >/dev/null || missing+=("openssl: apt-get install openssl")
  command -v curl >/dev/null || missing+=("curl: apt-get install curl")
  command -v python3 >/dev/null || missing+=("python3: apt-get install python3")
  id postgres >/dev/null 2>&1 || missing+=("OS user 'postgres': apt-get install postgresql-15")
  id mysql >/dev/null 2>&1 || missing+=("OS user 'mysql': apt-get install mariadb-server")
  [[ $(id -u) == 0 ]] || missing+=("root privileges: run as root (data dirs are handed to the postgres and mysql users)")
  if ((${#missing[@]})); then
    echo "[services] ERROR: cannot start the test services; missing:" >&2
    printf '  - %s\n' "${missing[@]}" >&2
    exit 1
  fi
}

# Seven distinct free TCP ports on 127.0.0.1. All sockets are bound at the same
# time so the kernel hands out different ports; they are closed right away, and
# the servers bind them a moment later (a tiny race we accept).
free_ports() {
  python3 - <<'EOF'
import socket
socks = []
for _ in range(7):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
}

# A throw-away CA and two server certs per database: one issued to the IP
# address 127.0.0.1 only (the main TLS servers), one to the name localhost only
# (the "name" twins). Neither names the other, so each proves one direction of
# host name verification.
make_tls() {
  local tls=$STATE/tls name kind
  mkdir -p "$tls"
  chmod 755 "$tls"
  openssl req -x509 -new -nodes -newkey rsa:2048 -sha256 -days 2 \
    -keyout "$tls/ca.key" -out "$tls/ca.pem" -subj "/CN=cdk-kms-secrets test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null
  for kind in ip name; do
    {
      echo "basicConstraints=critical,CA:FALSE"
      echo "keyUsage=critical,digitalSignature,keyEncipherment"
      echo "extendedKeyUsage=serverAuth"
      if [[ $kind == ip ]]; then echo "subjectAltName=IP:127.0.0.1"; else echo "subjectAltName=DNS:localhost"; fi
    } >"$tls/$kind.ext"
  done
  # <engine>-server.*: for 127.0.0.1; <engine>-name-server.*: for localhost.
  for name in pg mysql pg-name mysql-name; do
    if [[ $name == *-name ]]; then kind=name; else kind=ip; fi
    openssl req -new -nodes -newkey rsa:2048 -sha256 -subj "/CN=$([[ $kind == ip ]] && echo 127.0.0.1 || echo localhost)" \
      -keyout "$tls/$name-server.key" -out "$tls/$name-server.csr" 2>/dev/null
    openssl x509 -req -in "$tls/$name-server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
      -set_serial "0x$(openssl rand -hex 8)" -days 2 -sha256 -extfile "$tls/$kind.ext" \
      -out "$tls/$name-server.pem" 2>/dev/null
  done
  rm -f "$tls"/*.csr "$tls"/*.ext "$tls/ca.key" # the CA key is never needed again
  # PostgreSQL refuses a key that is not owned by it with mode 600; MariaDB just needs to read its own.
  chown postgres: "$tls/pg-server.key" "$tls/pg-server.pem" "$tls/pg-name-server.key" "$tls/pg-name-server.pem"
  chown mysql: "$tls/mysql-server.key" "$tls/mysql-server.pem" "$tls/mysql-name-server.key" "$tls/mysql-name-server.pem"
  chmod 600 "$tls"/*-server.key "$tls"/*-server.pem
  chmod 644 "$tls/ca.pem"
}

# initdb once, then copy the cluster for the second instance (faster than two initdbs).
# Runs in the background; everything goes to pg-init.log.
init_pg() {
  local pw_file=$STATE/pg-tls/pwfile
  printf '%s\n' "$PG_PASSWORD" >"$pw_file"
  chown postgres: "$pw_file"
  chmod 600 "$pw_file"
  # local (unix socket) connections: peer auth (only the postgres OS user);
  # host (TCP) connections: scram-sha-256 password auth.
  runuser -u postgres -- "$PG_BIN/initdb" -D "$STATE/pg-tls/data" -U postgres --pwfile="$pw_file" \
    --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --locale=C --no-sync
  rm -f "$pw_file"
  runuser -u postgres -- cp -a "$STATE/pg-tls/data" "$STATE/pg-notls/data"
  runuser -u postgres -- cp -a "$STATE/pg-tls/data" "$STATE/pg-name/data"
}

# Append our settings to postgresql.conf (later lines win) and start the cluster.
# cert: the server certificate's base name in $STATE/tls (pg-server or pg-name-server).
start_pg() {
  local dir=$1 port=$2 ssl=$3 cert=${4:-pg-server}
  {
    echo "# --- added by scripts/services.sh ---"
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    echo "unix_socket_directories = '$dir'"
    echo "password_encryption = 'scram-sha-256'"
    echo "fsync = off" # throw-away test data: durability is not needed
    echo "synchronous_commit = off"
    echo "full_page_writes = off"
    echo "max_connections = 50"
    echo "ssl = $ssl"
    if [[ $ssl == on ]]; then
      echo "ssl_cert_file = '$STATE/tls/$cert.pem'"
      echo "ssl_key_file = '$STATE/tls/$cert.key'"
      echo "ssl_ca_file = '$STATE/tls/ca.pem'"
    fi
  } >>"$dir/data/postgresql.conf"
  # -w: wait until the postmaster is up (or has died), so failures are reported here.
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t "$TIMEOUT" start
}

init_mysql() {
  mariadb-install-db --no-defaults --user=mysql --datadir="$STATE/mysql-tls/data" \
    --auth-root-authentication-method=socket --skip-test-db --skip-name-resolve
  cp -a "$STATE/mysql-tls/data" "$STATE/mysql-notls/data"
  cp -a "$STATE/mysql-tls/data" "$STATE/mysql-name/data"
}

# Start one mariadbd in the background; its init file sets the root password.
# cert: the server certificate's base name in $STATE/tls (mysql-server or mysql-name-server).
start_mysql() {
  local dir=$1 port=$2 tls=$3 cert=${4:-mysql-server}
  local -a tls_opts
  if [[ $tls == on ]]; then
    tls_opts=(--ssl-ca="$STATE/tls/ca.pem" --ssl-cert="$STATE/tls/$cert.pem" --ssl-key="$STATE/tls/$cert.key")
  else
    tls_opts=(--skip-ssl)
  fi
  # --no-defaults must come first: nothing from /etc/mysql may leak in.
  "$MARIADBD" --no-defaults --user=mysql \
    --datadir="$dir/data" --socket="$dir/mariadbd.sock" --pid-file="$dir/mariadbd.pid" \
    --log-error="$dir/mariadbd.log" --init-file="$STATE/mysql-init.sql" \
    --bind-address=127.0.0.1 --port="$port" --skip-networking=0 --skip-name-resolve \
    --innodb-buffer-pool-size=32M --innodb-log-file-size=16M --innodb-flush-log-at-trx-commit=0 \
    --skip-log-bin --max-connections=50 \
    "${tls_opts[@]}" </dev/null >>"$dir/mariadbd.log" 2>&1 &
  echo $! >"$dir/launcher.pid"
}

start_moto() {
  moto_server -H 127.0.0.1 -p "$MOTO_PORT" </dev/null >"$STATE/moto.log" 2>&1 &
  echo $! >"$STATE/moto.pid"
}

# Poll `check` (a command) until it succeeds; fail with the log tail if the
# deadline passes or the process (pid, optional) dies.
wait_for() {
  local name=$1 logfile=$2 pid=$3
  shift 3
  local deadline=$((SECONDS + TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    if [[ -n $pid ]] && ! alive "$pid"; then
      echo "[services] ERROR: $name exited during startup" >&2
      show_log "$logfile"
      return 1
    fi
    if ((SECONDS >= deadline)); then
      echo "[services] ERROR: $name did not accept connections within ${TIMEOUT}s" >&2
      show_log "$logfile"
      return 1
    fi
    sleep 0.2
  done
}

mysql_ready() { MYSQL_PWD=$MYSQL_PASSWORD mariadb --no-defaults --protocol=TCP -h 127.0.0.1 -P "$1" -u root -e 'SELECT 1'; }
pg_ready() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$1" -d postgres -t 2; }
moto_ready() { curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$MOTO_PORT/moto-api/"; }

start_all() {
  local t0
  t0=$(date +%s%N)
  rm -f "$ENV_FILE" # never leave a stale env behind a failed start
  check_binaries
  stop_all # anything still running from a previous `start` would be orphaned by the wipe below
  rm -rf "$STATE"
  mkdir -p "$STATE"
  chmod 755 "$STATE" # postgres and mysql must be able to traverse it
  local user
  for user in postgres mysql; do
    runuser -u "$user" -- test -x "$STATE" \
      || { echo "[services] ERROR: user $user cannot reach $STATE; every parent directory must be world-executable (chmod o+x)" >&2; exit 1; }
  done

  # On any failure from here on, stop whatever was already started (logs stay for inspection).
  trap 'rc=$?; if ((rc != 0)); then echo "[services] start failed; stopping what was started (logs in $STATE)" >&2; stop_all >&2; fi' EXIT

  read -r PG_PORT PG_NOTLS_PORT PG_NAME_PORT MYSQL_PORT MYSQL_NOTLS_PORT MYSQL_NAME_PORT MOTO_PORT <<<"$(free_ports)"
  PG_PASSWORD=$(openssl rand -hex 16)    # hex: no quoting issues anywhere
  MYSQL_PASSWORD=$(openssl rand -hex 16)

  # moto is pure Python and independent of the rest: start it first so its import overlaps with the others.
  start_moto

  mkdir -p "$STATE"/pg-tls "$STATE"/pg-notls "$STATE"/pg-name "$STATE"/mysql-tls "$STATE"/mysql-notls "$STATE"/mysql-name
  chown postgres: "$STATE"/pg-tls "$STATE"/pg-notls "$STATE"/pg-name
  chown mysql: "$STATE"/mysql-tls "$STATE"/mysql-notls "$STATE"/mysql-name
  chmod 700 "$STATE"/pg-tls "$STATE"/pg-notls "$STATE"/pg-name "$STATE"/mysql-tls "$STATE"/mysql-notls "$STATE"/mysql-name

  # Both database engines bootstrap in parallel with the TLS material generation.
  init_pg >"$STATE/pg-init.log" 2>&1 &
  local pg_init=$!
  init_mysql >"$STATE/mysql-init.log" 2>&1 &
  local mysql_init=$!
  make_tls

  # Runs at every mariadbd start, before it accepts connections. MariaDB 10.4+
  # defaults root@localhost to unix_socket auth; the npm mysql2 client speaks
  # mysql_native_password (not ed25519), so TCP root accounts use that.
  cat >"$STATE/mysql-init.sql" <<EOF
ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('$MYSQL_PASSWORD');
CREATE OR REPLACE USER 'root'@'127.0.0.1' IDENTIFIED VIA mysql_native_password USING PASSWORD('$MYSQL_PASSWORD');
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
CREATE OR REPLACE USER 'root'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('$MYSQL_PASSWORD');
GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;
EOF
  chown mysql: "$STATE/mysql-init.sql"
  chmod 600 "$STATE/mysql-init.sql"

  if ! wait "$mysql_init"; then
    echo "[services] ERROR: mariadb-install-db failed" >&2
    show_log "$STATE/mysql-init.log"
    exit 1
  fi
  start_mysql "$STATE/mysql-tls" "$MYSQL_PORT" on
  start_mysql "$STATE/mysql-notls" "$MYSQL_NOTLS_PORT" off
  start_mysql "$STATE/mysql-name" "$MYSQL_NAME_PORT" on mysql-name-server

  if ! wait "$pg_init"; then
    echo "[services] ERROR: initdb failed" >&2
    show_log "$STATE/pg-init.log"
    exit 1
  fi
  start_pg "$STATE/pg-tls" "$PG_PORT" on >>"$STATE/pg-init.log" 2>&1 &
  local pg_tls=$!
  start_pg "$STATE/pg-notls" "$PG_NOTLS_PORT" off >>"$STATE/pg-init.log" 2>&1 &
  local pg_notls=$!
  start_pg "$STATE/pg-name" "$PG_NAME_PORT" on pg-name-server >>"$STATE/pg-init.log" 2>&1 &
  local pg_name=$!

  local failed=0
  wait "$pg_tls" || { echo "[services] ERROR: PostgreSQL (TLS) failed to start" >&2; show_log "$STATE/pg-tls/postgres.log"; failed=1; }
  wait "$pg_notls" || { echo "[services] ERROR: PostgreSQL (no TLS) failed to start" >&2; show_log "$STATE/pg-notls/postgres.log"; failed=1; }
  wait "$pg_name" || { echo "[services] ERROR: PostgreSQL (TLS, name cert) failed to start" >&2; show_log "$STATE/pg-name/postgres.log"; failed=1; }
  ((failed == 0)) || exit 1

  wait_for "PostgreSQL (TLS)" "$STATE/pg-tls/postgres.log" "" pg_ready "$PG_PORT"
  wait_for "PostgreSQL (no TLS)" "$STATE/pg-notls/postgres.log" "" pg_ready "$PG_NOTLS_PORT"
  wait_for "PostgreSQL (TLS, name cert)" "$STATE/pg-name/postgres.log" "" pg_ready "$PG_NAME_PORT"
  wait_for "MariaDB (TLS)" "$STATE/mysql-tls/mariadbd.log" "$(cat "$STATE/mysql-tls/launcher.pid")" mysql_ready "$MYSQL_PORT"
  wait_for "MariaDB (no TLS)" "$STATE/mysql-notls/mariadbd.log" "$(cat "$STATE/mysql-notls/launcher.pid")" mysql_ready "$MYSQL_NOTLS_PORT"
  wait_for "MariaDB (TLS, name cert)" "$STATE/mysql-name/mariadbd.log" "$(cat "$STATE/mysql-name/launcher.pid")" mysql_ready "$MYSQL_NAME_PORT"
  wait_for "moto" "$STATE/moto.log" "$(cat "$STATE/moto.pid")" moto_ready

  # `export KEY=value` lines; %q keeps paths with odd characters shell-safe.
  {
    printf 'export %s=%q\n' \
      KMSSEC_SERVICES 1 \
      KMSSEC_PG_HOST 127.0.0.1 \
      KMSSEC_PG_PORT "$PG_PORT" \
      KMSSEC_PG_USER postgres \
      KMSSEC_PG_PASSWORD "$PG_PASSWORD" \
      KMSSEC_PG_DATABASE postgres \
      KMSSEC_PG_NOTLS_PORT "$PG_NOTLS_PORT" \
      KMSSEC_PG_NAME_PORT "$PG_NAME_PORT" \
      KMSSEC_MYSQL_HOST 127.0.0.1 \
      KMSSEC_MYSQL_PORT "$MYSQL_PORT" \
      KMSSEC_MYSQL_USER root \
      KMSSEC_MYSQL_PASSWORD "$MYSQL_PASSWORD" \
      KMSSEC_MYSQL_NOTLS_PORT "$MYSQL_NOTLS_PORT" \
      KMSSEC_MYSQL_NAME_PORT "$MYSQL_NAME_PORT" \
      KMSSEC_TLS_CA_FILE "$STATE/tls/ca.pem" \
      KMSSEC_TLS_NAME localhost \
      KMSSEC_MOTO_ENDPOINT "http://127.0.0.1:$MOTO_PORT" \
      AWS_ACCESS_KEY_ID testing \
      AWS_SECRET_ACCESS_KEY testing \
      AWS_REGION us-east-1 \
      AWS_DEFAULT_REGION us-east-1
  } >"$ENV_FILE"
  chmod 600 "$ENV_FILE" # it holds the (throw-away) passwords

  trap - EXIT
  log "PostgreSQL 15 (TLS, cert for 127.0.0.1 only)  127.0.0.1:$PG_PORT"
  log "PostgreSQL 15 (no TLS)  127.0.0.1:$PG_NOTLS_PORT"
  log "PostgreSQL 15 (TLS, cert for localhost only)  localhost:$PG_NAME_PORT"
  log "MariaDB (TLS, cert for 127.0.0.1 only)        127.0.0.1:$MYSQL_PORT"
  log "MariaDB (no TLS)        127.0.0.1:$MYSQL_NOTLS_PORT"
  log "MariaDB (TLS, cert for localhost only)        localhost:$MYSQL_NAME_PORT"
  log "moto                    http://127.0.0.1:$MOTO_PORT"
  local ms=$((($(date +%s%N) - t0) / 1000000))
  log "ready in $((ms / 1000)).$(printf '%03d' $((ms % 1000)))s; env: $ENV_FILE"
}

case "${1:-}" in
  start) start_all ;;
  stop) stop_all ;;
  env) echo "$ENV_FILE" ;;
  *)
    echo "usage: $0 start|stop|env" >&2
    exit 2
    ;;
esac
