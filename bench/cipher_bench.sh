#!/usr/bin/env bash
# bench/cipher_bench.sh — the relay's frame suites side by side on real engines: the same lab,
# the manager restarted with SWARM_RELAY_CIPHER=secretstream (secretstream forced) or without
# it (AES-256-GCM negotiated where both ends have it), alternating which goes first.
#
# One host (a real engine, its agent, the manager in its namespace). Per mode and repetition:
#   exec cat   `head -c N /dev/zero | docker exec -i C cat >/dev/null`, N = MB x 10^6 bytes in
#              and back out, through the manager and directly on the engine's socket
#   cp         `docker cp FILE C:/tmp/x` of MiB x 2^20 random bytes, the same two ways
# with the wall time, and the CPU seconds (utime + stime) of the manager and the agent during
# the manager's run. Prints one line per run and the medians; the 1-minute load average before
# each repetition. Which suite each connection got is checked in the agent's log.
#
# Usage: bench/cipher_bench.sh [--mb MB] [--mib MIB] [--reps R] [--swarm PATH]
#   --mb MB      exec stream size, 10^6 bytes (default 100)
#   --mib MIB    docker cp file size, 2^20 bytes (default 100)
#   --reps R     repetitions per mode (default 3)
#   --swarm PATH the swarm binary (default build/swarm)
# Needs root and the lab's requirements (tests/lab/lab.sh). Exits 77 with "SKIP: ..." where it
# cannot run. The lab is torn down on exit. Figures only, no asserts.
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SWARM=$ROOT/build/swarm
MB=100
MIB=100
REPS=3
while (($# > 0)); do
    case $1 in
    --mb) MB=${2:?}; shift ;;
    --mib) MIB=${2:?}; shift ;;
    --reps) REPS=${2:?}; shift ;;
    --swarm) SWARM=$(readlink -f "${2:?}"); shift ;;
    -h | --help) sed -n '/^# Usage:/,/^# cannot run/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done

# shellcheck source=tests/lab/lab.sh
source "$ROOT/tests/lab/lab.sh"
# shellcheck source=tests/lab/harness.sh
source "$ROOT/tests/lab/harness.sh"

lab_trap_cleanup
rc=0
lab_up 1 || rc=$?
((rc == 77)) && exit 77
((rc == 0)) || fail "lab_up 1 returned $rc"

MSOCK=$LAB_DIR/m.sock
DM=(docker -H "unix://$MSOCK")
DE=(docker -H "unix://$(lab_sock 1)")
WORK=$LAB_DIR/work
mkdir -p "$WORK"
TOKEN=$("$SWARM" init --state-dir "$LAB_DIR/mgr" | tail -n 1)
lab_spawn 1 "$LAB_DIR/agent1.log" "$SWARM" join --token "$TOKEN" --state-dir "$LAB_DIR/a1" \
    --engine "unix://$(lab_sock 1)" --name agent1
AGENT_PID=$LAB_SPAWNED_PID

HZ=$(getconf CLK_TCK)
nodes_up() { "${DM[@]}" info 2>/dev/null | grep -Eq '^ Nodes: 1$'; }
MGR_PID=""
NSTARTS=0
start_manager() { # MODE: aes256gcm | secretstream
    if [[ -n $MGR_PID ]]; then
        kill -TERM "$MGR_PID" 2>/dev/null || true
        while kill -0 "$MGR_PID" 2>/dev/null; do sleep 0.1; done
    fi
    local force=auto
    [[ $1 == secretstream ]] && force=secretstream
    NSTARTS=$((NSTARTS + 1))
    spawn_manager "$LAB_DIR/manager$NSTARTS.log" "$LAB_DIR/manager$NSTARTS.pid" \
        --state-dir "$LAB_DIR/mgr" -H "unix://$MSOCK" --bind 0.0.0.0:7950 --name manager
    wait_for 60 "docker info shows the node" nodes_up
    local got
    got=$(grep -o 'handshake with .* done: .*' "$LAB_DIR/agent1.log" | tail -n 1)
    [[ $got == *"frames $1" ]] || fail "mode $1: the agent logged '$got'"
}
# spawn_manager runs "$SWARM manage"; the mode travels in the environment.
run_mode() { # MODE
    if [[ $1 == secretstream ]]; then
        SWARM_RELAY_CIPHER=secretstream start_manager "$1"
    else
        SWARM_RELAY_CIPHER=auto start_manager "$1"
    fi
}
export SWARM_RELAY_CIPHER=auto

