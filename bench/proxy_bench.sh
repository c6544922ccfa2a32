#!/usr/bin/env bash
# bench/proxy_bench.sh — the manager's proxy against one engine's socket directly, side by side.
#
# Builds a lab of 3 real engines (tests/lab/lab.sh), runs `swarm join` next to each and
# `swarm manage -H unix://LAB_DIR/m.sock` in host 1 (as tests/lab/test_manage.sh does), waits
# until the manager can place a container, then measures each workload twice in a row — once
# through the manager's socket, once on host 1's engine socket directly — alternating which goes
# first from one workload to the next so a drift in the machine's load hits both sides:
#
#   api c1, api c4   `swarm bench api` (GET /_ping, /containers/json, /containers/ID/json in
#   api c16          turn) with 1, 4 and 16 connections
#   inspect c1, c16  `swarm bench inspect`: GET /containers/ID/json alone, 1 and 16
#                    connections; through the manager the container does not change, so after
#                    the first call its kept answer is given (manager/icache.h)
#   inspect c1, c16  the same with --no-cache (Cache-Control: no-cache on every GET): the
#     no-cache       manager forwards every inspect to the engine (the forwarded call); the
#                    engine ignores the header
#   ps c16           `swarm bench ps`: GET /containers/json alone, 16 connections
#   run-latency      `swarm bench run-latency` (create + start, one at a time)
#   churn c2         `swarm bench churn --concurrency 2` (create, start, wait, remove)
#   logs c1, logs c4 `swarm bench logs -e constraint:node==h1` with 1 and 4 streams: each worker's
#                    container (on h1 on both sides) writes 20 MB of lines, then the worker reads
#                    its log (GET /containers/ID/logs?follow=1, multiplexed frames, byte count
#                    checked) again and again; MB/s total and per stream, time to first byte
#   logs             `docker logs C >/dev/null` (the real docker CLI) of a container on h1 that
#                    printed LOGS_MB MB (busybox: head -c N /dev/zero | tr '\0' x); the wall time
#                    of the whole CLI command, REPS times per side, median; MB/s = the bytes
#                    docker logs prints / that time
#   exec cat         `head -c N /dev/zero | docker exec -i C cat >/dev/null`: N bytes in through
#                    the hijacked stream and N bytes back out, REPS times per side, median
#   attach cat       `head -c M /dev/zero | docker run -i --rm IMG cat >/dev/null` on h1 (M =
#                    ATTACH_MB, 1 GB by default): M bytes in through the attach stream and M
#                    back out; the container's create, start and removal are in the time on both
#                    sides (about 0.2-0.4 s of the 5-10 s), REPS times per side, median
#   memory           VmRSS of the manager and the agents with CONTAINERS more containers in the
#                    cluster (created through the manager, spread over the 3 engines, not
#                    started), then removed
#
# The request workloads run for DURATION seconds each with --json; their figures are swarm
# bench's own (ops/s, latency p50/p90/p99 per step). Before each timed stream, one untimed pass
# per side checks the byte count (and puts the log file in the page cache for both).
# Also recorded: VmRSS of the manager and of each agent (/proc/PID/status) before the first
# workload, after the request workloads and after the streams, their VmHWM at the end; the CPU
# time (utime + stime, /proc/PID/stat) the manager and the agents spent during each run and each
# timed stream; where the manager placed the containers of each run (its log); the
# 1-minute load average before each run (other work shares the machine).
#
# What differs between the sides besides the proxy: through the manager, containers are placed
# by the scheduler (spread: with one container at a time and nothing else running, ties go to
# h1; churn's two in flight land on different engines; the report counts them per engine from
# the manager's log), directly they all go to host 1's engine; /_ping and /containers/json
# through the manager are answered by the manager itself (the listing from its engines view, no
# engine call), directly by the engine; so is an inspect whose answer the manager kept (the
# no-cache rows measure the forwarded call).
#
# Usage: bench/proxy_bench.sh [--quick] [--duration S] [--logs-mb MB] [--attach-mb MB]
#                             [--containers N] [--reps R] [--swarm PATH] [--out DIR] [--keep DIR]
#   --quick        3 s per workload, 50 MB streams, 30 containers, 1 timed repetition (a sanity
#                  pass, ~2 min)
#   --duration S   seconds per request workload and side (default 10)
#   --logs-mb MB   size of the logs and exec streams, 10^6 bytes (default 200)
#   --attach-mb MB size of the attach stream, 10^6 bytes (default 1000)
#   --containers N containers in the cluster for the memory figure (default 300)
#   --reps R       timed repetitions of each stream per side (default 3)
#   --swarm PATH   the swarm binary (default build/swarm; a private copy is run)
#   --out DIR      where proxy.md, proxy.csv, proxy.json, proxy.gp and proxy.png go
#                  (default bench/results)
#   --keep DIR     keep the manager's and agents' logs and the raw JSON in DIR
# Writes OUT/proxy.md: the section bench/run puts in bench/RESULTS.md.
# Needs root, the lab's requirements (see tests/lab/lab.sh), python3, gnuplot for the plot.
# Exits 77 with "SKIP: ..." where it cannot run. The lab is torn down on exit, also on
# SIGINT/SIGTERM/SIGHUP (lab_trap_cleanup). Figures only, no asserts.
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SWARM=$ROOT/build/swarm
OUT=$ROOT/bench/results
DURATION=10
LOGS_MB=200
ATTACH_MB=1000
CONTAINERS=300
REPS=3
QUICK=0
KEEP=""
ARGS_ORIG="$*"

