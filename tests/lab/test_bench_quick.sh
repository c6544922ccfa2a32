#!/usr/bin/env bash
# tests/lab/test_bench_quick.sh — `bench/run --quick` as a smoke test: it must complete and write
# every part's output. No figure is asserted (timing belongs in bench/, never in tests).
#
# Usage: test_bench_quick.sh BUILD_DIR     exit 0 pass, 1 fail, 77 skip (reason on stdout)
#
# Runs bench/run --quick --build BUILD_DIR --out TMP (the programs of this build, no second
# build), then checks TMP holds each part's files and that bench/RESULTS.md and bench/results/
# are untouched. TMP is removed at the end, also on SIGINT/SIGTERM; bench/run's lab scripts tear
# down their own labs (tests/lab/lab.sh traps).
set -euo pipefail

BUILD=$(cd "${1:?usage: test_bench_quick.sh BUILD_DIR}" && pwd)
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

TMP=$(mktemp -d /tmp/swarm-bench-smoke.XXXXXX)
pid=""
cleanup() {
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        # bench/run's own process group: the lab script running now gets it too, and its trap
        # tears its lab down.
        kill -TERM -- "-$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

fail() {
    printf 'FAIL: %s\n' "$*"
    exit 1
}

# What must not change: the recorded results (a quick pass writes only to TMP).
stamp() {
    (cd "$ROOT/bench" && find RESULTS.md results -type f -printf '%p %s %T@\n' 2>/dev/null | sort)
}
before=$(stamp)

# bench/run in a process group of its own (setsid execs it: its pid is the group's id), so
# cleanup can stop it and whatever it runs by that id.
t0=$SECONDS
rc=0
setsid "$ROOT/bench/run" --quick --build "$BUILD" --out "$TMP/out" &
pid=$!
wait "$pid" || rc=$?
pid=""
echo "== bench/run --quick exited $rc after $((SECONDS - t0)) s"
((rc == 0)) || fail "bench/run --quick exited $rc"

need=(codec.txt seal.txt relay.txt sched.txt gossip_sim.txt gossip_sim.csv)
if [[ $(id -u) == 0 ]]; then
    # The lab parts run as root (deps.sh has installed what they need); as a user they skip.
    need+=(gossip_lab-rpc.md proxy.md proxy.csv proxy.json scale.md scale.csv)
else
    echo "note: not root, so the lab parts (gossip_lab, proxy_bench, scale) skipped"
fi
for f in "${need[@]}"; do
    [[ -s $TMP/out/$f ]] || fail "bench/run --quick wrote no $f"
done
if [[ $(id -u) == 0 ]]; then
    # The streaming figure is there: swarm bench logs through the manager and directly.
    python3 - "$TMP/out/proxy.json" <<'PY' || fail "proxy.json has no logs runs without errors"
import json, sys
runs = json.load(open(sys.argv[1]))["runs"]
logs = [r for r in runs if r["name"].startswith("logs-")]
assert {(r["name"], r["side"]) for r in logs} >= {("logs-c1", "manager"), ("logs-c1", "direct")}
for r in logs:
    assert r["bench"]["operations"] > 0 and r["bench"]["errors"]["total"] == 0, r
PY
fi
[[ $(stamp) == "$before" ]] || fail "bench/RESULTS.md or bench/results changed in a quick pass"
echo "== pass: every part wrote its output; bench/RESULTS.md untouched"
