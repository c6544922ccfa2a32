#!/usr/bin/env bash
# tests/lab/test_body.sh — large request bodies through the manager, on real engines: the
# bodies stream (docker cp into a container, docker build's context, docker load) instead of
# being refused over the manager's 1 MiB buffer.
#
# Usage: test_body.sh PATH/TO/swarm        exit 0 pass, 1 fail, 77 skip (reason on stdout)
#        BODY_BENCH_MIB=100 test_body.sh ... also times docker cp of a file that size into a
#        container through the manager and directly on its engine, and reports the manager's
#        peak RSS (bench/RESULTS.md)
#
#   1. 2 hosts, an agent on each, the manager in host 1's namespace
#   2. docker cp of a 6 MiB file into a container through the manager (a chunked tar body),
#      then out again: the same sha256; the engine's copy has it too
#   3. docker build (legacy builder: DOCKER_BUILDKIT=0) FROM busybox:local with a 3 MiB file
#      in its context: the image lands on one engine, and a container run from it there sees
#      the file with the same sha256
#   4. docker save of that image through the manager, docker rmi, docker load through the
#      manager: the image is on every engine afterwards (classic Swarm sent load to all)
#   5. a create body over 1 MiB still gets the clear 413
set -euo pipefail

SWARM=$(readlink -f "${1:?usage: test_body.sh PATH/TO/swarm}")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lab/lab.sh
source "$HERE/lab.sh"
# shellcheck source=tests/lab/harness.sh
source "$HERE/harness.sh"

N=2
declare -A AGENT_PID

lab_trap_cleanup
rc=0
lab_up "$N" || rc=$?
((rc == 77)) && exit 77
((rc == 0)) || fail "lab_up $N returned $rc"

SOCK=$LAB_DIR/m.sock
D=(docker -H "unix://$SOCK")
WORK=$LAB_DIR/work
mkdir -p "$WORK"
members() { "$SWARM" members --state-dir "$LAB_DIR/mgr" --format json 2>/dev/null; }
all_alive() { [[ $(members | grep -o '"state":"alive"' | wc -l) == $((N + 1)) ]]; }
nodes_up() { "${D[@]}" info 2>/dev/null | grep -Eq "^ Nodes: $N\$"; }

step "$N agents, then the manager in host 1's namespace"
TOKEN=$("$SWARM" init --state-dir "$LAB_DIR/mgr" | tail -n 1)
[[ $TOKEN == SWARM1-* ]] || fail "swarm init printed no token"
for ((i = 1; i <= N; i++)); do
    lab_spawn "$i" "$LAB_DIR/agent$i.log" "$SWARM" join --token "$TOKEN" \
        --state-dir "$LAB_DIR/a$i" --engine "unix://$(lab_sock "$i")" --name "agent$i"
    AGENT_PID[$i]=$LAB_SPAWNED_PID
done
spawn_manager "$LAB_DIR/manager.log" "$LAB_DIR/manager.pid" --state-dir "$LAB_DIR/mgr" \
    -H "unix://$SOCK" --bind 0.0.0.0:7950 --name manager
wait_for 30 "the manager lists $N agents and itself alive" all_alive
wait_for 30 "docker info shows $N nodes" nodes_up
ok "$N engines behind the manager"

step "docker cp into a container and back out (6 MiB, chunked tar body)"
head -c $((6 * 1024 * 1024)) /dev/urandom >"$WORK/big.bin"
want=$(sha256sum <"$WORK/big.bin" | cut -d' ' -f1)
"${D[@]}" run -d --name cpbox busybox:local sleep 600 >/dev/null
"${D[@]}" cp "$WORK/big.bin" cpbox:/tmp/big.bin || fail "docker cp into the container failed"
"${D[@]}" cp cpbox:/tmp/big.bin "$WORK/back.bin" || fail "docker cp out of the container failed"
got=$(sha256sum <"$WORK/back.bin" | cut -d' ' -f1)
[[ $got == "$want" ]] || fail "sha256 after the round trip: $got, want $want"
inside=$("${D[@]}" exec cpbox /bin/busybox sha256sum /tmp/big.bin | cut -d' ' -f1)
[[ $inside == "$want" ]] || fail "sha256 inside the container: $inside, want $want"
ok "the same sha256 inside the container and back out ($want)"

step "docker build with a 3 MiB context file (legacy builder), then run the image"
mkdir -p "$WORK/ctx"
head -c $((3 * 1024 * 1024)) /dev/urandom >"$WORK/ctx/blob.bin"
bwant=$(sha256sum <"$WORK/ctx/blob.bin" | cut -d' ' -f1)
printf 'FROM busybox:local\nCOPY blob.bin /blob.bin\nCMD ["/bin/busybox", "sha256sum", "/blob.bin"]\n' \
    >"$WORK/ctx/Dockerfile"
DOCKER_BUILDKIT=0 "${D[@]}" build -t bodytest:1 "$WORK/ctx" | tee "$WORK/build.out" ||
    fail "docker build through the manager failed"
