#!/usr/bin/env bash
# tests/lab/test_lab.sh — end-to-end test of the lab harness (tests/lab/lab.sh) on real engines.
#
# Exit 0 pass, 1 fail, 77 skip (reason on stdout: no root, no dockerd, ...). Needs no arguments.
#   case 1: a 3-host lab: engines answer and run busybox:local; distinct engine IDs and hostnames;
#           hosts reach each other over the bridge (ICMP, TCP); nothing routes off the bridge;
#           faults (partition/heal, UDP loss, SIGSTOP/SIGCONT, SIGKILL/restart of dockerd); a
#           registry push/pull between engines; teardown leaves nothing (check-clean).
#   case 2: a child bash with a 1-host lab gets SIGTERM after up: its trap tears everything down.
#   case 3: a child bash gets SIGINT while its 2-host lab is still coming up: same.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lab/lab.sh
source "$HERE/lab.sh"

T0=$SECONDS
TMP=$(mktemp -d /tmp/labtest.XXXXXX)
CHILD_PID=""
CHILD_DIR=""

step() { printf '\n== [%3ss] %s\n' "$((SECONDS - T0))" "$*"; }
ok() { printf '   ok: %s\n' "$*"; }
fail() {
    printf 'FAIL: %s\n' "$*"
    exit 1
}

# Called by the lab's trap (before it tears our own lab down): stop a child and its lab, drop TMP.
test_cleanup() {
    if [[ -n $CHILD_PID ]] && kill -0 "$CHILD_PID" 2>/dev/null; then
        kill -KILL "$CHILD_PID" 2>/dev/null || true
    fi
    if [[ -n $CHILD_DIR && -d $CHILD_DIR ]]; then lab_down "$CHILD_DIR" >/dev/null 2>&1 || true; fi
    rm -rf "$TMP"
}
LAB_CLEANUP_HOOK=test_cleanup
lab_trap_cleanup

BB=$(lab__busybox_path || true)

# ---------------------------------------------------------------------------------------------
step "case 1: up 3 hosts"
rc=0
lab_up 3 || rc=$?
if ((rc == 77)); then exit 77; fi
((rc == 0)) || fail "lab_up 3 returned $rc"
ok "up in ${LAB_UP_SECONDS}s: prefix $LAB_PREFIX, dir $LAB_DIR, subnet $LAB_SUBNET"
lab_status
for v in LAB_PREFIX LAB_DIR LAB_N LAB_BRIDGE LAB_SUBNET LAB_NS_3 LAB_IP_3 LAB_DOCKER_3 LAB_DOCKERD_PID_3; do
    grep -q "^$v=" "$LAB_DIR/env" || fail "env file lacks $v"
done
ok "env file has the documented variables"

step "each engine runs busybox:local"
for i in 1 2 3; do
    out=$(lab_docker "$i" run --rm busybox:local echo "hello-from-h$i" 2>&1) || fail "docker run on h$i: $out"
    [[ $out == "hello-from-h$i" ]] || fail "h$i printed '$out'"
    ok "h$i: $out"
done
ids=$(for i in 1 2 3; do lab_docker "$i" info --format '{{.ID}}'; done | sort -u | wc -l)
((ids == 3)) || fail "engines do not have 3 distinct IDs (got $ids)"
names=$(for i in 1 2 3; do lab_docker "$i" info --format '{{.Name}}'; done | tr '\n' ' ')
[[ $names == "h1 h2 h3 " ]] || fail "engine names are '$names', expected 'h1 h2 h3'"
ok "3 distinct engine IDs; names: $names"
[[ $(lab_exec 2 hostname) == h2 ]] || fail "hostname inside host 2 is not h2"
ok "lab_exec 2 hostname = h2"

step "host 1 reaches host 2 over the bridge"
IP1=$(lab_ip 1)
IP2=$(lab_ip 2)
IP3=$(lab_ip 3)
lab_exec 1 "$BB" ping -c1 -W2 "$IP2" >/dev/null || fail "ping h1 -> h2 ($IP2)"
ok "ping h1 -> h2 ($IP2)"
lab_spawn 2 "$TMP/nc-tcp.out" "$BB" nc -l -p 7777
tcp_ok=0
for _ in $(seq 1 25); do
    if echo tcp-hello | lab_exec 1 "$BB" nc -w 2 "$IP2" 7777 2>/dev/null; then
        sleep 0.2
        if grep -q tcp-hello "$TMP/nc-tcp.out" 2>/dev/null; then tcp_ok=1; break; fi
    fi
    sleep 0.2
done
((tcp_ok == 1)) || fail "TCP h1 -> h2:7777 did not get through"
ok "TCP connect h1 -> h2:7777 delivered data"

