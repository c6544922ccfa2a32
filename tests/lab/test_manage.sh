#!/usr/bin/env bash
# tests/lab/test_manage.sh — the manager end to end: `swarm manage` next to real agents and
# engines in network namespaces, driven by the real docker CLI and docker-py.
#
# Usage: test_manage.sh PATH/TO/swarm        exit 0 pass, 1 fail, 77 skip (reason on stdout)
#
#   1. 3 hosts, an agent on each; the manager in host 1's namespace (its own gossip port, a unix
#      socket and a loopback TCP listener); `swarm members` lists 4 alive, the manager as manager
#   2. docker version: the server is swarm/<version>; the same over tcp://127.0.0.1 in host 1
#   3. docker info: Nodes: 3, each engine (h1..h3) Healthy, CPUs and memory summed over engines
#   4. docker-py: version() and info() (python3-docker, installed by tests/deps.sh; also any
#      other docker-py that python3 on PATH has)
#   5. docker ps: a clear "not implemented yet" error, at once, never a hang
#   6. kill -9 one agent: within 10 s docker info lists its engine Unhealthy, and its CPUs leave
#      the sum
#   7. SIGTERM the manager: it exits 0 and its socket is gone
set -euo pipefail

SWARM=$(readlink -f "${1:?usage: test_manage.sh PATH/TO/swarm}")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lab/lab.sh
source "$HERE/lab.sh"

N=3
TCP_PORT=2399
T0=$SECONDS
declare -A AGENT_PID

step() { printf '\n== [%3ss] %s\n' "$((SECONDS - T0))" "$*"; }
ok() { printf '   ok: %s\n' "$*"; }
fail() {
    printf 'FAIL: %s\n' "$*"
    for f in "$LAB_DIR"/agent*.log "$LAB_DIR"/manager.log; do
        [[ -f $f ]] && { echo "--- $f"; tail -n 20 "$f"; }
    done
    exit 1
}
# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s
wait_for() {
    local limit=$1 what=$2 start=$SECONDS t0
    shift 2
    t0=$(date +%s%N)
    while ! "$@"; do
        ((SECONDS - start < limit)) || fail "$what: not within ${limit}s"
        sleep 0.2
    done
    WAITED_MS=$((($(date +%s%N) - t0) / 1000000))
}