grep -q "Successfully tagged bodytest:1" "$WORK/build.out" || fail "no 'Successfully tagged'"
built_on=""
for ((i = 1; i <= N; i++)); do
    if lab_docker "$i" image inspect bodytest:1 >/dev/null 2>&1; then built_on+="h$i "; fi
done
[[ $(wc -w <<<"$built_on") == 1 ]] || fail "the image should be on one engine, is on: '$built_on'"
out=$("${D[@]}" run --rm -e affinity:image==bodytest:1 bodytest:1) || fail "running the image failed"
[[ ${out%% *} == "$bwant" ]] || fail "the built image's file: '$out', want $bwant"
ok "built on $built_on; the file in the image has the context's sha256"

step "docker save | docker load through the manager: the image on every engine"
"${D[@]}" save bodytest:1 -o "$WORK/img.tar" || fail "docker save through the manager failed"
size=$(stat -c %s "$WORK/img.tar")
((size > 3 * 1024 * 1024)) || fail "the saved image is only $size bytes"
"${D[@]}" rmi bodytest:1 >/dev/null || fail "docker rmi through the manager failed"
for ((i = 1; i <= N; i++)); do
    if lab_docker "$i" image inspect bodytest:1 >/dev/null 2>&1; then fail "bodytest:1 still on h$i"; fi
done
"${D[@]}" load -i "$WORK/img.tar" | tee "$WORK/load.out" || fail "docker load through the manager failed"
for ((i = 1; i <= N; i++)); do
    grep -q "h$i: Loaded image: bodytest:1" "$WORK/load.out" || fail "no 'Loaded image' from h$i"
    out=$(lab_docker "$i" run --rm bodytest:1) || fail "bodytest:1 does not run on h$i"
    [[ ${out%% *} == "$bwant" ]] || fail "h$i: the loaded image's file: '$out'"
done
ok "a $size-byte image loaded on all $N engines, each runs it"

step "a create body over 1 MiB is still refused, clearly"
big=$(head -c $((1024 * 1024 + 10)) /dev/zero | tr '\0' 'a')
code=$(printf '{"Image":"busybox:local","Labels":{"x":"%s"}}' "$big" |
    curl -s -o "$WORK/413.out" -w '%{http_code}' --unix-socket "$SOCK" \
        -H 'Content-Type: application/json' --data-binary @- http://x/containers/create)
[[ $code == 413 ]] || fail "a 1 MiB create body: HTTP $code, want 413"
grep -q '"message":"request body too large (limit 1048576 bytes)"' "$WORK/413.out" ||
    fail "413 body: $(cat "$WORK/413.out")"
ok "413 with a JSON message"

if [[ -n ${BODY_BENCH_MIB:-} ]]; then
    step "bench: docker cp of ${BODY_BENCH_MIB} MiB into a container, manager vs engine"
    node=$("${D[@]}" inspect -f '{{.Node.Name}}' cpbox)
    host=${node#h}
    head -c $((BODY_BENCH_MIB * 1024 * 1024)) /dev/urandom >"$WORK/bench.bin"
    cid=$("${D[@]}" inspect -f '{{.Id}}' cpbox)
    t1=$(date +%s%N)
    lab_docker "$host" cp "$WORK/bench.bin" "$cid:/tmp/direct.bin"
    t2=$(date +%s%N)
    hwm0=$(awk '/VmHWM/ { print $2 }' "/proc/$MGR_PID/status")
    "${D[@]}" cp "$WORK/bench.bin" cpbox:/tmp/via.bin
    t3=$(date +%s%N)
    hwm1=$(awk '/VmHWM/ { print $2 }' "/proc/$MGR_PID/status")
    direct_ms=$(((t2 - t1) / 1000000))
    via_ms=$(((t3 - t2) / 1000000))
    [[ $("${D[@]}" exec cpbox /bin/busybox sha256sum /tmp/via.bin | cut -d' ' -f1) == \
        $(sha256sum <"$WORK/bench.bin" | cut -d' ' -f1) ]] || fail "the bench copy differs"
    awk -v m="$BODY_BENCH_MIB" -v d="$direct_ms" -v v="$via_ms" -v h0="$hwm0" -v h1="$hwm1" 'BEGIN {
        printf "   direct on %s: %d ms (%.1f MiB/s)\n", "the engine", d, m * 1000 / d
        printf "   via the manager: %d ms (%.1f MiB/s), ratio %.2f\n", v, m * 1000 / v, d / v
        printf "   manager peak RSS: %d KiB before, %d KiB after\n", h0, h1 }'
    "${D[@]}" exec cpbox rm -f /tmp/via.bin /tmp/direct.bin
fi

"${D[@]}" rm -f cpbox >/dev/null

step "teardown"
kill -TERM "$MGR_PID"
for ((i = 1; i <= N; i++)); do kill -TERM "${AGENT_PID[$i]}" 2>/dev/null || true; done
sleep 1
prefix=$LAB_PREFIX
dir=$LAB_DIR
lab_down
lab_check_clean "$prefix" "$dir" || fail "the lab left something behind"
ok "nothing left"
echo "PASS ($((SECONDS - T0)) s)"
