#!/usr/bin/env bash
# dev-cluster.sh: a 3-server + 2-client nomadlike cluster on 127.0.0.1.
#
#   scripts/dev-cluster.sh           start it, print how to reach it, run
#                                    until Ctrl-C / SIGTERM, then stop every
#                                    agent it started and remove its dir
#   scripts/dev-cluster.sh --check   start it, verify it (3 alive members,
#                                    3 raft peers, 2 ready nodes), tear it
#                                    down; exit 0 only if all checks passed
#
# Ports (NOMADLIKE_DEV_PORT_BASE, default 5646; B = base):
#   s1 http/rpc/serf B+0/B+1/B+2     c1 http/rpc/serf B+30/B+31/B+32
#   s2               B+10/B+11/B+12  c2               B+40/B+41/B+42
#   s3               B+20/B+21/B+22
# so by default 5646-5648, 5656-5658, 5666-5668, 5676-5678, 5686-5688.
# A base whose range would touch 4646-4648 (`make dev`) is refused.
#
# Environment:
#   NOMADLIKE_DEV_PORT_BASE   first port (default 5646)
#   NOMADLIKE_DEV_DIR         where data dirs and logs go; kept on exit
#                             (default: a new temp dir, removed on exit)
#   NOMADLIKE_DEV_LOG_LEVEL   agents' log level (default info)
#   NOMADLIKE_DEV_TIMEOUT     seconds to wait for the cluster (default 60)
#   NOMADLIKE_BIN             binary to run (default: bin/nomadlike, built
#                             with `go build` when missing or out of date)
#
# It only ever signals the PIDs it started itself.
set -euo pipefail

usage() {
	sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'
}

MODE=run
case "${1:-}" in
"") ;;
--check) MODE=check ;;
-h | --help)
	usage
	exit 0
	;;
*)
	echo "unknown argument: $1" >&2
	usage >&2
	exit 2
	;;
esac

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE="${NOMADLIKE_DEV_PORT_BASE:-5646}"
LOG_LEVEL="${NOMADLIKE_DEV_LOG_LEVEL:-info}"
TIMEOUT="${NOMADLIKE_DEV_TIMEOUT:-60}"
HOST=127.0.0.1

SERVERS=(s1 s2 s3)
CLIENTS=(c1 c2)
NAMES=("${SERVERS[@]}" "${CLIENTS[@]}")

log() { printf '==> %s\n' "$*"; }
die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

command -v curl >/dev/null 2>&1 || die "curl is required"
[[ "$BASE" =~ ^[0-9]+$ ]] || die "NOMADLIKE_DEV_PORT_BASE=$BASE is not a number"
[[ "$TIMEOUT" =~ ^[0-9]+$ ]] || die "NOMADLIKE_DEV_TIMEOUT=$TIMEOUT is not a number"
if ((BASE < 1024 || BASE + 42 > 65535)); then
	die "NOMADLIKE_DEV_PORT_BASE=$BASE: ports $BASE-$((BASE + 42)) must lie within 1024-65535"
fi
if ((BASE <= 4648 && BASE + 42 >= 4646)); then
	die "NOMADLIKE_DEV_PORT_BASE=$BASE: ports $BASE-$((BASE + 42)) overlap 4646-4648 (make dev); pick another base"
fi

# Ports of agent number i (0-based over NAMES): http, rpc, serf.
http_port() { echo $((BASE + 10 * $1)); }
rpc_port() { echo $((BASE + 10 * $1 + 1)); }
serf_port() { echo $((BASE + 10 * $1 + 2)); }

# ---- state used by cleanup -------------------------------------------------

PIDS=()    # PIDs this script started, in NAMES order
DIR=""     # where data dirs and logs live
OWN_DIR=0  # 1 when DIR is a temp dir this script created (removed on exit)
CLEANED=0

# is_ours succeeds while PID is still a child of this script. Once bash has
# reaped an agent that died (kill -9 in the walkthrough), its PID may be
# reused by an unrelated process: checking the parent keeps us from ever
# signalling anything but the processes we started.
is_ours() {
	local stat ppid
	if [[ -d /proc/$$ ]]; then
		stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
		read -r _ ppid _ <<<"${stat##*) }"
	else
		ppid="$(ps -o ppid= -p "$1" 2>/dev/null)" || return 1
		ppid="${ppid//[[:space:]]/}"
	fi
	[[ "$ppid" == "$$" ]]
}

