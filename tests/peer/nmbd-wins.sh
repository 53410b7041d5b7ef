#!/usr/bin/env bash
# nmbd-wins.sh - Samba's nmbd as a private WINS server for interop tests.
#
#   nmbd-wins.sh start   create the namespaces, write a private smb.conf,
#                        start nmbd, wait until it serves, write $NBNS_DIR/env
#   nmbd-wins.sh stop    stop nmbd, remove the namespaces (and the veth pair)
#   nmbd-wins.sh env     print $NBNS_DIR/env
#
# Client mode, for testing another WINS server (the test starts it in the
# server namespace) with nmbd as its *client*:
#
#   nmbd-wins.sh netns         create the namespaces only, write $NBNS_DIR/env
#   nmbd-wins.sh client-start  start nmbd in the client namespace with
#                              `wins support = no` and `wins server = WINS_IP`
#                              (it registers its names there), wait until it
#                              serves on CLI_IP:137, add NMBD_PID to the env file
#   nmbd-wins.sh client-stop   SIGTERM that nmbd (it releases its names at the
#                              WINS server) and wait for it; namespaces stay
#   nmbd-wins.sh stop          as above: stop nmbd, remove the namespaces and
#                              every process left in them
#
# Topology: two network namespaces joined by one veth pair, no route out.
#
#   ${NBNS_NS_PREFIX}wins  nbw0  ${NBNS_SUBNET}.1/24       nmbd (WINS server)
#   ${NBNS_NS_PREFIX}cli   nbc0  ${NBNS_SUBNET}.2/24       clients
#                                ${NBNS_SUBNET}.3-.9/24    extra client addresses
#
# Run clients with `ip netns exec ${NBNS_NS_PREFIX}cli CMD` ($RUN_CLI in the env
# file). nmbd reads only the smb.conf written here and keeps all its state
# under $NBNS_DIR; /etc/samba and system services are left alone.
#
# Needs root, iproute2 (ip, ss) and nmbd (Debian: samba); nmblookup
# (samba-common-bin) is used for the readiness check when present.
#
# Environment (all optional):
#   NBNS_DIR            state directory            (default /tmp/nbns-wins)
#   NBNS_NS_PREFIX      namespace name prefix      (default nbns -> nbnswins, nbnscli)
#   NBNS_SUBNET         first three octets         (default 10.137.0)
#   NBNS_NAME           server NetBIOS name        (default WINSSRV)
#   NBNS_WORKGROUP      workgroup                  (default NBNSTEST)
#   NBNS_MIN_TTL        "min wins ttl"             (default 10)
#   NBNS_MAX_TTL        "max wins ttl"             (default 518400)
#   NBNS_LOG_LEVEL      nmbd log level             (default 1; 5 logs version-ID bumps)
#   NBNS_READY_TIMEOUT  seconds to wait for nmbd   (default 30)
#   NBNS_WAIT_SETTLED   1: also wait until nmbd has registered its own names
#                       on the subnet (about 4-6 s), before it defends them
#   NBNS_EXTRA_CONF     extra lines for [global]
#   NBNS_CLIENT_NAME    client mode: nmbd's NetBIOS name   (default NMBDCLI)
#   NBNS_CLIENT_TTL     client mode: nmbd's "max ttl", the TTL it asks for; it
#                       refreshes every min(ttl/2, 20 min)  (default 30)
#
# Two instances can run at once when they differ in NBNS_DIR and
# NBNS_NS_PREFIX (the subnets may be equal: the namespaces are isolated).
set -euo pipefail

NBNS_DIR=${NBNS_DIR:-/tmp/nbns-wins}
NBNS_NS_PREFIX=${NBNS_NS_PREFIX:-nbns}
NBNS_SUBNET=${NBNS_SUBNET:-10.137.0}
NBNS_NAME=${NBNS_NAME:-WINSSRV}
NBNS_WORKGROUP=${NBNS_WORKGROUP:-NBNSTEST}
NBNS_MIN_TTL=${NBNS_MIN_TTL:-10}
NBNS_MAX_TTL=${NBNS_MAX_TTL:-518400}
NBNS_LOG_LEVEL=${NBNS_LOG_LEVEL:-1}
NBNS_READY_TIMEOUT=${NBNS_READY_TIMEOUT:-30}
NBNS_WAIT_SETTLED=${NBNS_WAIT_SETTLED:-0}
NBNS_EXTRA_CONF=${NBNS_EXTRA_CONF:-}
NBNS_CLIENT_NAME=${NBNS_CLIENT_NAME:-NMBDCLI}
NBNS_CLIENT_TTL=${NBNS_CLIENT_TTL:-30}