usage() { sed -n '/^# Usage:/,/^# Exits 77/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

while (($# > 0)); do
    case $1 in
    --quick) QUICK=1; DURATION=3; LOGS_MB=50; ATTACH_MB=50; CONTAINERS=30; REPS=1 ;;
    --duration) DURATION=${2:?}; shift ;;
    --logs-mb) LOGS_MB=${2:?}; shift ;;
    --attach-mb) ATTACH_MB=${2:?}; shift ;;
    --containers) CONTAINERS=${2:?}; shift ;;
    --reps) REPS=${2:?}; shift ;;
    --swarm) SWARM=${2:?}; shift ;;
    --out) OUT=${2:?}; shift ;;
    --keep) KEEP=$(mkdir -p "${2:?}" && cd "$2" && pwd); shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "proxy_bench: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
[[ $DURATION =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "proxy_bench: --duration takes seconds" >&2; exit 2; }
[[ $LOGS_MB =~ ^[1-9][0-9]*$ ]] || { echo "proxy_bench: --logs-mb takes a positive integer" >&2; exit 2; }
[[ $ATTACH_MB =~ ^[1-9][0-9]*$ ]] || { echo "proxy_bench: --attach-mb takes a positive integer" >&2; exit 2; }
[[ $CONTAINERS =~ ^[0-9]+$ ]] || { echo "proxy_bench: --containers takes a number" >&2; exit 2; }
[[ $REPS =~ ^[1-9][0-9]*$ ]] || { echo "proxy_bench: --reps takes a positive integer" >&2; exit 2; }

say() { printf '[proxy_bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() {
    say "FAILED: $*"
    local f
    for f in "$LAB_DIR"/agent*.log "$LAB_DIR"/manager.log; do
        [[ -f $f ]] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }
    done
    exit 1
}

if [[ $(id -u) != 0 ]]; then echo "SKIP: needs root (network namespaces, dockerd)"; exit 77; fi
if [[ ! -x $SWARM ]]; then echo "SKIP: $SWARM not built (cmake -S . -B build && cmake --build build)"; exit 77; fi
if ! command -v python3 >/dev/null; then echo "SKIP: needs python3 (the report)"; exit 77; fi
SWARM=$(readlink -f "$SWARM")

# shellcheck source=tests/lab/lab.sh
source "$ROOT/tests/lab/lab.sh"

