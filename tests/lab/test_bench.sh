#!/usr/bin/env bash
# tests/lab/test_bench.sh — `swarm bench` end to end against one real engine in a lab host.
#
# Usage: test_bench.sh PATH/TO/swarm        exit 0 pass, 1 fail, 77 skip (reason on stdout)
#
#   1. api --duration 2: a summary with operations, errors 0, p50..max per request; valid JSON
#   2. churn --count 20 --concurrency 4: exactly 20 cycles, no errors, JSON agrees
#   3. run-latency --count 5: 5 runs, one at a time
#   3b. logs --count 6 --concurrency 2 --log-mb 5: 6 streams of exactly 5 MB read back (the frame
#      decoder's count equals what the containers wrote), no errors, MB/s in summary and JSON
#   4. after each run no container labelled com.swarm.bench is left; a bystander is untouched
#   5. SIGINT mid-run: exit 130, a partial summary marked interrupted, nothing labelled left
#   6. SIGKILL mid-run leaves labelled containers; `swarm bench --cleanup` removes them (only them)
set -euo pipefail

SWARM=$(readlink -f "${1:?usage: test_bench.sh PATH/TO/swarm}")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lab/lab.sh
source "$HERE/lab.sh"

T0=$SECONDS
step() { printf '\n== [%3ss] %s\n' "$((SECONDS - T0))" "$*"; }
ok() { printf '   ok: %s\n' "$*"; }
fail() {
    printf 'FAIL: %s\n' "$*"
    for f in "$LAB_DIR"/bench*.out; do
        [[ -f $f ]] && { echo "--- $f"; tail -n 20 "$f"; }
    done
    exit 1
}
command -v python3 >/dev/null || { echo "SKIP: python3 not installed (reads the JSON)"; exit 77; }

lab_trap_cleanup
rc=0
lab_up 1 || rc=$?
((rc == 77)) && exit 77
((rc == 0)) || fail "lab_up 1 returned $rc"

H="unix://$(lab_sock 1)"
bench() { "$SWARM" bench -H "$H" "$@"; }
labelled() { lab_docker 1 ps -aq --filter label=com.swarm.bench | wc -l; }
# json FILE EXPR: evaluates a python expression over the JSON document `j`
json() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
expect_clean() {
    local n
    n=$(labelled)
    [[ $n == 0 ]] || fail "$1: $n labelled containers left"
    lab_docker 1 inspect bystander >/dev/null || fail "$1: the bystander container is gone"
    ok "$1: no labelled container left, the bystander untouched"
}

# A container that is not ours, running, must survive everything below.
lab_docker 1 run -d --name bystander "$LAB_IMAGE" sleep 600 >/dev/null

step "api --duration 2"
bench api --duration 2 --json "$LAB_DIR/api.json" >"$LAB_DIR/bench-api.out" || fail "api exited $?"
cat "$LAB_DIR/bench-api.out"
grep -qE '^  operations   [0-9]+ request, [0-9.]+/s$' "$LAB_DIR/bench-api.out" || fail "no ops/s line"
grep -qE '^  errors       0$' "$LAB_DIR/bench-api.out" || fail "api had errors"
for s in request ping ps inspect; do
    grep -qE "^  $s +[1-9][0-9]* +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+$" \
        "$LAB_DIR/bench-api.out" || fail "no latency row for $s"
done
[[ $(json "$LAB_DIR/api.json" 'j["workload"], j["errors"]["total"], j["interrupted"]') == "('api', 0, False)" ]] ||
    fail "api JSON: $(cat "$LAB_DIR/api.json")"
[[ $(json "$LAB_DIR/api.json" 'j["operations"] > 0 and 1.5 < j["duration_s"] < 4 and j["ops_per_s"] > 0') == True ]] ||
    fail "api JSON figures: $(cat "$LAB_DIR/api.json")"
[[ $(json "$LAB_DIR/api.json" 'all(j["latency_ms"][k]["p50"] <= j["latency_ms"][k]["p90"] <= j["latency_ms"][k]["p99"] <= j["latency_ms"][k]["max"] for k in ("request","ping","ps","inspect"))') == True ]] ||
    fail "api JSON percentiles out of order"
ok "api: summary and JSON agree"
expect_clean "api"

step "churn --count 20 --concurrency 4"
bench churn --count 20 --concurrency 4 --json "$LAB_DIR/churn.json" >"$LAB_DIR/bench-churn.out" ||
    fail "churn exited $?"
cat "$LAB_DIR/bench-churn.out"
grep -qE '^  operations   20 cycle, ' "$LAB_DIR/bench-churn.out" || fail "not 20 cycles"
grep -qE '^  concurrency  4$' "$LAB_DIR/bench-churn.out" || fail "concurrency not 4"
for s in create start wait remove cycle; do
    grep -qE "^  $s +20 " "$LAB_DIR/bench-churn.out" || fail "churn: not 20 samples of $s"