step "nothing routes off the bridge"
if lab_exec 1 ip route show default | grep -q .; then fail "host 1 has a default route"; fi
ok "no default route in host 1"
if out=$(lab_exec 1 ip route get 8.8.8.8 2>&1); then fail "host 1 has a route to 8.8.8.8: $out"; fi
ok "ip route get 8.8.8.8: $out"
t=$SECONDS
if out=$(lab_exec 1 timeout 5 bash -c 'exec 3<>/dev/tcp/1.1.1.1/80' 2>&1); then fail "connect to 1.1.1.1 succeeded"; fi
[[ $out == *"Network is unreachable"* ]] || fail "connect to 1.1.1.1: unexpected error '$out'"
((SECONDS - t <= 2)) || fail "connect to 1.1.1.1 took $((SECONDS - t))s (should fail at once)"
ok "connect 1.1.1.1:80 fails at once: Network is unreachable"

step "fault: partition h1 | h2, then heal"
lab_partition "1" "2"
if lab_exec 1 "$BB" ping -c1 -W1 "$IP2" >/dev/null 2>&1; then fail "h1 -> h2 ping works while partitioned"; fi
if lab_exec 2 "$BB" ping -c1 -W1 "$IP1" >/dev/null 2>&1; then fail "h2 -> h1 ping works while partitioned"; fi
lab_exec 1 "$BB" ping -c1 -W2 "$IP3" >/dev/null || fail "h1 -> h3 ping fails (not partitioned)"
ok "h1 <-/-> h2 blocked both ways; h1 -> h3 still works"
lab_heal
lab_exec 1 "$BB" ping -c1 -W2 "$IP2" >/dev/null || fail "h1 -> h2 ping fails after heal"
lab_exec 2 "$BB" ping -c1 -W2 "$IP1" >/dev/null || fail "h2 -> h1 ping fails after heal"
ok "healed: h1 <-> h2 ping works"

step "fault: loss 1 100 drops UDP into h1; loss 1 0 restores it"
# Debian's busybox nc has no UDP mode: send with bash's /dev/udp, and count what reaches h1's
# UDP stack through its per-namespace counters (a datagram to a closed port counts as NoPorts).
udp_in() { lab_exec 1 cat /proc/net/snmp | awk '$1 == "Udp:" && $2 ~ /^[0-9]+$/ {print $2 + $3}'; }
udp_send() { # 5 datagrams h2 -> h1:7778
    lab_exec 2 bash -c 'for k in 1 2 3 4 5; do echo "udp-$k" >"/dev/udp/$0/7778"; done' "$IP1"
}
lab_loss 1 100
before=$(udp_in)
udp_send
sleep 0.3
after=$(udp_in)
((after == before)) || fail "UDP reached h1 with 100% loss ($before -> $after datagrams)"
dropped=$(lab_exec 1 iptables -w 10 -L INPUT -v -n -x | awk '/lab-loss/ {print $1}')
((${dropped:-0} == 5)) || fail "the loss rule dropped ${dropped:-0} datagrams, expected 5"
ok "5 datagrams sent h2 -> h1, none reached h1's UDP stack; the loss rule dropped $dropped"
lab_exec 1 "$BB" ping -c1 -W2 "$IP2" >/dev/null || fail "ICMP h1 -> h2 affected by UDP loss"
ok "ICMP unaffected"
lab_loss 1 0
lab_exec 1 iptables -w 10 -S INPUT | grep -q lab-loss && fail "loss rule still there after 'loss 1 0'"
before=$(udp_in)
udp_send
sleep 0.3
after=$(udp_in)
((after - before == 5)) || fail "after 'loss 1 0', $((after - before)) of 5 datagrams reached h1"
ok "after loss 1 0, all 5 datagrams reach h1"

step "fault: SIGSTOP / SIGCONT dockerd of h2"
lab_stop 2
if lab_ping 2; then fail "stopped engine h2 still answers"; fi
ok "stopped engine h2 does not answer /_ping"
lab_cont 2
deadline=$((SECONDS + 10))
until lab_ping 2; do
    ((SECONDS < deadline)) || fail "h2 does not answer after SIGCONT"
    sleep 0.2
done
ok "after SIGCONT, h2 answers"

step "fault: SIGKILL dockerd of h3, then restart it"
lab_docker 3 run -d --stop-timeout 1 --name survivor busybox:local sleep 600 >/dev/null || fail "docker run -d on h3"
old=$(lab_dockerd_pid 3)
lab_kill 3
deadline=$((SECONDS + 10))
while lab_ping 3; do
    ((SECONDS < deadline)) || fail "h3 still answers after SIGKILL"
    sleep 0.2
done
ok "killed dockerd $old; h3 does not answer"
lab_start 3 || fail "lab_start 3"
new=$(lab_dockerd_pid 3)
[[ $new != "$old" ]] || fail "restarted dockerd has the old pid"
out=$(lab_docker 3 run --rm busybox:local echo back) || fail "docker run after restart"
[[ $out == back ]] || fail "docker run after restart printed '$out'"
ok "restarted as pid $new; docker run works"