WORK=$(mktemp -d /tmp/proxy_bench.XXXXXX)
pb_cleanup() { # called by the lab's trap, before the lab goes down
    if [[ -n $KEEP ]]; then
        cp -p "$LAB_DIR"/agent*.log "$LAB_DIR"/manager.log "$KEEP"/ 2>/dev/null || true
        cp -pr "$WORK"/. "$KEEP"/ 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
LAB_CLEANUP_HOOK=pb_cleanup
lab_trap_cleanup

# A private copy of the binary: others may rebuild build/ while this runs.
cp -p "$SWARM" "$WORK/swarm"
SWARM_SUM=$(sha256sum "$SWARM" | cut -c1-12)
SWARM_BUILT=$(date -u -r "$SWARM" '+%Y-%m-%d %H:%M:%S UTC')
SWARM_ORIG=$SWARM
SWARM=$WORK/swarm
mkdir -p "$WORK/json" "$OUT"
META=$WORK/meta.tsv # key<TAB>value
RUNS=$WORK/runs.tsv # name side load1 mgr_cpu_s agents_cpu_s placements json
STREAMS=$WORK/streams.tsv # kind side rep bytes seconds load1 mgr_cpu_s agents_cpu_s
RSS=$WORK/rss.tsv # point process kB
: >"$RUNS"
: >"$STREAMS"
: >"$RSS"
meta() { printf '%s\t%s\n' "$1" "$2" >>"$META"; }
load1() { cut -d' ' -f1 /proc/loadavg; }
now_ns() { date +%s%N; }

T0=$(now_ns)
meta date "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
meta machine "$(nproc) CPUs ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)), kernel $(uname -r), $(awk '/MemTotal/ {printf "%.1f GB RAM", $2 / 1048576}' /proc/meminfo)"
meta load_start "$(cut -d' ' -f1-3 /proc/loadavg)"
meta uptime_start "$(uptime)"
meta args "${ARGS_ORIG:-}"
meta quick "$QUICK"
meta duration "$DURATION"
meta logs_mb "$LOGS_MB"
meta attach_mb "$ATTACH_MB"
meta containers "$CONTAINERS"
meta reps "$REPS"
meta swarm "$SWARM_ORIG"
meta swarm_sum "$SWARM_SUM"
meta swarm_built "$SWARM_BUILT"
meta commit "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$([[ -n $(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null) ]] && echo ' + uncommitted changes')"
meta docker_cli "$(docker version --format '{{.Client.Version}}' 2>/dev/null || echo '?')"

# ---------------------------------------------------------------------------------------------
# the lab: 3 engines, an agent on each, the manager in host 1

N=3
say "lab of $N engines"
rc=0
lab_up "$N" || rc=$?
((rc == 77)) && exit 77
((rc == 0)) || die "lab_up $N returned $rc"
meta dockerd "$(lab_docker 1 version --format '{{.Server.Version}}' 2>/dev/null || echo '?')"

MSOCK=$LAB_DIR/m.sock
ESOCK=$(lab_sock 1)
MGR_HOST=unix://$MSOCK
ENG_HOST=unix://$ESOCK
DM=(docker -H "$MGR_HOST")
DE=(docker -H "$ENG_HOST")
IMG=$LAB_IMAGE

TOKEN=$("$SWARM" init --state-dir "$LAB_DIR/mgr" | tail -n 1)
[[ $TOKEN == SWARM1-* ]] || die "swarm init printed no token"
declare -A AGENT_PID
for ((i = 1; i <= N; i++)); do
    lab_spawn "$i" "$LAB_DIR/agent$i.log" "$SWARM" join --token "$TOKEN" \
        --state-dir "$LAB_DIR/a$i" --engine "unix://$(lab_sock "$i")" --name "agent$i"
    AGENT_PID[$i]=$LAB_SPAWNED_PID
done
lab_spawn 1 "$LAB_DIR/manager.log" "$SWARM" manage --state-dir "$LAB_DIR/mgr" \
    -H "$MGR_HOST" --bind 0.0.0.0:7950 --name manager
MGR_PID=$LAB_SPAWNED_PID

# wait_for SECONDS DESCRIPTION COMMAND...
wait_for() {
    local limit=$1 what=$2 start=$SECONDS
    shift 2
    while ! "$@"; do
        ((SECONDS - start < limit)) || die "$what: not within ${limit}s"
        sleep 0.2
    done
}
placed() {
    [[ -n $("${DM[@]}" run -d --name pb-probe "$IMG" true 2>/dev/null) ]] &&
        "${DM[@]}" rm -f pb-probe >/dev/null 2>&1
}
all_nodes() { [[ $("${DM[@]}" info --format '{{.NCPU}}' 2>/dev/null) -gt 0 ]] && placed; }
wait_for 60 "the manager places a container" all_nodes
t_ready=$((($(now_ns) - T0) / 1000000))
say "the manager placed a container ${t_ready} ms after the start"
[[ $(readlink "/proc/$MGR_PID/exe") == "$SWARM" ]] || die "pid $MGR_PID is not the manager"
meta nodes "$("${DM[@]}" info 2>/dev/null | sed -n 's/^ Nodes: //p')"

# ---------------------------------------------------------------------------------------------
# measurements

rss_kb() { awk -v k="${2:-VmRSS}:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
rss_point() { # POINT
    printf '%s\tmanager\t%s\n' "$1" "$(rss_kb "$MGR_PID")" >>"$RSS"
    for ((i = 1; i <= N; i++)); do
        printf '%s\tagent%d\t%s\n' "$1" "$i" "$(rss_kb "${AGENT_PID[$i]}")" >>"$RSS"
    done
}
agents_ticks() {
    local s=0 i
    for ((i = 1; i <= N; i++)); do s=$((s + $(lab_cpu_ticks "${AGENT_PID[$i]}"))); done
    echo "$s"
}
HZ=$(getconf CLK_TCK)
ticks_s() { awk -v t="$1" -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }'; }

# "h1:N h2:N h3:N": containers the manager has logged as created on each engine so far
placements() {
    local i out=""
    for ((i = 1; i <= N; i++)); do
        out+="h$i:$(grep -c "created on h$i\$" "$LAB_DIR/manager.log" || true) "
    done
    echo "${out% }"
}
# the difference of two placements() lines, "h1/h2/h3" counts
placements_diff() {
    local -a a b
    read -r -a a <<<"$1"
    read -r -a b <<<"$2"
    local i out=""
    for ((i = 0; i < N; i++)); do out+="$((${b[i]#*:} - ${a[i]#*:}))/"; done
    echo "${out%/}"
}

bench_one() { # NAME SIDE ARGS...
    local name=$1 side=$2 host l m0 a0 m1 a1 p0 p1 rc=0
    shift 2
    host=$MGR_HOST
    [[ $side == direct ]] && host=$ENG_HOST
    local json=$WORK/json/$side-$name.json
    l=$(load1)
    m0=$(lab_cpu_ticks "$MGR_PID")
    a0=$(agents_ticks)
    p0=$(placements)
    say "$name, $side ($host): swarm bench $* --duration $DURATION (load $l)"
    "$SWARM" bench -H "$host" "$@" --duration "$DURATION" --json "$json" \
        >"$WORK/json/$side-$name.txt" 2>&1 || rc=$?
    m1=$(lab_cpu_ticks "$MGR_PID")
    a1=$(agents_ticks)
    p1=$(placements)
    if ((rc != 0)) || [[ ! -s $json ]]; then
        cat "$WORK/json/$side-$name.txt" >&2
        die "swarm bench $* on $side exited $rc"
    fi
    sed 's/^/    /' "$WORK/json/$side-$name.txt" >&2
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$side" "$l" "$(ticks_s $((m1 - m0)))" \
        "$(ticks_s $((a1 - a0)))" "$(placements_diff "$p0" "$p1")" "$json" >>"$RUNS"
}

pair() { # NAME ARGS...: both sides, the order alternating from one call to the next
    local name=$1
    shift
    if ((PAIR_NO++ % 2 == 0)); then
        bench_one "$name" manager "$@"
        bench_one "$name" direct "$@"
    else
        bench_one "$name" direct "$@"
        bench_one "$name" manager "$@"
    fi
}
PAIR_NO=0

rss_point start
pair api-c1 api --concurrency 1
pair api-c4 api --concurrency 4
pair api-c16 api --concurrency 16
pair inspect-c1 inspect --concurrency 1
pair inspect-c16 inspect --concurrency 16
pair inspect-c1-fresh inspect --concurrency 1 --no-cache
pair inspect-c16-fresh inspect --concurrency 16 --no-cache
pair ps-c16 ps --concurrency 16
pair run-latency run-latency
pair churn-c2 churn --concurrency 2
# The env var pins the containers to h1 through the manager; directly it is only an env var.
pair logs-c1 logs --concurrency 1 -e constraint:node==h1
pair logs-c4 logs --concurrency 4 -e constraint:node==h1
rss_point after-requests

# --- streams ---
BYTES=$((LOGS_MB * 1000000))
ABYTES=$((ATTACH_MB * 1000000))
LOGS_OUT=$((BYTES + 13)) # + "\n" + "pb-logs-end\n"
say "a container on h1 printing $LOGS_MB MB"
"${DM[@]}" run -d --name pb-logs -e constraint:node==h1 "$IMG" \
    sh -c "head -c $BYTES /dev/zero | busybox tr '\\0' x; echo; echo pb-logs-end; sleep 3600" \
    >/dev/null || die "docker run pb-logs through the manager"
printed() { [[ $("${DE[@]}" logs --tail 1 pb-logs 2>/dev/null) == pb-logs-end ]]; }
wait_for 300 "pb-logs printing $LOGS_MB MB" printed
meta logs_file_bytes "$(stat -c %s "$("${DE[@]}" inspect --format '{{.LogPath}}' pb-logs)" 2>/dev/null || echo '?')"

# stream_once KIND SIDE: prints "bytes seconds" (bytes: what came out on stdout)
stream_once() {
    local kind=$1 side=$2 host=$MGR_HOST t0 t1 n
    [[ $side == direct ]] && host=$ENG_HOST
    t0=$(now_ns)
    if [[ $kind == logs ]]; then
        n=$(timeout 600 docker -H "$host" logs pb-logs 2>/dev/null | wc -c) || n=-1
    elif [[ $kind == attach ]]; then
        n=$(head -c "$ABYTES" /dev/zero | timeout 600 docker -H "$host" run -i --rm \
            -e constraint:node==h1 "$IMG" cat | wc -c) || n=-1
    else
        n=$(head -c "$BYTES" /dev/zero | timeout 600 docker -H "$host" exec -i pb-logs cat | wc -c) || n=-1
    fi
    t1=$(now_ns)
    echo "$n $(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.4f", d / 1e9 }')"
}
# stream_timed KIND SIDE: the same into /dev/null (no pipe to count through); prints seconds,
# the manager's and the agents' CPU seconds
stream_timed() {
    local kind=$1 side=$2 host=$MGR_HOST t0 t1 m0 a0 rc=0
    [[ $side == direct ]] && host=$ENG_HOST
    m0=$(lab_cpu_ticks "$MGR_PID")
    a0=$(agents_ticks)
    t0=$(now_ns)
    if [[ $kind == logs ]]; then
        timeout 600 docker -H "$host" logs pb-logs >/dev/null 2>&1 || rc=$?
    elif [[ $kind == attach ]]; then
        head -c "$ABYTES" /dev/zero | timeout 600 docker -H "$host" run -i --rm \
            -e constraint:node==h1 "$IMG" cat >/dev/null || rc=$?
    else
        head -c "$BYTES" /dev/zero | timeout 600 docker -H "$host" exec -i pb-logs cat >/dev/null || rc=$?
    fi
    t1=$(now_ns)
    ((rc == 0)) || die "$kind on $side exited $rc"
    echo "$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.4f", d / 1e9 }')" \
        "$(ticks_s $(($(lab_cpu_ticks "$MGR_PID") - m0)))" "$(ticks_s $(($(agents_ticks) - a0)))"
}
for kind in logs exec attach; do
    want=$LOGS_OUT
    [[ $kind == exec ]] && want=$BYTES
    [[ $kind == attach ]] && want=$ABYTES
    for side in direct manager; do
        read -r n s < <(stream_once "$kind" "$side")
        say "$kind, $side: check pass: $n bytes in $s s"
        ((n == want)) || die "$kind through $side gave $n bytes, not $want"
    done
    for ((r = 1; r <= REPS; r++)); do
        order=(manager direct)
        ((r % 2 == 0)) && order=(direct manager)
        for side in "${order[@]}"; do
            l=$(load1)
            read -r s mc ac < <(stream_timed "$kind" "$side")
            [[ -n $s ]] || die "$kind on $side failed"
            say "$kind, $side, rep $r: $want bytes in $s s, manager CPU $mc s, agents $ac s (load $l)"
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$side" "$r" "$want" "$s" "$l" \
                "$mc" "$ac" >>"$STREAMS"
        done
    done
