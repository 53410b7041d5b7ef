#!/usr/bin/env bash
# wins_load.sh - requests per second of the wins_server example and of
# Samba's nmbd as a WINS server, measured the same way in the same run.
#
#   sudo benches/wins_load.sh
#
# Each server runs alone in the server namespace of a fresh pair of network
# namespaces made by tests/peer/nmbd-wins.sh (veth, no route out); the
# loadgen example runs in the client namespace and sends the 20 %
# registration / 75 % query / 5 % release mix over NAMES names, INFLIGHT
# requests outstanding, for at most DURATION seconds or REQUESTS requests
# (after registering every name once). nmbd runs at log level 0 with
# `dns proxy = no`; our server's change log goes to a file. Our server runs
# twice: with its redb store (`--db`, every acknowledgement durable: the
# answer to a registration or release leaves only after its commit), and
# in memory (no `--db`). nmbd is single-threaded; ours answers on one
# thread and commits on another.
#
# Not part of `cargo test`: too slow and too noisy. Needs root, iproute2
# and nmbd (Debian: samba).
#
# Environment: DURATION (default 10 s), REQUESTS (2000000), NAMES (10000),
# INFLIGHT (64), KEEP=1 to keep the logs in the work directory.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
DURATION=${DURATION:-10}
REQUESTS=${REQUESTS:-2000000}
NAMES=${NAMES:-10000}
INFLIGHT=${INFLIGHT:-64}
HARNESS=tests/peer/nmbd-wins.sh

[ "$(id -u)" = 0 ] || { echo "wins_load: needs root (network namespaces)" >&2; exit 1; }
cargo build --release --quiet --features redb,tokio --example loadgen --example wins_server
LOADGEN=$PWD/target/release/examples/loadgen
SERVER=$PWD/target/release/examples/wins_server

WORK=$(mktemp -d /tmp/nbns-load.XXXXXX)
OURS=(NBNS_DIR="$WORK/ours" NBNS_NS_PREFIX="nbl$$o" NBNS_SUBNET=10.137.251)
NMBD=(NBNS_DIR="$WORK/nmbd" NBNS_NS_PREFIX="nbl$$n" NBNS_SUBNET=10.137.252 NBNS_LOG_LEVEL=0)
cleanup() {
    env "${OURS[@]}" bash "$HARNESS" stop >/dev/null 2>&1 || true
    env "${NMBD[@]}" bash "$HARNESS" stop >/dev/null 2>&1 || true
    if [ "${KEEP:-0}" = 1 ]; then echo "wins_load: logs kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# Runs the loadgen in the client namespace of the env file $1 against its
# WINS_IP; prints the loadgen's output and leaves the mix rate in $RATE.
load() {
    local env_file=$1 out
    # shellcheck disable=SC1090
    . "$env_file"
    out=$(ip netns exec "$CLI_NS" "$LOADGEN" --server "$WINS_IP:137" --names "$NAMES" \
        --requests "$REQUESTS" --duration "$DURATION" --inflight "$INFLIGHT" 2>&1)
    echo "$out"
    RATE=$(echo "$out" | sed -n 's/^loadgen: mix .*: \([0-9]*\) answered\/s.*/\1/p')
    [ -n "$RATE" ] || { echo "wins_load: no rate in the loadgen output" >&2; exit 1; }
}

# Runs our server in the server namespace with the extra arguments "$@",
# loads it, stops it; leaves the mix rate in $RATE.
ours() {
    env "${OURS[@]}" bash "$HARNESS" netns >/dev/null
    # shellcheck disable=SC1091
    . "$WORK/ours/env"
    ip netns exec "$WINS_NS" "$SERVER" --listen "$WINS_IP:137" --run-for $((2 * DURATION + 30)) \
        "$@" >"$WORK/ours/changes.log" 2>"$WORK/ours/server.err" </dev/null &
    for _ in $(seq 100); do
        [ -n "$(ip netns exec "$WINS_NS" ss -Huln "src $WINS_IP:137" 2>/dev/null)" ] && break
        sleep 0.05
    done
    load "$WORK/ours/env"
    env "${OURS[@]}" bash "$HARNESS" stop >/dev/null 2>&1
    wait
}

echo "== wins_server example (our server), redb store, every acknowledgement durable"
rm -f "$WORK/wins.redb"
ours --db "$WORK/wins.redb"
OURS_RATE=$RATE
echo "   $(grep -c . "$WORK/ours/changes.log") changes committed; $(ls -l "$WORK/wins.redb" | awk '{print $5}') bytes"

echo "== wins_server example (our server), in memory"
ours
MEM_RATE=$RATE

echo "== Samba nmbd $(/usr/sbin/nmbd --version 2>/dev/null || true), WINS server, log level 0"
env "${NMBD[@]}" bash "$HARNESS" start >/dev/null
load "$WORK/nmbd/env"
NMBD_RATE=$RATE
env "${NMBD[@]}" bash "$HARNESS" stop >/dev/null 2>&1

awk -v o="$OURS_RATE" -v m="$MEM_RATE" -v n="$NMBD_RATE" 'BEGIN {
    printf "wins_load: ours durable %d answered/s, ours in memory %d, nmbd %d; durable %.1fx nmbd, in memory %.1fx nmbd\n", o, m, n, (n > 0 ? o / n : 0), (n > 0 ? m / n : 0)
}'