done
[[ $(json "$LAB_DIR/churn.json" 'j["operations"], j["errors"]["total"], j["latency_ms"]["cycle"]["count"]') == "(20, 0, 20)" ]] ||
    fail "churn JSON: $(cat "$LAB_DIR/churn.json")"
ok "churn: 20 cycles, no errors"
expect_clean "churn"

step "run-latency --count 5"
bench run-latency --count 5 >"$LAB_DIR/bench-run.out" || fail "run-latency exited $?"
cat "$LAB_DIR/bench-run.out"
grep -qE '^  operations   5 run, ' "$LAB_DIR/bench-run.out" || fail "not 5 runs"
grep -qE '^  concurrency  1$' "$LAB_DIR/bench-run.out" || fail "run-latency not one at a time"
grep -qE '^  run +5 ' "$LAB_DIR/bench-run.out" || fail "no run latency row"
expect_clean "run-latency"

step "logs --count 6 --concurrency 2 --log-mb 5"
bench logs --count 6 --concurrency 2 --log-mb 5 --json "$LAB_DIR/logs.json" >"$LAB_DIR/bench-logs.out" ||
    fail "logs exited $?"
cat "$LAB_DIR/bench-logs.out"
grep -qE '^  operations   6 stream, ' "$LAB_DIR/bench-logs.out" || fail "not 6 streams"
grep -qE '^  errors       0$' "$LAB_DIR/bench-logs.out" || fail "logs had errors"
grep -qE '^  log          5 MB per container \(5000 lines of 1000 bytes\), ready in [0-9.]+ s$' \
    "$LAB_DIR/bench-logs.out" || fail "no log line"
grep -qE '^  throughput   [0-9.]+ MB/s total \(30\.0 MB read\); per stream [0-9.]+ MB/s p50, ' \
    "$LAB_DIR/bench-logs.out" || fail "no throughput line (or not 30 MB read)"
for s in ttfb stream; do
    grep -qE "^  $s +6 " "$LAB_DIR/bench-logs.out" || fail "logs: not 6 samples of $s"
done
[[ $(json "$LAB_DIR/logs.json" 'j["operations"], j["errors"]["total"], j["logs"]["bytes_per_stream"], round(j["logs"]["mb_read"], 3)') == "(6, 0, 5000000, 30.0)" ]] ||
    fail "logs JSON: $(cat "$LAB_DIR/logs.json")"
[[ $(json "$LAB_DIR/logs.json" 'j["logs"]["mb_per_s"] > 0 and 0 < j["latency_ms"]["ttfb"]["p50"] <= j["latency_ms"]["stream"]["p50"]') == True ]] ||
    fail "logs JSON figures: $(cat "$LAB_DIR/logs.json")"
ok "logs: 6 streams of 5 MB, counts checked"
expect_clean "logs"

step "SIGINT mid-run"
# The binary itself in the background (a shell function would put a subshell between).
"$SWARM" bench -H "$H" churn --duration 30 --concurrency 4 --json "$LAB_DIR/int.json" \
    >"$LAB_DIR/bench-int.out" 2>&1 &
pid=$!
for _ in $(seq 100); do (($(labelled) > 0)) && break; sleep 0.1; done
(($(labelled) > 0)) || fail "the run made no container within 10 s"
sleep 1
kill -INT "$pid"
t=$SECONDS
rc=0
wait "$pid" || rc=$?
((rc == 130)) || fail "SIGINT: exit $rc, want 130"
((SECONDS - t < 10)) || fail "SIGINT: took $((SECONDS - t)) s to stop"
cat "$LAB_DIR/bench-int.out"
grep -q '^swarm bench churn (interrupted: partial results)$' "$LAB_DIR/bench-int.out" ||
    fail "no partial summary"
[[ $(json "$LAB_DIR/int.json" 'j["interrupted"]') == True ]] || fail "JSON not marked interrupted"
ok "SIGINT: exit 130 with a partial summary"
expect_clean "SIGINT"

step "SIGKILL mid-run, then --cleanup"
"$SWARM" bench -H "$H" churn --duration 30 --concurrency 4 >/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do (($(labelled) > 0)) && break; sleep 0.1; done
{ kill -KILL "$pid" && wait "$pid"; } 2>/dev/null || true
# One left for sure, created and never started, as a crashed run can leave it.
lab_docker 1 create --label com.swarm.bench=1 --label com.swarm.bench.run=crashed "$LAB_IMAGE" true >/dev/null
left=$(labelled)
((left > 0)) || fail "no labelled container to clean"
out=$(bench --cleanup) || fail "--cleanup exited $?"
echo "   $out"
[[ $out =~ ^removed\ [0-9]+\ containers?\ labelled\ com\.swarm\.bench=1 ]] || fail "--cleanup said: $out"
expect_clean "--cleanup"
out=$(bench --cleanup) || fail "a second --cleanup exited $?"
[[ $out == "removed 0 containers labelled com.swarm.bench=1 at $H" ]] || fail "second --cleanup said: $out"
ok "--cleanup again: nothing to remove"

lab_docker 1 rm -f bystander >/dev/null
step "pass ($((SECONDS - T0)) s)"