done
"${DM[@]}" rm -f pb-logs >/dev/null 2>&1 || true
rss_point after-streams

# --- memory with CONTAINERS more containers (created through the manager, not started) ---
if ((CONTAINERS > 0)); then
    say "creating $CONTAINERS containers through the manager"
    t_c0=$(now_ns)
    seq 1 "$CONTAINERS" | xargs -P 4 -I{} "${DM[@]}" create --name pb-mem-{} "$IMG" true \
        >/dev/null || die "creating $CONTAINERS containers through the manager"
    t_c1=$(now_ns)
    listed=$("${DM[@]}" ps -a --filter name=pb-mem- -q | wc -l)
    ((listed == CONTAINERS)) || die "docker ps -a lists $listed of the $CONTAINERS containers"
    meta containers_create_s "$(awk -v d=$((t_c1 - t_c0)) 'BEGIN { printf "%.1f", d / 1e9 }')"
    meta containers_placed "$(for ((i = 1; i <= N; i++)); do
        printf 'h%d:%s ' "$i" "$(lab_docker "$i" ps -a --filter name=pb-mem- -q | wc -l)"; done)"
    sleep 2 # the engines' create events reach the view
    rss_point with-containers
    seq 1 "$CONTAINERS" | xargs -P 4 -I{} "${DM[@]}" rm pb-mem-{} >/dev/null ||
        die "removing the $CONTAINERS containers"