# Debian's python3-docker (5.0.3, what the reference traces used), and any other docker-py the
# python3 on PATH has.
PYS=()
for p in /usr/bin/python3 "$(command -v python3 || true)"; do
    [[ -n $p && -x $p ]] || continue
    [[ ${#PYS[@]} -gt 0 && $(readlink -f "$p") == $(readlink -f "${PYS[0]}") ]] && continue
    if "$p" -c 'import docker' 2>/dev/null; then PYS+=("$p"); fi
done
if [[ ${#PYS[@]} -eq 0 ]]; then
    echo "FAIL: python3-docker is missing (tests/deps.sh installs it: apt-get install python3-docker)"
    exit 1
fi

lab_trap_cleanup
rc=0
lab_up "$N" || rc=$?
((rc == 77)) && exit 77
((rc == 0)) || fail "lab_up $N returned $rc"

SOCK=$LAB_DIR/m.sock
D=(docker -H "unix://$SOCK")
members() { "$SWARM" members --state-dir "$LAB_DIR/mgr" --format json 2>/dev/null; }
count_alive() { members | grep -o '"state":"alive"' | wc -l; }
four_alive() { [[ $(count_alive) == 4 ]]; }
# "h1 Healthy" lines from docker info's SystemStatus listing, one per engine
node_status() {
    "${D[@]}" info 2>/dev/null | awk '
        /^  [^ └].*: / { node = $1; sub(":", "", node) }
        /└ Status: / { print node, $NF }'
}
status_of() { node_status | awk -v n="$1" '$1 == n { print $2 }'; }
engine_sum() { # FIELD I...: the field of /info summed over those engines
    local field=$1 s=0 i
    shift
    for i in "$@"; do s=$((s + $(lab_docker "$i" info --format "{{.$field}}"))); done
    echo "$s"
}

step "3 agents, then the manager in host 1's namespace"
TOKEN=$("$SWARM" init --state-dir "$LAB_DIR/mgr" | tail -n 1)
[[ $TOKEN == SWARM1-* ]] || fail "swarm init printed no token"
for ((i = 1; i <= N; i++)); do
    lab_spawn "$i" "$LAB_DIR/agent$i.log" "$SWARM" join --token "$TOKEN" \
        --state-dir "$LAB_DIR/a$i" --engine "unix://$(lab_sock "$i")" --name "agent$i"
    AGENT_PID[$i]=$LAB_SPAWNED_PID
done
# A small shell around the manager records its exit code (the lab tears the shell down too).
lab_spawn 1 "$LAB_DIR/manager.log" bash -c \
    'pidfile=$1; shift; "$@" & echo $! >"$pidfile"; wait $!; echo "manager exited with code $?"' \
    _ "$LAB_DIR/manager.pid" "$SWARM" manage --state-dir "$LAB_DIR/mgr" \
    -H "unix://$SOCK" -H "tcp://127.0.0.1:$TCP_PORT" --bind 0.0.0.0:7950 --name manager \
    --heartbeat 10s
wait_for 10 "the manager's pid file" test -s "$LAB_DIR/manager.pid"
MGR_PID=$(cat "$LAB_DIR/manager.pid")
warned() { grep -q "warning: --heartbeat is ignored" "$LAB_DIR/manager.log"; }
wait_for 10 "a warning for the classic --heartbeat flag" warned
wait_for 30 "the manager lists 3 agents and itself alive" four_alive
ok "4 alive after ${WAITED_MS} ms"
"$SWARM" members --state-dir "$LAB_DIR/mgr"
members | grep -q '"name":"manager","addr":"[0-9.]*:7950","role":"manager","state":"alive"' ||
    fail "the manager is not listed as role manager: $(members)"
[[ $(members | grep -o '"role":"agent","state":"alive"' | wc -l) == 3 ]] ||
    fail "3 alive agents expected: $(members)"
stat -c '%a' "$SOCK" | grep -qx 660 || fail "socket mode is $(stat -c %a "$SOCK"), not 660"
ok "the manager is a member with role manager; its socket is mode 0660"

step "docker version"
"${D[@]}" version | tee "$LAB_DIR/version.out"
grep -Eq '^ *Version: +swarm/[0-9]+\.[0-9]+\.[0-9]+' "$LAB_DIR/version.out" ||
    fail "docker version shows no swarm/ server version"
grep -Eq '^ *API version: +1\.41 \(minimum version 1\.12\)' "$LAB_DIR/version.out" ||
    fail "the server API version is not the engines' 1.41"
v=$(lab_exec 1 docker -H "tcp://127.0.0.1:$TCP_PORT" version --format '{{.Server.Version}}')
[[ $v == swarm/* ]] || fail "over tcp://127.0.0.1:$TCP_PORT in host 1: '$v'"
ok "Server Version swarm/...; also over loopback TCP ($v)"

step "docker info"
"${D[@]}" info | tee "$LAB_DIR/info.out"
grep -Eq '^ Nodes: 3$' "$LAB_DIR/info.out" || fail "docker info does not show Nodes: 3"
grep -Eq '^ Server Version: swarm/' "$LAB_DIR/info.out" || fail "no swarm/ Server Version"
grep -Eq '^ Role: primary$' "$LAB_DIR/info.out" || fail "no Role: primary"
grep -Eq '^ Strategy: spread$' "$LAB_DIR/info.out" || fail "no Strategy: spread"
for ((i = 1; i <= N; i++)); do
    [[ $(status_of "h$i") == Healthy ]] || fail "h$i is not listed Healthy: $(node_status)"
    grep -Eq "^  h$i: $(lab_ip "$i"):7946$" "$LAB_DIR/info.out" || fail "h$i's address is not listed"
done
cpus=$(engine_sum NCPU 1 2 3)
mem=$(engine_sum MemTotal 1 2 3)
[[ $("${D[@]}" info --format '{{.NCPU}}') == "$cpus" ]] || fail "NCPU is not the engines' sum $cpus"
[[ $("${D[@]}" info --format '{{.MemTotal}}') == "$mem" ]] || fail "MemTotal is not the sum $mem"
grep -Eq "^ CPUs: $cpus$" "$LAB_DIR/info.out" || fail "docker info does not print CPUs: $cpus"
ok "3 nodes, h1..h3 Healthy, $cpus CPUs and $mem bytes summed"

for PY in "${PYS[@]}"; do
step "docker-py ($PY)"
"$PY" - "unix://$SOCK" <<'EOF' | tee "$LAB_DIR/py.out" || fail "docker-py failed"
import sys, docker
c = docker.DockerClient(base_url=sys.argv[1])
v = c.version()
print("docker-py", docker.__version__, "version:", v["Version"], "ApiVersion:", v["ApiVersion"])
assert v["Version"].startswith("swarm/"), v
i = c.info()
print("info: Name", i["Name"], "NCPU", i["NCPU"], "SystemStatus", i["SystemStatus"][:4])
assert ["Nodes", "3"] in i["SystemStatus"], i["SystemStatus"]
try:
    c.containers.list()
    raise SystemExit("containers.list() should fail until the relay lands")
except docker.errors.APIError as e:
    print("containers.list():", e)
    assert e.response.status_code == 501
EOF
ok "version() and info() work; containers.list() gets a 501"
done

step "docker ps: not implemented yet, answered at once"
set +e
out=$(timeout 15 "${D[@]}" ps 2>&1)
prc=$?
set -e
echo "$out"
((prc != 124)) || fail "docker ps hung"
((prc != 0)) || fail "docker ps succeeded"
grep -q 'Error response from daemon: swarm: GET /containers/json is not implemented yet' <<<"$out" ||
    fail "docker ps did not print the not-implemented error"
ok "exit $prc with a clear error"

step "kill -9 agent 3"
cpus12=$(engine_sum NCPU 1 2)
kill -KILL "${AGENT_PID[3]}"
unhealthy() { [[ $(status_of h3) == Unhealthy ]]; }
wait_for 10 "docker info lists h3 Unhealthy" unhealthy
ok "h3 Unhealthy after ${WAITED_MS} ms"
node_status
[[ $(status_of h1) == Healthy && $(status_of h2) == Healthy ]] || fail "h1 or h2 not Healthy"
grep -q '^ Nodes: 3$' <("${D[@]}" info) || fail "h3 left the listing"
[[ $("${D[@]}" info --format '{{.NCPU}}') == "$cpus12" ]] ||
    fail "NCPU should be $cpus12 without h3"
ok "still 3 nodes listed; CPUs now $cpus12 (h1 + h2)"

step "SIGTERM the manager"
kill -TERM "$MGR_PID"
exited() { grep -q "manager exited with code" "$LAB_DIR/manager.log"; }
wait_for 5 "the manager exits" exited
grep -q "manager exited with code 0" "$LAB_DIR/manager.log" ||
    fail "$(grep 'manager exited' "$LAB_DIR/manager.log")"
[[ ! -e $SOCK ]] || fail "the socket $SOCK is still there"
if "${D[@]}" version >/dev/null 2>&1; then fail "something still answers on $SOCK"; fi
ok "exit code 0; the socket is gone"

step "teardown"
for i in 1 2; do kill -TERM "${AGENT_PID[$i]}" 2>/dev/null || true; done
sleep 1
prefix=$LAB_PREFIX
dir=$LAB_DIR
lab_down
lab_check_clean "$prefix" "$dir" || fail "the lab left something behind"
ok "nothing left"
echo "PASS ($((SECONDS - T0)) s)"
