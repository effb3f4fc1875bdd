#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL cluster: `.ci/postgres.sh CMD [ARGS...]`.
#
# Installs Debian's `postgresql` when no server is under /usr/lib/postgresql/*/bin, creates a cluster in a
# temporary folder (owned by `postgres`: initdb refuses to run as root), starts it on 127.0.0.1 on a free port
# with its socket in that folder, runs CMD with PREFECT_ALERTS_DATABASE_URL pointing at it, and stops and
# removes the cluster on every exit (a failed test, an error, Ctrl-C), so no server is left behind.
# The cluster is for tests only: fsync is off, trust authentication, nothing survives the run.
set -euo pipefail

if [ "$#" -eq 0 ]; then
	echo "usage: $0 CMD [ARGS...]  (runs CMD with PREFECT_ALERTS_DATABASE_URL set to a temporary PostgreSQL)" >&2
	exit 2
fi

find_bin() {
	# The newest installed major version (Debian installs one per /usr/lib/postgresql/<major>).
	local initdb
	initdb=$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -n 1 || true)
	[ -n "$initdb" ] && dirname "$initdb"
}

PG_BIN=$(find_bin || true)
if [ -z "$PG_BIN" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "PostgreSQL is not installed and installing it needs root: run 'apt-get install -y postgresql' as root" >&2
		exit 1
	fi
	echo "postgres.sh: installing Debian's postgresql" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq postgresql >/dev/null
	# Where an init system lets it, Debian's postinst starts its default cluster: this run wants no server
	# but its own, and none left behind.
	if command -v pg_lsclusters >/dev/null; then
		pg_lsclusters --no-header | awk '$4 == "online" {print $1, $2}' | while read -r version cluster; do
			pg_ctlcluster "$version" "$cluster" stop || true
		done
	fi
	PG_BIN=$(find_bin || true)
	if [ -z "$PG_BIN" ]; then
		echo "apt-get installed postgresql but no /usr/lib/postgresql/*/bin/initdb exists" >&2
		exit 1
	fi
fi

# As root, the server runs as `postgres`; as anyone else, as that user (initdb accepts any non-root user).
if [ "$(id -u)" -eq 0 ]; then
	AS_PG=(runuser -u postgres --)
else
	AS_PG=()
fi

PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/prefect-alerts-pg.XXXXXX")
cleanup() {
	local status=$?
	if [ -f "$PG_DIR/data/postmaster.pid" ]; then
		"${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 ||
			echo "postgres.sh: could not stop the server in $PG_DIR (see $PG_DIR/log)" >&2
	fi
	rm -rf "$PG_DIR"
	exit "$status"
}
trap cleanup EXIT
CHILD=
# Bash runs a trap only after the foreground command ends, so CMD runs in the background and is waited for:
# Ctrl-C or a TERM then stops CMD and the server at once. (A background command ignores SIGINT, hence TERM.)
stop_child() {
	# jobs -p as well: the signal may come between starting CMD and recording its pid.
	local pids
	pids=$(jobs -p)
	# shellcheck disable=SC2086
	[ -n "$CHILD$pids" ] && kill -TERM $CHILD $pids 2>/dev/null
	exit "$1"
}
trap 'stop_child 130' INT
trap 'stop_child 143' TERM
if [ "$(id -u)" -eq 0 ]; then
	chown postgres: "$PG_DIR"
fi

"${AS_PG[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres --no-sync >"$PG_DIR/initdb.log" 2>&1 || {
	cat "$PG_DIR/initdb.log" >&2
	exit 1
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Another process may take the free port between the check and the start: try a few.
started=
for _ in 1 2 3; do
	PORT=$(free_port)
	if "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 60 start -o \
		"-c listen_addresses=127.0.0.1 -p $PORT -k $PG_DIR -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
		>/dev/null; then
		started=1
		break
	fi
done
if [ -z "$started" ]; then
	echo "postgres.sh: the server did not start; its log:" >&2
	cat "$PG_DIR/log" >&2 || true
	exit 1
fi
"$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -t 30

export PREFECT_ALERTS_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
echo "postgres.sh: $("$PG_BIN/postgres" --version) on 127.0.0.1:$PORT" >&2
# Not exec: the EXIT trap must run after CMD to stop the server.
"$@" <&0 &
CHILD=$!
wait "$CHILD"
