#!/usr/bin/env bash
# tests/lab/test_sched.sh — classic Swarm's placement on real engines: `swarm manage` next to
# three agents and engines in network namespaces, driven by the docker CLI, every placement
# read back from the manager (`docker inspect -f '{{.Node.Name}}'`) and the engines themselves.
#
# Usage: test_sched.sh PATH/TO/swarm        exit 0 pass, 1 fail, 77 skip (reason on stdout)
#
#   1. 3 hosts (NCPU and MemTotal read from each engine), an agent on each, the manager (spread)
#   2. spread with reservations: 6 containers of -m 45% of a node's memory: the first three on
#      three different engines, then one more on each (2/2/2); a 7th gets classic's
#      "no resources available to schedule container"
#   3. host ports: -p 8080:80 three times lands on three different engines; a fourth gets
#      classic's "Unable to find a node that satisfies the following conditions" naming
#      [port 8080 (Bridge mode)]; -p 8080:80/udp still fits
#   4. image affinity: an image tagged on h2 only; with h2 the busiest engine,
#      -e affinity:image==X still lands on h2. An image that is on h2 only and in no registry,
#      run without any expression: the engine spread chose cannot pull it, so the container goes
#      where the image is (h2); pinned elsewhere by constraint:node==h1 it fails, and nothing
#      is left on h1
#   5. an image in the lab registry and on no engine, run with constraint:node==h3: the manager
#      pulls it on h3 only (h1 and h2 never get it) and the container runs; the CLI never had to
#      pull ("Unable to find image" is not printed)
#   6. the manager restarted with --strategy binpack: 6 containers without reservations all go
#      to one engine; then 6 of -m 45% fill engines two by two, starting with that busiest
#      engine; a 7th gets "no resources available to schedule container"
set -euo pipefail

SWARM=$(readlink -f "${1:?usage: test_sched.sh PATH/TO/swarm}")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lab/lab.sh
source "$HERE/lab.sh"
# shellcheck source=tests/lab/harness.sh
source "$HERE/harness.sh"

N=3
declare -A AGENT_PID

lab_trap_cleanup
rc=0
lab_up "$N" || rc=$?
((rc == 77)) && exit 77
((rc == 0)) || fail "lab_up $N returned $rc"

SOCK=$LAB_DIR/m.sock
D=(docker -H "unix://$SOCK")
IMG=$LAB_IMAGE
members() { "$SWARM" members --state-dir "$LAB_DIR/mgr" --format json 2>/dev/null; }
four_alive() { [[ $(members | grep -o '"state":"alive"' | wc -l) == 4 ]]; }
on_engine() { "${D[@]}" inspect --format '{{.Node.Name}}' "$1"; }
engines_ready() {
    [[ -n $("${D[@]}" run -d --name probe "$IMG" true 2>/dev/null) ]] &&
        "${D[@]}" rm -f probe >/dev/null
}
# run_fail NAME ARGS...: docker run that must fail; its output in OUT
run_fail() {
    local what=$1 prc
    shift
    set +e
    OUT=$("${D[@]}" run -d "$@" 2>&1)
    prc=$?
    set -e
    ((prc != 0)) || fail "$what succeeded: $OUT"
}
# placed NAME...: their engines, in order, space-separated
placed() {
    local c
    for c in "$@"; do printf '%s ' "$(on_engine "$c")"; done
}
# distinct WORDS...: how many different words
distinct() { printf '%s\n' "$@" | sort -u | grep -c .; }
# one_line TEXT: the CLI's message on one line
one_line() { tr -s '\n' ' ' <<<"$1"; }
rm_all() {
    local ids
    ids=$("${D[@]}" ps -aq)
    # shellcheck disable=SC2086 # one id per word
    [[ -z $ids ]] || "${D[@]}" rm -f $ids >/dev/null
    [[ -z $("${D[@]}" ps -aq) ]] || fail "containers left after rm -f: $("${D[@]}" ps -a)"
}
MGR_N=0
start_manager() { # ARGS...: extra flags
    MGR_N=$((MGR_N + 1))
    local log=$LAB_DIR/manager$MGR_N.log pidf=$LAB_DIR/manager$MGR_N.pid
    spawn_manager "$log" "$pidf" --state-dir "$LAB_DIR/mgr" -H "unix://$SOCK" \
        --bind 0.0.0.0:7950 --name manager "$@"
    MGR_LOG=$log
    wait_for 30 "the manager lists 3 agents and itself alive" four_alive
    wait_for 20 "the manager's relays to the engines" engines_ready
    ok "the manager ($*) places containers; its relays were ready ${WAITED_MS} ms after gossip"
}

