#!/usr/bin/env bash
# tests/lab/test_state.sh — the agent's engine state (STATE messages, docs/PROTOCOL.md 8.1) end
# to end: a real `swarm join` next to a real dockerd in a network namespace, and
# tests/lab/state_probe playing the manager on its relay.
#
# Usage: test_state.sh PATH/TO/swarm PATH/TO/state_probe   exit 0 pass, 1 fail, 77 skip
# Env:   STATE_CONTAINERS (default 20): containers created before the agent starts
#
#   1. N containers (one with -m 64m --cpus 0.5), then the agent: the probe's first message is
#      a snapshot listing all N with their reservations, no Env, images, /info and /version
#      (snapshot time and size printed)
#   2. docker create / start / stop / rm: a delta for each, the entry's State following, then
#      "removed"; docker tag: a delta with the image list; docker volume create: the event
#   3. the engine is killed: an error snapshot naming its socket; restarted: a fresh snapshot
#   4. SIGTERM the agent: it exits 0 within 2 s
set -euo pipefail

SWARM=$(readlink -f "${1:?usage: test_state.sh PATH/TO/swarm PATH/TO/state_probe}")
PROBE=$(readlink -f "${2:?usage: test_state.sh PATH/TO/swarm PATH/TO/state_probe}")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lab/lab.sh
source "$HERE/lab.sh"

N=${STATE_CONTAINERS:-20}
PY=/usr/bin/python3
T0=$SECONDS

step() { printf '\n== [%3ss] %s\n' "$((SECONDS - T0))" "$*"; }
ok() { printf '   ok: %s\n' "$*"; }
fail() {
    printf 'FAIL: %s\n' "$*"
    for f in "$LAB_DIR"/agent.log "$LAB_DIR"/probe.err; do
        [[ -f $f ]] && { echo "--- $f"; tail -n 20 "$f"; }
    done
    [[ -f $LAB_DIR/probe.out ]] && { echo "--- probe.out"; cut -c1-300 "$LAB_DIR/probe.out" | tail -n 20; }
    exit 1
}
wait_for() { # SECONDS DESCRIPTION COMMAND...
    local limit=$1 what=$2 start=$SECONDS
    shift 2
    while ! "$@"; do
        ((SECONDS - start < limit)) || fail "$what: not within ${limit}s"
        sleep 0.2
    done
}
[[ -x $PY ]] || { echo "SKIP: $PY not found"; exit 77; }

lab_trap_cleanup
rc=0
lab_up 1 || rc=$?
((rc == 77)) && exit 77
((rc == 0)) || fail "lab_up 1 returned $rc"

OUT=$LAB_DIR/probe.out
# check PYTHON-EXPRESSION: true if some message m (kind k, body b) of the probe's output matches
check() {
    "$PY" - "$OUT" "$1" <<'EOF'
import json, sys
found = False
for line in open(sys.argv[1]):
    k, seq, chunks, n, body = line.rstrip("\n").split(" ", 4)
    b = json.loads(body)
    if eval(sys.argv[2], {"k": k, "b": b, "n": int(n), "chunks": int(chunks), "json": json}):
        found = True
sys.exit(0 if found else 1)
EOF
}
# count PYTHON-EXPRESSION: how many messages match
count() {
    "$PY" - "$OUT" "$1" <<'EOF'
import json, sys
c = 0
for line in open(sys.argv[1]):
    k, seq, chunks, n, body = line.rstrip("\n").split(" ", 4)
    if eval(sys.argv[2], {"k": k, "b": json.loads(body), "n": int(n)}):
        c += 1
print(c)
EOF
}

step "$N containers, then the agent and the probe"
lab_docker 1 create -m 64m --cpus 0.5 --name big busybox:local sleep 1000 >/dev/null
for ((i = 2; i <= N; i++)); do lab_docker 1 create --name "c$i" busybox:local sleep 1000 >/dev/null; done
lab_docker 1 start big >/dev/null
BIG=$(lab_docker 1 inspect -f '{{.Id}}' big)
TOKEN=$("$SWARM" init --state-dir "$LAB_DIR/mgr" | tail -n 1)
lab_spawn 1 "$LAB_DIR/agent.log" "$SWARM" join --token "$TOKEN" --state-dir "$LAB_DIR/a1" \
    --engine "unix://$(lab_sock 1)" --name agent1 --no-multicast
