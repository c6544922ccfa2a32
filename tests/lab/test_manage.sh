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
#   4. docker run -d x3: spread puts one on each engine, x6 2/2/2; docker ps lists node/name;
#      constraints on an agent's --label and affinity to a container place as classic Swarm;
#      -e constraint:node==h2 pins (and never reaches the engine's environment); an impossible
#      constraint gets classic Swarm's error; a name already used gets the 409 conflict
#   5. the calls on a container, by name, node/name and id prefix: inspect (with Node), logs,
#      logs -f (follows), exec (also with stdin through the hijacked stream, half-close included,
#      and with a tty), stop, start, restart, docker run attached (output and exit code through
#      attach + wait; stdin with -i), rm -f
#   6. docker events: one stream with every engine's events, tagged with their node; docker
#      pull from a lab registry runs on every engine with per-node progress, and docker run of
#      an image no engine has works (the manager pulls it on the engine it chose)
#   7. docker-compose (Debian's 1.29): up, scale, ps, logs, down of a project with its own
#      network, all placed on the engine that holds the network; docker-py: version(), info(),
#      containers.run/list/logs/remove (python3-docker, installed by tests/deps.sh; also any
#      other docker-py that python3 on PATH has)
#   8. kill -9 host 3 (agent and dockerd): within 10 s docker info lists its engine Unhealthy,
#      and its CPUs leave the sum; its containers show as "Host Down" in ps -a; the container
#      marked reschedule:on-node-failure comes back on another engine, the unmarked one does
#      not; when host 3 returns, the stale copy there is removed and no duplicate remains
#   9. SIGTERM the manager: it exits 0 and its socket is gone
set -euo pipefail

SWARM=$(readlink -f "${1:?usage: test_manage.sh PATH/TO/swarm}")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lab/lab.sh
source "$HERE/lab.sh"
# shellcheck source=tests/lab/harness.sh
source "$HERE/harness.sh"

N=3
TCP_PORT=2399
declare -A AGENT_PID

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
    # zone=a on h1, zone=b on h2 and h3: the agents' labels are constraint targets
    zone=b
    ((i == 1)) && zone=a
    lab_spawn "$i" "$LAB_DIR/agent$i.log" "$SWARM" join --token "$TOKEN" \
        --state-dir "$LAB_DIR/a$i" --engine "unix://$(lab_sock "$i")" --name "agent$i" \
        --label "zone=$zone"
    AGENT_PID[$i]=$LAB_SPAWNED_PID
done
# A small shell around the manager records its exit code (the lab tears the shell down too).
spawn_manager "$LAB_DIR/manager.log" "$LAB_DIR/manager.pid" --state-dir "$LAB_DIR/mgr" \
    -H "unix://$SOCK" -H "tcp://127.0.0.1:$TCP_PORT" --bind 0.0.0.0:7950 --name manager \
    --heartbeat 10s
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

step "docker run -d: spread over the engines, names as node/name"
IMG=$LAB_IMAGE
on_engine() { # NAME -> the engine that runs it, as the manager says
    "${D[@]}" inspect --format '{{.Node.Name}}' "$1"
}
engines_ready() {
    [[ -n $("${D[@]}" run -d --name probe "$IMG" true 2>/dev/null) ]] &&
        "${D[@]}" rm -f probe >/dev/null
}
wait_for 20 "the manager's relays to the engines" engines_ready
for c in s1 s2 s3; do
    "${D[@]}" run -d --name "$c" "$IMG" sleep 300 >/dev/null || fail "docker run -d --name $c failed"
done
nodes=$(for c in s1 s2 s3; do on_engine "$c"; done | sort | tr '\n' ' ')
[[ $nodes == "h1 h2 h3 " ]] || fail "spread should put one container on each engine, got: $nodes"
"${D[@]}" ps | tee "$LAB_DIR/ps.out"
for c in s1 s2 s3; do
    n=$(on_engine "$c")
    grep -Eq " $n/$c\$" "$LAB_DIR/ps.out" || fail "docker ps does not list $n/$c"
    lab_docker "${n#h}" ps --format '{{.Names}}' | grep -qx "$c" || fail "$c is not running on $n itself"