# stop_agents sends SIGTERM to every agent we started that still runs,
# waits up to 15s for them to exit, then SIGKILLs whatever is left.
stop_agents() {
	local pid live i
	((${#PIDS[@]} > 0)) || return 0
	for pid in "${PIDS[@]}"; do
		if is_ours "$pid"; then kill -TERM "$pid" 2>/dev/null || true; fi
	done
	for ((i = 0; i < 150; i++)); do
		live=0
		for pid in "${PIDS[@]}"; do
			if is_ours "$pid" && [[ "$(ps -o stat= -p "$pid" 2>/dev/null)" != Z* ]]; then live=1; fi
		done
		((live)) || break
		sleep 0.1
	done
	for pid in "${PIDS[@]}"; do
		if is_ours "$pid" && [[ "$(ps -o stat= -p "$pid" 2>/dev/null)" != Z* ]]; then
			echo "agent pid $pid did not stop after SIGTERM; sending SIGKILL" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	PIDS=()
}

cleanup() {
	((CLEANED)) && return 0
	CLEANED=1
	# A second Ctrl-C must not cut the teardown short and orphan agents;
	# stop_agents escalates to SIGKILL by itself after 15s.
	trap '' INT TERM HUP
	local pid live=""
	for pid in ${PIDS[@]+"${PIDS[@]}"}; do
		if is_ours "$pid"; then live+=" $pid"; fi
	done
	if [[ -n "$live" ]]; then
		log "Stopping agents (pids$live)"
	fi
	stop_agents
	if [[ -n "$DIR" ]]; then
		if ((OWN_DIR)); then
			rm -rf -- "$DIR"
			log "Removed $DIR"
		else
			log "Kept data dirs and logs in $DIR"
		fi
	fi
}

on_signal() {
	local code=$1
	echo
	cleanup
	trap - EXIT
	exit "$code"
}
trap cleanup EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM
trap 'on_signal 129' HUP

# ---- binary ---------------------------------------------------------------

if [[ -n "${NOMADLIKE_BIN:-}" ]]; then
	BIN="$NOMADLIKE_BIN"
	[[ -x "$BIN" ]] || die "NOMADLIKE_BIN=$BIN is not executable"
else
	BIN="$ROOT/bin/nomadlike"
	stale=""
	if [[ -x "$BIN" ]]; then
		stale="$(cd "$ROOT" && find . -path ./bin -prune -o \( -name '*.go' -o -name go.mod -o -name go.sum \) -newer "$BIN" -print -quit)"
	fi
	if [[ ! -x "$BIN" || -n "$stale" ]]; then
		command -v go >/dev/null 2>&1 || die "go is required to build $BIN"
		log "Building $BIN"
		(cd "$ROOT" && go build -o bin/nomadlike .) || die "go build failed"
	fi
fi

# ---- ports and dirs ---------------------------------------------------------

port_busy() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }
for i in "${!NAMES[@]}"; do
	for p in "$(http_port "$i")" "$(rpc_port "$i")" "$(serf_port "$i")"; do
		if port_busy "$p"; then
			die "port $p is already in use (another dev cluster?); set NOMADLIKE_DEV_PORT_BASE"
		fi
	done
done

if [[ -n "${NOMADLIKE_DEV_DIR:-}" ]]; then
	DIR="$NOMADLIKE_DEV_DIR"
	mkdir -p -- "$DIR"
	DIR="$(cd "$DIR" && pwd)"
else
	DIR="$(mktemp -d "${TMPDIR:-/tmp}/nomadlike-dev.XXXXXX")"
	OWN_DIR=1
fi

SERVER_RPCS=""
for i in "${!SERVERS[@]}"; do
	SERVER_RPCS+="${SERVER_RPCS:+,}$HOST:$(rpc_port "$i")"
done
SEED_SERF="$HOST:$(serf_port 0)"

# ---- start ----------------------------------------------------------------

# Agents run in their own session (setsid, where available) so that a
# Ctrl-C in the terminal reaches only this script, which then stops them in
# order. setsid execs in place here (a background job of a shell without
# job control is no process-group leader), so $! is the agent's PID.
SETSID=()
if command -v setsid >/dev/null 2>&1; then
	SETSID=(setsid)
fi

# start NAME INDEX ARGS... runs one agent in the background, logging to
# $DIR/NAME.log, and records its PID.
start() {
	local name=$1 i=$2
	shift 2
	mkdir -p -- "$DIR/$name"
	${SETSID[@]+"${SETSID[@]}"} "$BIN" agent \
		-node="$name" -bind="$HOST" -data-dir="$DIR/$name" -log-level="$LOG_LEVEL" \
		-http-port="$(http_port "$i")" -rpc-port="$(rpc_port "$i")" -serf-port="$(serf_port "$i")" \
		"$@" >"$DIR/$name.log" 2>&1 &
	PIDS+=("$!")
	# Out of the job table: bash still reaps it but prints no "Killed"
	# notice when it dies; is_ours tracks it from here on.
	disown "$!"
}

log "Starting 3 servers and 2 clients in $DIR"
for i in "${!SERVERS[@]}"; do
	args=(-server -bootstrap-expect=3)
	# s2 and s3 join the seed s1; s1 is the pool's first member.
	if ((i > 0)); then
		args+=(-retry-join="$SEED_SERF" -retry-interval=1s)
	fi
	start "${SERVERS[$i]}" "$i" "${args[@]}"
done
ENVS=(dev prod)
for j in "${!CLIENTS[@]}"; do
	i=$((${#SERVERS[@]} + j))
	start "${CLIENTS[$j]}" "$i" -client -servers="$SERVER_RPCS" -meta "env=${ENVS[$j]}"
done

# ---- wait -----------------------------------------------------------------

get() { curl -fsS --max-time 5 "http://$HOST:$1$2" 2>/dev/null; }
count() { grep -o -- "$1" | wc -l | tr -d ' '; }

# dead_agents prints the names of agents whose process has exited.
dead_agents() {
	local i
	for i in "${!PIDS[@]}"; do
		is_ours "${PIDS[$i]}" || printf '%s ' "${NAMES[$i]}"
	done
}

show_log_tail() {
	local name
	for name in "$@"; do
		echo "--- last lines of $DIR/$name.log" >&2
		tail -n 20 "$DIR/$name.log" >&2 || true
	done
}

LEADER=""
# cluster_ready succeeds once every server reports the same leader and the
# cluster lists both client nodes as ready.
cluster_ready() {
	local i l nodes
	LEADER=""
	for i in "${!SERVERS[@]}"; do
		l="$(get "$(http_port "$i")" /v1/status/leader)" || return 1
		l="${l//\"/}"
		[[ -n "$l" ]] || return 1
		if [[ -z "$LEADER" ]]; then
			LEADER="$l"
		elif [[ "$l" != "$LEADER" ]]; then
			return 1
		fi
	done
	nodes="$(get "$(http_port 0)" /v1/nodes)" || return 1
	[[ "$(count '"Status":"ready"' <<<"$nodes")" == 2 ]]
}

log "Waiting up to ${TIMEOUT}s for a leader and 2 ready nodes"
deadline=$((SECONDS + TIMEOUT))
until cluster_ready; do
	dead="$(dead_agents)"
	if [[ -n "$dead" ]]; then
		# shellcheck disable=SC2086
		show_log_tail $dead
		die "agent(s) exited during startup: $dead"
	fi
	if ((SECONDS >= deadline)); then
		show_log_tail "${NAMES[@]}"
		die "cluster not ready after ${TIMEOUT}s (leader: ${LEADER:-none})"
	fi
	sleep 0.2
done

# ---- report ---------------------------------------------------------------

if [[ "$PWD" == "$ROOT" && "$BIN" == "$ROOT/bin/nomadlike" ]]; then
	CLI="bin/nomadlike"
else
	CLI="$BIN"
fi

print_table() {
	local i role rpc serf
	printf '%-4s %-6s %-7s %-23s %-15s %-15s %s\n' NAME ROLE PID HTTP RPC SERF LOG
	for i in "${!NAMES[@]}"; do
		role=client rpc=- serf=-
		if ((i < ${#SERVERS[@]})); then
			role=server rpc="$HOST:$(rpc_port "$i")" serf="$HOST:$(serf_port "$i")"
		fi
		printf '%-4s %-6s %-7s %-23s %-15s %-15s %s\n' "${NAMES[$i]}" "$role" "${PIDS[$i]}" \
			"http://$HOST:$(http_port "$i")" "$rpc" "$serf" "$DIR/${NAMES[$i]}.log"
	done
}

if [[ "$MODE" == check ]]; then
	fail=0
	check() {
		local what=$1 got=$2 want=$3
		if [[ "$got" == "$want" ]]; then
			printf 'ok    %-44s %s\n' "$what" "$got"
		else
			printf 'FAIL  %-44s got %s, want %s\n' "$what" "$got" "$want"
			fail=1
		fi
	}
	log "Checking the cluster (leader $LEADER)"
	for i in "${!SERVERS[@]}"; do
		p="$(http_port "$i")"
		# Gossip may need a moment to mark everyone alive on every server.
		for ((t = 0; t < 50; t++)); do
			alive="$(get "$p" /v1/agent/members | count '"Status":"alive"')" || alive=0
			[[ "$alive" == 3 ]] && break
			sleep 0.2
		done
		check "${SERVERS[$i]}: alive members (/v1/agent/members)" "$alive" 3
		peers="$(get "$p" /v1/status/peers | count "\"$HOST:")" || peers=0
		check "${SERVERS[$i]}: raft peers (/v1/status/peers)" "$peers" 3
		leader="$(get "$p" /v1/status/leader)" || leader=""
		check "${SERVERS[$i]}: leader (/v1/status/leader)" "${leader//\"/}" "$LEADER"
	done
	for i in "${!CLIENTS[@]}"; do
		p="$(http_port $((${#SERVERS[@]} + i)))"
		ready="$(get "$p" /v1/nodes | count '"Status":"ready"')" || ready=0
		check "${CLIENTS[$i]}: ready nodes (/v1/nodes)" "$ready" 2
		ok="$(get "$p" /v1/agent/health | count '"ok":true')" || ok=0
		check "${CLIENTS[$i]}: healthy (/v1/agent/health)" "$ok" 1
	done
	for env in dev prod; do
		n="$(get "$(http_port 0)" /v1/nodes | count "\"env\":\"$env\"")" || n=0
		check "node with meta env=$env" "$n" 1
	done
	dead="$(dead_agents)"
	check "agents still running" "${dead:-all}" all
	if ((fail)); then
		log "Check FAILED"
		show_log_tail "${NAMES[@]}"
		exit 1
	fi
	log "Check passed: 3 alive servers, 3 raft peers, 2 ready nodes"
	exit 0
fi

log "nomadlike dev cluster is up; leader $LEADER"
echo
print_table
echo
echo "Point the CLI (or the api package) at any agent, for example:"
echo
for i in "${!NAMES[@]}"; do
	echo "  export NOMADLIKE_ADDR=http://$HOST:$(http_port "$i")   # ${NAMES[$i]}"
done
echo
echo "  NOMADLIKE_ADDR=http://$HOST:$(http_port 0) $CLI server members"
echo "  NOMADLIKE_ADDR=http://$HOST:$(http_port 0) $CLI operator raft list-peers"
echo "  NOMADLIKE_ADDR=http://$HOST:$(http_port 0) $CLI node status"
echo "  curl -s http://$HOST:$(http_port 0)/v1/status/peers"
echo
echo "Press Ctrl-C to stop all agents$( ((OWN_DIR)) && echo " and remove $DIR")."

# Run until signalled; report agents that exit (kill -9 of a server is a
# fine way to watch a new leader get elected).
reported=""
while :; do
	for i in "${!PIDS[@]}"; do
		if [[ " $reported " != *" ${NAMES[$i]} "* ]] && ! is_ours "${PIDS[$i]}"; then
			reported+=" ${NAMES[$i]}"
			log "agent ${NAMES[$i]} (pid ${PIDS[$i]}) exited; log: $DIR/${NAMES[$i]}.log"
		fi
	done
	# sleep in the background so that a signal's trap runs at once
	sleep 1 &
	wait $! || true
done
