#!/usr/bin/env bash
# bench/profile_inspect.sh — where the manager and the agent spend their CPU on a forwarded
# inspect: one host (a real engine, its agent, the manager in its namespace), `swarm bench
# inspect --no-cache` (every inspect goes to the engine) with 16 clients through the manager,
# and `perf record -g` on the manager and on the agent for 4 s in the middle of the run.
# Prints the bench's summary and each process's top symbols (self time).
#
# Usage: bench/profile_inspect.sh [--swarm PATH] [--clients N] [--out DIR]
#   --swarm PATH  the swarm binary (default build/swarm; a private copy is run)
#   --clients N   concurrent clients (default 16)
#   --out DIR     where manager.perf.data and agent.perf.data go (default a temporary directory,
#                 removed at the end)
# Needs root, perf and the lab's requirements (tests/lab/lab.sh). Exits 77 with "SKIP: ..."
# where it cannot run. The lab is torn down on exit. Figures only, no asserts.
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SWARM=$ROOT/build/swarm
CLIENTS=16
OUT=
while (($# > 0)); do
    case $1 in
    --swarm) SWARM=${2:?}; shift ;;
    --clients) CLIENTS=${2:?}; shift ;;
    --out) OUT=${2:?}; shift ;;
    -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "profile_inspect: unknown argument '$1'" >&2; exit 2 ;;
    esac
    shift
done
[[ $CLIENTS =~ ^[1-9][0-9]*$ ]] || { echo "profile_inspect: --clients takes a positive integer" >&2; exit 2; }
if [[ $(id -u) != 0 ]]; then echo "SKIP: needs root (network namespaces, dockerd)"; exit 77; fi
if ! command -v perf >/dev/null; then echo "SKIP: needs perf"; exit 77; fi
if [[ ! -x $SWARM ]]; then echo "SKIP: $SWARM not built"; exit 77; fi

# shellcheck source=tests/lab/lab.sh
source "$ROOT/tests/lab/lab.sh"
WORK=$(mktemp -d /tmp/profile_inspect.XXXXXX)
pi_cleanup() { rm -rf "$WORK"; }
LAB_CLEANUP_HOOK=pi_cleanup
lab_trap_cleanup
[[ -n $OUT ]] && mkdir -p "$OUT" || OUT=$WORK
cp -p "$SWARM" "$WORK/swarm"
SWARM=$WORK/swarm

lab_up 1
MSOCK=$LAB_DIR/m.sock
TOKEN=$("$SWARM" init --state-dir "$LAB_DIR/mgr" | tail -n 1)
lab_spawn 1 "$LAB_DIR/agent1.log" "$SWARM" join --token "$TOKEN" --state-dir "$LAB_DIR/a1" \
    --engine "unix://$(lab_sock 1)" --name agent1
AGENT_PID=$LAB_SPAWNED_PID
lab_spawn 1 "$LAB_DIR/manager.log" "$SWARM" manage --state-dir "$LAB_DIR/mgr" \
    -H "unix://$MSOCK" --bind 0.0.0.0:7950 --name manager
MGR_PID=$LAB_SPAWNED_PID
placed=0
for _ in $(seq 150); do
    if docker -H "unix://$MSOCK" run -d --name pi-probe "$LAB_IMAGE" true >/dev/null 2>&1; then
        placed=1
        break
    fi
    sleep 0.2
done
((placed)) || { echo "profile_inspect: the manager placed no container within 30 s" >&2; exit 1; }
docker -H "unix://$MSOCK" rm -f pi-probe >/dev/null

"$SWARM" bench -H "unix://$MSOCK" inspect --no-cache --concurrency "$CLIENTS" --duration 8 \
    >"$WORK/bench.txt" 2>&1 &
BENCH=$!
sleep 2
perf record -F 2000 -g -o "$OUT/manager.perf.data" -p "$MGR_PID" -- sleep 4 >/dev/null 2>&1 &
P1=$!
perf record -F 2000 -g -o "$OUT/agent.perf.data" -p "$AGENT_PID" -- sleep 4 >/dev/null 2>&1 &
P2=$!
wait "$P1" "$P2" "$BENCH"
cat "$WORK/bench.txt"
for who in manager agent; do
    echo "== $who: top symbols, self time"
    perf report -i "$OUT/$who.perf.data" --no-children --sort symbol --stdio -g none 2>/dev/null |
        awk '/^ +[0-9.]+%/ && n++ < 15'
done