AGENT=$LAB_SPAWNED_PID
wait_for 20 "the agent's first snapshot" grep -q 'engine: snapshot:' "$LAB_DIR/agent.log"
grep 'engine: snapshot:' "$LAB_DIR/agent.log" | head -n 1
lab_spawn 1 "$LAB_DIR/probe.err" bash -c 'exec "$1" "$2" "$3" "$4" 7948 >"$5"' _ "$PROBE" \
    "$LAB_DIR/mgr" "$LAB_DIR/a1" "$(lab_ip 1)" "$OUT"
wait_for 20 "the probe's snapshot" check 'k == "snapshot"'
check "k == 'snapshot' and len(b['containers']) == $N" || fail "the snapshot does not list $N containers"
check "k == 'snapshot' and [c['HostConfig']['Memory'] for c in b['containers'] if c['Id'] == '$BIG'] == [67108864]" ||
    fail "the snapshot lacks big's memory reservation"
check "k == 'snapshot' and [c['HostConfig']['NanoCpus'] for c in b['containers'] if c['Id'] == '$BIG'] == [500000000]" ||
    fail "the snapshot lacks big's CPU reservation"
check "k == 'snapshot' and [c['State'] for c in b['containers'] if c['Id'] == '$BIG'] == ['running']" ||
    fail "big is not running in the snapshot"
check "k == 'snapshot' and 'busybox:local' in b['images'][0]['RepoTags'] and b['info']['NCPU'] > 0 and b['version']['ApiVersion']" ||
    fail "the snapshot lacks images, info or version"
check "k == 'snapshot' and all('Env' not in c and 'Config' not in c and 'Env' not in c['HostConfig'] for c in b['containers'])" ||
    fail "an environment was sent"
ok "snapshot: $(head -n 1 "$OUT" | cut -d' ' -f3) chunks, $(head -n 1 "$OUT" | cut -d' ' -f4) bytes"

step "create, start, stop, rm, tag, volume create: one delta each"
NEW=$(lab_docker 1 create -m 32m --name fresh busybox:local sleep 1000)
wait_for 10 "a delta for the create" check "k == 'delta' and b.get('container', {}).get('Id') == '$NEW' and b['event']['Action'] == 'create'"
check "k == 'delta' and b.get('container', {}).get('Id') == '$NEW' and b['container']['HostConfig']['Memory'] == 33554432" ||
    fail "the create delta lacks the memory reservation"
lab_docker 1 start fresh >/dev/null
wait_for 10 "a delta with fresh running" check "k == 'delta' and b.get('container', {}).get('Id') == '$NEW' and b['container']['State'] == 'running'"
lab_docker 1 stop -t 1 fresh >/dev/null
wait_for 15 "a delta with fresh exited" check "k == 'delta' and b.get('container', {}).get('Id') == '$NEW' and b['container']['State'] == 'exited'"
lab_docker 1 rm fresh >/dev/null
wait_for 10 "a removed delta" check "k == 'delta' and b.get('removed') == '$NEW' and b['event']['Action'] == 'destroy'"
lab_docker 1 tag busybox:local busybox:e2e
wait_for 10 "an image delta" check "k == 'delta' and 'images' in b and any('busybox:e2e' in (i.get('RepoTags') or []) for i in b['images'])"
lab_docker 1 volume create e2evol >/dev/null
wait_for 10 "a volume event" check "k == 'delta' and b['event'].get('Type') == 'volume' and len(b) == 1"
ok "$(count "k == 'delta'") deltas"

step "the engine is killed, then restarted"
lab_kill 1
wait_for 15 "an error snapshot" check "k == 'snapshot' and '$(lab_sock 1)' in b.get('error', '')"
grep '^snapshot' "$OUT" | tail -n 1 | cut -c1-200
lab_start 1 >/dev/null 2>&1 || fail "cannot restart the engine"
wait_for 30 "a fresh snapshot" "$PY" - "$OUT" <<'EOF'
import json, sys
last = [json.loads(l.split(" ", 4)[4]) for l in open(sys.argv[1]) if l.startswith("snapshot")][-1]
sys.exit(0 if "error" not in last and len(last["containers"]) > 0 else 1)
EOF
ok "error snapshot, then $(grep -c '^snapshot' "$OUT") snapshots in all"

step "SIGTERM the agent: it exits within 2 s"
kill -TERM "$AGENT"
t=$(date +%s%N)
while kill -0 "$AGENT" 2>/dev/null; do
    (($(date +%s%N) - t < 2000000000)) || fail "the agent still runs 2 s after SIGTERM"
    sleep 0.05
done
ok "exited after $((($(date +%s%N) - t) / 1000000)) ms"
echo PASS
