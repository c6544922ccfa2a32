#!/usr/bin/env bash
# tests/lab/test_beacon6.sh — zero-config discovery over the IPv6 link-local beacon group alone:
# two real agents (`swarm join`) next to real engines in network namespaces, with every IPv4
# multicast packet dropped in both hosts (iptables INPUT and OUTPUT, 224.0.0.0/4), no --join and
# no address configured but where said.
#
# Usage: test_beacon6.sh PATH/TO/swarm        exit 0 pass, 1 fail, 77 skip (reason on stdout)
#
#   1. control: the agents on different IPv6 groups (--mcast-group6) do not find each other in
#      6 s, and the hosts' DROP rules did catch their IPv4 beacons — so IPv4 cannot explain step 2
#   2. the same (default) IPv6 group: they find each other; the push-pull the beacon started
#      went to the IPv4 gossip address the beacon carried (logged "via=ipv6"; nobody heard a
#      beacon via=ipv4)
#   3. garbage and another cluster's beacons sent to the IPv6 group: counted as rejected beacons
#      (the same counter as IPv4), membership intact, both agents answer
#   4. an IPv6-only segment (IPv4 addresses removed): agents bound to ULA addresses (--bind, the
#      only flag) find each other through the IPv6 group and gossip over IPv6; each says its IPv4
#      beacons are off and goes on
set -euo pipefail

SWARM=$(readlink -f "${1:?usage: test_beacon6.sh PATH/TO/swarm}")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lab/lab.sh
source "$HERE/lab.sh"

GROUP6=ff12::77:46 # the default, as `swarm help join` prints it
OTHER6=ff12::77:99
ULA=fd77:46::
T0=$SECONDS
declare -A AGENT_PID
V6_FORWARD_RULE=""

step() { printf '\n== [%3ss] %s\n' "$((SECONDS - T0))" "$*"; }
ok() { printf '   ok: %s\n' "$*"; }
fail() {
    printf 'FAIL: %s\n' "$*"
    for f in "$LAB_DIR"/agent*.log; do
        [[ -f $f ]] && { echo "--- $f"; tail -n 20 "$f"; }
    done
    exit 1
}

if [[ ! -e /proc/net/if_inet6 ]]; then
    echo "SKIP: this kernel has no IPv6 (booted with ipv6.disable=1?)"
    exit 77
fi
if ! command -v ip6tables >/dev/null; then
    echo "SKIP: ip6tables not installed (apt-get install iptables)"
    exit 77
fi

# Bridged IPv6 goes through the root ip6tables FORWARD chain when br_netfilter is loaded, as
# IPv4 does (lab.sh handles IPv4); accept our bridge's frames whatever the policy is.
cleanup_v6_rule() {
    if [[ -n $V6_FORWARD_RULE ]]; then
        # shellcheck disable=SC2086
        ip6tables -w 10 -D $V6_FORWARD_RULE 2>/dev/null || true
        V6_FORWARD_RULE=""
    fi
}
LAB_CLEANUP_HOOK=cleanup_v6_rule
lab_trap_cleanup

rc=0
lab_up 2 || rc=$?
((rc == 77)) && exit 77
((rc == 0)) || fail "lab_up 2 returned $rc"

V6_FORWARD_RULE="FORWARD -i $LAB_BRIDGE -o $LAB_BRIDGE -m comment --comment $LAB_PREFIX-beacon6 -j ACCEPT"
# shellcheck disable=SC2086
ip6tables -w 10 -I $V6_FORWARD_RULE || fail "cannot add the ip6tables rule $V6_FORWARD_RULE"

