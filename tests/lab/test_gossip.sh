#!/usr/bin/env bash
# tests/lab/test_gossip.sh — gossip membership end to end: real agents (`swarm join`) next to
# real engines in network namespaces, finding each other by multicast with nothing configured.
#
# Usage: test_gossip.sh PATH/TO/swarm        exit 0 pass, 1 fail, 77 skip (reason on stdout)
# Env:   GOSSIP_HOSTS (default 8), GOSSIP_LOSS_SECONDS (default 60)
#
#   1. N agents, no --join: every agent lists every agent alive (time to converge is printed)
#   2. an agent with another cluster's token never appears; its packets are counted as rejected
#   3. 100,000 garbage datagrams: counted and dropped; membership intact, agent responsive
#   4. a capture on the bridge holds no member name or label in clear
#   5. kill -9 one agent: all others list it failed (detection time printed)
#   6. SIGTERM another: all others list it left, never failed; it exits 0 within 2 s
#   7. 5 % UDP loss on every host for GOSSIP_LOSS_SECONDS: nobody else is ever listed failed
#   8. a killed agent restarted with the same name is listed alive again by all
set -euo pipefail

SWARM=$(readlink -f "${1:?usage: test_gossip.sh PATH/TO/swarm}")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lab/lab.sh
source "$HERE/lab.sh"

N=${GOSSIP_HOSTS:-8}
LOSS_SECONDS=${GOSSIP_LOSS_SECONDS:-60}
T0=$SECONDS
CAPTURE_PID=""
declare -A AGENT_PID

step() { printf '\n== [%3ss] %s\n' "$((SECONDS - T0))" "$*"; }
ok() { printf '   ok: %s\n' "$*"; }
fail() {
    printf 'FAIL: %s\n' "$*"
    for f in "$LAB_DIR"/agent*.log; do
        [[ -f $f ]] && { echo "--- $f"; tail -n 15 "$f"; }
    done
    exit 1
}

for tool in tcpdump; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed (apt-get install $tool)"; exit 77; }
done

stop_capture() {
    if [[ -n $CAPTURE_PID ]]; then kill "$CAPTURE_PID" 2>/dev/null || true; fi
}
LAB_CLEANUP_HOOK=stop_capture
lab_trap_cleanup

rc=0
lab_up "$N" || rc=$?
((rc == 77)) && exit 77
((rc == 0)) || fail "lab_up $N returned $rc"

name() { echo "gossipnode-$1"; }
# JSON members list as agent $1 sees it
members() { "$SWARM" members --state-dir "$LAB_DIR/a$1" --format json 2>/dev/null; }
# state of member $2 in agent $1's view ("" if unknown)
state_of() {
    members "$1" | tr '{' '\n' | grep "\"name\":\"$2\"" | sed -n 's/.*"state":"\([a-z]*\)".*/\1/p'
}
start_agent() { # i token [extra args...]
    local i=$1 token=$2
    shift 2
    lab_spawn "$i" "$LAB_DIR/agent$i.log" "$SWARM" join --token "$token" --state-dir "$LAB_DIR/a$i" \
        --engine "unix://$(lab_sock "$i")" --name "$(name "$i")" --label "zone=secretzone$i" "$@"
    AGENT_PID[$i]=$LAB_SPAWNED_PID
}
# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.1 s
wait_for() {
    local limit=$1 what=$2 start=$SECONDS
    shift 2
    local t0
    t0=$(date +%s%N)
    while ! "$@"; do
        ((SECONDS - start < limit)) || fail "$what: not within ${limit}s"
        sleep 0.1
    done
    WAITED_MS=$((($(date +%s%N) - t0) / 1000000))
}
# every running agent except $1 lists $1 in state $2
all_list() {
    local j=$1 want=$2 i
    for ((i = 1; i <= N; i++)); do
        [[ $i == "$j" || -z ${AGENT_PID[$i]:-} ]] && continue
        [[ $(state_of "$i" "$(name "$j")") == "$want" ]] || return 1
    done
}
converged() {
    local j
    for ((j = 1; j <= N; j++)); do
        [[ -z ${AGENT_PID[$j]:-} ]] && continue
        all_list "$j" alive || return 1
    done
}

step "capture on $LAB_BRIDGE, then $N agents with no --join"
tcpdump -i "$LAB_BRIDGE" -w "$LAB_DIR/bridge.pcap" -U udp or tcp >/dev/null 2>&1 &
CAPTURE_PID=$!
sleep 0.5
TOKEN=$("$SWARM" init --state-dir "$LAB_DIR/mgr" | tail -n 1)
OTHER=$("$SWARM" init --state-dir "$LAB_DIR/other" | tail -n 1)
[[ $TOKEN == SWARM1-* && $OTHER == SWARM1-* ]] || fail "swarm init printed no token"
for ((i = 1; i <= N; i++)); do start_agent "$i" "$TOKEN"; done
wait_for 30 "all $N agents list all alive" converged
ok "converged ${WAITED_MS} ms after the agents were started"
"$SWARM" members --state-dir "$LAB_DIR/a1"
# Metadata (role, labels) follows each agent's engine's /info answer, gossiped as an update.
has_meta() { members 1 | grep '"labels":{"zone":"secretzone1"}' | grep -q '"role":"agent"'; }
wait_for 10 "agent 1 lists its role and labels" has_meta
meta_all() { [[ $(members "$1" | grep -o '"role":"agent"' | wc -l) == "$N" ]]; }
for ((i = 1; i <= N; i++)); do wait_for 10 "agent $i lists every member's metadata" meta_all "$i"; done
ok "every agent lists every member's metadata"