done
for c in s4 s5 s6; do
    "${D[@]}" run -d --name "$c" "$IMG" sleep 300 >/dev/null || fail "docker run -d --name $c failed"
done
counts=$(for c in s1 s2 s3 s4 s5 s6; do on_engine "$c"; done | sort | uniq -c | awk '{print $1}' | tr '\n' ' ')
[[ $counts == "2 2 2 " ]] || fail "6 containers should spread 2/2/2, got: $counts"
"${D[@]}" rm -f s4 s5 s6 >/dev/null
ok "s1..s3 on h1, h2, h3 (one each), then s4..s6 make it 2/2/2; docker ps lists node/name"

"${D[@]}" run -d --name zoned -e constraint:zone==a "$IMG" sleep 300 >/dev/null ||
    fail "docker run -e constraint:zone==a (an agent label) failed"
[[ $(on_engine zoned) == h1 ]] || fail "constraint:zone==a placed it on $(on_engine zoned)"
"${D[@]}" run -d --name near -e affinity:container==s3 "$IMG" sleep 300 >/dev/null
[[ $(on_engine near) == $(on_engine s3) ]] || fail "affinity:container==s3 placed it on $(on_engine near)"
"${D[@]}" rm -f zoned near >/dev/null
ok "constraint on an agent's --label (zone==a -> h1); affinity:container==s3 -> s3's node"

"${D[@]}" run -d --name pinned -e constraint:node==h2 -e KEEP=1 "$IMG" sleep 300 >/dev/null ||
    fail "docker run -e constraint:node==h2 failed"
[[ $(on_engine pinned) == h2 ]] || fail "constraint:node==h2 placed it on $(on_engine pinned)"
env=$(lab_docker 2 inspect --format '{{json .Config.Env}}' pinned)
grep -q KEEP=1 <<<"$env" || fail "the container's own environment was lost: $env"
if grep -q constraint <<<"$env"; then fail "the engine saw the constraint: $env"; fi
set +e
out=$("${D[@]}" run -d -e constraint:node==nowhere "$IMG" true 2>&1)
prc=$?
set -e
((prc != 0)) || fail "an impossible constraint succeeded"
grep -q 'Unable to find a node that satisfies the following conditions' <<<"$out" ||
    fail "no classic error for an impossible constraint: $out"
set +e
out=$("${D[@]}" run -d --name s1 "$IMG" true 2>&1)
prc=$?
set -e
((prc != 0)) || fail "a second container named s1 was created"
grep -q 'Conflict. The container name "/s1" is already in use' <<<"$out" ||
    fail "no conflict error for a name in use: $out"
ok "constraint:node==h2 pins (the engine never sees it); the classic error; 409 on a name in use"

step "calls on one container: inspect, logs, exec, stop/start, attached run, rm"
n1=$(on_engine s1)
id=$("${D[@]}" inspect --format '{{.Id}}' s1)
[[ $("${D[@]}" inspect --format '{{.Id}}' "$n1/s1") == "$id" ]] || fail "node/name does not resolve"
[[ $("${D[@]}" inspect --format '{{.Id}}' "${id:0:7}") == "$id" ]] || fail "an id prefix does not resolve"
"${D[@]}" inspect --format '{{.Node.Name}} {{.Node.IP}}' s1 | grep -Eq "^$n1 [0-9.]+$" ||
    fail "inspect has no Node object"
"${D[@]}" run -d --name talker "$IMG" sh -c 'echo hello-from-the-cluster; echo to-stderr >&2; sleep 300' >/dev/null
has_logs() { "${D[@]}" logs talker 2>&1 | grep -q to-stderr; }
wait_for 5 "docker logs shows stderr" has_logs
"${D[@]}" logs talker 2>/dev/null | grep -q hello-from-the-cluster || fail "docker logs: no stdout line"
set +e
out=$(timeout 3 "${D[@]}" logs -f talker 2>&1)
prc=$?
set -e
((prc == 124)) || fail "docker logs -f ended by itself (exit $prc): it should follow"
grep -q hello-from-the-cluster <<<"$out" || fail "docker logs -f printed nothing: $out"
[[ $(echo stdin-round-trip | "${D[@]}" run --rm -i "$IMG" cat) == stdin-round-trip ]] ||
    fail "echo | docker run --rm -i cat did not round-trip stdin"