run_mode aes256gcm
"${DM[@]}" run -d --name cb -e constraint:node==h1 busybox:local sleep 3600 >/dev/null
head -c $((MIB * 1024 * 1024)) /dev/urandom >"$WORK/cp.bin"
BYTES=$((MB * 1000000))
n=$(head -c "$BYTES" /dev/zero | "${DM[@]}" exec -i cb cat | wc -c)
[[ $n == "$BYTES" ]] || fail "exec cat through the manager gave $n bytes, want $BYTES"

RES=$WORK/results.tsv
: >"$RES"
once() { # MODE KIND SIDE REP
    local d=("${DE[@]}") t0 t1 m0 a0
    [[ $3 == manager ]] && d=("${DM[@]}")
    m0=$(lab_cpu_ticks "$MGR_PID")
    a0=$(lab_cpu_ticks "$AGENT_PID")
    t0=$(date +%s%N)
    if [[ $2 == exec ]]; then
        head -c "$BYTES" /dev/zero | "${d[@]}" exec -i cb cat >/dev/null
    else
        "${d[@]}" cp "$WORK/cp.bin" cb:/tmp/x
    fi
    t1=$(date +%s%N)
    printf '%s\t%s\t%s\t%s\t%d\t%d\t%d\n' "$1" "$2" "$3" "$4" $(((t1 - t0) / 1000000)) \
        $(($(lab_cpu_ticks "$MGR_PID") - m0)) $(($(lab_cpu_ticks "$AGENT_PID") - a0)) | tee -a "$RES"
}
printf 'mode\tkind\tside\trep\tms\tmgr_ticks\tagent_ticks   (HZ %s)\n' "$HZ"
for ((r = 1; r <= REPS; r++)); do
    order="aes256gcm secretstream"
    ((r % 2 == 0)) && order="secretstream aes256gcm"
    echo "# rep $r: load $(cut -d' ' -f1-3 /proc/loadavg)"
    for mode in $order; do
        run_mode "$mode"
        once "$mode" exec direct "$r"
        once "$mode" exec manager "$r"
        once "$mode" cp direct "$r"
        once "$mode" cp manager "$r"
    done
done

echo "# medians (ms; CPU s of manager / agent during the manager's runs)"
awk -F'\t' -v mb="$MB" -v mib="$MIB" -v hz="$HZ" '
    function median(s,   a, n, t, i, j) {
        n = split(s, a, " ")
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return a[int((n + 1) / 2)]
    }
    { k = $1 SUBSEP $2 SUBSEP $3; ms[k] = ms[k] " " $5; mc[k] = mc[k] " " $6; ac[k] = ac[k] " " $7; modes[$1]; kinds[$2] }
    END {
        for (m in modes) for (kd in kinds) {
            d = median(ms[m SUBSEP kd SUBSEP "direct"]); v = median(ms[m SUBSEP kd SUBSEP "manager"])
            size = kd == "exec" ? mb " MB each way" : mib " MiB"
            mbs = kd == "exec" ? mb * 1000 / v : mib * 1000 / v
            printf "%-12s %-4s %-16s direct %6d ms, manager %6d ms (%.1f %s/s), ratio %.2f; CPU s manager %.2f, agent %.2f\n",
                m, kd, size, d, v, mbs, kd == "exec" ? "MB" : "MiB", d / v,
                median(mc[m SUBSEP kd SUBSEP "manager"]) / hz, median(ac[m SUBSEP kd SUBSEP "manager"]) / hz
        }
    }' "$RES" | sort
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"

"${DM[@]}" rm -f cb >/dev/null 2>&1 || true
kill -TERM "$MGR_PID" "$AGENT_PID" 2>/dev/null || true
sleep 1
prefix=$LAB_PREFIX
dir=$LAB_DIR
lab_down
lab_check_clean "$prefix" "$dir" || fail "the lab left something behind"
