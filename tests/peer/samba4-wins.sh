#!/usr/bin/env bash
# samba4-wins.sh - the WINS server of Samba 4's AD DC (the `samba` binary:
# nbtd on UDP 137, wrepl on TCP 42) as a private replication peer for the
# interop tests.
#
#   samba4-wins.sh start   namespaces, a provisioned domain (provisioned once,
#                          then copied fresh: empty WINS database, version
#                          counter from 1), a private smb.conf, the replication
#                          partners; starts samba and waits until WINS answers
#                          and TCP 42 listens; writes $S4_DIR/env
#   samba4-wins.sh stop    stops samba, removes the namespaces
#   samba4-wins.sh env     prints $S4_DIR/env
#   samba4-wins.sh add-partners
#                          adds the $S4_PARTNERS entries to a running samba's
#                          partners; its next periodic run reads them
#
# Topology: two network namespaces joined by one veth pair, no route out.
#
#   ${S4_NS_PREFIX}s   s4s0  ${S4_SUBNET}.1/24      samba (WINS + replication)
#   ${S4_NS_PREFIX}c   s4c0  ${S4_SUBNET}.2-.9/24   clients, replication partners
#
# Two or more instances share one client namespace when the first is
# started with S4_CLIENT_NS=bridge and the others with S4_CLIENT_NS=join,
# each with its own S4_DIR, S4_INSTANCE, S4_SRV_OCTET and S4_NAME: the
# client addresses then sit on a bridge, and each instance's veth is a port
# of it, so the instances reach each other and the clients on one segment.
#
#   ${S4_NS_PREFIX}sa  s4s0  ${S4_SUBNET}.1/24      instance a
#   ${S4_NS_PREFIX}sb  s4s0  ${S4_SUBNET}.11/24     instance b
#   ${S4_NS_PREFIX}c   s4br0 ${S4_SUBNET}.2-.9/24   clients; ports s4ca, s4cb
#
# An instance that joined is stopped before the one whose client namespace
# it joined (that stop removes the namespace and with it every port).
#
# Nothing under /etc/samba is read or written; all state is under $S4_DIR.
# Needs root, iproute2, samba, samba-dsdb-modules, samba-ad-provision,
# ldb-tools (ldbadd, ldbsearch) and samba-common-bin (nmblookup).
#
# Environment (all optional):
#   S4_DIR          state directory                   (default /tmp/nbns-samba4)
#   S4_NS_PREFIX    namespace name prefix             (default nbs4)
#   S4_SUBNET       first three octets                (default 10.137.41)
#   S4_PARTNERS     replication partners, one entry per client address:
#                   "octet:type:pullInterval:pushChangeCount" separated by
#                   spaces; type 1 pull, 2 push, 3 both (Samba's view)
#                                                     (default "2:3:0:0")
#   S4_LOG_LEVEL    samba log level                   (default 1)
#   S4_EXTRA_CONF   an extra line for [global], such as
#                   "wreplsrv:periodic_interval = 1" (default 15 s)
#   S4_READY_TIMEOUT seconds to wait for samba        (default 60)
#   S4_INSTANCE     suffix of the server namespace and of the veth end in
#                   the client namespace, for several instances (default
#                   none: ${S4_NS_PREFIX}s, s4c0)
#   S4_SRV_OCTET    last octet of samba's address     (default 1)
#   S4_NAME         samba's NetBIOS name              (default S4REPL)
#   S4_DOMAIN       its domain; the realm is $S4_DOMAIN.TEST (default NBREPL)
#   S4_CLIENT_NS    own: the client namespace is made (and removed) with this
#                   instance, the client addresses on its veth end;
#                   bridge: the same, the client addresses on a bridge;
#                   join: the client namespace of a running `bridge`
#                   instance is used, and left in place on stop (default own)
set -euo pipefail

S4_DIR=${S4_DIR:-/tmp/nbns-samba4}
S4_NS_PREFIX=${S4_NS_PREFIX:-nbs4}
S4_SUBNET=${S4_SUBNET:-10.137.41}
S4_PARTNERS=${S4_PARTNERS-2:3:0:0}
S4_LOG_LEVEL=${S4_LOG_LEVEL:-1}
S4_EXTRA_CONF=${S4_EXTRA_CONF:-}
S4_READY_TIMEOUT=${S4_READY_TIMEOUT:-60}
S4_INSTANCE=${S4_INSTANCE:-}
S4_SRV_OCTET=${S4_SRV_OCTET:-1}
S4_CLIENT_NS=${S4_CLIENT_NS:-own}