fi
rss_kb "$MGR_PID" VmHWM | sed 's/^/hwm\tmanager\t/' >>"$RSS"
for ((i = 1; i <= N; i++)); do
    rss_kb "${AGENT_PID[$i]}" VmHWM | sed "s/^/hwm\tagent$i\t/" >>"$RSS"
done
meta load_end "$(cut -d' ' -f1-3 /proc/loadavg)"
meta uptime_end "$(uptime)"
meta wall_s "$((($(now_ns) - T0) / 1000000000))"

# ---------------------------------------------------------------------------------------------
# the report: proxy.csv, proxy.json, proxy.md, proxy.gp + proxy.png

say "writing $OUT/proxy.{md,csv,json,gp,png}"
python3 - "$WORK" "$OUT" "$ROOT" <<'PY'
import csv, json, os, statistics, sys, textwrap

work, out, root = sys.argv[1], sys.argv[2], sys.argv[3]
meta = {}
for line in open(os.path.join(work, "meta.tsv")):
    k, _, v = line.rstrip("\n").partition("\t")
    meta[k] = v
runs = {}
for line in open(os.path.join(work, "runs.tsv")):
    name, side, load, mcpu, acpu, placed, path = line.rstrip("\n").split("\t")
    j = json.load(open(path))
    runs[(name, side)] = dict(load=float(load), mgr_cpu=float(mcpu), agents_cpu=float(acpu),
                              placed=placed, j=j)
streams = []
for line in open(os.path.join(work, "streams.tsv")):
    kind, side, rep, nbytes, secs, load, mcpu, acpu = line.rstrip("\n").split("\t")
    streams.append(dict(kind=kind, side=side, rep=int(rep), bytes=int(nbytes),
                        seconds=float(secs), load=float(load), mgr_cpu=float(mcpu),
                        agents_cpu=float(acpu)))
rss = {}
for line in open(os.path.join(work, "rss.tsv")):
    point, proc, kb = line.rstrip("\n").split("\t")
    rss[(point, proc)] = int(kb or 0)

WORKLOADS = [  # name, label, steps in the order shown (the operation first)
    ("api-c1", "api c1", ["request", "ping", "ps", "inspect"]),
    ("api-c4", "api c4", ["request", "ping", "ps", "inspect"]),
    ("api-c16", "api c16", ["request", "ping", "ps", "inspect"]),
    ("inspect-c1", "inspect c1", ["inspect"]),
    ("inspect-c16", "inspect c16", ["inspect"]),
    ("inspect-c1-fresh", "inspect c1 no-cache", ["inspect"]),
    ("inspect-c16-fresh", "inspect c16 no-cache", ["inspect"]),
    ("ps-c16", "ps c16", ["ps"]),
    ("run-latency", "run-latency c1", ["run", "create", "start"]),
    ("churn-c2", "churn c2", ["cycle", "create", "start", "wait", "remove"]),
    ("logs-c1", "logs c1", ["stream", "ttfb"]),
    ("logs-c4", "logs c4", ["stream", "ttfb"]),
]

def ratio(m, d):
    return m / d if d else float("nan")

def fmt(v, unit):
    if v != v: return "-"
    if unit == "ms": return "%.3f" % v if v < 10 else "%.1f" % v
    if unit in ("ops/s", "MB/s"): return "%.1f" % v
    return "%.2f" % v