step "an agent with another cluster's token"
lab_spawn 1 "$LAB_DIR/intruder.log" "$SWARM" join --token "$OTHER" --state-dir "$LAB_DIR/intruder" \
    --engine "unix://$(lab_sock 1)" --name intruder --bind 0.0.0.0:7950
INTRUDER=$LAB_SPAWNED_PID
sleep 4
for ((i = 1; i <= N; i++)); do
    members "$i" | grep -q intruder && fail "agent $i lists the intruder"
done
"$SWARM" members --state-dir "$LAB_DIR/intruder" --format json | grep -q gossipnode &&
    fail "the intruder lists cluster members"
rejected=0
for ((i = 1; i <= N; i++)); do
    s=$("$SWARM" members --state-dir "$LAB_DIR/a$i" --stats)
    r=$(sed -n 's/.*"beacons_rejected":\([0-9]*\).*/\1/p' <<<"$s")
    rejected=$((rejected + r))
done
((rejected > 0)) || fail "no agent counted the intruder's beacons as rejected"
ok "never listed, on either side; $rejected of its beacons rejected across the cluster"
kill -TERM "$INTRUDER"

step "100,000 garbage datagrams at agent 1"
ip1=$(lab_ip 1)
lab_exec 2 bash -c "exec 3>/dev/udp/$ip1/7946; for ((k = 0; k < 100000; k++)); do printf 'garbage %d' \$k >&3; done" ||
    fail "could not send the garbage"
s=$("$SWARM" members --state-dir "$LAB_DIR/a1" --stats) || fail "agent 1 no longer answers"
junk=$(sed -n 's/.*"rejected_other":\([0-9]*\).*/\1/p' <<<"$s")
((junk > 0)) || fail "agent 1 counted no rejected datagram: $s"
converged || fail "membership changed under garbage"
kill -0 "${AGENT_PID[1]}" || fail "agent 1 died"
ok "agent 1 dropped and counted $junk of them, answers, and the membership is intact"

step "nothing in clear on the wire"
kill "$CAPTURE_PID"
wait "$CAPTURE_PID" 2>/dev/null || true
CAPTURE_PID=""
size=$(stat -c %s "$LAB_DIR/bridge.pcap")
((size > 10000)) || fail "the capture is only $size bytes: did gossip cross the bridge?"
for needle in gossipnode secretzone intruder; do
    if grep -aq "$needle" "$LAB_DIR/bridge.pcap"; then fail "'$needle' appears in clear on the bridge"; fi
done
ok "$size bytes captured; no member name or label in them"

step "kill -9 agent $N"
kill -KILL "${AGENT_PID[$N]}"
unset "AGENT_PID[$N]"
wait_for 30 "all list $(name "$N") failed" all_list "$N" failed
ok "all others list it failed after ${WAITED_MS} ms"

step "SIGTERM agent $((N - 1))"
L=$((N - 1))
t=$(date +%s%N)
kill -TERM "${AGENT_PID[$L]}"
while kill -0 "${AGENT_PID[$L]}" 2>/dev/null && [[ $(ps -o stat= -p "${AGENT_PID[$L]}") != Z* ]]; do
    (($(date +%s%N) - t < 2000000000)) || fail "agent $L still running 2 s after SIGTERM"
    sleep 0.05
done
grep -q "stopped" "$LAB_DIR/agent$L.log" || fail "agent $L did not stop cleanly"
unset "AGENT_PID[$L]"
wait_for 10 "all list $(name "$L") left" all_list "$L" left
ok "exited within 2 s; all others list it left after ${WAITED_MS} ms"

step "5% UDP loss on every host for ${LOSS_SECONDS}s"
for ((i = 1; i <= N; i++)); do lab_loss "$i" 5; done
end=$((SECONDS + LOSS_SECONDS))
while ((SECONDS < end)); do
    for ((i = 1; i < L; i++)); do
        for ((j = 1; j < L; j++)); do
            [[ $i == "$j" ]] && continue
            [[ $(state_of "$i" "$(name "$j")") == failed ]] && fail "agent $i lists $(name "$j") failed under 5% loss"
        done
    done
    sleep 1
done
lab_heal
for ((i = 1; i < L; i++)); do
    if grep -E "member gossipnode-[0-9]+ failed" "$LAB_DIR/agent$i.log" | grep -vqE "gossipnode-($N|$L) "; then
        fail "agent $i logged a false failure"
    fi
done
suspects=$(cat "$LAB_DIR"/agent*.log | grep -c " suspect " || true)
ok "no false failure ($suspects suspicions, all refuted)"

step "restart agent $N with the same name"
start_agent "$N" "$TOKEN"
wait_for 30 "all list $(name "$N") alive again" all_list "$N" alive
ok "listed alive again after ${WAITED_MS} ms"

step "teardown"
for i in "${!AGENT_PID[@]}"; do kill -TERM "${AGENT_PID[$i]}" 2>/dev/null || true; done
sleep 1
prefix=$LAB_PREFIX
dir=$LAB_DIR
lab_down
lab_check_clean "$prefix" "$dir" || fail "the lab left something behind"
ok "nothing left"
echo "PASS ($((SECONDS - T0)) s)"