step "3 agents and the manager (spread)"
NCPU=$(lab_docker 1 info --format '{{.NCPU}}')
MEM=$(lab_docker 1 info --format '{{.MemTotal}}')
for i in 2 3; do
    [[ $(lab_docker "$i" info --format '{{.NCPU}} {{.MemTotal}}') == "$NCPU $MEM" ]] ||
        fail "the engines differ in CPUs or memory; this test needs equal ones"
done
# 45%: two fit on an engine (90), a third does not (135 > 100 + 5% overcommit).
RES=$((MEM * 45 / 100))
TOKEN=$("$SWARM" init --state-dir "$LAB_DIR/mgr" | tail -n 1)
for ((i = 1; i <= N; i++)); do
    lab_spawn "$i" "$LAB_DIR/agent$i.log" "$SWARM" join --token "$TOKEN" \
        --state-dir "$LAB_DIR/a$i" --engine "unix://$(lab_sock "$i")" --name "agent$i"
    AGENT_PID[$i]=$LAB_SPAWNED_PID
done
start_manager
grep -q '^ Strategy: spread$' <<<"$("${D[@]}" info 2>/dev/null)" || fail "the manager does not say spread"
ok "engines of $NCPU CPUs and $MEM bytes; reservation -m $RES per container"

step "spread: 6 containers of -m 45% -> 2/2/2, the first three on three engines; a 7th fails"
for c in r1 r2 r3 r4 r5 r6; do
    "${D[@]}" run -d --name "$c" -m "$RES" "$IMG" sleep 300 >/dev/null || fail "docker run $c"
done
p=$(placed r1 r2 r3 r4 r5 r6)
echo "   r1..r6 on: $p"
read -r -a at <<<"$p"
(($(distinct "${at[@]:0:3}") == 3)) || fail "spread put r1..r3 on $p"
(($(distinct "${at[@]:3:3}") == 3)) || fail "spread put r4..r6 on $p"
[[ $(lab_docker "${at[0]#h}" inspect --format '{{.HostConfig.Memory}}' r1) == "$RES" ]] ||
    fail "the engine does not hold r1's memory reservation"
run_fail "a 7th container of -m 45%" -m "$RES" "$IMG" sleep 300
grep -q 'no resources available to schedule container' <<<"$OUT" || fail "7th: $OUT"
rm_all
ok "r1..r3 on three engines, r4..r6 on three engines; the 7th: $(one_line "$OUT")"

step "host ports: -p 8080:80 moves each next one to another engine; the 4th fails"
for c in p1 p2 p3; do
    "${D[@]}" run -d --name "$c" -p 8080:80 "$IMG" sleep 300 >/dev/null || fail "docker run $c"
done
p=$(placed p1 p2 p3)
read -r -a at <<<"$p"
(($(distinct "${at[@]}") == 3)) || fail "three -p 8080:80 containers on $p"
[[ $(lab_docker "${at[1]#h}" inspect --format '{{json .HostConfig.PortBindings}}' p2) == \
    *'"HostPort":"8080"'* ]] || fail "p2 on ${at[1]} does not publish 8080"
run_fail "a 4th -p 8080:80" -p 8080:80 "$IMG" sleep 300
grep -q 'Unable to find a node that satisfies the following conditions' <<<"$OUT" ||
    fail "4th: $OUT"