NAME=${S4_NAME:-S4REPL}
DOMAIN=${S4_DOMAIN:-NBREPL}
REALM=$DOMAIN.TEST
SRV_NS=${S4_NS_PREFIX}s$S4_INSTANCE
CLI_NS=${S4_NS_PREFIX}c
CLI_IF=s4c${S4_INSTANCE:-0}
BRIDGE=s4br0
SRV_IP=$S4_SUBNET.$S4_SRV_OCTET
DC=$S4_DIR/dc
PRISTINE=$S4_DIR/pristine
STAMP="$NAME $DOMAIN $REALM $SRV_IP $DC"

say() { printf 'samba4-wins: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
ms() { date +%s%3N; }

has_ns() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$1"; }

netns_up() {
    if [ "$S4_CLIENT_NS" = join ]; then
        has_ns "$CLI_NS" || die "no client namespace $CLI_NS to join"
        ip -n "$CLI_NS" link show "$BRIDGE" >/dev/null 2>&1 \
            || die "the client namespace $CLI_NS has no bridge $BRIDGE"
    fi
    ip netns add "$SRV_NS"
    ip -n "$SRV_NS" link set lo up
    ip netns exec "$SRV_NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 || true
    local cli_addr_if=$CLI_IF
    if [ "$S4_CLIENT_NS" != join ]; then
        ip netns add "$CLI_NS"
        ip -n "$CLI_NS" link set lo up
        ip netns exec "$CLI_NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 || true
    fi
    ip -n "$SRV_NS" link add s4s0 type veth peer name "$CLI_IF" netns "$CLI_NS"
    ip -n "$SRV_NS" addr add "$SRV_IP/24" brd + dev s4s0
    if [ "$S4_CLIENT_NS" = bridge ]; then
        # no STP, no forward delay: a port forwards as soon as it is up
        ip -n "$CLI_NS" link add "$BRIDGE" type bridge stp_state 0 forward_delay 0
        ip -n "$CLI_NS" link set "$BRIDGE" up
        cli_addr_if=$BRIDGE
    fi
    if [ "$S4_CLIENT_NS" != own ]; then
        ip -n "$CLI_NS" link set "$CLI_IF" master "$BRIDGE"
    fi
    if [ "$S4_CLIENT_NS" != join ]; then
        local i
        for i in 2 3 4 5 6 7 8 9; do
            ip -n "$CLI_NS" addr add "$S4_SUBNET.$i/24" brd + dev "$cli_addr_if"
        done
    fi
    ip -n "$SRV_NS" link set s4s0 up
    ip -n "$CLI_NS" link set "$CLI_IF" up
}

netns_down() {
    # the veth pair goes with the server namespace; the client namespace
    # only with the instance that made it
    if [ "$S4_CLIENT_NS" != join ] && has_ns "$CLI_NS"; then
        ip netns del "$CLI_NS" || say "could not delete netns $CLI_NS"
    fi
    if has_ns "$SRV_NS"; then ip netns del "$SRV_NS" || say "could not delete netns $SRV_NS"; fi
}

provision() {
    # inside the server namespace (no route out), with an empty config file
    # so that nothing of /etc/samba/smb.conf is used
    rm -rf "$DC" "$PRISTINE"
    mkdir -p "$S4_DIR"
    : >"$S4_DIR/empty.conf"
    local lname; lname=$(printf '%s' "$NAME" | tr 'A-Z' 'a-z')
    ip netns exec "$SRV_NS" samba-tool domain provision \
        --configfile="$S4_DIR/empty.conf" --targetdir="$DC" \
        --realm="$REALM" --domain="$DOMAIN" --host-name="$lname" \
        --server-role=dc --dns-backend=NONE --adminpass='Repl1-Test-Pass!' \
        --host-ip="$SRV_IP" --option="netbios name=$NAME" \
        --option="interfaces=$SRV_IP/24" --option="bind interfaces only=yes" \
        --option="wins support=yes" >"$S4_DIR/provision.log" 2>&1 \
        || { tail -n 20 "$S4_DIR/provision.log" >&2; die "provision failed"; }
    # the copy is put back at the same path on each start: the provisioned
    # files hold absolute paths
    cp -a "$DC" "$PRISTINE"
    printf '%s\n' "$STAMP" >"$PRISTINE/.stamp"
}

write_config() {
    mkdir -p "$DC/run" "$DC/log"
    cat >"$DC/etc/smb.conf" <<EOF
[global]
	netbios name = $NAME
	workgroup = $DOMAIN
	realm = $REALM
	server role = active directory domain controller
	server services = nbt wrepl
	interfaces = $SRV_IP/24
	bind interfaces only = yes
	wins support = yes
	wins server = $SRV_IP
	dns proxy = no
	binddns dir = $DC/bind-dns
	cache directory = $DC/cache
	lock directory = $DC
	private dir = $DC/private
	state directory = $DC/state
	pid directory = $DC/run
	ncalrpc dir = $DC/run/ncalrpc
	winbindd socket directory = $DC/run/winbindd
	log file = $DC/log/log.%m
	log level = $S4_LOG_LEVEL
	panic action =
	include system krb5 conf = no
EOF
    [ -z "$S4_EXTRA_CONF" ] || printf '\t%s\n' "$S4_EXTRA_CONF" >>"$DC/etc/smb.conf"
    add_partners
}

add_partners() {
    # one wreplPartner per entry; `type` in decimal (Samba 4.17 reads base
    # 10 and turns anything else into 3)
    local entry octet type pull push ldif=""
    for entry in $S4_PARTNERS; do
        IFS=: read -r octet type pull push <<<"$entry"
        ldif+="dn: name=PARTNER_$octet,CN=PARTNERS
objectClass: wreplPartner
name: PARTNER_$octet
address: $S4_SUBNET.$octet
type: $type
pullInterval: $pull
pushChangeCount: $push

"
    done
    if [ -n "$ldif" ]; then
        printf '%s' "$ldif" | ldbadd -H "$DC/private/wins_config.ldb" >/dev/null
    fi
}

wins_answers() {
    ip netns exec "$CLI_NS" nmblookup -U "$SRV_IP" --recursion "$1" 2>/dev/null | grep -q "^$SRV_IP "
}

cmd_start() {
    [ "$(id -u)" = 0 ] || die "must run as root (network namespaces, ports 42 and 137)"
    case $S4_CLIENT_NS in own|bridge|join) ;; *) die "S4_CLIENT_NS: own, bridge or join" ;; esac
    local tool
    for tool in ip samba samba-tool ldbadd ldbsearch nmblookup; do
        command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || die "$tool not found"
    done
    cmd_stop >/dev/null 2>&1 || true
    local t0; t0=$(ms)
    mkdir -p "$S4_DIR"
    netns_up
    if [ ! -f "$PRISTINE/.stamp" ] || [ "$(cat "$PRISTINE/.stamp")" != "$STAMP" ]; then
        provision
    fi
    rm -rf "$DC"
    cp -a "$PRISTINE" "$DC"
    rm -f "$DC/.stamp"
    write_config
    # `ip netns exec` execs in place: $! is samba's pid. -i keeps it in the
    # foreground in its own process group; stdin must not be a pipe.
    KRB5_CONFIG=$DC/private/krb5.conf \
        ip netns exec "$SRV_NS" samba -i -M single -s "$DC/etc/smb.conf" --debug-stdout \
        -d "$S4_LOG_LEVEL" </dev/null >"$DC/samba.out" 2>&1 &
    local pid=$!
    echo "$pid" >"$DC/samba.pid"
    local deadline=$(( $(ms) + S4_READY_TIMEOUT * 1000 ))
    until [ -n "$(ip netns exec "$SRV_NS" ss -Hlnt "src $SRV_IP:42" 2>/dev/null)" ] \
        && wins_answers "$NAME#20" && wins_answers "$DOMAIN#1c"; do
        kill -0 "$pid" 2>/dev/null || { tail -n 30 "$DC/samba.out" >&2; cmd_stop; die "samba exited"; }
        [ "$(ms)" -lt "$deadline" ] || { cmd_stop; die "samba not ready in ${S4_READY_TIMEOUT}s"; }
        sleep 0.05
    done
    cat >"$S4_DIR/env" <<EOF
SRV_NS=$SRV_NS
CLI_NS=$CLI_NS
CLI_IF=$CLI_IF
SRV_IP=$SRV_IP
CLI_IP=$S4_SUBNET.2
SAMBA_PID=$pid
SAMBA_LOG=$DC/samba.out
WINS_LDB=$DC/state/wins.ldb
EOF
    say "samba pid $pid ready at $SRV_IP in $(( $(ms) - t0 )) ms"
    cat "$S4_DIR/env"
}

cmd_stop() {
    local pid=""
    [ -f "$DC/samba.pid" ] && pid=$(cat "$DC/samba.pid")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        local i
        for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$DC/samba.pid"
    netns_down
}

case ${1:-} in
    start) cmd_start ;;
    stop) cmd_stop ;;
    env) cat "$S4_DIR/env" ;;
    add-partners) add_partners ;;
    *) echo "usage: $0 start|stop|env|add-partners" >&2; exit 2 ;;
esac