name() { echo "b6node-$1"; }
members() { "$SWARM" members --state-dir "$LAB_DIR/$1" --format json 2>/dev/null; }
stats() { "$SWARM" members --state-dir "$LAB_DIR/$1" --stats 2>/dev/null; }
stat_of() { sed -n "s/.*\"$2\":\\([0-9]*\\).*/\\1/p" <<<"$(stats "$1")"; }
# state of member $2 in the view of the agent with state dir $1 ("" if unknown)
state_of() {
    members "$1" | tr '{' '\n' | grep "\"name\":\"$2\"" | sed -n 's/.*"state":"\([a-z]*\)".*/\1/p'
}
addr_of() {
    members "$1" | tr '{' '\n' | grep "\"name\":\"$2\"" | sed -n 's/.*"addr":"\([^"]*\)".*/\1/p'
}
start_agent() { # i dir [extra args...]
    local i=$1 dir=$2
    shift 2
    lab_spawn "$i" "$LAB_DIR/agent-$dir.log" "$SWARM" join --token "$TOKEN" --state-dir "$LAB_DIR/$dir" \
        --engine "unix://$(lab_sock "$i")" --name "$(name "$dir")" "$@"
    AGENT_PID[$dir]=$LAB_SPAWNED_PID
}
stop_agent() { # dir: SIGTERM, then wait for it to be gone
    local dir=$1 pid=${AGENT_PID[$1]} k
    kill -TERM "$pid" 2>/dev/null || true
    for ((k = 0; k < 50; k++)); do
        if ! kill -0 "$pid" 2>/dev/null || [[ $(ps -o stat= -p "$pid") == Z* ]]; then break; fi
        sleep 0.1
    done
    unset "AGENT_PID[$dir]"
}
wait_for() { # SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.1 s
    local limit=$1 what=$2 start=$SECONDS t0
    shift 2
    t0=$(date +%s%N)
    while ! "$@"; do
        ((SECONDS - start < limit)) || fail "$what: not within ${limit}s"
        sleep 0.1
    done
    WAITED_MS=$((($(date +%s%N) - t0) / 1000000))
}
see_each_other() { # dirA dirB
    [[ $(state_of "$1" "$(name "$2")") == alive && $(state_of "$2" "$(name "$1")") == alive ]]
}
ns_ipt() { local i=$1; shift; lab_exec "$i" iptables -w 10 "$@"; }
# packets the IPv4-multicast DROP rule of host $1's chain $2 caught
dropped() { ns_ipt "$1" -L "$2" -v -x -n | awk '$3 == "DROP" && $9 == "224.0.0.0/4" {print $1; exit}'; }
# true once eth0 of host $1 has an IPv6 link-local address that finished DAD
linklocal_ready() {
    lab_exec "$1" ip -6 addr show dev eth0 scope link -tentative 2>/dev/null | grep -q inet6
}

step "IPv6 on in both hosts, every IPv4 multicast packet dropped in both"
for i in 1 2; do
    lab_exec "$i" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0 \
        net.ipv6.conf.eth0.disable_ipv6=0 ||
        { echo "SKIP: cannot enable IPv6 in a network namespace here"; exit 77; }
done
for i in 1 2; do
    wait_for 10 "host $i: an IPv6 link-local address on eth0 (DAD done)" linklocal_ready "$i"
    ns_ipt "$i" -A OUTPUT -d 224.0.0.0/4 -j DROP || fail "host $i: cannot drop IPv4 multicast"
    ns_ipt "$i" -A INPUT -d 224.0.0.0/4 -j DROP || fail "host $i: cannot drop IPv4 multicast"
done
for i in 1 2; do echo "   host $i: $(lab_exec "$i" ip -6 -br addr show dev eth0)"; done
TOKEN=$("$SWARM" init --state-dir "$LAB_DIR/mgr" | tail -n 1)
OTHER=$("$SWARM" init --state-dir "$LAB_DIR/other" | tail -n 1)
[[ $TOKEN == SWARM1-* && $OTHER == SWARM1-* ]] || fail "swarm init printed no token"

step "control: different IPv6 groups ($GROUP6 and $OTHER6), IPv4 beacons dropped"
start_agent 1 a1
start_agent 2 a2 --mcast-group6 "$OTHER6"
sleep 6
[[ -z $(state_of a1 "$(name a2)") && -z $(state_of a2 "$(name a1)") ]] ||
    fail "the agents found each other without a common beacon group: $(members a1)"
for i in 1 2; do
    d=$(dropped "$i" OUTPUT)
    ((${d:-0} > 0)) || fail "host $i: no IPv4 multicast caught by the OUTPUT DROP rule (${d:-none})"
done
grep -q "IPv6 beacons on eth0 group=\[$GROUP6\]:7947" "$LAB_DIR/agent-a1.log" ||
    fail "agent 1 did not join $GROUP6 on eth0"
grep -q "IPv6 beacons on eth0 group=\[$OTHER6\]:7947" "$LAB_DIR/agent-a2.log" ||
    fail "agent 2 did not join $OTHER6 on eth0 (--mcast-group6 ignored?)"
ok "6 s apart; host 1 dropped $(dropped 1 OUTPUT) outgoing IPv4 multicast packets, host 2 $(dropped 2 OUTPUT)"

step "same IPv6 group: agent 2 restarted with the default group"
stop_agent a2
start_agent 2 a2
wait_for 15 "the agents list each other alive" see_each_other a1 a2
ok "found each other ${WAITED_MS} ms after agent 2 started"
for pair in "a1 a2 2" "a2 a1 1"; do
    read -r me peer host <<<"$pair"
    got=$(addr_of "$me" "$(name "$peer")") || true
    [[ $got == "$(lab_ip "$host"):7946" ]] || fail "$me lists $(name "$peer") at '$got', not its IPv4 gossip address"