WINS_NS=${NBNS_NS_PREFIX}wins
CLI_NS=${NBNS_NS_PREFIX}cli
WINS_IF=nbw0
CLI_IF=nbc0
WINS_IP=$NBNS_SUBNET.1
CLI_IP=$NBNS_SUBNET.2
CLI_EXTRA_IPS="$NBNS_SUBNET.3 $NBNS_SUBNET.4 $NBNS_SUBNET.5 $NBNS_SUBNET.6 $NBNS_SUBNET.7 $NBNS_SUBNET.8 $NBNS_SUBNET.9"

msg() { printf 'nmbd-wins: %s\n' "$*" >&2; }
die() { msg "error: $*"; exit 1; }
ms() { date +%s%3N; }

find_tool() {
    command -v "$1" 2>/dev/null && return
    local d
    for d in /usr/sbin /sbin /usr/bin /bin; do
        if [ -x "$d/$1" ]; then echo "$d/$1"; return; fi
    done
    return 1
}

check_inputs() {
    [[ $NBNS_NS_PREFIX =~ ^[A-Za-z0-9_.-]{1,40}$ ]] || die "NBNS_NS_PREFIX must be 1-40 of [A-Za-z0-9_.-]"
    [[ $NBNS_SUBNET =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || die "NBNS_SUBNET must be three octets, e.g. 10.137.0"
    [[ $NBNS_DIR == /* ]] || die "NBNS_DIR must be an absolute path"
}

# True if $1 is a live (not zombie) process.
alive() {
    local st
    [ -r "/proc/$1/stat" ] || return 1
    st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}

# True if $1 is the nmbd this harness started for $NBNS_DIR.
our_nmbd() {
    alive "$1" && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "--configfile=$NBNS_DIR/smb.conf"
}

ns_exists() { [ -e "/run/netns/$1" ] || ip netns list 2>/dev/null | awk '{print $1}' | grep -qxF "$1"; }

# Send $1 to the given pids, then wait up to $2 tenths of a second for them to go.
signal_and_wait() {
    local sig=$1 tenths=$2 p i left
    shift 2
    [ $# -gt 0 ] || return 0
    kill "-$sig" "$@" 2>/dev/null || true
    for ((i = 0; i < tenths; i++)); do
        left=0
        for p in "$@"; do alive "$p" && left=1; done
        [ $left = 0 ] && return 0
        sleep 0.1
    done
    return 1
}

# Stop every process that still lives in one of our namespaces (nmbd, a
# capture, a client left behind by a crashed test), then delete the namespaces.
# A namespace deleted while processes run in it lives on, invisible.
teardown_netns() {
    local ns pids
    for ns in "$CLI_NS" "$WINS_NS"; do
        ns_exists "$ns" || continue
        mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null)
        if [ ${#pids[@]} -gt 0 ]; then
            signal_and_wait TERM 50 "${pids[@]}" || signal_and_wait KILL 20 "${pids[@]}" || true
        fi
        ip -n "$ns" link del "$WINS_IF" 2>/dev/null || true
        ip -n "$ns" link del "$CLI_IF" 2>/dev/null || true
        ip netns del "$ns" 2>/dev/null || msg "could not delete netns $ns"
    done
}

stop_nmbd() {
    local pid
    [ -f "$NBNS_DIR/nmbd.pid" ] || return 0
    pid=$(cat "$NBNS_DIR/nmbd.pid")
    if [ -n "$pid" ] && our_nmbd "$pid"; then
        # SIGTERM: nmbd releases its names, writes wins.dat and exits (1-2 s)
        if ! signal_and_wait TERM 80 "$pid"; then
            msg "nmbd $pid ignored SIGTERM for 8 s, sending SIGKILL"
            signal_and_wait KILL 20 "$pid" || true
        fi
    fi
    rm -f "$NBNS_DIR/nmbd.pid"
}

cmd_stop() {
    check_inputs
    stop_nmbd
    teardown_netns
}

setup_netns() {
    local ns i
    for ns in "$WINS_NS" "$CLI_NS"; do
        ip netns add "$ns"
        ip -n "$ns" link set lo up
        # IPv4 only: keeps captures free of neighbour discovery noise
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 2>/dev/null || true
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 2>/dev/null || true
    done
    # both ends are created directly inside the namespaces: nothing is added
    # to the root namespace
    ip -n "$WINS_NS" link add "$WINS_IF" type veth peer name "$CLI_IF" netns "$CLI_NS"
    ip -n "$WINS_NS" addr add "$WINS_IP/24" brd + dev "$WINS_IF"
    ip -n "$CLI_NS" addr add "$CLI_IP/24" brd + dev "$CLI_IF"
    for i in $CLI_EXTRA_IPS; do
        ip -n "$CLI_NS" addr add "$i/24" brd + dev "$CLI_IF"
    done
    ip -n "$WINS_NS" link set "$WINS_IF" up
    ip -n "$CLI_NS" link set "$CLI_IF" up
}

write_config() {
    local d=$NBNS_DIR sub
    for sub in lock state cache pid private ncalrpc log \
        cli/lock cli/state cli/cache cli/pid cli/private cli/ncalrpc cli/log; do
        mkdir -p "$d/$sub"
    done
    cat >"$d/smb.conf" <<EOF
# nmbd as a WINS server for the nbns interop tests (written by nmbd-wins.sh)
[global]
  netbios name = $NBNS_NAME
  workgroup = $NBNS_WORKGROUP
  server role = standalone server
  wins support = yes
  wins proxy = no
  # unknown names get an immediate negative answer, never a DNS lookup
  dns proxy = no
  interfaces = $WINS_IP/24
  bind interfaces only = yes
  # no browser elections: fewer broadcasts in captures
  local master = no
  domain master = no
  preferred master = no
  os level = 0
  enhanced browsing = no
  min wins ttl = $NBNS_MIN_TTL
  max wins ttl = $NBNS_MAX_TTL
  lock directory = $d/lock
  state directory = $d/state
  cache directory = $d/cache
  pid directory = $d/pid
  private dir = $d/private
  ncalrpc dir = $d/ncalrpc
  # nmbd's unexpected-packet socket (default /run/samba/nmbd, shared by
  # every nmbd on the host: two starting at once race for it)
  nmbd:socket dir = $d/nmbd
  log file = $d/log/log.%m
  max log size = 0
  log level = $NBNS_LOG_LEVEL
$NBNS_EXTRA_CONF
EOF
    # for nmblookup and other Samba clients run in the client namespace
    cat >"$d/client.conf" <<EOF
# Samba client tools in the client namespace (written by nmbd-wins.sh)
[global]
  netbios name = NBNSCLI
  workgroup = $NBNS_WORKGROUP
  interfaces = $CLI_IP/24
  bind interfaces only = yes
  wins server = $WINS_IP
  name resolve order = wins bcast
  dns proxy = no
  lock directory = $d/cli/lock
  state directory = $d/cli/state
  cache directory = $d/cli/cache
  pid directory = $d/cli/pid
  private dir = $d/cli/private
  ncalrpc dir = $d/cli/ncalrpc
  nmbd:socket dir = $d/cli/nmbd
  log file = $d/cli/log/log.%m
EOF
}

# Print the failure, the end of nmbd's log, clean up and exit non-zero.
# Starts nmbd with this run's smb.conf in namespace $1, records its pid in
# nmbd.pid and $LAUNCHED_PID, and waits until it has bound $2:137, failing
# the start at deadline $3 (ms). nmbd is started as a plain command so that
# $! is nmbd itself (ip netns exec execs in place; backgrounding a function
# would give a subshell's pid). -F: stay in the foreground; stdin must be
# /dev/null, because a foreground nmbd exits on EOF of a pipe on stdin.
launch_nmbd() {
    local ns=$1 ip=$2 deadline=$3
    ip netns exec "$ns" "$NMBD" -F --debug-stdout -d "$NBNS_LOG_LEVEL" \
        --configfile="$NBNS_DIR/smb.conf" </dev/null >>"$NBNS_DIR/nmbd.out" 2>&1 &
    LAUNCHED_PID=$!
    echo "$LAUNCHED_PID" >"$NBNS_DIR/nmbd.pid"
    until [ -n "$(ip netns exec "$ns" ss -Huln "src $ip:137" 2>/dev/null)" ]; do
        alive "$LAUNCHED_PID" || abort_start "nmbd exited during startup"
        [ "$(ms)" -lt "$deadline" ] || abort_start "nmbd did not bind $ip:137 within ${NBNS_READY_TIMEOUT}s"
        sleep 0.02
    done
}

abort_start() {
    msg "error: $*"
    if [ -f "$NBNS_DIR/nmbd.out" ]; then
        msg "last lines of $NBNS_DIR/nmbd.out:"
        tail -n 25 "$NBNS_DIR/nmbd.out" >&2 || true
    fi
    stop_nmbd || true
    teardown_netns || true
    exit 1
}

wins_answers() {
    [ -n "$NMBLOOKUP" ] || return 0
    ip netns exec "$CLI_NS" "$NMBLOOKUP" -s "$NBNS_DIR/client.conf" -U "$WINS_IP" \
        --recursion "$NBNS_NAME#20" 2>/dev/null | grep -q "^$WINS_IP $NBNS_NAME<20>"
}

cmd_start() {
    check_inputs
    [ "$(id -u)" = 0 ] || die "must run as root (network namespaces, UDP port 137)"
    NMBD=${NMBD:-$(find_tool nmbd)} || die "nmbd not found (Debian: apt-get install samba)"
    NMBLOOKUP=${NMBLOOKUP:-$(find_tool nmblookup || true)}
    command -v ip >/dev/null || die "ip not found (Debian: apt-get install iproute2)"
    command -v ss >/dev/null || die "ss not found (Debian: apt-get install iproute2)"

    if [ -d "$NBNS_DIR" ] && [ -n "$(ls -A "$NBNS_DIR")" ] && [ ! -e "$NBNS_DIR/smb.conf" ]; then
        die "$NBNS_DIR is not empty and holds no smb.conf; not wiping it"
    fi
    # leftovers of an earlier run with the same directory / prefix
    stop_nmbd
    teardown_netns
    rm -rf "$NBNS_DIR"
    mkdir -p "$NBNS_DIR"

    local t0 pid deadline
    t0=$(ms)
    setup_netns || abort_start "could not set up the network namespaces"
    write_config

    # ready = the unicast socket on $WINS_IP:137 exists (a query sent earlier
    # is lost), and nmbd answers a WINS query for its own <20> name
    deadline=$((t0 + NBNS_READY_TIMEOUT * 1000))
    launch_nmbd "$WINS_NS" "$WINS_IP" "$deadline"
    pid=$LAUNCHED_PID
    until wins_answers; do
        alive "$pid" || abort_start "nmbd exited during startup"
        [ "$(ms)" -lt "$deadline" ] || abort_start "nmbd did not answer a WINS query within ${NBNS_READY_TIMEOUT}s"
        sleep 0.05
    done
    local t_ready
    t_ready=$(ms)

    if [ "$NBNS_WAIT_SETTLED" = 1 ]; then
        # nmbd broadcasts its own names on the subnet three times, 2 s apart,
        # and defends them only afterwards. The completion is logged at level
        # 3; below that, wait out the schedule.
        if [ "$NBNS_LOG_LEVEL" -ge 3 ]; then
            until grep -q "Added netbios name $NBNS_NAME<20> .* to subnet $WINS_IP" "$NBNS_DIR/nmbd.out"; do
                alive "$pid" || abort_start "nmbd exited while registering its names"
                [ "$(ms)" -lt "$deadline" ] || abort_start "nmbd did not finish registering its own names"
                sleep 0.1
            done
        else
            local settle_at=$((t_ready + 6500))
            while [ "$(ms)" -lt "$settle_at" ]; do sleep 0.1; done
        fi
    fi

    write_env "$pid"
    msg "nmbd pid $pid serves WINS on $WINS_IP:137 (ns $WINS_NS), clients in ns $CLI_NS; ready after $((t_ready - t0)) ms"
    cat "$NBNS_DIR/env"
}

# Writes $NBNS_DIR/env; $1 is nmbd's pid (empty in netns mode).
write_env() {
    cat >"$NBNS_DIR/env" <<EOF
NBNS_DIR=$NBNS_DIR
NBNS_NS_PREFIX=$NBNS_NS_PREFIX
NBNS_SUBNET=$NBNS_SUBNET
WINS_NS=$WINS_NS
CLI_NS=$CLI_NS
WINS_IF=$WINS_IF
CLI_IF=$CLI_IF
WINS_IP=$WINS_IP
WINS_NAME=$NBNS_NAME
WINS_WORKGROUP=$NBNS_WORKGROUP
CLI_IP=$CLI_IP
CLI_EXTRA_IPS="$CLI_EXTRA_IPS"
CLIENT_CONF=$NBNS_DIR/client.conf
NMBD_CONF=$NBNS_DIR/smb.conf
NMBD_PID=$1
NMBD_LOG=$NBNS_DIR/nmbd.out
WINS_TDB=$NBNS_DIR/state/wins.tdb
WINS_DAT=$NBNS_DIR/state/wins.dat
RUN_CLI="ip netns exec $CLI_NS"
RUN_WINS="ip netns exec $WINS_NS"
EOF
}

# Client mode, step 1: the namespaces and the client tools' config, no nmbd.
cmd_netns() {
    check_inputs
    [ "$(id -u)" = 0 ] || die "must run as root (network namespaces, UDP port 137)"
    command -v ip >/dev/null || die "ip not found (Debian: apt-get install iproute2)"
    if [ -d "$NBNS_DIR" ] && [ -n "$(ls -A "$NBNS_DIR")" ] && [ ! -e "$NBNS_DIR/env" ]; then
        die "$NBNS_DIR is not empty and holds no env file; not wiping it"
    fi
    stop_nmbd
    teardown_netns
    rm -rf "$NBNS_DIR"
    mkdir -p "$NBNS_DIR"
    setup_netns || { teardown_netns; die "could not set up the network namespaces"; }
    write_config
    # the server config of normal mode is not used here
    rm -f "$NBNS_DIR/smb.conf"
    write_env ""
    msg "namespaces $WINS_NS ($WINS_IP) and $CLI_NS ($CLI_IP) ready"
    cat "$NBNS_DIR/env"
}

# The smb.conf of nmbd as a plain WINS client in the client namespace.
write_client_config() {
    local d=$NBNS_DIR
    cat >"$d/smb.conf" <<EOF
# nmbd as a WINS client for the nbns interop tests (written by nmbd-wins.sh)
[global]
  netbios name = $NBNS_CLIENT_NAME
  workgroup = $NBNS_WORKGROUP
  server role = standalone server
  wins support = no
  wins server = $WINS_IP
  wins proxy = no
  dns proxy = no
  interfaces = $CLI_IP/24
  bind interfaces only = yes
  local master = no
  domain master = no
  preferred master = no
  os level = 0
  enhanced browsing = no
  max ttl = $NBNS_CLIENT_TTL
  lock directory = $d/lock
  state directory = $d/state
  cache directory = $d/cache
  pid directory = $d/pid
  private dir = $d/private
  ncalrpc dir = $d/ncalrpc
  # nmbd's unexpected-packet socket (default /run/samba/nmbd, shared by
  # every nmbd on the host: two starting at once race for it)
  nmbd:socket dir = $d/nmbd
  log file = $d/log/log.%m
  max log size = 0
  log level = $NBNS_LOG_LEVEL
$NBNS_EXTRA_CONF
EOF
}

# Client mode, step 2: nmbd as a WINS client of whatever serves WINS_IP:137.
cmd_client_start() {
    check_inputs
    [ "$(id -u)" = 0 ] || die "must run as root (network namespaces, UDP port 137)"
    NMBD=${NMBD:-$(find_tool nmbd)} || die "nmbd not found (Debian: apt-get install samba)"
    { [ -f "$NBNS_DIR/env" ] && ns_exists "$CLI_NS"; } || die "no namespaces: run '$0 netns' first"
    stop_nmbd
    write_client_config
    local t0 pid deadline
    t0=$(ms)
    deadline=$((t0 + NBNS_READY_TIMEOUT * 1000))
    launch_nmbd "$CLI_NS" "$CLI_IP" "$deadline"
    pid=$LAUNCHED_PID
    write_env "$pid"
    echo "CLIENT_NAME=$NBNS_CLIENT_NAME" >>"$NBNS_DIR/env"
    msg "nmbd pid $pid runs as WINS client $NBNS_CLIENT_NAME of $WINS_IP (ns $CLI_NS); bound after $(($(ms) - t0)) ms"
    cat "$NBNS_DIR/env"
}

case ${1:-} in
    start) cmd_start ;;
    stop) cmd_stop ;;
    env) cat "$NBNS_DIR/env" ;;
    netns) cmd_netns ;;
    client-start) cmd_client_start ;;
    client-stop) check_inputs; stop_nmbd ;;
    *) echo "usage: $0 start|stop|env|netns|client-start|client-stop" >&2; exit 2 ;;
esac