out=$(script -qec "docker -H unix://$SOCK exec -t s2 sh -c 'test -t 0 && test -t 1 && echo is-a-tty'" \
    /dev/null | tr -d '\r') || true
[[ $out == is-a-tty ]] || fail "docker exec -t has no tty: '$out'"
"${D[@]}" restart -t 1 s1 >/dev/null
[[ $("${D[@]}" inspect --format '{{.State.Running}} {{.RestartCount}}' s1) == "true 0" ]] ||
    fail "docker restart: $("${D[@]}" inspect --format '{{.State.Running}}' s1)"
[[ $("${D[@]}" exec s2 echo exec-ok) == exec-ok ]] || fail "docker exec"
[[ $(printf 'through-stdin\n' | "${D[@]}" exec -i s3 cat) == through-stdin ]] ||
    fail "docker exec -i: stdin did not come back (hijack or half-close broken)"
"${D[@]}" stop -t 1 s3 >/dev/null
[[ $("${D[@]}" inspect --format '{{.State.Running}}' s3) == false ]] || fail "stop"
"${D[@]}" start s3 >/dev/null
[[ $("${D[@]}" inspect --format '{{.State.Running}}' s3) == true ]] || fail "start"
out=$("${D[@]}" run --rm "$IMG" echo attached-output)
[[ $out == attached-output ]] || fail "docker run (attached): '$out'"
set +e
"${D[@]}" run --rm "$IMG" sh -c 'exit 3'
prc=$?
set -e
((prc == 3)) || fail "docker run's exit code: $prc, expected 3"
"${D[@]}" rm -f talker >/dev/null
set +e
out=$("${D[@]}" inspect talker 2>&1)
set -e
grep -q 'No such' <<<"$out" || fail "talker still there after rm -f: $out"
ok "inspect by name, node/name, id prefix; logs; exec (-i too); stop/start; attached run (exit 3); rm -f"