rows = []  # workload, metric, unit, manager, direct
for name, label, steps in WORKLOADS:
    if (name, "manager") not in runs: continue
    m, d = runs[(name, "manager")]["j"], runs[(name, "direct")]["j"]
    rows.append((label, "%ss/s" % m["operation"], "ops/s", m["ops_per_s"], d["ops_per_s"]))
    if "logs" in m and "logs" in d:
        rows.append((label, "MB/s total", "MB/s", m["logs"]["mb_per_s"], d["logs"]["mb_per_s"]))
        rows.append((label, "MB/s per stream (p50)", "MB/s", m["logs"]["stream_mb_per_s_p50"],
                     d["logs"]["stream_mb_per_s_p50"]))
    for st in steps:
        lm, ld = m["latency_ms"].get(st), d["latency_ms"].get(st)
        if not lm or not ld: continue
        for p in ("p50", "p90", "p99"):
            rows.append((label, "%s %s ms" % (st, p), "ms", lm[p], ld[p]))
stream_med = {}
STREAM_LABELS = (("logs", "docker logs"), ("exec", "docker exec -i cat"),
                 ("attach", "docker run -i cat (attach)"))
for kind, label in STREAM_LABELS:
    for side in ("manager", "direct"):
        ss = [s for s in streams if s["kind"] == kind and s["side"] == side]
        if ss:
            sec = statistics.median(s["seconds"] for s in ss)
            stream_med[(kind, side)] = (ss[0]["bytes"], sec)
    if (kind, "manager") in stream_med and (kind, "direct") in stream_med:
        bm, sm = stream_med[(kind, "manager")]
        bd, sd = stream_med[(kind, "direct")]
        rows.append((label, "%d MB: MB/s" % round(bm / 1e6), "MB/s", bm / sm / 1e6, bd / sd / 1e6))
        rows.append((label, "%d MB: seconds" % round(bm / 1e6), "s", sm, sd))