grep -q '\[port 8080 (Bridge mode)\]' <<<"$OUT" || fail "4th: the port is not named: $OUT"
"${D[@]}" run -d --name pudp -p 8080:80/udp "$IMG" sleep 300 >/dev/null ||
    fail "8080/udp should fit next to 8080/tcp"
rm_all
ok "p1..p3 on $p; the 4th: $(one_line "$OUT")"

step "image affinity: an image on h2 only"
lab_docker 2 tag "$IMG" onlyhere:1
has_tag() { grep -qx onlyhere:1 <<<"$("${D[@]}" images --format '{{.Repository}}:{{.Tag}}')"; }
wait_for 10 "the manager's view lists onlyhere:1" has_tag
# h2 the busiest: spread alone would never choose it.
for c in busy1 busy2; do
    "${D[@]}" run -d --name "$c" -e constraint:node==h2 "$IMG" sleep 300 >/dev/null
done
"${D[@]}" run -d --name plain "$IMG" sleep 300 >/dev/null
[[ $(on_engine plain) != h2 ]] || fail "spread chose the busiest engine h2"
"${D[@]}" run -d --name aff -e affinity:image==onlyhere:1 "$IMG" sleep 300 >/dev/null ||
    fail "docker run -e affinity:image==onlyhere:1"
[[ $(on_engine aff) == h2 ]] || fail "affinity:image==onlyhere:1 placed it on $(on_engine aff)"
if grep -q affinity <<<"$(lab_docker 2 inspect --format '{{json .Config.Env}}' aff)"; then
    fail "the engine saw the affinity"
fi
ok "plain -> $(on_engine plain) (spread), affinity:image==onlyhere:1 -> h2"
"${D[@]}" run -d --name where onlyhere:1 sleep 300 >/dev/null 2>"$LAB_DIR/where.err" ||
    fail "docker run onlyhere:1 (on h2 only, in no registry): $(cat "$LAB_DIR/where.err")"
[[ $(on_engine where) == h2 ]] || fail "onlyhere:1 ran on $(on_engine where), not where it is"
[[ $("${D[@]}" inspect --format '{{.State.Running}}' where) == true ]] || fail "where is not running"
grep -q 'image onlyhere:1 is on h2: the container goes there' "$MGR_LOG" ||
    fail "the manager did not log the move to h2"
for i in 1 3; do
    if lab_docker "$i" image inspect onlyhere:1 >/dev/null 2>&1; then fail "h$i has onlyhere:1"; fi
done
ok "docker run onlyhere:1: the pull on the chosen engine failed, the container went to h2"
run_fail "onlyhere:1 pinned to h1" --name pinned1 -e constraint:node==h1 onlyhere:1 sleep 300
echo "$OUT" | sed 's/^/   | /'
grep -Eqi 'onlyhere' <<<"$OUT" || fail "pinned to h1: $OUT"
if grep -qx pinned1 <<<"$(lab_docker 1 ps -a --format '{{.Names}}')"; then
    fail "pinned1 exists on h1"
fi
rm_all
ok "pinned by constraint:node==h1 it fails as on one engine (the CLI pulls, the registry is not there)"

step "an image only in the registry, pinned to h3: the manager pulls it there"
lab_registry 1 >/dev/null
REG=$LAB_REGISTRY_1
lab_docker 1 tag "$IMG" "$REG/bb:v3"
lab_docker 1 push "$REG/bb:v3" >/dev/null
lab_docker 1 rmi "$REG/bb:v3" >/dev/null
for i in 1 2 3; do
    if lab_docker "$i" image inspect "$REG/bb:v3" >/dev/null 2>&1; then fail "h$i has bb:v3"; fi
done
t0=$(date +%s%N)
"${D[@]}" run -d --name pulled -e constraint:node==h3 "$REG/bb:v3" sleep 300 >/dev/null \
    2>"$LAB_DIR/pulled.err" || fail "docker run $REG/bb:v3 on h3: $(cat "$LAB_DIR/pulled.err")"