done
grep -h "beacon from" "$LAB_DIR"/agent-a[12].log | sed 's/^/   /' || true
grep -hq "beacon from b6node-a[12] addr=[0-9.]*:7946 via=ipv6: exchanging state" "$LAB_DIR"/agent-a[12].log ||
    fail "no push-pull started by an IPv6 beacon"
if grep -hq "via=ipv4" "$LAB_DIR"/agent-a[12].log; then fail "a beacon was heard over IPv4"; fi
ok "a beacon heard on the IPv6 group led to a push-pull with the IPv4 gossip address it carried"
for i in 1 2; do
    d=$(dropped "$i" INPUT)
    echo "   host $i: IPv4 multicast dropped: $(dropped "$i" OUTPUT) out, ${d:-0} in"
done

step "garbage and another cluster's beacons on the IPv6 group"
before=$(stat_of a1 beacons_rejected)
lab_exec 2 bash -c "exec 3>/dev/udp/$GROUP6%eth0/7947; for ((k = 0; k < 2000; k++)); do printf 'garbage %d' \$k >&3; done" ||
    fail "could not send garbage to [$GROUP6%eth0]:7947"
lab_spawn 2 "$LAB_DIR/agent-intruder.log" "$SWARM" join --token "$OTHER" --state-dir "$LAB_DIR/intruder" \
    --engine "unix://$(lab_sock 2)" --name intruder --bind 0.0.0.0:7950
INTRUDER=$LAB_SPAWNED_PID
sleep 3
after=$(stat_of a1 beacons_rejected)
[[ -n $after ]] || fail "agent 1 no longer answers"
((after - before >= 500)) || fail "agent 1 counted only $((after - before)) rejected beacons"
members a1 | grep -q intruder && fail "agent 1 lists the intruder"
grep -q "IPv6 beacons on eth0" "$LAB_DIR/agent-intruder.log" || fail "the intruder sent no IPv6 beacon"
kill -TERM "$INTRUDER"
see_each_other a1 a2 || fail "membership changed under garbage"
for d in a1 a2; do kill -0 "${AGENT_PID[$d]}" || fail "agent $d died"; done
ok "$((after - before)) rejected beacons counted by agent 1 (beacons_rejected); membership intact"

step "IPv6-only segment: IPv4 removed, agents bound to $ULA/64 addresses"
stop_agent a1
stop_agent a2
for i in 1 2; do
    ns=$(lab_ns "$i")
    ip -n "$ns" route del 224.0.0.0/4 dev eth0 2>/dev/null || true
    ip -n "$ns" -4 addr flush dev eth0 || fail "host $i: cannot remove its IPv4 address"
    ip -n "$ns" addr add "$ULA$i/64" dev eth0 nodad || fail "host $i: cannot add $ULA$i"
done
[[ -z $(lab_exec 1 ip -4 -o addr show dev eth0) ]] || fail "host 1 still has IPv4 on eth0"
start_agent 1 v1 --bind "[$ULA""1]:7946"
start_agent 2 v2 --bind "[$ULA""2]:7946"
wait_for 15 "the IPv6-only agents list each other alive" see_each_other v1 v2
ok "found each other ${WAITED_MS} ms after they started"
got=$(addr_of v1 "$(name v2)") || true
[[ $got == "[$ULA""2]:7946" ]] || fail "v1 lists $(name v2) at '$got'"
grep -q "listening addr=\[$ULA""1\]:7946 multicast=ipv6" "$LAB_DIR/agent-v1.log" ||
    fail "agent v1 did not start with IPv6 beacons only"
grep -h "IPv4 beacons off\|beacon from" "$LAB_DIR"/agent-v[12].log | sed 's/^/   /' || true
dg=$(stat_of v1 datagrams_in)
((${dg:-0} > 0)) || fail "agent v1 received no gossip datagram over IPv6"
ok "gossip over IPv6 ($dg datagrams in at v1); IPv4 beacons off with one line each"

step "teardown"
for d in "${!AGENT_PID[@]}"; do kill -TERM "${AGENT_PID[$d]}" 2>/dev/null || true; done
sleep 1
prefix=$LAB_PREFIX
dir=$LAB_DIR
cleanup_v6_rule
lab_down
lab_check_clean "$prefix" "$dir" || fail "the lab left something behind"
if ip6tables-save 2>/dev/null | grep -q -- "$prefix-"; then fail "an ip6tables rule was left behind"; fi
ok "nothing left"
echo "PASS ($((SECONDS - T0)) s)"