with open(os.path.join(out, "proxy.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["date", "workload", "metric", "unit", "manager", "direct", "ratio"])
    for r in rows:
        w.writerow([meta["date"], r[0], r[1], r[2], "%.6g" % r[3], "%.6g" % r[4],
                    "%.4f" % ratio(r[3], r[4])])
    w.writerow([])
    w.writerow(["date", "stream", "side", "rep", "bytes", "seconds", "MB_per_s", "load1",
                "manager_cpu_s", "agents_cpu_s"])
    for s in streams:
        w.writerow([meta["date"], s["kind"], s["side"], s["rep"], s["bytes"], s["seconds"],
                    "%.1f" % (s["bytes"] / s["seconds"] / 1e6), s["load"], s["mgr_cpu"],
                    s["agents_cpu"]])
    w.writerow([])
    w.writerow(["date", "run", "side", "load1", "manager_cpu_s", "agents_cpu_s", "operations",
                "errors", "placed_h1_h2_h3"])
    for (name, side), r in runs.items():
        w.writerow([meta["date"], name, side, r["load"], r["mgr_cpu"], r["agents_cpu"],
                    r["j"]["operations"], r["j"]["errors"]["total"],
                    r["placed"] if side == "manager" else "-"])
    w.writerow([])
    w.writerow(["date", "point", "process", "kB"])
    for (point, proc), kb in rss.items():
        w.writerow([meta["date"], point, proc, kb])

json.dump(dict(meta=meta, runs=[dict(name=k[0], side=k[1], load1=v["load"],
                                     manager_cpu_s=v["mgr_cpu"], agents_cpu_s=v["agents_cpu"],
                                     bench=v["j"]) for k, v in runs.items()],
               streams=streams, rss_kb=[dict(point=k[0], process=k[1], kb=v)
                                        for k, v in rss.items()]),
          open(os.path.join(out, "proxy.json"), "w"), indent=1)

# --- plot: one panel per workload, p50/p90/p99 per step, manager next to direct (log scale) ---
gp = []
gp.append('set terminal pngcairo size 2300,1400 font "sans,10"')
gp.append('set output "proxy.png"')
gp.append('set multiplot layout 3,5 title "swarm manage vs the engine socket directly: latency '
          'p50/p90/p99 per step (ms, log scale)  -  %s, load %s"' % (meta["date"], meta["load_start"].split()[0]))
gp.append("set style data histograms")
gp.append("set style histogram clustered gap 1")
gp.append("set style fill solid 0.9 border -1")
gp.append("set boxwidth 0.9")
gp.append("set logscale y")
gp.append("set grid ytics")
gp.append("set key below horizontal maxrows 2 font \",8\"")
gp.append("set ylabel \"ms\"")
colors = ["#67001f", "#053061", "#d6604d", "#4393c3", "#f4a582", "#92c5de"]
for name, label, steps in WORKLOADS:
    if (name, "manager") not in runs: continue
    m, d = runs[(name, "manager")]["j"], runs[(name, "direct")]["j"]
    dat = "proxy-%s.dat" % name
    gp.append("$%s << EOD" % name.replace("-", "_"))
    # columns: step, manager p50, direct p50, manager p90, direct p90, manager p99, direct p99
    for st in steps:
        lm, ld = m["latency_ms"].get(st), d["latency_ms"].get(st)
        if not lm or not ld: continue
        gp.append("%s %g %g %g %g %g %g" % (st, max(lm["p50"], 1e-3), max(ld["p50"], 1e-3),
                                           max(lm["p90"], 1e-3), max(ld["p90"], 1e-3),
                                           max(lm["p99"], 1e-3), max(ld["p99"], 1e-3)))
    gp.append("EOD")
    nsteps = sum(1 for st in steps if m["latency_ms"].get(st) and d["latency_ms"].get(st))
    gp.append("set xrange [-0.6:%g]" % (nsteps - 0.4))
    gp.append('set title "%s: %.0f vs %.0f %ss/s (manager vs direct)"'
              % (label, m["ops_per_s"], d["ops_per_s"], m["operation"]))
    titles = ["manager p50", "direct p50", "manager p90", "direct p90", "manager p99", "direct p99"]
    plots = ["$%s using %d:xtic(1) title \"%s\" lc rgb \"%s\"" % (name.replace("-", "_"), i + 2,
                                                                  titles[i], colors[i])
             for i in range(6)]
    gp.append("plot " + ", \\\n     ".join(plots))
bench_logs = [(name, label) for name, label, _ in WORKLOADS
              if name.startswith("logs-") and (name, "manager") in runs and (name, "direct") in runs]
if stream_med or bench_logs:
    gp.append("unset logscale y")
    gp.append("set yrange [0:*]")
    gp.append('set ylabel "MB/s"')
    gp.append('set title "streams, MB/s (higher is better; CLI: median of %s)"' % meta["reps"])
    gp.append("$streams << EOD")
    # columns: stream, manager MB/s, direct MB/s
    for kind, label in (("logs", "docker-logs"), ("exec", "exec-i-cat"), ("attach", "attach-cat")):
        if (kind, "manager") in stream_med and (kind, "direct") in stream_med:
            bm, sm = stream_med[(kind, "manager")]
            bd, sd = stream_med[(kind, "direct")]
            gp.append("%s %g %g" % (label, bm / sm / 1e6, bd / sd / 1e6))
    for name, label in bench_logs:
        gp.append("bench-%s %g %g" % (label.replace(" ", "-"),
                                      runs[(name, "manager")]["j"]["logs"]["mb_per_s"],
                                      runs[(name, "direct")]["j"]["logs"]["mb_per_s"]))
    gp.append("EOD")
    gp.append("set xrange [-0.6:%g]" % (sum(1 for k in ("logs", "exec", "attach")
                                           if (k, "manager") in stream_med)
                                       + len(bench_logs) - 0.4))
    gp.append('plot $streams using 2:xtic(1) title "manager" lc rgb "%s", '
              '$streams using 3 title "direct" lc rgb "%s"' % (colors[0], colors[1]))
gp.append("unset multiplot")
open(os.path.join(out, "proxy.gp"), "w").write("\n".join(gp) + "\n")

# --- the section for bench/RESULTS.md ---
md = []
md.append("## The manager's proxy vs one engine's socket directly")
md.append("")
md.append("- date: %s (%s s)" % (meta["date"], meta["wall_s"]))
md.append("- machine: %s" % meta["machine"])
md.append("- load: 1-min load average %s at the start, %s at the end; per run in proxy.csv. "
          "Other work on the machine shares the CPUs; the two sides of each workload run back to "
          "back, their order alternating." % (meta["load_start"], meta["load_end"]))
md.append("- uptime at the start: `%s`" % meta["uptime_start"].strip())
md.append("- command: `bench/proxy_bench.sh%s` — %s s per request workload and side, logs and "
          "exec streams of %s MB, the attach stream %s MB, %s timed repetition(s) per side (median)"
          % ((" " + meta["args"].replace(root + "/", "")) if meta["args"] else "",
             meta["duration"], meta["logs_mb"], meta["attach_mb"],
             meta["reps"]))
md.append("- swarm: `%s` (sha256 %s, built %s; the tree at %s); a copy is run"
          % (os.path.relpath(meta["swarm"], root) if meta["swarm"].startswith(root + "/")
             else meta["swarm"], meta["swarm_sum"],
             meta["swarm_built"], meta["commit"]))
md.append("- lab: 3 network namespaces with a real dockerd %s each (tests/lab/lab.sh), `swarm join` "
          "beside each, `swarm manage` in host 1 (Nodes: %s); client: `swarm bench` and the docker "
          "CLI %s in the root namespace, over the unix sockets"
          % (meta.get("dockerd", "?"), meta.get("nodes", "?"), meta["docker_cli"]))
md.append("- manager = its socket `-H unix://LAB_DIR/m.sock`: `/_ping` and `/containers/json` are "
          "answered by the manager itself (the listing from its engines view), and so is an "
          "inspect of a container that did not change since its last inspect (its kept answer; "
          "the no-cache rows send Cache-Control: no-cache, which always goes to the engine); every "
          "other call goes to the owning engine over the encrypted relay; direct = host 1's "
          "engine socket. "
          "Through the manager, containers are placed by its scheduler (spread; where they went "
          "is in the CPU table below), directly they all go to host 1's engine. The streams' "
          "container is pinned to h1 (`-e constraint:node==h1`): both sides read the same log "
          "from the same engine, the manager's side through h1's agent")
md.append("")
md.append("| workload | metric | through manager | direct | ratio (manager/direct) |")
md.append("|---|---|---|---|---|")
for r in rows:
    md.append("| %s | %s | %s | %s | %.2f |" % (r[0], r[1], fmt(r[3], r[2]), fmt(r[4], r[2]),
                                             ratio(r[3], r[4])))
md.append("")
md.append("Ratios above 1 on latency and seconds, below 1 on ops/s and MB/s, are where the manager "
          "is slower. Streams: the wall time of the whole docker CLI command (its start and "
          "version negotiation included), MB = 10^6 bytes of payload (logs: what `docker logs` "
          "prints; exec and attach: the bytes sent in, the same number comes back out). logs c1/c4: `swarm "
          "bench logs -e constraint:node==h1` (1 and 4 streams, each of its own container's 20 MB "
          "log, read again and again for the run's duration, every byte count checked; MB/s total "
          "counts every payload byte read, per stream = 20 MB / the median stream time; ttfb = "
          "request to first payload byte).")
md.append("")
md.append("CPU spent by the manager and by the 3 agents during each run (utime + stime; "
          "µs per operation = CPU / operations), and where the manager placed the containers it "
          "created in the run (h1/h2/h3, from its log; directly, all are on h1):")
md.append("")
md.append("| run | side | operations | manager CPU s | manager µs/op | agents CPU s | agents µs/op | placed h1/h2/h3 | load1 |")
md.append("|---|---|---|---|---|---|---|---|---|")
for name, label, _ in WORKLOADS:
    for side in ("manager", "direct"):
        r = runs.get((name, side))
        if not r: continue
        ops = r["j"]["operations"]
        md.append("| %s | %s | %d | %.2f | %s | %.2f | %s | %s | %.2f |" % (
            label, side, ops, r["mgr_cpu"], "%.0f" % (r["mgr_cpu"] / ops * 1e6) if ops else "-",
            r["agents_cpu"], "%.0f" % (r["agents_cpu"] / ops * 1e6) if ops else "-",
            r["placed"] if side == "manager" else "-", r["load"]))
md.append("")
md.append("Streams, each timed repetition (CPU: the manager's and the 3 agents' utime + stime "
          "during it):")
md.append("")
md.append("| stream | side | rep | seconds | MB/s | manager CPU s | agents CPU s | load1 |")
md.append("|---|---|---|---|---|---|---|---|")
for s in streams:
    md.append("| %s | %s | %d | %.2f | %.1f | %.2f | %.2f | %.2f |" % (
        dict(STREAM_LABELS)[s["kind"]], s["side"], s["rep"],
        s["seconds"], s["bytes"] / s["seconds"] / 1e6, s["mgr_cpu"], s["agents_cpu"], s["load"]))
md.append("")
mem_note = ""
if int(meta["containers"]):
    mem_note = ("; with %s containers: that many more created through the manager (not "
                "started; placed %s; %s s to create them from 4 clients)"
                % (meta["containers"], meta.get("containers_placed", "?").strip(),
                   meta.get("containers_create_s", "?")))
md.append("Memory (VmRSS, MB, from /proc/PID/status; peak = VmHWM at the end)%s:" % mem_note)
md.append("")
points = [("start", "at start (lab ready)"), ("after-requests", "after the request workloads"),
          ("after-streams", "after the streams")]
if int(meta["containers"]):
    points.append(("with-containers", "with %s containers" % meta["containers"]))
points.append(("hwm", "peak"))
md.append("| process | %s |" % " | ".join(label for _, label in points))
md.append("|---|%s" % ("---|" * len(points)))
for proc in ["manager"] + ["agent%d" % i for i in (1, 2, 3)]:
    md.append("| %s | %s |" % (proc, " | ".join(
        "%.1f" % (rss.get((p, proc), 0) / 1024) for p, _ in points)))
md.append("")
errs = [(k, v["j"]["errors"]) for k, v in runs.items() if v["j"]["errors"]["total"]]
if errs:
    md.append("Errors: " + "; ".join("%s %s: %d (%s)" % (k[0], k[1], e["total"],
                                     ", ".join("%s %d" % kv for kv in e["by_kind"].items()))
                                     for k, e in errs))
else:
    md.append("Errors: none in any run.")
md.append("")
md.append("![latency through the manager vs direct](results/proxy.png)")
md.append("")
md.append("Data: results/proxy.csv (table, every stream repetition, CPU, RSS), results/proxy.json "
          "(swarm bench's own JSON per run), plot script results/proxy.gp.")
md.append("")
def wrap(line):  # paragraphs and bullets at 98 columns, as the rest of RESULTS.md
    if not line or line.startswith("|") or line.startswith("!["):
        return line
    return textwrap.fill(line, width=98, subsequent_indent="  " if line.startswith("- ") else "",
                         break_on_hyphens=False, break_long_words=False)


open(os.path.join(out, "proxy.md"), "w").write("\n".join(wrap(line) for line in md))
PY
if command -v gnuplot >/dev/null; then
    (cd "$OUT" && gnuplot proxy.gp) || say "gnuplot failed; no proxy.png"
else
    say "gnuplot not installed; no proxy.png (apt-get install gnuplot-nox)"
fi
cat "$OUT/proxy.md"
