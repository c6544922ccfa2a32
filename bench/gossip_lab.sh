#!/usr/bin/env bash
# bench/gossip_lab.sh — swarm's gossip agents and HashiCorp serf, side by side, on one lab.
#
# For each N (hosts = network namespaces with a real dockerd each, built by tests/lab/lab.sh) and
# each of R repetitions, runs `swarm join` on every host, measures, stops it, then runs
# `serf agent` (Debian's serf, default LAN profile, -encrypt) on the same hosts and measures the
# same things. Never both at once. Per repetition and system:
#
#   convergence  swarm: agents started with NO seed (LAN multicast discovery); time from starting
#                all agents until every agent's `swarm members --format json` lists all N alive.
#                serf: agents started, each answering RPC, then `serf join <host 1>` from every
#                other host at once; time from the joins until every node's `serf members` lists
#                all N alive (the issue's "our time with no seed vs serf's after explicit joins").
#                Also recorded: serf from agent start (start + RPC wait + joins), and serf
#                -discover (its own mDNS, no join) from start, for a no-seed to no-seed view;
#                and (--poll rpc) swarm from start until every agent lists all N alive with their
#                engine metadata (an agent gossips before its engine's /info is in, without it).
#                "Starting all agents" is one instant: each agent is spawned (lab_spawn, which
#                records its pid) parked on a shared flock, and the lock is released at once.
#   idle         SETTLE s after convergence (swarm's start-up push-pulls are over by then), IDLE s
#                without polling: bytes sent and received per node per second on
#                the bridge (host-side veth counters, /sys/class/net/PREFIX-vI/statistics; the
#                veth's rx is what the namespace sent; Ethernet frames incl. 14-byte header),
#                CPU used, and at the end each agent's VmRSS (/proc/PID/status), median over nodes,
#                with its RssAnon/RssFile/PSS split.
#   detection    SIGKILL the agent on host N; time until every other host lists it "failed".
#   false fail.  members other than the victim logged failed by anyone (agent logs).
#
# Polling, every POLL (50 ms) until a host's condition holds; a measurement ends when the last
# host's first successful answer comes back. Nothing polls during the idle window.
#   --poll cli (default)  one background poller per host, each running the CLI: `swarm members
#                --state-dir DIR --format json`, `nsenter --net=NS serf members -rpc-addr
#                127.0.0.1:7373` (each namespace has its own loopback, so one port serves all).
#                Each call is a process (dynamic linking, Go runtime start): ~6-8 ms of CPU, so
#                with 32 hosts on 2 CPUs the pollers saturate the machine, compete with the agents
#                being measured, and a host is polled every ~200-400 ms, not 50 (the achieved
#                period is in the CSV: *_poll_ms).
#   --poll rpc   one python3 process asks every host over the interfaces the CLIs use: swarm's
#                control socket ("members\n" -> the same JSON bytes the CLI prints) and serf's
#                msgpack RPC on 127.0.0.1:7373 inside each namespace (a socket made after setns,
#                connection kept open). ~0.3 ms per host per poll, so 50 ms holds at N = 32.
#                Output files get a -rpc suffix.
#
# Usage: bench/gossip_lab.sh [--quick] [--reps R] [--hosts "8 32"] [--idle S] [--swarm PATH]
#                            [--settle S] [--out DIR] [--poll cli|rpc] [--keep DIR]
#                            [--no-discover] [--only swarm|serf] [--conv-only]
#   --quick        N = 8 only, 1 repetition (a sanity pass, under a minute)
#   --reps R       repetitions per N (default 3)
#   --hosts LIST   host counts (default "8 32"); above 16 the lab is built with lab_up 16 and
#                  extended with the harness's own building blocks (lab_up stops at 16)
#   --idle S       idle window in seconds (default 10)
#   --settle S     seconds between convergence and the idle window (default 5)
#   --swarm PATH   the swarm binary (default build/swarm)
#   --out DIR      where gossip_lab.md and gossip_lab.csv go (default bench/results)
#   --poll M       cli (default) or rpc, see above
#   --keep DIR     keep the agents' logs and the pollers' answers in DIR/N<n>/ (for debugging;
#                  t0.PHASE holds the start instant in µs of the realtime clock)
#   --no-discover  skip the informative serf -discover runs
#   --only SYS     run only swarm's or only serf's repetitions (while iterating on one of them;
#                  the other's cells read n/a)
#   --conv-only    convergence only: no idle window, no detection (while iterating)
# Needs root, the lab's requirements (see tests/lab/lab.sh) and serf (apt-get install serf).
# Exits 77 with "SKIP: ..." where it cannot run. Cleans up every process and the lab, also on
# SIGINT/SIGTERM (lab_trap_cleanup in the per-N child; lab_down kills what lab_spawn recorded).
# Figures only, no asserts: the goals are printed next to the ratios.
set -euo pipefail
export LC_ALL=C # EPOCHREALTIME with a '.', sort and awk numeric formats

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SERF=${SERF:-/usr/bin/serf}
SWARM=$ROOT/build/swarm
OUT=$ROOT/bench/results
REPS=3
HOSTS="8 32"
IDLE=10
SETTLE=5 # s between convergence and the idle window
POLL=0.05
DISCOVER=1
ONLY=""
CONV_ONLY=0
QUICK=0
POLL_METHOD=cli
KEEP=""
CONV_TIMEOUT=60   # s, per convergence
DETECT_TIMEOUT=60 # s, per detection
MODE=main
ONE_N=0
ONE_CSV=
ARGS_ORIG="$*"

usage() { sed -n '/^# Usage:/,/^# Figures only/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while (($# > 0)); do
    case $1 in
    --quick) QUICK=1; HOSTS=8; REPS=1 ;;
    --reps) REPS=${2:?}; shift ;;
    --hosts) HOSTS=${2:?}; shift ;;
    --idle) IDLE=${2:?}; shift ;;
    --settle) SETTLE=${2:?}; shift ;;
    --swarm) SWARM=${2:?}; shift ;;
    --out) OUT=${2:?}; shift ;;
    --no-discover) DISCOVER=0 ;;
    --only) ONLY=${2:?}; shift ;;
    --conv-only) CONV_ONLY=1 ;;
    --poll) POLL_METHOD=${2:?}; shift ;;
    --keep) KEEP=$(mkdir -p "${2:?}" && cd "$2" && pwd); shift ;;
    --one) MODE=one; ONE_N=${2:?}; ONE_CSV=${3:?}; shift 2 ;; # internal: one N in a child bash
    -h | --help) usage; exit 0 ;;
    *) echo "gossip_lab: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
SWARM=$(readlink -f "$SWARM")
case $POLL_METHOD in cli | rpc) ;; *) echo "gossip_lab: --poll takes cli or rpc" >&2; exit 2 ;; esac
case $ONLY in "" | swarm | serf) ;; *) echo "gossip_lab: --only takes swarm or serf" >&2; exit 2 ;; esac
BASE=gossip_lab # output files: OUT/BASE.md and OUT/BASE.csv
[[ $POLL_METHOD == cli ]] || BASE=gossip_lab-$POLL_METHOD
POLLER_PY=${GL_POLLER_PY:-}