step "kept inspect answers: given again while nothing changed, never older than a change"
"${D[@]}" run -d --name kept "$IMG" sleep 300 >/dev/null
nk=$(on_engine kept)
ik=${nk#h}
age_of() { # [CURL ARGS...] -> the Age header of an inspect of kept, "" if none
    curl -s -D - -o /dev/null --max-time 5 --unix-socket "$SOCK" "$@" \
        http://swarm/v1.41/containers/kept/json | tr -d '\r' | awk -F': ' '$1 == "Age" { print $2 }'
}
age_of >/dev/null
[[ $(age_of) =~ ^[0-9]+$ ]] || fail "a second inspect with nothing changed came from the engine (no Age)"
[[ -z $(age_of -H 'Cache-Control: no-cache') ]] || fail "Cache-Control: no-cache got a kept answer"
[[ -z $(age_of -G -d size=1) ]] || fail "an inspect with a query got a kept answer"
# A change through the manager that is not held for its event (update), then an inspect on
# the same connection right after it (curl --next: well before the engine's event reaches the
# manager): the inspect shows the change, every time.
for n in 1 2 3 4 5 6 7 8; do
    age_of >/dev/null # an answer kept just before the change
    got=$(curl -s --max-time 5 --unix-socket "$SOCK" -o /dev/null -X POST \
        -H 'Content-Type: application/json' \
        -d "{\"RestartPolicy\":{\"Name\":\"on-failure\",\"MaximumRetryCount\":$n}}" \
        http://swarm/v1.41/containers/kept/update \
        --next -s --max-time 5 --unix-socket "$SOCK" http://swarm/v1.41/containers/kept/json |
        grep -o '"MaximumRetryCount":[0-9]*')
    [[ $got == "\"MaximumRetryCount\":$n" ]] ||
        fail "the inspect right after an update showed $got, not MaximumRetryCount $n"
done
age_of >/dev/null
"${D[@]}" exec -d kept sleep 60
[[ $("${D[@]}" inspect --format '{{len .ExecIDs}}' kept) == 1 ]] ||
    fail "inspect after docker exec -d shows no exec running"
# Changes made on the engine itself, not through the manager: seen once their event arrives.
age_of >/dev/null
lab_docker "$ik" pause kept >/dev/null
paused() { [[ $("${D[@]}" inspect --format '{{.State.Status}}' kept) == paused ]]; }
wait_for 5 "the manager's inspect shows a pause made on the engine" paused
lab_docker "$ik" unpause kept >/dev/null
lab_docker "$ik" rename kept kept2 >/dev/null
renamed() { [[ $("${D[@]}" inspect --format '{{.Name}} {{.State.Status}}' kept2 2>/dev/null) == "/kept2 running" ]]; }
wait_for 5 "the manager's inspect shows an unpause and a rename made on the engine" renamed
"${D[@]}" rm -f kept2 >/dev/null
ok "Age on a kept answer; no-cache and queries go to the engine; update and exec seen at once; pause, rename on the engine seen"

step "docker events: one stream from every engine, tagged with the node"
"${D[@]}" events --format '{{json .}}' >"$LAB_DIR/events.out" 2>&1 &
EV_PID=$!
sleep 1
"${D[@]}" run -d --name ev1 -e constraint:node==h3 "$IMG" true >/dev/null
"${D[@]}" run -d --name ev2 -e constraint:node==h1 "$IMG" true >/dev/null
seen() { grep -q '"node.name":"h3"' "$LAB_DIR/events.out" && grep -q '"node.name":"h1"' "$LAB_DIR/events.out"; }
wait_for 10 "events from h1 and h3" seen
kill "$EV_PID" 2>/dev/null || true
wait "$EV_PID" 2>/dev/null || true
grep -q '"Action":"start"' "$LAB_DIR/events.out" || fail "no start event: $(head -c 600 "$LAB_DIR/events.out")"
"${D[@]}" rm -f ev1 ev2 >/dev/null
ok "$(wc -l <"$LAB_DIR/events.out") events, from h1 and h3, each with its node"

step "docker pull through the manager: every engine pulls, progress merged"
lab_registry 1 >/dev/null
REG=$LAB_REGISTRY_1
lab_docker 1 tag "$IMG" "$REG/bb:v1"
lab_docker 1 push "$REG/bb:v1" >/dev/null
lab_docker 1 tag "$IMG" "$REG/bb:v2"
lab_docker 1 push "$REG/bb:v2" >/dev/null
lab_docker 1 rmi "$REG/bb:v1" "$REG/bb:v2" >/dev/null
"${D[@]}" pull "$REG/bb:v1" | tee "$LAB_DIR/pull.out"
for ((i = 1; i <= N; i++)); do
    grep -q "^h$i: Status: Downloaded newer image" "$LAB_DIR/pull.out" || fail "no progress from h$i"
    lab_docker "$i" image inspect "$REG/bb:v1" >/dev/null || fail "h$i does not have the image"
done
"${D[@]}" images --format '{{.Repository}}:{{.Tag}}' | grep -qx "$REG/bb:v1" ||
    fail "docker images through the manager does not list the pulled image"
# docker run of an image no engine has: the manager pulls it on the engine it chose and creates
# again there (tests/lab/test_sched.sh checks where).
"${D[@]}" run -d --name auto "$REG/bb:v2" sleep 300 >/dev/null 2>"$LAB_DIR/auto.err" ||
    fail "docker run of a missing image: $(cat "$LAB_DIR/auto.err")"
[[ $("${D[@]}" inspect --format '{{.State.Running}}' auto) == true ]] || fail "auto is not running"
"${D[@]}" rm -f auto >/dev/null
ok "pulled on h1..h$N with per-node progress; docker run of a missing image pulls it first"

step "docker-compose: a project with its network, on the engine that holds the network"
mkdir -p "$LAB_DIR/compose"
cat >"$LAB_DIR/compose/docker-compose.yml" <<EOF
version: "2.4"
services:
  web:
    image: $IMG
    command: sh -c "echo web up; sleep 300"
  worker:
    image: $IMG
    command: sh -c "echo worker up; sleep 300"
    depends_on: [web]
EOF
DC=(env DOCKER_HOST="unix://$SOCK" docker-compose --project-directory "$LAB_DIR/compose"
    -f "$LAB_DIR/compose/docker-compose.yml" -p lab)
"${DC[@]}" up -d 2>&1 | tail -n 3 || fail "docker-compose up failed"
"${DC[@]}" scale worker=2 >/dev/null 2>&1 || fail "docker-compose scale failed"
"${DC[@]}" ps | tee "$LAB_DIR/compose.ps"
for c in lab_web_1 lab_worker_1 lab_worker_2; do
    grep -Eq "^$c .* Up" "$LAB_DIR/compose.ps" || fail "docker-compose ps does not show $c up"
done
[[ $(grep -c '^lab_' "$LAB_DIR/compose.ps") == 3 ]] || fail "docker-compose ps lists duplicates"
netnode=$("${D[@]}" network ls --format '{{.Name}}' | sed -n 's|/lab_default$||p')
[[ -n $netnode ]] || fail "the project's network is not listed as node/lab_default"
for c in lab_web_1 lab_worker_1 lab_worker_2; do
    [[ $(on_engine "$c") == "$netnode" ]] || fail "$c is not on $netnode, where its network is"
done
out=$("${DC[@]}" logs --no-color 2>&1)
grep -q "worker up" <<<"$out" || fail "docker-compose logs: $out"
"${DC[@]}" down -t 1 2>&1 | tail -n 2 || fail "docker-compose down failed"
if "${D[@]}" network ls --format '{{.Name}}' | grep -q lab_default; then
    fail "the network is still there"
fi
ok "up, scale, ps, logs, down; network and containers together on $netnode"

for PY in "${PYS[@]}"; do
step "docker-py ($PY)"
"$PY" - "unix://$SOCK" "$IMG" <<'EOF' | tee "$LAB_DIR/py.out" || fail "docker-py failed"
import sys, time, docker
c = docker.DockerClient(base_url=sys.argv[1])
v = c.version()
print("docker-py", docker.__version__, "version:", v["Version"], "ApiVersion:", v["ApiVersion"])
assert v["Version"].startswith("swarm/"), v
i = c.info()
print("info: Name", i["Name"], "NCPU", i["NCPU"], "SystemStatus", i["SystemStatus"][:4])
assert ["Nodes", "3"] in i["SystemStatus"], i["SystemStatus"]
ct = c.containers.run(sys.argv[2], ["sh", "-c", "echo py-says-hi; sleep 300"], detach=True,
                      name="py1")
names = [x.name for x in c.containers.list()]
print("containers.list():", names)
assert "py1" in names, names  # docker-py names come from inspect's Name
for _ in range(50):
    if b"py-says-hi" in ct.logs():
        break
    time.sleep(0.1)
assert b"py-says-hi" in ct.logs(), ct.logs()
ct.remove(force=True)
print("run, list, logs, remove: ok")
EOF
ok "version(), info(), containers.run/list/logs/remove"
done

step "kill -9 host 3 (agent and engine): its marked container is rescheduled, the other is not"
"${D[@]}" run -d --name resched -e reschedule:on-node-failure -e 'constraint:node==~h3' "$IMG" \
    sleep 300 >/dev/null || fail "docker run -e reschedule:on-node-failure"
"${D[@]}" run -d --name stay3 -e constraint:node==h3 "$IMG" sleep 300 >/dev/null
[[ $(on_engine resched) == h3 && $(on_engine stay3) == h3 ]] || fail "not placed on h3"
old_id=$("${D[@]}" inspect --format '{{.Id}}' resched)
cpus12=$(engine_sum NCPU 1 2)
kill -KILL "${AGENT_PID[3]}"
lab_kill 3
unhealthy() { [[ $(status_of h3) == Unhealthy ]]; }
wait_for 10 "docker info lists h3 Unhealthy" unhealthy
ok "h3 Unhealthy after ${WAITED_MS} ms"
node_status
[[ $(status_of h1) == Healthy && $(status_of h2) == Healthy ]] || fail "h1 or h2 not Healthy"
grep -q '^ Nodes: 3$' <("${D[@]}" info) || fail "h3 left the listing"
"${D[@]}" ps -a --format '{{.Names}} {{.Status}}' | tee "$LAB_DIR/psa.out"
grep -Eq '^h3/[a-z0-9]+ Host Down$' "$LAB_DIR/psa.out" || fail "h3's containers are not shown as Host Down"
if "${D[@]}" ps --format '{{.Names}}' | grep -q '^h3/'; then fail "docker ps (without -a) lists h3's containers"; fi
[[ $("${D[@]}" info --format '{{.NCPU}}') == "$cpus12" ]] ||
    fail "NCPU should be $cpus12 without h3"
ok "still 3 nodes listed; CPUs now $cpus12 (h1 + h2)"
moved() {
    local n
    n=$("${D[@]}" ps --filter name=resched --format '{{.Names}}' 2>/dev/null)
    [[ $n == h1/resched || $n == h2/resched ]]
}
wait_for 30 "resched recreated and running on h1 or h2" moved
ok "resched runs on $(on_engine resched) $((WAITED_MS / 1000)) s after h3 was suspected"
[[ $("${D[@]}" inspect --format '{{.Id}}' resched) != "$old_id" ]] || fail "resched kept its id"
[[ $("${D[@]}" inspect --format '{{.Config.Labels}}' resched) == *com.docker.swarm.id* ]] ||
    fail "the new copy lost its swarm id"
if "${D[@]}" ps -a --format '{{.Names}}' | grep -Eq '^h[12]/stay3$'; then
    fail "stay3 (not marked) was rescheduled"
fi
ok "stay3, not marked, stays on h3 (Host Down)"
set +e
t0=$(date +%s%N)
out=$(timeout 10 "${D[@]}" exec stay3 true 2>&1)
prc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
set -e
((prc != 0 && prc != 124)) || fail "docker exec on a container of the failed host: exit $prc"
grep -q "unhealthy node h3" <<<"$out" || fail "the error does not name the node: $out"
((ms < 2000)) || fail "the call to the failed host took $ms ms"
ok "a call to stay3 fails in $ms ms: $out"

step "host 3 comes back: the stale copy there is removed, no duplicate"
lab_start 3 >/dev/null
lab_spawn 3 "$LAB_DIR/agent3b.log" "$SWARM" join --token "$TOKEN" \
    --state-dir "$LAB_DIR/a3" --engine "unix://$(lab_sock 3)" --name agent3 --label zone=b
AGENT_PID[3]=$LAB_SPAWNED_PID
healthy3() { [[ $(status_of h3) == Healthy ]]; }
wait_for 30 "h3 Healthy again" healthy3
no_stale() { ! lab_docker 3 ps -a --format '{{.Names}}' | grep -qx resched; }
wait_for 15 "the stale resched removed from h3" no_stale
[[ $("${D[@]}" ps -a --filter name=resched --format '{{.Names}}' | wc -l) == 1 ]] ||
    fail "resched is listed more than once: $("${D[@]}" ps -a --filter name=resched --format '{{.Names}}')"
lab_docker 3 ps -a --format '{{.Names}}' | grep -qx stay3 || fail "stay3 is gone from h3"
"${D[@]}" ps -a --format '{{.Names}} {{.Status}}' | grep -E '^h3/stay3 ' | grep -vq 'Host Down' ||
    fail "h3/stay3 is not back in docker ps -a"
"${D[@]}" rm -f resched stay3 >/dev/null
ok "h3 Healthy, stay3 listed again; its stale resched removed after ${WAITED_MS} ms; one resched"

step "SIGTERM the manager"
kill -TERM "$MGR_PID"
exited() { grep -q "manager exited with code" "$LAB_DIR/manager.log"; }
wait_for 5 "the manager exits" exited
grep -q "manager exited with code 0" "$LAB_DIR/manager.log" ||
    fail "$(grep 'manager exited' "$LAB_DIR/manager.log")"
[[ ! -e $SOCK ]] || fail "the socket $SOCK is still there"
if "${D[@]}" version >/dev/null 2>&1; then fail "something still answers on $SOCK"; fi
grep -Eq 'kept inspect answers: [1-9][0-9]* given' "$LAB_DIR/manager.log" ||
    fail "the manager's last words do not count kept inspect answers given"
ok "exit code 0; the socket is gone; $(grep -o 'kept inspect answers: [0-9]* given' "$LAB_DIR/manager.log")"

step "teardown"
for i in 1 2; do kill -TERM "${AGENT_PID[$i]}" 2>/dev/null || true; done
sleep 1
prefix=$LAB_PREFIX
dir=$LAB_DIR
lab_down
lab_check_clean "$prefix" "$dir" || fail "the lab left something behind"
ok "nothing left"
echo "PASS ($((SECONDS - T0)) s)"