ms=$((($(date +%s%N) - t0) / 1000000))
[[ $(on_engine pulled) == h3 ]] || fail "pulled runs on $(on_engine pulled)"
[[ $("${D[@]}" inspect --format '{{.State.Running}}' pulled) == true ]] || fail "not running"
lab_docker 3 image inspect "$REG/bb:v3" >/dev/null || fail "h3 does not have the image"
for i in 1 2; do
    if lab_docker "$i" image inspect "$REG/bb:v3" >/dev/null 2>&1; then
        fail "h$i has the image: the CLI's pull on every engine ran, not the manager's on h3"
    fi
done
if grep -q 'Unable to find image' "$LAB_DIR/pulled.err"; then
    fail "the CLI had to pull: $(cat "$LAB_DIR/pulled.err")"
fi
grep -q "image $REG/bb:v3 is not on h3: pulling it there" "$MGR_LOG" ||
    fail "the manager did not log the pull on h3"
grep -q "image $REG/bb:v3 pulled on h3: creating the container again" "$MGR_LOG" ||
    fail "the manager did not log the create retry"
rm_all
ok "pulled on h3 only and running, in $ms ms; the CLI printed nothing about pulling"

step "binpack: the manager restarted with --strategy binpack"
kill -TERM "$MGR_PID"
exited() { grep -q "manager exited with code" "$MGR_LOG"; }
wait_for 10 "the manager exits" exited
grep -q "manager exited with code 0" "$MGR_LOG" || fail "$(grep 'manager exited' "$MGR_LOG")"
start_manager --strategy binpack
grep -q '^ Strategy: binpack$' <<<"$("${D[@]}" info 2>/dev/null)" ||
    fail "the manager does not say binpack"
for c in b1 b2 b3 b4 b5 b6; do
    "${D[@]}" run -d --name "$c" "$IMG" sleep 300 >/dev/null || fail "docker run $c"
done
p=$(placed b1 b2 b3 b4 b5 b6)
read -r -a at <<<"$p"
(($(distinct "${at[@]}") == 1)) || fail "binpack without reservations spread b1..b6 over $p"
FULL=${at[0]}
ok "b1..b6 all on $FULL (binpack: most containers first)"
for c in m1 m2 m3 m4 m5 m6; do
    "${D[@]}" run -d --name "$c" -m "$RES" "$IMG" sleep 300 >/dev/null || fail "docker run $c"
done
p=$(placed m1 m2 m3 m4 m5 m6)
echo "   m1..m6 on: $p"
read -r -a at <<<"$p"
[[ ${at[0]} == "$FULL" && ${at[1]} == "$FULL" ]] || fail "binpack: m1, m2 not on $FULL: $p"
[[ ${at[2]} == "${at[3]}" && ${at[4]} == "${at[5]}" ]] || fail "binpack: not two by two: $p"
(($(distinct "${at[0]}" "${at[2]}" "${at[4]}") == 3)) || fail "binpack: pairs share an engine: $p"
run_fail "a 7th container of -m 45%" -m "$RES" "$IMG" sleep 300
grep -q 'no resources available to schedule container' <<<"$OUT" || fail "7th: $OUT"
rm_all
ok "m1, m2 on $FULL, then m3, m4 on ${at[2]}, m5, m6 on ${at[4]}; the 7th: $(one_line "$OUT")"

step "teardown"
kill -TERM "$MGR_PID"
wait_for 10 "the manager exits" exited
for i in 1 2 3; do kill -TERM "${AGENT_PID[$i]}" 2>/dev/null || true; done
sleep 1
prefix=$LAB_PREFIX
dir=$LAB_DIR
lab_down
lab_check_clean "$prefix" "$dir" || fail "the lab left something behind"
ok "nothing left"
echo "PASS ($((SECONDS - T0)) s)"