step "registry on h1: push from h1, pull and run on h2"
if [[ -x /usr/bin/docker-registry ]]; then
    reg=$(lab_registry 1) || fail "lab_registry 1"
    lab_docker 1 tag busybox:local "$reg/busybox:lab"
    lab_docker 1 push "$reg/busybox:lab" >/dev/null || fail "push to $reg"
    lab_docker 2 pull "$reg/busybox:lab" >/dev/null || fail "pull from $reg on h2"
    out=$(lab_docker 2 run --rm "$reg/busybox:lab" echo pulled) || fail "run pulled image"
    [[ $out == pulled ]] || fail "pulled image printed '$out'"
    ok "registry $reg: pushed from h1, pulled and ran on h2"
else
    echo "   note: /usr/bin/docker-registry missing (apt-get install docker-registry); registry step skipped"
fi

step "down, then check-clean"
lab_docker 1 run -d busybox:local sleep 600 >/dev/null || fail "docker run -d on h1"
cp "$LAB_DIR/pids" "$TMP/pids.case1"
prefix=$LAB_PREFIX
dir=$LAB_DIR
t=$SECONDS
lab_down "$dir" || fail "lab_down"
ok "down took $((SECONDS - t))s"
lab_check_clean "$prefix" "$dir" "$TMP/pids.case1" || fail "case 1 left things behind"
ok "nothing left of $prefix"

# ---------------------------------------------------------------------------------------------
# A child bash that sources the lab, traps cleanup, brings a lab up and idles.
child_script='
source "$1"
lab_trap_cleanup
echo "$LAB_PREFIX" >"$2.started"
lab_up "$3" || exit $?
touch "$2.ready"
while :; do sleep 0.2; done
'

wait_child_exit() { # PID TIMEOUT -> exit code in CHILD_RC
    local deadline=$((SECONDS + $2))
    while kill -0 "$1" 2>/dev/null; do
        ((SECONDS < deadline)) || fail "child $1 did not exit within $2s"
        sleep 0.2
    done
    CHILD_RC=0
    wait "$1" || CHILD_RC=$?
}

step "case 2: SIGTERM to a child after its lab is up"
cprefix=$(lab__new_prefix)
CHILD_DIR=/tmp/$cprefix
LAB_PREFIX=$cprefix LAB_DIR=$CHILD_DIR bash -c "$child_script" child "$HERE/lab.sh" "$TMP/c2" 1 \
    >"$TMP/c2.log" 2>&1 &
CHILD_PID=$!
deadline=$((SECONDS + 90))
until [[ -f $TMP/c2.ready ]]; do
    if ! kill -0 "$CHILD_PID" 2>/dev/null; then cat "$TMP/c2.log"; fail "child exited before its lab was up"; fi
    ((SECONDS < deadline)) || fail "child lab not up within 90s"
    sleep 0.2
done
cp "$CHILD_DIR/pids" "$TMP/pids.case2"
lab_ping_dir() { curl -s --max-time 2 --unix-socket "$1/h1/docker.sock" http://lab/_ping; }
[[ $(lab_ping_dir "$CHILD_DIR") == OK ]] || fail "child's engine does not answer"
ok "child lab $cprefix is up (engine answers)"
kill -TERM "$CHILD_PID"
wait_child_exit "$CHILD_PID" 60
CHILD_PID=""
((CHILD_RC == 143)) || { cat "$TMP/c2.log"; fail "child exit code $CHILD_RC, expected 143"; }
ok "child exited 143 after SIGTERM"
lab_check_clean "$cprefix" "$CHILD_DIR" "$TMP/pids.case2" || { cat "$TMP/c2.log"; fail "SIGTERM teardown left things"; }
ok "nothing left of $cprefix"

step "case 3: SIGINT to a child while its lab is coming up"
cprefix=$(lab__new_prefix)
CHILD_DIR=/tmp/$cprefix
# Background jobs of a non-interactive shell ignore SIGINT; env --default-signal restores it.
LAB_PREFIX=$cprefix LAB_DIR=$CHILD_DIR env --default-signal=INT \
    bash -c "$child_script" child "$HERE/lab.sh" "$TMP/c3" 2 >"$TMP/c3.log" 2>&1 &
CHILD_PID=$!
deadline=$((SECONDS + 60))
until grep -q dockerd "$CHILD_DIR/pids" 2>/dev/null; do
    if ! kill -0 "$CHILD_PID" 2>/dev/null; then cat "$TMP/c3.log"; fail "child exited early"; fi
    ((SECONDS < deadline)) || fail "child never started a dockerd"
    sleep 0.05
done
cp "$CHILD_DIR/pids" "$TMP/pids.case3"
[[ -f $TMP/c3.ready ]] && echo "   note: the lab was already up when SIGINT was sent"
kill -INT "$CHILD_PID"
wait_child_exit "$CHILD_PID" 60
CHILD_PID=""
((CHILD_RC == 130)) || { cat "$TMP/c3.log"; fail "child exit code $CHILD_RC, expected 130"; }
ok "child exited 130 after SIGINT (mid-up)"
lab_check_clean "$cprefix" "$CHILD_DIR" "$TMP/pids.case3" || { cat "$TMP/c3.log"; fail "SIGINT teardown left things"; }
ok "nothing left of $cprefix"
CHILD_DIR=""

printf '\nPASS: lab e2e in %ss\n' "$((SECONDS - T0))"