say() { printf '[gossip_lab %s] %s\n' "$(date +%T)" "$*" >&2; }

# ---------------------------------------------------------------------------------------------
# small helpers (no forks in the polling path: EPOCHREALTIME, read -t as sleep)

now_us() { local t=$EPOCHREALTIME; echo $((10#${t%.*} * 1000000 + 10#${t#*.})); }
us_to_s() { awk -v u="$1" 'BEGIN { printf "%.3f", u / 1e6 }'; }
nap() { read -r -t "$1" -u "$NAPFD" _ || true; } # sleeps without forking

# ---------------------------------------------------------------------------------------------
# the per-N child: one lab, R repetitions of swarm then serf

# Builds an N-host lab. lab_up allows 1..16; past that, the same building blocks lab_up uses
# (namespaces, veths, engines, env and records for lab_down) add hosts 17..N.
gl_lab_up() {
    local n=$1 first i rc=0
    first=$((n < 16 ? n : 16))
    lab_up "$first" || return $?
    if ((n > first)); then
        say "extending the lab to $n hosts (lab_up stops at 16)"
        # shellcheck disable=SC2034 # read by the harness
        LAB_N=$n
        for ((i = first + 1; i <= n; i++)); do lab__make_host_net "$i" || return 1; done
        lab__save_env
        for ((i = first + 1; i <= n; i++)); do lab__start_engine "$i" || return 1; done
        lab__save_env
        lab__wait_engines $(seq $((first + 1)) "$n") || rc=1
        lab__save_env
        return $rc
    fi
}

# --- condition checks, one CLI call each; return 0 when the host's condition holds ---
ns_of() { local v=LAB_NS_$1; printf '%s' "${!v}"; }

# swarm: host $1 lists all N alive
chk_swarm_conv() {
    local out a
    out=$("$SWARM" members --state-dir "$RUNDIR/a$1" --format json 2>/dev/null) || return 1
    a=${out//\"state\":\"alive\"/$'\x01'}
    a=${a//[!$'\x01']/}
    ((${#a} == N))
}
# swarm: host $1 lists member h$2 failed
chk_swarm_failed() {
    local out
    out=$("$SWARM" members --state-dir "$RUNDIR/a$1" --format json 2>/dev/null) || return 1
    [[ $out =~ \"name\":\"h$2\"[^}]*\"state\":\"failed\" ]]
}
serf_cli() { # I SUBCOMMAND ARGS...  (serf CLI inside host I's namespace, RPC on its own loopback)
    local i=$1 sub=$2
    shift 2
    nsenter --net=/var/run/netns/"$(ns_of "$i")" -- "$SERF" "$sub" -rpc-addr 127.0.0.1:7373 "$@"
}
chk_serf_rpc() { serf_cli "$1" info >/dev/null 2>&1; }
# serf: host $1 lists all N alive (one line per member)
chk_serf_conv() {
    local out a
    out=$(serf_cli "$1" members -status alive 2>/dev/null) || return 1
    [[ -n $out ]] || return 1
    a=${out//[!$'\n']/}
    ((${#a} + 1 == N))
}
# serf: host $1 lists h$2 failed
chk_serf_failed() {
    local out
    out=$(serf_cli "$1" members -name "^h$2\$" -status failed 2>/dev/null) || return 1
    [[ -n $out ]]
}

# --- the gate: one instant at which everything parked at it starts ---
# Agents (lab_spawn), serf join clients and pollers are started beforehand, each parked on a shared
# flock of a gate file this shell holds exclusively; they are released together when the gate
# opens, so "start all agents", "join all" or "kill" is one instant, and no poller pays its own
# start-up (a process, python's imports, RPC handshakes) after it.
gate_close() {
    GATE_NO=$((GATE_NO + 1))
    GATE_FILE=$RUNDIR/gate.$GATE_NO
    GATE_WAITERS=0
    : >"$GATE_FILE"
    exec {GATEFD}>"$GATE_FILE"
    flock -x "$GATEFD"
}
gate_ticket() { # -> GATE_READY: the file a waiter creates once parked
    GATE_WAITERS=$((GATE_WAITERS + 1))
    GATE_READY=$GATE_FILE.ready.$GATE_WAITERS
}
gate_spawn() { # I LOG CMD...: lab_spawn CMD in host I, parked at the gate (pid: LAB_SPAWNED_PID)
    local i=$1 log=$2
    shift 2
    gate_ticket
    # lab_spawn closes inherited fds; the spawned bash parks, then execs CMD (same pid).
    # shellcheck disable=SC2016 # expanded by the spawned bash
    lab_spawn "$i" "$log" bash -c ': >"$2" && exec {g}<"$1" && flock -s "$g" && exec {g}<&- &&
        shift 2 && exec "$@"' gate "$GATE_FILE" "$GATE_READY" "$@"
}
gate_bg() { # CMD...: a background job of this shell, parked at the gate (pid: GATE_BG_PID)
    gate_ticket
    (
        exec {GATEFD}>&- # the gate's lock lives as long as any copy of this fd
        : >"$GATE_READY"
        flock -s "$GATE_FILE" true
        "$@"
    ) &
    GATE_BG_PID=$!
}
# gate_open [CMD...]: waits until every waiter is parked, runs CMD (say, a kill), opens the gate;
# GATE_OPENED_US = the instant (after CMD).
gate_open() {
    local deadline=$((SECONDS + 20))
    local -a r
    while :; do
        r=("$GATE_FILE".ready.*)
        [[ -e ${r[0]} ]] || r=()
        ((${#r[@]} >= GATE_WAITERS)) && break
        if ((SECONDS >= deadline)); then say "  gate: only ${#r[@]} of $GATE_WAITERS waiters parked"; break; fi
        nap 0.005
    done
    if (($# > 0)); then "$@"; fi
    local t=$EPOCHREALTIME
    GATE_OPENED_US=$((10#${t%.*} * 1000000 + 10#${t#*.}))
    exec {GATEFD}>&-
}

# --- polling ---
# poller SYSTEM CHECK I ARG TIMEOUT_S (cli method): once the gate opens, calls chk_SYSTEM_CHECK
# every POLL s until it holds; prints "END_US POLLS" (END_US = when the first successful call
# returned) or "timeout POLLS".
poller() {
    local chk=chk_$1_$2 i=$3 arg=$4 deadline polls=0 t
    deadline=$(($(now_us) + $5 * 1000000))
    while :; do
        polls=$((polls + 1))
        if "$chk" "$i" "$arg"; then
            printf '%s %s\n' "$(now_us)" "$polls"
            return 0
        fi
        t=$(now_us)
        if ((t > deadline)); then printf 'timeout %s\n' "$polls"; return 1; fi
        nap "$POLL"
    done
}

# poll_start SYSTEM CHECK ARG TIMEOUT_S HOSTS...: parks pollers at the current gate for CHECK
# (conv: lists all N alive; failed: lists member hARG failed; rpc: answers RPC) on HOSTS.
# cli: one poller per host, each running the CLI; rpc: one python3 process for all hosts.
poll_start() {
    local sys=$1 chk=$2 arg=$3 timeout=$4 i
    shift 4
    POLL_HOSTS=("$@")
    POLL_PIDS=()
    POLL_PHASE=$sys-$chk
    rm -f "$RUNDIR"/poll.*
    if [[ $POLL_METHOD == rpc ]]; then
        local -a targets=()
        for i in "$@"; do
            if [[ $sys == swarm ]]; then targets+=("$i:$RUNDIR/a$i/control.sock"); else targets+=("$i:/var/run/netns/$(ns_of "$i")"); fi
        done
        gate_ticket
        (
            exec {GATEFD}>&-
            exec python3 "$POLLER_PY" "$GATE_FILE" "$GATE_READY" "$sys" "$chk" "$N" "$arg" "$timeout" "$POLL" "${targets[@]}"
        ) >"$RUNDIR/poll.all" &
        POLL_PIDS+=($!)
    else
        for i in "$@"; do
            gate_bg poller "$sys" "$chk" "$i" "$arg" "$timeout" >"$RUNDIR/poll.$i"
            POLL_PIDS+=("$GATE_BG_PID")
        done
    fi
}

# poll_wait: waits for the pollers; sets POLL_END_US (the last host's first success; empty if any
# timed out), POLL_MEAN_MS (mean time between two polls of a host), from GATE_OPENED_US, and
# (rpc, swarm conv) POLL_META_US: when the last host also listed every member with its metadata.
poll_wait() {
    local i end polls h max=0 failed=0
    for i in "${POLL_PIDS[@]}"; do wait "$i" || failed=1; done
    if [[ $POLL_METHOD == rpc ]]; then
        for i in "${POLL_HOSTS[@]}"; do awk -v i="$i" '$1 == i { print $2, $3 }' "$RUNDIR/poll.all" >"$RUNDIR/poll.$i"; done
        POLL_META_US=$(awk '$4 == "timeout" { t = 1 } $4 > m { m = $4 } END { if (!t && m) printf "%.0f\n", m }' "$RUNDIR/poll.all")
    else
        POLL_META_US=""
    fi
    : >"$RUNDIR/poll.periods"
    for i in "${POLL_HOSTS[@]}"; do
        read -r end polls <"$RUNDIR/poll.$i" || { end=timeout; polls=1; }
        if [[ $end == timeout ]]; then failed=1; h=$(now_us); else h=$end; fi
        ((h > max)) && max=$h
        # period = time to the last poll / polls after the first (a host done at once has none)
        if ((polls > 1)); then echo $(((h - GATE_OPENED_US) / (polls - 1))) >>"$RUNDIR/poll.periods"; fi
    done
    POLL_MEAN_MS=$(awk '{ s += $1 } END { if (NR) printf "%.0f", s / NR / 1000; else print "NA" }' "$RUNDIR/poll.periods")
    if [[ -n $KEEP ]]; then # per host: µs from the gate to its first success, and its poll count
        for i in "${POLL_HOSTS[@]}"; do
            read -r end polls <"$RUNDIR/poll.$i" || { end=timeout; polls=0; }
            [[ $end == timeout ]] || end=$((end - GATE_OPENED_US))
            echo "h$i $end $polls"
        done >"$RUNDIR/hosts.$POLL_PHASE"
        echo "$GATE_OPENED_US" >"$RUNDIR/t0.$POLL_PHASE"
    fi
    if ((failed)); then POLL_END_US=""; else POLL_END_US=$max; fi
}

csv() { # SYSTEM METRIC VALUE UNIT
    printf '%s,%s,%s,%s,%s,%s,%s\n' "$RUNDATE" "$N" "$REP" "$1" "$2" "$3" "$4" >>"$ONE_CSV"
}

# Bytes through every host-side veth, summed: VETH_RX (sent by the hosts: the veth's rx is what its
# namespace sent) and VETH_TX (delivered to the hosts). No forks: usable as a gate_open hook.
veth_mark() {
    local i rx tx
    VETH_RX=0
    VETH_TX=0
    for ((i = 1; i <= N; i++)); do
        read -r rx <"/sys/class/net/$LAB_PREFIX-v$i/statistics/rx_bytes"
        read -r tx <"/sys/class/net/$LAB_PREFIX-v$i/statistics/tx_bytes"
        VETH_RX=$((VETH_RX + rx))
        VETH_TX=$((VETH_TX + tx))
    done
}

cpu_ticks() { # PID -> utime+stime in clock ticks
    local line
    line=$(<"/proc/$1/stat") || { echo 0; return; }
    line=${line##*) }
    local -a f
    read -r -a f <<<"$line"
    echo $((f[11] + f[12]))
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "NA"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# The idle window: SETTLE s after convergence (start-up traffic dies down), then IDLE s with nothing
# polling; records start-up bytes (since START_RX), bandwidth, CPU and RSS for SYSTEM.
idle_window() { # SYSTEM
    local sys=$1 i a b t0 t1 rx0 tx0 rx1 tx1 secs
    local -a c0=() c1=()
    nap "$SETTLE"
    for ((i = 1; i <= N; i++)); do c0[i]=$(cpu_ticks "${PID[$i]}"); done
    veth_mark
    rx0=$VETH_RX tx0=$VETH_TX
    t0=$(now_us)
    csv "$sys" startup_bytes_per_node $(((rx0 - START_RX) / N)) B
    nap "$IDLE"
    veth_mark
    rx1=$VETH_RX tx1=$VETH_TX
    t1=$(now_us)
    for ((i = 1; i <= N; i++)); do c1[i]=$(cpu_ticks "${PID[$i]}"); done
    secs=$(awk -v d=$((t1 - t0)) 'BEGIN { print d / 1e6 }')
    csv "$sys" sent_Bps_per_node "$(awk -v b=$((rx1 - rx0)) -v s="$secs" -v n="$N" 'BEGIN { printf "%.1f", b / s / n }')" B/s
    csv "$sys" recv_Bps_per_node "$(awk -v b=$((tx1 - tx0)) -v s="$secs" -v n="$N" 'BEGIN { printf "%.1f", b / s / n }')" B/s
    local tick
    tick=$(getconf CLK_TCK)
    a=$(for ((i = 1; i <= N; i++)); do echo $((c1[i] - c0[i])); done |
        awk -v s="$secs" -v t="$tick" '{ x += $1 } END { printf "%.3f", x / NR / t / s * 100 }')
    csv "$sys" idle_cpu_pct_per_node "$a" %
    a=$(for ((i = 1; i <= N; i++)); do rss_kb "${PID[$i]}"; done | median)
    b=$(for ((i = 1; i <= N; i++)); do rss_kb "${PID[$i]}"; done | sort -n | tail -n 1)
    csv "$sys" rss_kb_median "$a" kB
    csv "$sys" rss_kb_max "$b" kB
    # What the RSS is made of: private (anon) memory vs mapped files (the binary, shared libraries),
    # and PSS (shared pages divided among the processes mapping them).
    local f
    for f in RssAnon RssFile; do
        csv "$sys" "${f,,}_kb_median" "$(for ((i = 1; i <= N; i++)); do
            awk -v k="$f:" '$1 == k { print $2 }' "/proc/${PID[$i]}/status"; done | median)" kB
    done
    csv "$sys" pss_kb_median "$(for ((i = 1; i <= N; i++)); do
        awk '$1 == "Pss:" { print $2 }' "/proc/${PID[$i]}/smaps_rollup"; done | median)" kB
    say "  $sys idle: RSS median $a kB (max $b), sent $(((rx1 - rx0) / N)) B/node in ${secs}s"
}

# SIGKILLs every agent of this run and waits until they are gone.
stop_all() {
    local i deadline
    for i in "${!PID[@]}"; do kill -KILL "${PID[$i]}" 2>/dev/null || true; done
    deadline=$((SECONDS + 10))
    for i in "${!PID[@]}"; do
        while lab__alive "${PID[$i]}" && ((SECONDS < deadline)); do nap 0.05; done
    done
    PID=()
    nap 0.5 # ports free, last datagrams drained
}

# Counts log lines naming a member other than the victim as failed.
false_failures() { # SYSTEM VICTIM
    local pat
    if [[ $1 == swarm ]]; then pat='member h[0-9]+ failed'; else pat='EventMemberFailed: h[0-9]+'; fi
    cat "$RUNDIR"/log.* 2>/dev/null | grep -oE "$pat" | grep -vcE "h$2( |$)" || true
}

detection() { # SYSTEM
    local sys=$1 victim=$N t0
    gate_close
    # shellcheck disable=SC2046
    poll_start "$sys" failed "$victim" "$DETECT_TIMEOUT" $(seq 1 $((N - 1)))
    gate_open kill -KILL "${PID[$victim]}"
    t0=$GATE_OPENED_US
    poll_wait
    if [[ -n $POLL_END_US ]]; then
        csv "$sys" detection_s "$(us_to_s $((POLL_END_US - t0)))" s
        say "  $sys: h$victim listed failed by all $((N - 1)) others $(us_to_s $((POLL_END_US - t0))) s after kill -9 (poll every ${POLL_MEAN_MS} ms)"
    else
        csv "$sys" detection_s NA s
        say "  $sys: h$victim NOT listed failed by all within ${DETECT_TIMEOUT}s"
    fi
    csv "$sys" detection_poll_ms "$POLL_MEAN_MS" ms
    unset "PID[$victim]"
}

run_swarm() {
    local i t0
    RUNDIR=$LAB_DIR/swarm-r$REP
    mkdir -p "$RUNDIR"
    csv swarm loadavg_1m "$(cut -d' ' -f1 /proc/loadavg)" load
    gate_close
    for ((i = 1; i <= N; i++)); do
        gate_spawn "$i" "$RUNDIR/log.$i" "$SWARM" join --token "$TOKEN" --state-dir "$RUNDIR/a$i" \
            --engine "unix://$(lab_sock "$i")" --name "h$i"
        PID[$i]=$LAB_SPAWNED_PID
    done
    # shellcheck disable=SC2046
    poll_start swarm conv - "$CONV_TIMEOUT" $(seq 1 "$N")
    gate_open veth_mark
    START_RX=$VETH_RX
    t0=$GATE_OPENED_US
    poll_wait
    if [[ -n $POLL_END_US ]]; then
        csv swarm convergence_s "$(us_to_s $((POLL_END_US - t0)))" s
        say "  swarm: all $N list all alive $(us_to_s $((POLL_END_US - t0))) s after all agents were started, no seed (poll every ${POLL_MEAN_MS} ms)"
    else
        csv swarm convergence_s NA s
        say "  swarm: NOT converged within ${CONV_TIMEOUT}s"
    fi
    csv swarm convergence_poll_ms "$POLL_MEAN_MS" ms
    if [[ -n $POLL_META_US && -n $POLL_END_US ]]; then
        csv swarm convergence_meta_s "$(us_to_s $((POLL_META_US - t0)))" s
        say "  swarm: and with every member's engine metadata $(us_to_s $((POLL_META_US - t0))) s after the start"
    fi
    if ((CONV_ONLY)); then stop_all; return; fi
    idle_window swarm
    detection swarm
    csv swarm false_failures "$(false_failures swarm "$N")" count
    csv swarm suspicions "$(cat "$RUNDIR"/log.* | grep -cE 'member h[0-9]+ suspect' || true)" count
    stop_all
}

# start_serf CHECK TIMEOUT_S EXTRA-ARGS...: serf agents on every host, all started at once, with
# pollers for CHECK; sets t0 (the start) and POLL_END_US.
start_serf() {
    local i chk=$1 timeout=$2
    shift 2
    gate_close
    for ((i = 1; i <= N; i++)); do
        gate_spawn "$i" "$RUNDIR/log.$i" "$SERF" agent -node "h$i" -bind "$(lab_ip "$i"):7946" \
            -rpc-addr 127.0.0.1:7373 -encrypt "$SERF_KEY" "$@"
        PID[$i]=$LAB_SPAWNED_PID
    done
    # shellcheck disable=SC2046
    poll_start serf "$chk" - "$timeout" $(seq 1 "$N")
    gate_open veth_mark
    START_RX=$VETH_RX
    t0=$GATE_OPENED_US
    poll_wait
}

run_serf() {
    local i t0 tj
    local -a jp=()
    RUNDIR=$LAB_DIR/serf-r$REP
    mkdir -p "$RUNDIR"
    csv serf loadavg_1m "$(cut -d' ' -f1 /proc/loadavg)" load
    start_serf rpc 30
    [[ -n $POLL_END_US ]] || { say "  serf: agents do not answer RPC"; csv serf convergence_s NA s; stop_all; return; }
    csv serf rpc_ready_s "$(us_to_s $((POLL_END_US - t0)))" s
    gate_close
    for ((i = 2; i <= N; i++)); do
        gate_bg serf_cli "$i" join "$(lab_ip 1)" >>"$RUNDIR/join.log" 2>&1
        jp+=("$GATE_BG_PID")
    done
    # shellcheck disable=SC2046
    poll_start serf conv - "$CONV_TIMEOUT" $(seq 1 "$N")
    gate_open
    tj=$GATE_OPENED_US
    poll_wait
    for i in "${jp[@]}"; do wait "$i" || say "  serf join exited non-zero (see $RUNDIR/join.log)"; done
    if [[ -n $POLL_END_US ]]; then
        csv serf convergence_s "$(us_to_s $((POLL_END_US - tj)))" s
        csv serf convergence_from_start_s "$(us_to_s $((POLL_END_US - t0)))" s
        say "  serf: all $N list all alive $(us_to_s $((POLL_END_US - tj))) s after the joins ($(us_to_s $((POLL_END_US - t0))) s after starting the agents; poll every ${POLL_MEAN_MS} ms)"
    else
        csv serf convergence_s NA s
        say "  serf: NOT converged within ${CONV_TIMEOUT}s"
    fi
    csv serf convergence_poll_ms "$POLL_MEAN_MS" ms
    if ((CONV_ONLY)); then stop_all; return; fi
    idle_window serf
    detection serf
    csv serf false_failures "$(false_failures serf "$N")" count
    csv serf suspicions "$(cat "$RUNDIR"/log.* | grep -cE 'Suspect h[0-9]+ has failed' || true)" count
    stop_all
}

# serf's own no-seed mode: -discover (mDNS), convergence from start only.
run_serf_discover() {
    local t0
    RUNDIR=$LAB_DIR/serfd-r$REP
    mkdir -p "$RUNDIR"
    start_serf conv 20 -discover "gl$N"
    if [[ -n $POLL_END_US ]]; then
        csv serf-discover convergence_from_start_s "$(us_to_s $((POLL_END_US - t0)))" s
        say "  serf -discover: all $N list all alive $(us_to_s $((POLL_END_US - t0))) s after starting the agents (poll every ${POLL_MEAN_MS} ms)"
    else
        csv serf-discover convergence_from_start_s NA s
        say "  serf -discover: NOT converged within 20 s"
    fi
    stop_all
}

# On exit or a signal, before lab_down: stop this child's pollers and serf join clients.
gl_cleanup() {
    local p
    for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done
}

one_n() {
    N=$ONE_N
    RUNDATE=$(date -u +%FT%TZ)
    # shellcheck source=tests/lab/lab.sh
    source "$ROOT/tests/lab/lab.sh"
    # shellcheck disable=SC2034 # called by lab_trap_cleanup
    LAB_CLEANUP_HOOK=gl_cleanup
    lab_trap_cleanup
    exec {NAPFD}<> <(:)
    declare -gA PID=()
    GATE_NO=0
    local rc=0 t=$SECONDS
    gl_lab_up "$N" || rc=$?
    ((rc == 0)) || exit "$rc"
    say "N=$N: lab $LAB_PREFIX up in $((SECONDS - t)) s ($LAB_SUBNET)"
    TOKEN=$("$SWARM" init --state-dir "$LAB_DIR/mgr" | tail -n 1)
    [[ $TOKEN == SWARM1-* ]] || { say "swarm init printed no token"; exit 1; }
    SERF_KEY=$("$SERF" keygen)
    for ((REP = 1; REP <= REPS; REP++)); do
        if [[ $ONLY != serf ]]; then
            say "N=$N rep $REP/$REPS: swarm"
            run_swarm
        fi
        if [[ $ONLY != swarm ]]; then
            say "N=$N rep $REP/$REPS: serf"
            run_serf
            if ((DISCOVER)); then run_serf_discover; fi
        fi
    done
    if [[ -n $KEEP ]]; then
        local d
        for d in "$LAB_DIR"/swarm-r* "$LAB_DIR"/serf-r* "$LAB_DIR"/serfd-r*; do
            [[ -d $d ]] || continue
            mkdir -p "$KEEP/N$N/${d##*/}"
            cp "$d"/log.* "$d"/hosts.* "$d"/t0.* "$KEEP/N$N/${d##*/}/" 2>/dev/null || true
        done
    fi
    lab_down
}

# ---------------------------------------------------------------------------------------------
# the report

# stat SYSTEM METRIC N -> "median min max count" over repetitions (NA rows left out)
stat_of() {
    awk -F, -v s="$1" -v m="$2" -v n="$3" '$4 == s && $5 == m && $2 == n && $6 != "NA" { print $6 }' "$CSV_ALL" |
        sort -g | awk '{ v[NR] = $1 } END {
            if (NR == 0) { print "NA NA NA 0"; exit }
            med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            print med, v[1], v[NR], NR }'
}
na_count() { awk -F, -v s="$1" -v m="$2" -v n="$3" '$4 == s && $5 == m && $2 == n && $6 == "NA"' "$CSV_ALL" | wc -l; }

# cell MEDIAN MIN MAX SCALE FMT -> "1.23 (1.10–1.40)"
cell() {
    if [[ $1 == NA ]]; then echo "n/a"; return; fi
    awk -v a="$1" -v b="$2" -v c="$3" -v k="$4" -v f="$5" 'BEGIN {
        printf f " (" f "–" f ")", a * k, b * k, c * k }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA" || b == 0) print "n/a"; else printf "%.2f", a / b }'; }
verdict() { # RATIO_OR_VALUE LIMIT
    awk -v r="$1" -v l="$2" 'BEGIN { if (r == "n/a" || r == "NA") print "n/a"; else print (r <= l ? "yes" : "**no**") }'
}

row() { # N SYSTEM_A METRIC_A SYSTEM_B METRIC_B SCALE FMT GOAL_TEXT GOAL_KIND(ratio|abs|none) LIMIT
    local n=$1 a b r ok na
    read -r -a a <<<"$(stat_of "$2" "$3" "$n")"
    read -r -a b <<<"$(stat_of "$4" "$5" "$n")"
    r=$(ratio "${a[0]}" "${b[0]}")
    case $9 in
    ratio) ok=$(verdict "$r" "${10}") ;;
    abs) ok=$(verdict "$(awk -v v="${a[0]}" -v k="$6" 'BEGIN { print v == "NA" ? "NA" : v * k }')" "${10}") ;;
    *) ok="—" ;;
    esac
    na=""
    if (($(na_count "$2" "$3" "$n") + $(na_count "$4" "$5" "$n") > 0)); then
        na=" ($(na_count "$2" "$3" "$n")/$(na_count "$4" "$5" "$n") runs timed out)"
    fi
    printf '| %s | %s | %s | %s | %s | %s%s |\n' "$n" "$(cell "${a[0]}" "${a[1]}" "${a[2]}" "$6" "$7")" \
        "$(cell "${b[0]}" "${b[1]}" "${b[2]}" "$6" "$7")" "$r" "$8" "$ok" "$na"
}

write_report() {
    local md=$OUT/$BASE.md n mem kernel rev dirty
    mem=$(awk '/^MemTotal:/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo)
    kernel=$(uname -r)
    rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "?")
    dirty=""
    if git -C "$ROOT" status --porcelain 2>/dev/null | grep -qv '^??'; then dirty=" + uncommitted changes"; fi
    {
        echo "## Gossip on the lab: swarm agents vs serf, side by side"
        echo
        echo "- date: $(date -u '+%F %T UTC') ($((SECONDS / 60)) min $((SECONDS % 60)) s)"
        echo "- machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), kernel $kernel, $mem RAM"
        echo "- load: 1-min load average $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end; median when each system's runs began: swarm $(stat_of swarm loadavg_1m "${HOSTS%% *}" | cut -d' ' -f1), serf $(stat_of serf loadavg_1m "${HOSTS%% *}" | cut -d' ' -f1) (N = ${HOSTS%% *}; per run in the CSV). Other work on the machine shares the 2 CPUs; swarm and serf runs alternate, so both see it."
        echo "- command: \`bench/gossip_lab.sh${ARGS_ORIG:+ $ARGS_ORIG}\` — $( ((QUICK)) && echo "quick mode, ")N = $HOSTS hosts, $REPS repetition(s), idle window ${IDLE} s, poll every $(awk -v p="$POLL" 'BEGIN { print p * 1000 }') ms (--poll $POLL_METHOD)"
        echo "- swarm: \`$(realpath --relative-to="$ROOT" "$SWARM_ORIG" 2>/dev/null || echo "$SWARM_ORIG")\` (sha256 $(sha256sum "$SWARM" | cut -c1-12), built $(date -u -r "$SWARM" '+%F %T UTC'); the tree at $rev$dirty), default tuning, no --join (LAN multicast discovery); a copy is run, so a rebuild cannot change it mid-run"
        echo "- serf: $("$SERF" version | head -n 1) (Debian), default LAN profile, \`-encrypt\`, explicit \`serf join\` to host 1"
        echo "- lab: one network namespace + real dockerd per host on one bridge (tests/lab/lab.sh); swarm and serf never run at the same time"
        echo "- cells: median (min–max) over repetitions; ratio = swarm median / serf median; raw numbers in $BASE.csv"
        echo
        echo "### Convergence (seconds)"
        echo
        echo "swarm: from starting all agents, with no seed, until all N list all N alive. serf: from the"
        echo "\`serf join\`s (agents already up and answering RPC) until all N list all N alive."
        echo
        echo "| N | swarm (no seed) | serf (after joins) | ratio | goal | met |"
        echo "|---|---|---|---|---|---|"
        for n in $HOSTS; do row "$n" swarm convergence_s serf convergence_s 1 "%.2f" "≤ 0.5×" ratio 0.5; done
        echo
        echo "For reference (no goal): serf from agent start (start, wait for RPC, joins), and serf's own"
        echo "no-seed mode \`-discover\` (mDNS) from agent start, next to swarm from start; last column:"
        echo "swarm from start until all N list all N alive *and* with their engine metadata (an agent"
        echo "gossips before its engine has answered /info, with no metadata; managers ignore it until then;"
        echo "\`--poll rpc\` only):"
        echo
        echo "| N | swarm (no seed, from start) | serf (from start, explicit joins) | ratio | serf -discover (from start) | swarm, all with engine metadata |"
        echo "|---|---|---|---|---|---|"
        for n in $HOSTS; do
            local a b d
            read -r -a a <<<"$(stat_of swarm convergence_s "$n")"
            read -r -a b <<<"$(stat_of serf convergence_from_start_s "$n")"
            read -r -a d <<<"$(stat_of serf-discover convergence_from_start_s "$n")"
            local dc
            dc=$(cell "${d[0]}" "${d[1]}" "${d[2]}" 1 "%.2f")
            if (($(na_count serf-discover convergence_from_start_s "$n") > 0)); then
                dc="$dc; $(na_count serf-discover convergence_from_start_s "$n") run(s) not converged in 20 s"
            fi
            local mt
            read -r -a mt <<<"$(stat_of swarm convergence_meta_s "$n")"
            printf '| %s | %s | %s | %s | %s | %s |\n' "$n" "$(cell "${a[0]}" "${a[1]}" "${a[2]}" 1 "%.2f")" \
                "$(cell "${b[0]}" "${b[1]}" "${b[2]}" 1 "%.2f")" "$(ratio "${a[0]}" "${b[0]}")" "$dc" \
                "$(cell "${mt[0]}" "${mt[1]}" "${mt[2]}" 1 "%.2f")"
        done
        echo
        echo "### Failure detection after kill -9 (seconds)"
        echo
        echo "From SIGKILL of the agent on host N until every other host lists it failed."
        echo
        echo "| N | swarm | serf | ratio | goal | met |"
        echo "|---|---|---|---|---|---|"
        for n in $HOSTS; do row "$n" swarm detection_s serf detection_s 1 "%.2f" "≤ 0.5×" ratio 0.5; done
        echo
        echo "### Idle memory (RSS, MB; median over the N agents, $((SETTLE + IDLE)) s after convergence)"
        echo
        echo "| N | swarm | serf | ratio | goal | met |"
        echo "|---|---|---|---|---|---|"
        for n in $HOSTS; do row "$n" swarm rss_kb_median serf rss_kb_median 0.001 "%.2f" "≤ 3 MB" abs 3; done
        echo
        echo "What it is made of (MB, medians): RssAnon = the process's own memory; RssFile = mapped files"
        echo "(binary and shared libraries, resident pages, shared with other processes); PSS = shared pages"
        echo "divided among the processes that map them."
        echo
        echo "| N | swarm RssAnon | swarm RssFile | swarm PSS | serf RssAnon | serf RssFile | serf PSS |"
        echo "|---|---|---|---|---|---|---|"
        for n in $HOSTS; do
            printf '| %s |' "$n"
            local sys m v
            for sys in swarm serf; do
                for m in rssanon_kb_median rssfile_kb_median pss_kb_median; do
                    read -r -a v <<<"$(stat_of "$sys" "$m" "$n")"
                    printf ' %s |' "$(cell "${v[0]}" "${v[1]}" "${v[2]}" 0.001 "%.2f")"
                done
            done
            echo
        done
        echo
        echo "### Idle bandwidth (bytes per second per node, on the bridge)"
        echo
        echo "Sent by each node (host-side veth rx counters, Ethernet frames), over the ${IDLE} s idle window;"
        echo "received per node (veth tx, includes multicast flooded to every port) below."
        echo
        echo "| N | swarm sent | serf sent | ratio | goal | met |"
        echo "|---|---|---|---|---|---|"
        for n in $HOSTS; do row "$n" swarm sent_Bps_per_node serf sent_Bps_per_node 1 "%.0f" "— (issue: flat per node as N grows)" none 0; done
        echo
        echo "| N | swarm received | serf received | ratio |"
        echo "|---|---|---|---|"
        for n in $HOSTS; do row "$n" swarm recv_Bps_per_node serf recv_Bps_per_node 1 "%.0f" "" none 0 | cut -d'|' -f1-5 | sed 's/$/|/'; done
        echo
        echo "Start-up traffic: bytes sent per node from starting the agents until the idle window (swarm:"
        echo "discovery and convergence with no seed; serf: start, joins, convergence), plus ${SETTLE} s of"
        echo "settling after convergence:"
        echo
        echo "| N | swarm | serf | ratio |"
        echo "|---|---|---|---|"
        for n in $HOSTS; do row "$n" swarm startup_bytes_per_node serf startup_bytes_per_node 1 "%.0f" "" none 0 | cut -d'|' -f1-5 | sed 's/$/|/'; done
        echo
        echo "### Idle CPU and false failures"
        echo
        echo "| N | swarm idle CPU % per agent | serf idle CPU % per agent | swarm false failures | serf false failures | swarm suspicions | serf suspicions |"
        echo "|---|---|---|---|---|---|---|"
        for n in $HOSTS; do
            local sc fc ff1 ff2 s1 s2
            read -r -a sc <<<"$(stat_of swarm idle_cpu_pct_per_node "$n")"
            read -r -a fc <<<"$(stat_of serf idle_cpu_pct_per_node "$n")"
            ff1=$(awk -F, -v n="$n" '$2 == n && $4 == "swarm" && $5 == "false_failures" { s += $6 } END { print s + 0 }' "$CSV_ALL")
            ff2=$(awk -F, -v n="$n" '$2 == n && $4 == "serf" && $5 == "false_failures" { s += $6 } END { print s + 0 }' "$CSV_ALL")
            s1=$(awk -F, -v n="$n" '$2 == n && $4 == "swarm" && $5 == "suspicions" { s += $6 } END { print s + 0 }' "$CSV_ALL")
            s2=$(awk -F, -v n="$n" '$2 == n && $4 == "serf" && $5 == "suspicions" { s += $6 } END { print s + 0 }' "$CSV_ALL")
            printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$n" "$(cell "${sc[0]}" "${sc[1]}" "${sc[2]}" 1 "%.2f")" \
                "$(cell "${fc[0]}" "${fc[1]}" "${fc[2]}" 1 "%.2f")" "$ff1" "$ff2" "$s1" "$s2"
        done
        echo
        echo "False failures: log lines, summed over repetitions, in which any agent declared a member other"
        echo "than the killed one failed (swarm \`member hI failed\`, serf \`EventMemberFailed\`). Suspicions:"
        echo "swarm \`member hI suspect\` lines; serf \`Suspect hI has failed\` lines (the victim's included)."
        echo
        echo "### How measured"
        echo
        if [[ $POLL_METHOD == cli ]]; then
            echo "- Polling (\`--poll cli\`): one poller per host, in parallel, each running \`swarm members --state-dir … --format json\`"
            echo "  or \`nsenter --net=… serf members -rpc-addr 127.0.0.1:7373\` every 50 ms until its host's"
            echo "  condition holds; an interval ends when the last host's first successful call returns. Each"
            echo "  call is a process (~6-8 ms CPU): with N = 32 on 2 CPUs the pollers saturate the machine during"
            echo "  convergence and detection, compete with the agents, and the achieved period per host grows"
            echo "  (mean: \`*_poll_ms\` in the CSV). \`--poll rpc\` asks the same interfaces from one process."
        else
            echo "- Polling (\`--poll rpc\`): one python3 process asks every host every 50 ms over the interfaces the"
            echo "  CLIs use — swarm's control socket (\"members\", the JSON \`swarm members --format json\` prints),"
            echo "  serf's msgpack RPC on 127.0.0.1:7373 in each namespace (kept open) — until each host's condition"
            echo "  holds; an interval ends when the last host's first successful answer returns (mean achieved"
            echo "  period: \`*_poll_ms\` in the CSV)."
        fi
        echo "- Achieved poll period per host (ms, median over repetitions; convergence / detection):"
        for n in $HOSTS; do
            local sc sd fc fd
            sc=$(stat_of swarm convergence_poll_ms "$n" | cut -d' ' -f1)
            sd=$(stat_of swarm detection_poll_ms "$n" | cut -d' ' -f1)
            fc=$(stat_of serf convergence_poll_ms "$n" | cut -d' ' -f1)
            fd=$(stat_of serf detection_poll_ms "$n" | cut -d' ' -f1)
            echo "  N = $n: swarm $sc / $sd, serf $fc / $fd."
        done
        echo "- Start: agents are spawned parked on a shared lock and released at once; \"from start\" is that"
        echo "  instant. swarm's times thus include each agent's process start (exec, a fresh state dir's keys"
        echo "  made and written, sockets), not its engine's /info, which is asked meanwhile (the metadata"
        echo "  column waits for it); serf's \"after joins\" starts when the \`serf join\` processes are released"
        echo "  (their own start included), its agents already up. Every time is quantised by the poll period:"
        echo "  a host counts at its first answer after its condition holds."
        echo "- Idle: ${SETTLE} s after convergence, ${IDLE} s with no polling; bytes from /sys/class/net/<prefix>-vI"
        echo "  statistics (the host-side veths recorded in \$LAB_DIR/links); RSS = VmRSS at the window's end."
    } >"$md"
    say "wrote $md and $OUT/$BASE.csv"
}

# The rpc poller: one python3 process asks every host what the CLI would print, over the same
# interfaces (swarm: "members\n" on DIR/control.sock, the exact JSON `swarm members --format json`
# prints; serf: its msgpack RPC on 127.0.0.1:7373 inside each namespace, entered with setns).
write_poller() {
    cat >"$1" <<'PY'
# poller: asks every host what `swarm members --format json` / `serf members` would print.
# argv: GATE READY SYSTEM(swarm|serf) CHECK(conv|failed|rpc) N VICTIM TIMEOUT_S INTERVAL_S HOST:TARGET...
#   swarm TARGET = control socket path; serf TARGET = network namespace file (RPC at 127.0.0.1:7373)
# Sets up (imports; serf: connects and handshakes where it can), creates READY, waits for a shared
# flock of GATE, then polls every INTERVAL_S; prints one line per host: "I END_US POLLS META_US"
# (END_US: realtime µs when the first successful answer came back, or "timeout"; META_US: for
# swarm conv, when every member it lists alive also had its engine metadata, else as END_US).
import ctypes, fcntl, json, os, socket, struct, sys, threading, time

gate, ready, system, check = sys.argv[1:5]
n, victim, timeout, interval = int(sys.argv[5]), sys.argv[6], float(sys.argv[7]), float(sys.argv[8])
hosts = [(int(a.split(":", 1)[0]), a.split(":", 1)[1]) for a in sys.argv[9:]]
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000
own_ns = os.open("/proc/self/ns/net", os.O_RDONLY)


def now_us():
    return time.time_ns() // 1000


class Reader:
    def __init__(self, s):
        self.s, self.buf = s, b""

    def read(self, k):
        while len(self.buf) < k:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        r, self.buf = self.buf[:k], self.buf[k:]
        return r


def mp_enc(o):
    if isinstance(o, dict):
        return bytes([0x80 | len(o)]) + b"".join(mp_enc(k) + mp_enc(v) for k, v in o.items())
    if isinstance(o, str):
        b = o.encode()
        return (bytes([0xA0 | len(b)]) if len(b) < 32 else b"\xd9" + bytes([len(b)])) + b
    if isinstance(o, int):
        return bytes([o]) if 0 <= o < 128 else b"\xcf" + struct.pack(">Q", o)
    raise TypeError(o)


def mp_dec(r):
    b = r.read(1)[0]
    if b <= 0x7F: return b
    if b >= 0xE0: return b - 0x100
    if 0x80 <= b <= 0x8F: return {mp_dec(r): mp_dec(r) for _ in range(b & 0x0F)}
    if 0x90 <= b <= 0x9F: return [mp_dec(r) for _ in range(b & 0x0F)]
    if 0xA0 <= b <= 0xBF: return r.read(b & 0x1F).decode("utf-8", "replace")
    if b == 0xC0: return None
    if b in (0xC2, 0xC3): return b == 0xC3
    if b in (0xC4, 0xC5, 0xC6, 0xD9, 0xDA, 0xDB):
        w = {0xC4: 1, 0xC5: 2, 0xC6: 4, 0xD9: 1, 0xDA: 2, 0xDB: 4}[b]
        raw = r.read(int.from_bytes(r.read(w), "big"))
        return raw if b <= 0xC6 else raw.decode("utf-8", "replace")
    if b == 0xCA: return struct.unpack(">f", r.read(4))[0]
    if b == 0xCB: return struct.unpack(">d", r.read(8))[0]
    if 0xCC <= b <= 0xCF: return int.from_bytes(r.read(1 << (b - 0xCC)), "big")
    if 0xD0 <= b <= 0xD3: return int.from_bytes(r.read(1 << (b - 0xD0)), "big", signed=True)
    if b in (0xDC, 0xDD): return [mp_dec(r) for _ in range(int.from_bytes(r.read(2 if b == 0xDC else 4), "big"))]
    if b in (0xDE, 0xDF):
        k = int.from_bytes(r.read(2 if b == 0xDE else 4), "big")
        return {mp_dec(r): mp_dec(r) for _ in range(k)}
    if 0xD4 <= b <= 0xD8:  # fixext
        r.read(1 + (1 << (b - 0xD4))); return None
    if b in (0xC7, 0xC8, 0xC9):
        k = int.from_bytes(r.read({0xC7: 1, 0xC8: 2, 0xC9: 4}[b]), "big"); r.read(1 + k); return None
    raise ValueError("msgpack byte 0x%02x" % b)


conns = {}  # serf: host -> [sock, reader, seq]


def serf_conn(i, nspath):
    c = conns.get(i)
    if c: return c
    fd = os.open(nspath, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0: raise OSError(ctypes.get_errno(), "setns")
        # setns applies to the calling thread only; the socket stays in that namespace for good
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    finally:
        libc.setns(own_ns, CLONE_NEWNET)
        os.close(fd)
    s.settimeout(5)
    try:
        s.connect(("127.0.0.1", 7373))
        r = Reader(s)
        s.sendall(mp_enc({"Command": "handshake", "Seq": 0}) + mp_enc({"Version": 1}))
        h = mp_dec(r)
        if h.get("Error"): raise OSError(h["Error"])
    except Exception:
        s.close(); raise
    conns[i] = c = [s, r, 1]
    return c


def members(i, target):
    """[(name, state)] as host i sees it"""
    if system == "swarm":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2)
        try:
            s.connect(target); s.sendall(b"members\n")
            data = b""
            while True:
                d = s.recv(65536)
                if not d: break
                data += d
        finally:
            s.close()
        return [(m["name"], m["state"], m["role"]) for m in json.loads(data)]
    c = serf_conn(i, target)
    try:
        seq = c[2]; c[2] += 1
        c[0].sendall(mp_enc({"Command": "members", "Seq": seq}))
        h = mp_dec(c[1])
        if h.get("Error"): raise OSError(h["Error"])
        body = mp_dec(c[1])
        return [(m["Name"], m["Status"], "") for m in body["Members"]]
    except Exception:
        c[0].close(); conns.pop(i, None); raise


def ok(i, target):
    """0: not yet; 1: the condition holds; 2 (swarm conv): and every member lists a role
    (its engine metadata has arrived)"""
    if check == "rpc":
        if system == "serf": serf_conn(i, target)
        else: members(i, target)
        return 1
    ms = members(i, target)
    if check == "conv":
        alive = [r for _, st, r in ms if st == "alive"]
        if len(alive) != n: return 0
        return 2 if system == "swarm" and all(r == "agent" for r in alive) else 1
    return 1 if any(nm == "h" + victim and st == "failed" for nm, st, _ in ms) else 0


def host_loop(i, target):
    """one thread per host (like one poller per host): a slow host never delays another. swarm
    conv: once all are alive, it goes on polling until they all carry metadata too (meta_done)"""
    go.wait()
    want = 2 if system == "swarm" and check == "conv" else 1
    while now_us() < deadline_us[0]:
        tick = time.monotonic()
        if i not in done: polls[i] += 1
        try:
            good = ok(i, target)
        except Exception:
            good = 0
        if good >= 1 and i not in done:
            done[i] = now_us()
        if good >= want:
            meta_done[i] = now_us()
            return
        time.sleep(max(0.0, interval - (time.monotonic() - tick)))


if system == "serf" and check != "rpc":
    for i, target in hosts:
        try:
            serf_conn(i, target)
        except Exception:
            pass
polls = {i: 0 for i, _ in hosts}
done = {}
meta_done = {}
deadline_us = [0]
go = threading.Event()
threads = [threading.Thread(target=host_loop, args=h, daemon=True) for h in hosts]
for t in threads:
    t.start()
open(ready, "w").close()
with open(gate) as g:
    fcntl.flock(g, fcntl.LOCK_SH)
deadline_us[0] = now_us() + int(timeout * 1e6)
go.set()
for t in threads:
    t.join()
for i, _ in hosts:
    print(i, done.get(i, "timeout"), polls[i], meta_done.get(i, "timeout"))
PY
}

main() {
    if [[ $(id -u) != 0 ]]; then echo "SKIP: needs root (network namespaces, dockerd)"; exit 77; fi
    if [[ ! -x $SERF ]]; then echo "SKIP: serf not installed (apt-get install serf)"; exit 77; fi
    if [[ ! -x $SWARM ]]; then echo "SKIP: $SWARM not built (cmake -S . -B build && cmake --build build)"; exit 77; fi
    if [[ $POLL_METHOD == rpc ]] && ! command -v python3 >/dev/null; then echo "SKIP: --poll rpc needs python3"; exit 77; fi
    mkdir -p "$OUT"
    WORK=$(mktemp -d /tmp/gossip_lab.XXXXXX)
    CSV_ALL=$WORK/all.csv
    : >"$CSV_ALL"
    export GL_POLLER_PY=$WORK/poller.py
    write_poller "$GL_POLLER_PY"
    # A private copy of the binary: others may rebuild build/ while this runs.
    SWARM_ORIG=$SWARM
    cp -p "$SWARM" "$WORK/swarm"
    SWARM=$WORK/swarm
    local child="" rc=0 n
    # A child per N (one lab per shell); forward TERM/INT/HUP so it tears its lab down.
    trap 'if [[ -n $child ]]; then kill -TERM "$child" 2>/dev/null || true; wait "$child" || true; fi
          rm -rf "$WORK"; exit 143' TERM INT HUP
    LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
    say "swarm $SWARM vs $("$SERF" version | head -n 1); N = $HOSTS; $REPS rep(s); idle ${IDLE}s"
    for n in $HOSTS; do
        local flags=(--reps "$REPS" --idle "$IDLE" --settle "$SETTLE" --swarm "$SWARM" --poll "$POLL_METHOD")
        [[ -z $KEEP ]] || flags+=(--keep "$KEEP")
        ((DISCOVER)) || flags+=(--no-discover)
        [[ -z $ONLY ]] || flags+=(--only "$ONLY")
        ((CONV_ONLY == 0)) || flags+=(--conv-only)
        bash "${BASH_SOURCE[0]}" "${flags[@]}" --one "$n" "$CSV_ALL" &
        child=$!
        wait "$child" || rc=$?
        child=""
        if ((rc == 77)); then rm -rf "$WORK"; exit 77; fi
        if ((rc != 0)); then say "N=$n failed (exit $rc)"; break; fi
    done
    {
        echo "date,n,rep,system,metric,value,unit"
        cat "$CSV_ALL"
    } >"$OUT/$BASE.csv"
    write_report
    rm -rf "$WORK"
    cat "$OUT/$BASE.md"
    return $rc
}

if [[ $MODE == one ]]; then one_n; else main; fi
