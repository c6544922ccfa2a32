#!/usr/bin/env bash
# tests/lab/lab.sh — a throw-away lab of real Docker engines on one machine.
#
# Each lab "host" is a network namespace with its own dockerd 20.10 (and the containerd that dockerd
# starts under its exec-root). The hosts share one Linux bridge in the root namespace and a private
# /24 picked for the run; there is no default route inside the namespaces, so nothing leaves the
# machine. Needs root; without root, iproute2 netns support, dockerd, the docker CLI, nsenter, curl,
# iptables or a static busybox, `up` prints "SKIP: <reason>" and exits 77 (ctest's skip code).
#
# COMMAND USE
#   lab.sh up N                   start N hosts (1..16); prints the state dir and a status table
#   lab.sh down [DIR]             tear a lab down (idempotent; also after a half-failed up)
#   lab.sh status                 table: host, namespace, ip, dockerd pid, process state, /_ping
#   lab.sh env                    print the env file (see STATE below)
#   lab.sh exec I CMD...          run CMD inside host I's network and UTS namespaces (nsenter)
#   lab.sh docker I ARGS...       run the docker CLI against host I's engine
#   lab.sh ip I                   print host I's address
#   lab.sh spawn I LOG CMD...     start CMD in the background inside host I, output to LOG;
#                                 records and prints its pid (torn down with the lab)
#   lab.sh kill I | kill -p PID   SIGKILL host I's dockerd (its containers live on), or any pid
#   lab.sh stop I | stop -p PID   SIGSTOP host I's dockerd, or any pid
#   lab.sh cont I | cont -p PID   SIGCONT host I's dockerd, or any pid
#   lab.sh start I                (re)start host I's dockerd after a kill; waits for /_ping
#   lab.sh loss I PCT             drop PCT% (0..100) of UDP arriving in host I; `loss I 0` removes
#   lab.sh partition "1 2" "3"    drop all traffic between the two host sets, both directions
#   lab.sh heal                   remove every partition and loss rule
#   lab.sh registry I             run Debian's docker-registry in host I on LAB_IP_I:5000
#   lab.sh check-clean PREFIX [DIR [PIDSFILE]]
#                                 exit 0 only if nothing of that lab is left (DIR defaults to
#                                 /tmp/PREFIX; PIDSFILE: a copy of the lab's `pids` file taken
#                                 before `down`, to check those processes too)
#   Commands other than up/down/check-clean find the lab through $LAB_DIR, else /tmp/$LAB_PREFIX,
#   else the only lab state dir under /tmp. `up` prints the `export LAB_DIR=...` line to use.
#
# LIBRARY USE (bash; one lab per shell — use a child bash for a second one)
#   source tests/lab/lab.sh
#   lab_trap_cleanup              # tear the lab down on EXIT, INT, TERM and HUP
#   lab_up 3 || exit $?           # returns 77 (after printing SKIP: ...) when it cannot run here
#   lab_docker 1 run --rm busybox:local echo hi
#   Functions: lab_up N, lab_down [DIR], lab_load [DIR], lab_status, lab_exec I CMD...,
#   lab_docker I ARGS..., lab_ip I, lab_ns I, lab_sock I, lab_dockerd_pid I, lab_ping I,
#   lab_spawn I LOG CMD... (pid in LAB_SPAWNED_PID), lab_kill I, lab_kill_pid PID,
#   lab_cpu_ticks PID (its utime + stime in clock ticks, 0 once it is gone),
#   lab_freeze PID, lab_thaw PID, lab_stop I, lab_cont I, lab_start I, lab_loss I PCT,
#   lab_partition "A" "B", lab_heal, lab_registry I, lab_check_clean PREFIX [DIR [PIDSFILE]],
#   lab_trap_cleanup. Set LAB_CLEANUP_HOOK=funcname to have the trap call it before teardown.
#   After lab_down, LAB_DOWN_PIDS holds the pid list it tore down (lab_check_clean uses it).
#
# INPUT ENV
#   LAB_PREFIX          run prefix (default sw + 4 random hex digits); [a-z][a-z0-9]{1,10},
#                       names are PREFIX-h1.., PREFIX-br, PREFIX-v1.. (interface names <= 15 chars)
#   LAB_DIR             state dir (default /tmp/PREFIX; keep it short: unix socket paths <= 107)
#   LAB_ENGINE_TIMEOUT  seconds to wait for each engine's /_ping (default 60)
#   LAB_STOP_TIMEOUT    seconds `down` waits after SIGTERM before SIGKILL (default 10)
#   LAB_KEEP_ON_FAIL=1  leave a failed `up` in place for debugging (default: tear it down)
#
# STATE (in the state dir)
#   env       shell-sourceable: LAB_PREFIX LAB_DIR LAB_N LAB_BRIDGE LAB_SUBNET LAB_GATEWAY (the
#             bridge's .254), and per host i: LAB_NS_i LAB_IP_i LAB_HOSTNAME_i (hI) LAB_DOCKER_i
#             (socket path) LAB_DOCKER_HOST_i (unix://...) LAB_DOCKERD_PID_i, plus
#             LAB_REGISTRY_i (ip:5000) and LAB_REGISTRY_PID_i once `registry i` ran
#   pids      "PID STARTTIME LABEL" for every process the lab started (STARTTIME from
#             /proc/PID/stat, so a reused pid is never mistaken for ours)
#   iptables  root-namespace rules added ("CHAIN match... -j TARGET"), deleted by `down`
#   netns, links  names created;  hI/  per host: uts (its UTS namespace, hostname hI), and
#             dockerd's root exec docker.sock pid dockerd.log daemon.json key.json
#
# FACTS (checked on Debian 12, dockerd 20.10.24, kernel 6.x)
#   - `nsenter --net=/var/run/netns/NS dockerd ... &` records dockerd's own pid (nsenter execs it;
#     lab__bg's subshell execs too, after closing inherited fds);
#     `ip netns exec` would remount /sys and dockerd dies ("Devices cgroup isn't mounted").
#   - Only network and UTS namespaces are entered: dockerd's mounts (it bind-mounts its data-root
#     onto itself, and may mount exec-root/netns/default) are in the root mount namespace and
#     outlive a SIGKILL; `down` unmounts everything under the state dir.
#   - Without a UTS namespace every engine reports the machine's hostname as its Name (`docker
#     info`); each host gets one (bind-mounted on DIR/hI/uts) with hostname hI.
#   - Each dockerd starts its own containerd (exec-root/containerd); several run side by side.
#     A SIGKILLed dockerd takes its containerd along, but containerd-shim-runc-v2 and the
#     containers live on, so `down` kills container cgroups, shims, and everything in the lab's
#     namespaces, and removes leftover /run/containerd/s/<sha256> sockets and cgroup dirs.
#   - dockerd 20.10 keeps its identity key in /etc/docker/key.json by default, shared by all the
#     engines, which would give every engine the same `docker info` ID; each engine gets its own
#     --config-file (so /etc/docker/daemon.json cannot interfere either) holding
#     {"deprecated-key-path": "DIR/hI/key.json"} (a daemon.json key; there is no such flag).
#   - With --bridge=none, `docker run` needs no network flag: the default network gives the
#     container only `lo` (same as --network none). `--network host` shares the lab host's eth0.
#   - Engines get --insecure-registry LAB_SUBNET, so `lab.sh registry I` works for pulls.
#   - Engines started by `lab.sh up` (command use) are orphans; where pid 1 reaps late or never
#     (as on these VMs), a torn-down dockerd stays a zombie for a while, and so do the containerd
#     of a SIGKILLed dockerd and exited containerd-shims. Zombies
#     count as gone. A zombie containerd named in exec-root/containerd/containerd.pid makes a
#     restarted dockerd wait for it and fail ("timeout waiting for containerd to start"), so
#     `start I` removes stale pidfiles first.
#   - A dockerd restarted after SIGKILL (no live-restore) stops the containers that survived it,
#     waiting their stop timeout (10 s unless `docker run --stop-timeout N`).

# ---------------------------------------------------------------------------------------------
# small helpers

LAB_SH_PATH=$(readlink -f "${BASH_SOURCE[0]}")
LAB_IMAGE=busybox:local
LAB_BUSYBOX_LINKS="sh ls echo sleep cat httpd wget nc ip ifconfig hostname env true false ping ps
    kill mkdir rm grep sed head tail wc touch date id printf test [ uname timeout netstat nslookup
    tee cut sort seq mount umount top"
LAB_LOCK=/run/lock/swarm-lab.lock

lab__say() { printf 'lab: %s\n' "$*" >&2; }
lab__err() { printf 'lab: ERROR: %s\n' "$*" >&2; }

# Prints "STATE STARTTIME" of a pid, or nothing if it does not exist.
lab__procstat() {
    local line rest
    line=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $line ]] || return 1
    rest=${line##*) }
    local -a f
    read -r -a f <<<"$rest"
    printf '%s %s\n' "${f[0]}" "${f[19]}"
}

# True if pid $1 is alive (not a zombie) and, when given, has start time $2.
lab__alive() {
    local st
    [[ $1 =~ ^[0-9]+$ ]] || return 1
    st=$(lab__procstat "$1") || return 1
    [[ -n $st && ${st%% *} != Z && ${st%% *} != X ]] || return 1
    if [[ -n ${2:-} && ${st#* } != "$2" ]]; then return 1; fi
    return 0
}

lab__starttime() {
    local st
    st=$(lab__procstat "$1") || return 1
    printf '%s\n' "${st#* }"
}

# Validates a run prefix: no dash, so "PREFIX-..." names map back to one prefix.
lab__valid_prefix() { [[ ${1:-} =~ ^[a-z][a-z0-9]{1,10}$ ]]; }

# Absolute, no whitespace, not /, at least two components.
lab__valid_dir() { [[ ${1:-} =~ ^/[^[:space:]]+/[^[:space:]]+$ ]]; }

lab__is_int() { [[ ${1:-} =~ ^[0-9]+$ ]]; }

# ---------------------------------------------------------------------------------------------
# requirements

lab__busybox_path() {
    local b
    for b in /bin/busybox /usr/bin/busybox; do
        if [[ -x $b ]]; then printf '%s\n' "$b"; return 0; fi
    done
    return 1
}

# Prints "SKIP: reason" on stdout and returns 77 when the lab cannot run here.
lab__check_requirements() {
    local c bb
    if [[ $(id -u) != 0 ]]; then echo "SKIP: lab needs root (network namespaces, dockerd)"; return 77; fi
    for c in ip nsenter unshare dockerd docker curl iptables flock ps awk tar sha256sum; do
        if ! command -v "$c" >/dev/null 2>&1; then echo "SKIP: '$c' is not installed"; return 77; fi
    done
    if ! ip netns list >/dev/null 2>&1; then echo "SKIP: 'ip netns' does not work here"; return 77; fi
    if [[ ! -e /proc/self/ns/net ]]; then echo "SKIP: no network namespaces in this kernel"; return 77; fi
    if ! bb=$(lab__busybox_path); then echo "SKIP: busybox not found (install busybox-static)"; return 77; fi
    if ldd "$bb" >/dev/null 2>&1; then
        echo "SKIP: $bb is dynamically linked (install busybox-static)"; return 77
    fi
    return 0
}

# ---------------------------------------------------------------------------------------------
# state: loading, saving, recording

lab__env_get() { # FILE VAR -> value (without sourcing into the caller)
    (
        # shellcheck disable=SC1090
        source "$1" >/dev/null 2>&1 || exit 0
        printf '%s\n' "${!2:-}"
    )
}

# Finds the lab dir for commands other than up/down.
lab__resolve_dir() {
    if [[ -n ${LAB_DIR:-} ]]; then printf '%s\n' "${LAB_DIR%/}"; return 0; fi
    if [[ -n ${LAB_PREFIX:-} ]]; then printf '/tmp/%s\n' "$LAB_PREFIX"; return 0; fi
    local -a found=()
    local m
    for m in /tmp/*/.lab; do
        if [[ -f $m ]]; then found+=("${m%/.lab}"); fi
    done
    if ((${#found[@]} == 1)); then printf '%s\n' "${found[0]}"; return 0; fi
    if ((${#found[@]} == 0)); then
        lab__err "no lab found: set LAB_DIR (or LAB_PREFIX), or run 'up' first"
    else
        lab__err "several labs under /tmp (${found[*]}): set LAB_DIR"
    fi
    return 1
}

# lab_load [DIR]: loads a lab's env file into this shell.
lab_load() {
    local dir
    if [[ -n ${1:-} ]]; then dir=${1%/}; else dir=$(lab__resolve_dir) || return 1; fi
    if [[ ! -f $dir/env ]]; then lab__err "no lab env file at $dir/env"; return 1; fi
    # shellcheck disable=SC1091
    source "$dir/env" || return 1
}

lab__ensure_loaded() {
    if [[ -n ${LAB_DIR:-} && -n ${LAB_N:-} && -n ${LAB_NS_1:-} ]]; then return 0; fi
    lab_load
}

lab__save_env() {
    local f=$LAB_DIR/env i v base
    {
        printf '# swarm lab state (tests/lab/lab.sh); source this file\n'
        for v in LAB_PREFIX LAB_DIR LAB_N LAB_BRIDGE LAB_SUBNET LAB_GATEWAY; do
            printf '%s=%q\n' "$v" "${!v:-}"
        done
        for ((i = 1; i <= ${LAB_N:-0}; i++)); do
            for base in NS IP HOSTNAME DOCKER DOCKER_HOST DOCKERD_PID REGISTRY REGISTRY_PID; do
                v=LAB_${base}_$i
                if [[ -n ${!v:-} ]]; then printf '%s=%q\n' "$v" "${!v}"; fi
            done
        done
    } >"$f.tmp" && mv -f "$f.tmp" "$f"
}

lab__record() { # KIND LINE...
    printf '%s\n' "${*:2}" >>"$LAB_DIR/$1"
}

lab__record_pid() { # PID LABEL
    local st
    st=$(lab__starttime "$1") || st=0
    lab__record pids "$1" "$st" "$2"
}

# Starts CMD in the background, its output appended to LOG, and sets LAB__BG_PID to its pid.
# The subshell closes every inherited fd above 2 (a caller's pipes, say `./demo up | tail`, would
# otherwise stay open in dockerd and hang the reader) and then execs CMD, so $! is CMD's own pid
# (and nsenter execs too). The job is disowned: no "Killed" notices when a test SIGKILLs it.
lab__bg() { # LOG CMD...
    local log=$1
    shift
    (
        for fd in /proc/$BASHPID/fd/*; do
            fd=${fd##*/}
            if [[ $fd =~ ^[0-9]+$ ]] && ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
        done
        exec "$@" </dev/null >>"$log" 2>&1
    ) &
    LAB__BG_PID=$!
    disown "$LAB__BG_PID" 2>/dev/null || true
}

# Host index check; sets nothing, prints an error.
lab__host() {
    lab__ensure_loaded || return 1
    if ! lab__is_int "${1:-}" || (($1 < 1 || $1 > LAB_N)); then
        lab__err "host '${1:-}' is not in 1..$LAB_N"
        return 1
    fi
}

lab__var() { local v="LAB_$1_$2"; printf '%s\n' "${!v:-}"; }

lab_ns() { lab__host "${1:-}" || return 1; lab__var NS "$1"; }
lab_ip() { lab__host "${1:-}" || return 1; lab__var IP "$1"; }
lab_cpu_ticks() { # PID: utime + stime in clock ticks (0 if the process is gone)
    local line
    line=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
    line=${line##*) }
    local -a f
    read -r -a f <<<"$line"
    echo $((f[11] + f[12]))
}
lab_sock() { lab__host "${1:-}" || return 1; lab__var DOCKER "$1"; }
lab_dockerd_pid() { lab__host "${1:-}" || return 1; lab__var DOCKERD_PID "$1"; }

# nsenter options entering host I: its network namespace and its UTS namespace (hostname).
lab__nsenter_opts() { # I
    printf '%s\n' "--net=/var/run/netns/$(lab__var NS "$1")"
    if [[ -e $LAB_DIR/h$1/uts ]]; then printf '%s\n' "--uts=$LAB_DIR/h$1/uts"; fi
}

# ---------------------------------------------------------------------------------------------
# network: subnet choice, bridge, namespaces

lab__ip2int() {
    local a b c d
    IFS=. read -r a b c d <<<"$1"
    printf '%s\n' $(((a << 24) | (b << 16) | (c << 8) | d))
}

lab__cidr_overlaps() { # CIDR CIDR
    local a=${1%/*} b=${2%/*} al=32 bl=32 l mask
    if [[ $1 == */* ]]; then al=${1#*/}; fi
    if [[ $2 == */* ]]; then bl=${2#*/}; fi
    l=$((al < bl ? al : bl))
    mask=$((l == 0 ? 0 : (0xFFFFFFFF << (32 - l)) & 0xFFFFFFFF))
    (($(($(lab__ip2int "$a") & mask)) == $(($(lab__ip2int "$b") & mask))))
}

lab__used_cidrs() {
    ip -4 -o addr show 2>/dev/null | awk '{print $4}'
    ip -4 route show table all 2>/dev/null | awk '
        { d = $1
          if (d ~ /^(broadcast|local|unicast|multicast|anycast|blackhole|unreachable|prohibit|throw|nat)$/) d = $2
          if (d != "default" && d ~ /^[0-9]/) print d }'
}

# Picks a free 10.A.B.0/24 from a hash of the prefix; call with the lab lock held.
lab__pick_subnet() {
    local k h a b cand used u clash
    used=$(lab__used_cidrs)
    for ((k = 0; k < 64; k++)); do
        h=$(printf '%s#%d' "$LAB_PREFIX" "$k" | cksum | awk '{print $1}')
        a=$((64 + h % 128))
        b=$(((h / 128) % 256))
        cand=10.$a.$b.0/24
        clash=0
        for u in $used; do
            if lab__cidr_overlaps "$cand" "$u"; then clash=1; break; fi
        done
        if ((clash == 0)); then printf '10.%s.%s\n' "$a" "$b"; return 0; fi
    done
    lab__err "no free 10.x.y.0/24 found for prefix $LAB_PREFIX"
    return 1
}

lab__make_bridge() {
    local net fd
    mkdir -p "${LAB_LOCK%/*}"
    exec {fd}>"$LAB_LOCK" || return 1
    if ! flock -w 60 "$fd"; then lab__err "could not take $LAB_LOCK"; exec {fd}>&-; return 1; fi
    if ! net=$(lab__pick_subnet); then exec {fd}>&-; return 1; fi
    LAB_SUBNET=$net.0/24
    LAB_GATEWAY=$net.254
    if ! ip link add "$LAB_BRIDGE" type bridge; then
        lab__err "cannot create bridge $LAB_BRIDGE"; exec {fd}>&-; return 1
    fi
    lab__record links "$LAB_BRIDGE"
    ip addr add "$LAB_GATEWAY/24" dev "$LAB_BRIDGE" && ip link set "$LAB_BRIDGE" up
    local rc=$?
    exec {fd}>&- # releases the lock: the subnet now shows in `ip route`
    if ((rc != 0)); then lab__err "cannot configure bridge $LAB_BRIDGE"; return 1; fi
    # Bridged frames go through the root FORWARD chain when br_netfilter is loaded, and its policy
    # is DROP once any dockerd ran with iptables on: accept our own bridge's traffic.
    local rule="FORWARD -i $LAB_BRIDGE -o $LAB_BRIDGE -j ACCEPT"
    # shellcheck disable=SC2086
    if ! iptables -w 10 -I $rule; then lab__err "cannot add iptables rule: $rule"; return 1; fi
    lab__record iptables "$rule"
}

lab__make_host_net() { # I
    local i=$1 ns=$LAB_PREFIX-h$1 veth=$LAB_PREFIX-v$1 ip=${LAB_SUBNET%.0/24}.$1
    if ! ip netns add "$ns"; then lab__err "cannot create namespace $ns"; return 1; fi
    lab__record netns "$ns"
    if ! ip link add "$veth" type veth peer name eth0 netns "$ns"; then
        lab__err "cannot create veth $veth"; return 1
    fi
    lab__record links "$veth"
    ip link set "$veth" master "$LAB_BRIDGE" up &&
        ip -n "$ns" addr add "$ip/24" dev eth0 &&
        ip -n "$ns" link set eth0 up &&
        ip -n "$ns" link set lo up &&
        ip -n "$ns" route add 224.0.0.0/4 dev eth0 ||
        { lab__err "cannot configure $ns"; return 1; }
    # A UTS namespace per host, kept by a bind mount on hI/uts: engines report hostname hI (docker
    # info Name), not all the machine's name.
    mkdir -p "$LAB_DIR/h$i" && : >"$LAB_DIR/h$i/uts" &&
        unshare --uts="$LAB_DIR/h$i/uts" hostname "h$i" ||
        { lab__err "cannot create the UTS namespace of host $i"; return 1; }
    printf -v "LAB_HOSTNAME_$i" '%s' "h$i"
    printf -v "LAB_NS_$i" '%s' "$ns"
    printf -v "LAB_IP_$i" '%s' "$ip"
    printf -v "LAB_DOCKER_$i" '%s' "$LAB_DIR/h$i/docker.sock"
    printf -v "LAB_DOCKER_HOST_$i" '%s' "unix://$LAB_DIR/h$i/docker.sock"
}

# ---------------------------------------------------------------------------------------------
# engines

lab__dockerd_args() { # I
    local d=$LAB_DIR/h$1
    printf '%s\n' --config-file "$d/daemon.json" --data-root "$d/root" --exec-root "$d/exec" \
        -H "unix://$d/docker.sock" --pidfile "$d/pid" \
        --storage-driver vfs --iptables=false --bridge=none --insecure-registry "$LAB_SUBNET"
}

# Starts host I's dockerd in the background (does not wait).
lab__start_engine() { # I
    local i=$1 d=$LAB_DIR/h$1 pid old
    mkdir -p "$d/root" "$d/exec" || return 1
    # Own config file (ignore /etc/docker/daemon.json) and own identity key: by default every
    # dockerd 20.10 uses /etc/docker/key.json, so all engines would report the same ID.
    if [[ ! -f $d/daemon.json ]]; then
        printf '{\n  "deprecated-key-path": "%s"\n}\n' "$d/key.json" >"$d/daemon.json"
    fi
    # dockerd refuses a pidfile naming a pid that exists, and a reaped-late zombie still exists.
    if [[ -f $d/pid ]]; then
        old=$(cat "$d/pid" 2>/dev/null) || old=
        if lab__is_int "$old" && lab__alive "$old"; then
            lab__err "dockerd of h$i still runs (pid $old)"; return 1
        fi
        rm -f "$d/pid"
    fi
    # Same for containerd's pidfile: after a SIGKILL, the old containerd can linger as a zombie
    # (pid 1 here reaps orphans late), dockerd takes it for alive and times out connecting to it.
    old=$(cat "$d/exec/containerd/containerd.pid" 2>/dev/null) || old=
    if [[ -n $old ]] && ! lab__alive "$old"; then rm -f "$d/exec/containerd/containerd.pid"; fi
    local -a args nso
    mapfile -t args < <(lab__dockerd_args "$i")
    mapfile -t nso < <(lab__nsenter_opts "$i")
    printf '\n==== lab: dockerd start %s\n' "$(date '+%F %T')" >>"$d/dockerd.log"
    lab__bg "$d/dockerd.log" nsenter "${nso[@]}" -- dockerd "${args[@]}"
    pid=$LAB__BG_PID
    lab__record_pid "$pid" "dockerd-h$i"
    printf -v "LAB_DOCKERD_PID_$i" '%s' "$pid"
}

# lab_ping I: true if host I's engine answers /_ping.
lab_ping() {
    local sock
    sock=$(lab_sock "${1:-}") || return 1
    [[ -S $sock ]] || return 1
    [[ $(curl -s --max-time 3 --unix-socket "$sock" http://lab/_ping 2>/dev/null) == OK ]]
}

lab__log_tail() { # I
    local log=$LAB_DIR/h$1/dockerd.log
    printf -- '---- last lines of %s\n' "$log" >&2
    tail -n 25 "$log" >&2 2>/dev/null || true
    printf -- '----\n' >&2
}

# Waits (in parallel) for the engines of the given hosts; fails early if a dockerd dies.
lab__wait_engines() { # I...
    local timeout=${LAB_ENGINE_TIMEOUT:-60} i pid filepid
    local deadline=$((SECONDS + timeout))
    local -a pending=("$@") still
    while ((${#pending[@]} > 0)); do
        still=()
        for i in "${pending[@]}"; do
            if lab_ping "$i"; then continue; fi
            pid=$(lab__var DOCKERD_PID "$i")
            if ! lab__alive "$pid"; then
                lab__err "dockerd of host $i (pid $pid) exited before answering /_ping"
                lab__log_tail "$i"
                return 1
            fi
            still+=("$i")
        done
        pending=("${still[@]}")
        if ((${#pending[@]} == 0)); then break; fi
        if ((SECONDS >= deadline)); then
            for i in "${pending[@]}"; do
                lab__err "dockerd of host $i did not answer /_ping within ${timeout}s"
                lab__log_tail "$i"
            done
            return 1
        fi
        sleep 0.2
    done
    # The pidfile is dockerd's own word; prefer it if it differs from $! (it should not).
    for i in "$@"; do
        filepid=$(cat "$LAB_DIR/h$i/pid" 2>/dev/null) || filepid=
        pid=$(lab__var DOCKERD_PID "$i")
        if lab__is_int "$filepid" && [[ $filepid != "$pid" ]]; then
            lab__say "host $i: dockerd pidfile says $filepid, \$! was $pid; using $filepid"
            lab__record_pid "$filepid" "dockerd-h$i"
            printf -v "LAB_DOCKERD_PID_$i" '%s' "$filepid"
        fi
    done
}

lab__build_image_tar() {
    local r=$LAB_DIR/rootfs bb l
    bb=$(lab__busybox_path) || return 1
    mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/root" "$r/var/www" || return 1
    cp "$bb" "$r/bin/busybox" || return 1
    for l in $LAB_BUSYBOX_LINKS; do ln -sf busybox "$r/bin/$l"; done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$r/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
    chmod 1777 "$r/tmp"
    tar --numeric-owner --owner=0 --group=0 -C "$r" -cf "$LAB_DIR/busybox.tar" . || return 1
}

lab__import_one() { # I  (runs in a background subshell; output goes to hI/import.log)
    local sock out
    sock=$(lab__var DOCKER "$1")
    docker -H "unix://$sock" import -c 'CMD ["sh"]' "$LAB_DIR/busybox.tar" "$LAB_IMAGE" || return 1
    out=$(docker -H "unix://$sock" run --rm "$LAB_IMAGE" /bin/echo hi) || return 1
    if [[ $out != hi ]]; then echo "docker run printed '$out', not 'hi'"; return 1; fi
}

lab__import_images() { # I...
    local i rc=0
    local -A ijobs=()
    for i in "$@"; do
        lab__import_one "$i" >"$LAB_DIR/h$i/import.log" 2>&1 &
        ijobs[$i]=$!
    done
    for i in "$@"; do
        if ! wait "${ijobs[$i]}"; then
            lab__err "importing $LAB_IMAGE into host $i failed:"
            sed 's/^/    /' "$LAB_DIR/h$i/import.log" >&2 || true
            rc=1
        fi
    done
    return $rc
}

# ---------------------------------------------------------------------------------------------
# up

lab__new_prefix() {
    printf 'sw%s\n' "$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')"
}

lab__prefix_in_use() { # PREFIX DIR
    [[ -e $2 ]] && return 0
    [[ -e /var/run/netns/$1-h1 ]] && return 0
    ip link show "$1-br" >/dev/null 2>&1 && return 0
    return 1
}

# Chooses prefix and dir, creates the state dir (owned from then on), writes a first env file.
lab__init_state() { # N
    local tries given_prefix=${LAB_PREFIX:-} given_dir=${LAB_DIR:-}
    if [[ -n $given_prefix ]] && ! lab__valid_prefix "$given_prefix"; then
        lab__err "LAB_PREFIX '$given_prefix' must match [a-z][a-z0-9]{1,10}"; return 1
    fi
    for ((tries = 0; tries < 20; tries++)); do
        LAB_PREFIX=${given_prefix:-$(lab__new_prefix)}
        LAB_DIR=${given_dir:-/tmp/$LAB_PREFIX}
        LAB_DIR=${LAB_DIR%/}
        if ! lab__prefix_in_use "$LAB_PREFIX" "$LAB_DIR"; then break; fi
        if [[ -n $given_prefix || -n $given_dir ]]; then
            lab__err "a lab (or its state dir) already exists for prefix $LAB_PREFIX / $LAB_DIR;" \
                "run: $LAB_SH_PATH down $LAB_DIR"
            return 1
        fi
    done
    if ! lab__valid_dir "$LAB_DIR"; then
        lab__err "LAB_DIR '$LAB_DIR' must be an absolute path without spaces, not /"; return 1
    fi
    local longest="$LAB_DIR/h16/exec/containerd/containerd.sock.ttrpc"
    if ((${#longest} > 100)); then
        lab__err "LAB_DIR '$LAB_DIR' is too long: unix socket paths like $longest exceed 100 bytes"
        return 1
    fi
    mkdir -p "${LAB_DIR%/*}" || return 1
    if ! mkdir -m 0755 "$LAB_DIR" 2>/dev/null; then
        lab__err "cannot create state dir $LAB_DIR (exists already?)"; return 1
    fi
    LAB__OWNED=1
    printf 'swarm lab state dir; remove with: %s down %s\n' "$LAB_SH_PATH" "$LAB_DIR" >"$LAB_DIR/.lab"
    : >"$LAB_DIR/pids"
    LAB_N=$1
    LAB_BRIDGE=$LAB_PREFIX-br
    LAB_SUBNET=
    LAB_GATEWAY=
    lab__save_env
}

lab__up_failed() {
    if [[ ${LAB_KEEP_ON_FAIL:-0} == 1 ]]; then
        lab__err "up failed; LAB_KEEP_ON_FAIL=1, leaving $LAB_DIR for inspection"
    elif [[ ${LAB__OWNED:-0} == 1 ]]; then
        lab__err "up failed; tearing down what was made"
        lab_down "$LAB_DIR" || true
    fi
    return 1
}

# lab_up N: builds the lab. Returns 0, 77 (cannot run here, SKIP printed) or 1.
lab_up() {
    local n=${1:-} i t0=$SECONDS rc
    if ! lab__is_int "$n" || ((n < 1 || n > 16)); then lab__err "up: N must be 1..16"; return 2; fi
    lab__check_requirements || { rc=$?; return "$rc"; }
    LAB__OWNED=0
    lab__init_state "$n" || return 1
    lab__say "up: $n host(s), prefix $LAB_PREFIX, state dir $LAB_DIR"
    lab__make_bridge || { lab__up_failed; return 1; }
    for ((i = 1; i <= n; i++)); do
        lab__make_host_net "$i" || { lab__up_failed; return 1; }
    done
    lab__save_env
    for ((i = 1; i <= n; i++)); do
        lab__start_engine "$i" || { lab__up_failed; return 1; }
    done
    lab__save_env
    lab__build_image_tar || { lab__err "cannot build the busybox image"; lab__up_failed; return 1; }
    local -a hosts
    mapfile -t hosts < <(seq 1 "$n")
    lab__wait_engines "${hosts[@]}" || { lab__up_failed; return 1; }
    lab__save_env
    lab__import_images "${hosts[@]}" || { lab__up_failed; return 1; }
    LAB_UP_SECONDS=$((SECONDS - t0))
    lab__say "up: ready in ${LAB_UP_SECONDS}s (subnet $LAB_SUBNET, env file $LAB_DIR/env)"
}

# ---------------------------------------------------------------------------------------------
# down

# Pids of this shell and its ancestors: never killed, even when we run inside a lab namespace.
lab__self_pids() {
    local p=$BASHPID ppid line
    printf '%s\n' "$$"
    while [[ -n $p && $p != 0 ]]; do
        printf '%s\n' "$p"
        line=$(cat "/proc/$p/stat" 2>/dev/null) || break
        line=${line##*) }
        ppid=$(awk '{print $2}' <<<"$line")
        p=$ppid
    done
}

# Recorded pids that still belong to us (start time matches).
lab__recorded_alive() { # PIDSFILE
    local pid st label
    [[ -f $1 ]] || return 0
    while read -r pid st label; do
        if lab__is_int "$pid" && lab__alive "$pid" "$st"; then printf '%s\n' "$pid"; fi
    done <"$1"
}

lab__netns_inodes() { # PREFIX
    local ns
    [[ -n $1 ]] || return 0
    while read -r ns _; do
        if [[ $ns == "$1"-h* && -e /var/run/netns/$ns ]]; then
            stat -L -c %i "/var/run/netns/$ns" 2>/dev/null || true
        fi
    done < <(ip netns list 2>/dev/null)
}

# Every live process of the lab: recorded pids, processes in its namespaces, processes whose
# command line names its state dir, and all their descendants. Prints "PID NAME" lines.
lab__lab_procs() { # DIR PREFIX USE_DIR(0/1)
    local seeds inodes excl
    seeds=$(lab__recorded_alive "$1/pids" | tr '\n' ' ')
    inodes=$(lab__netns_inodes "$2" | tr '\n' ' ')
    excl=$(lab__self_pids | tr '\n' ' ')
    ps -e -ww -o pid=,ppid=,stat=,netns=,args= 2>/dev/null |
        LABK_DIR=$1/ LABK_USE_DIR=$3 LABK_SEEDS=$seeds LABK_INODES=$inodes LABK_EXCL=$excl awk '
        BEGIN {
            dir = ENVIRON["LABK_DIR"]; usedir = ENVIRON["LABK_USE_DIR"]
            if (length(dir) < 6) usedir = 0
            n = split(ENVIRON["LABK_SEEDS"], a, " "); for (k = 1; k <= n; k++) seed[a[k]] = 1
            n = split(ENVIRON["LABK_INODES"], a, " "); for (k = 1; k <= n; k++) ino[a[k]] = 1
            n = split(ENVIRON["LABK_EXCL"], a, " "); for (k = 1; k <= n; k++) ex[a[k]] = 1
        }
        {
            pid = $1; ppid = $2; st = $3; ns = $4
            if (st ~ /^Z/) next
            $1 = $2 = $3 = $4 = ""; sub(/^ +/, ""); args = $0
            name = args; sub(/ .*/, "", name); sub(/.*\//, "", name)
            parent[pid] = ppid; nm[pid] = name; all[pid] = 1
            if ((pid in seed) || (ns in ino) || (usedir == 1 && index(args, dir) > 0)) mark[pid] = 1
        }
        END {
            do {
                changed = 0
                for (p in all) if (!(p in mark) && (parent[p] in mark)) { mark[p] = 1; changed = 1 }
            } while (changed)
            for (p in mark) if (!(p in ex)) print p, nm[p]
        }'
}

lab__container_ids() { # DIR
    local c
    for c in "$1"/h*/root/containers/*/; do
        if [[ -d $c ]]; then c=${c%/}; printf '%s\n' "${c##*/}"; fi
    done
}

# SIGKILLs the processes of the lab's containers, found through their cgroups (fast teardown).
lab__kill_container_cgroups() { # DIR
    local id f p
    for id in $(lab__container_ids "$1"); do
        for f in /sys/fs/cgroup/*/docker/"$id"/cgroup.procs /sys/fs/cgroup/docker/"$id"/cgroup.procs; do
            [[ -f $f ]] || continue
            while read -r p; do
                if lab__is_int "$p"; then kill -KILL "$p" 2>/dev/null || true; fi
            done <"$f"
        done
    done
}

lab__signal_procs() { # SIGNAL FILTER(all|main|rest) < "PID NAME" lines
    local pid name
    while read -r pid name; do
        [[ -n $pid ]] || continue
        case $2:$name in
        main:containerd | main:containerd-shim*) continue ;;
        rest:*) ;;
        esac
        kill -CONT "$pid" 2>/dev/null || true
        kill "-$1" "$pid" 2>/dev/null || true
    done
}

lab__wait_procs_gone() { # DIR PREFIX USE_DIR TIMEOUT FILTER(all|main)
    local deadline=$((SECONDS + $4)) left
    while :; do
        left=$(lab__lab_procs "$1" "$2" "$3")
        if [[ $5 == main ]]; then left=$(awk '$2 !~ /^containerd/' <<<"$left"); fi
        [[ -z $left ]] && return 0
        ((SECONDS >= deadline)) && { printf '%s\n' "$left"; return 1; }
        sleep 0.2
    done
}

lab__stop_processes() { # DIR PREFIX USE_DIR
    local procs left timeout=${LAB_STOP_TIMEOUT:-10}
    if [[ $3 == 1 ]]; then lab__kill_container_cgroups "$1"; fi
    procs=$(lab__lab_procs "$1" "$2" "$3")
    [[ -n $procs ]] || return 0
    # dockerd (and registry, spawned commands) first: dockerd stops its own containerd.
    lab__signal_procs TERM main <<<"$procs"
    lab__wait_procs_gone "$1" "$2" "$3" "$timeout" main >/dev/null || true
    # Shims outlive containerd by design; then whatever is left.
    procs=$(lab__lab_procs "$1" "$2" "$3")
    if [[ -n $procs ]]; then
        lab__signal_procs TERM rest <<<"$procs"
        lab__wait_procs_gone "$1" "$2" "$3" 3 all >/dev/null || true
    fi
    procs=$(lab__lab_procs "$1" "$2" "$3")
    if [[ -n $procs ]]; then
        lab__say "down: SIGKILL to: $(tr '\n' ' ' <<<"$procs")"
        lab__signal_procs KILL rest <<<"$procs"
        if ! left=$(lab__wait_procs_gone "$1" "$2" "$3" 5 all); then
            lab__err "down: processes still alive: $(tr '\n' ' ' <<<"$left")"
            return 1
        fi
    fi
}

# Leftovers of containers whose dockerd was killed: cgroup dirs and shim sockets.
lab__cleanup_container_leftovers() { # DIR
    local id d h hash
    for id in $(lab__container_ids "$1"); do
        for d in /sys/fs/cgroup/*/docker/"$id" /sys/fs/cgroup/docker/"$id"; do
            if [[ -d $d ]]; then rmdir "$d" 2>/dev/null || true; fi
        done
        for h in "$1"/h*/; do
            h=${h%/}
            hash=$(printf '%s' "$h/exec/containerd/containerd.sock/moby/$id" | sha256sum | awk '{print $1}')
            rm -f "/run/containerd/s/$hash"
        done
    done
}

lab__mounts_under() { # DIR
    LABM_DIR=$1 awk '{ d = ENVIRON["LABM_DIR"]; if ($2 == d || index($2, d "/") == 1) print $2 }' /proc/mounts |
        sort -r
}

lab__unmount_all() { # DIR
    local m pass
    for ((pass = 0; pass < 5; pass++)); do
        local mounts
        mounts=$(lab__mounts_under "$1")
        [[ -n $mounts ]] || return 0
        while read -r m; do
            umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
        done <<<"$mounts"
    done
    if [[ -n $(lab__mounts_under "$1") ]]; then
        lab__err "down: still mounted: $(lab__mounts_under "$1" | tr '\n' ' ')"
        return 1
    fi
}

lab__delete_netns() { # DIR PREFIX
    local ns
    {
        if [[ -f $1/netns ]]; then cat "$1/netns"; fi
        if [[ -n $2 ]]; then ip netns list 2>/dev/null | awk -v p="$2-h" 'index($1, p) == 1 {print $1}'; fi
    } | sort -u | while read -r ns; do
        if [[ -n $ns && -e /var/run/netns/$ns ]]; then
            ip netns del "$ns" 2>/dev/null || lab__err "down: cannot delete namespace $ns"
        fi
    done
}

lab__link_names() { # PREFIX
    ip -o link show 2>/dev/null | awk -F': ' -v p="$1-" '{ n = $2; sub(/@.*/, "", n); if (index(n, p) == 1) print n }'
}

lab__delete_links() { # DIR PREFIX
    local l
    {
        if [[ -f $1/links ]]; then cat "$1/links"; fi
        if [[ -n $2 ]]; then lab__link_names "$2"; fi
    } | sort -u | while read -r l; do
        if [[ -n $l ]] && ip link show "$l" >/dev/null 2>&1; then
            # (a veth goes with its peer or namespace: gone since the check is not an error)
            ip link del "$l" 2>/dev/null || ! ip link show "$l" >/dev/null 2>&1 ||
                lab__err "down: cannot delete link $l"
        fi
    done
}

lab__delete_iptables() { # DIR PREFIX
    local rule
    local -a r
    if [[ -f $1/iptables ]]; then
        while read -r rule; do
            [[ -n $rule ]] || continue
            read -r -a r <<<"$rule"
            while iptables -w 10 -C "${r[@]}" 2>/dev/null; do
                iptables -w 10 -D "${r[@]}" || break
            done
        done <"$1/iptables"
    fi
    [[ -n $2 ]] || return 0
    # Anything else in the filter table naming our interfaces.
    iptables -w 10 -S 2>/dev/null | awk -v p="$2-" '$1 == "-A" && index($0, p) > 0' |
        while read -r rule; do
            read -r -a r <<<"${rule#-A }"
            iptables -w 10 -D "${r[@]}" 2>/dev/null || true
        done
}

# lab_down [DIR]: tears a lab down: processes, mounts, namespaces, links, iptables, state dir.
lab_down() {
    local dir=${1:-${LAB_DIR:-}} prefix="" use_dir=0 rc=0
    dir=${dir%/}
    if [[ -z $dir ]]; then lab__err "down: no state dir (give DIR or set LAB_DIR)"; return 2; fi
    if ! lab__valid_dir "$dir"; then lab__err "down: '$dir' is not a usable state dir path"; return 2; fi
    if [[ -d $dir && ! -f $dir/.lab ]]; then
        lab__err "down: $dir exists but is not a lab state dir (no .lab marker); not touching it"
        return 2
    fi
    if [[ -f $dir/.lab ]]; then use_dir=1; fi
    if [[ -f $dir/env ]]; then prefix=$(lab__env_get "$dir/env" LAB_PREFIX); fi
    if [[ -z $prefix && -n ${LAB_PREFIX:-} && ${LAB_DIR:-} == "$dir" ]]; then prefix=$LAB_PREFIX; fi
    if [[ -z $prefix ]]; then prefix=${dir##*/}; fi
    if ! lab__valid_prefix "$prefix"; then prefix=""; fi

    if [[ -f $dir/pids ]]; then LAB_DOWN_PIDS=$(cat "$dir/pids"); else LAB_DOWN_PIDS=""; fi
    LAB_DOWN_DIR=$dir
    lab__say "down: ${prefix:-?} ($dir)"
    lab__stop_processes "$dir" "$prefix" "$use_dir" || rc=1
    if [[ $use_dir == 1 ]]; then lab__cleanup_container_leftovers "$dir"; fi
    lab__unmount_all "$dir" || rc=1
    lab__delete_netns "$dir" "$prefix"
    lab__delete_links "$dir" "$prefix"
    lab__delete_iptables "$dir" "$prefix"
    if [[ -d $dir ]]; then
        if [[ -z $(lab__mounts_under "$dir") ]]; then
            rm -rf --one-file-system "$dir" || rc=1
        else
            lab__err "down: not removing $dir: mounts remain"; rc=1
        fi
    fi
    if [[ ${LAB_DIR:-} == "$dir" ]]; then LAB__OWNED=0; fi
    return $rc
}

# ---------------------------------------------------------------------------------------------
# check-clean

# lab_check_clean PREFIX [DIR [PIDSFILE]]: 0 when nothing of the lab is left; else lists it.
lab_check_clean() {
    local prefix=${1:-} dir=${2:-} pids=${3:-} l
    local -a left=()
    if ! lab__valid_prefix "$prefix"; then lab__err "check-clean: bad prefix '$prefix'"; return 2; fi
    dir=${dir:-/tmp/$prefix}
    dir=${dir%/}
    if [[ -e $dir ]]; then left+=("state dir $dir"); fi
    while read -r l; do
        if [[ -n $l ]]; then left+=("netns $l"); fi
    done < <(ip netns list 2>/dev/null | awk -v p="$prefix-" 'index($1, p) == 1 {print $1}')
    while read -r l; do
        if [[ -n $l ]]; then left+=("link $l"); fi
    done < <(lab__link_names "$prefix")
    while read -r l; do
        if [[ -n $l ]]; then left+=("iptables: $l"); fi
    done < <(iptables-save 2>/dev/null | awk -v p="$prefix-" 'index($0, p) > 0')
    while read -r l; do
        if [[ -n $l ]]; then left+=("mount $l"); fi
    done < <(lab__mounts_under "$dir"; awk -v p="/netns/$prefix-" 'index($2, p) > 0 {print $2}' /proc/mounts)
    # Recorded processes: from PIDSFILE, else the state dir, else what lab_down saw last.
    local pidlist=""
    if [[ -n $pids && -f $pids ]]; then
        pidlist=$(cat "$pids")
    elif [[ -f $dir/pids ]]; then
        pidlist=$(cat "$dir/pids")
    elif [[ ${LAB_DOWN_DIR:-} == "$dir" ]]; then
        pidlist=${LAB_DOWN_PIDS:-}
    fi
    local pid st label
    while read -r pid st label; do
        if lab__is_int "$pid" && lab__alive "$pid" "$st"; then left+=("process $pid ($label)"); fi
    done <<<"$pidlist"
    # Any process naming the state dir or the lab's namespaces.
    while read -r pid label; do
        if [[ -n $pid ]]; then left+=("process $pid: $label"); fi
    done < <(
        excl=$(lab__self_pids | tr '\n' ' ')
        ps -e -ww -o pid=,stat=,args= |
            LABC_A=$dir/ LABC_B=/var/run/netns/$prefix- LABC_X=$excl awk '
                 BEGIN { n = split(ENVIRON["LABC_X"], a, " "); for (k = 1; k <= n; k++) ex[a[k]] = 1
                         A = ENVIRON["LABC_A"]; B = ENVIRON["LABC_B"]
                         if (length(A) < 6 || length(B) < 20) exit 1 }
                 $2 !~ /^Z/ && !($1 in ex) && (index($0, A) > 0 || index($0, B) > 0) {
                     pid = $1; $1 = $2 = ""; sub(/^ +/, ""); print pid, substr($0, 1, 120) }'
    )
    if ((${#left[@]} == 0)); then
        lab__say "check-clean: nothing left of $prefix"
        return 0
    fi
    lab__err "check-clean: left over from $prefix:"
    for l in "${left[@]}"; do printf '    %s\n' "$l" >&2; done
    return 1
}

# ---------------------------------------------------------------------------------------------
# using the lab

# lab_exec I CMD...: runs CMD in host I's network namespace.
lab_exec() {
    local -a nso
    lab__host "${1:-}" || return 1
    mapfile -t nso < <(lab__nsenter_opts "$1")
    shift
    nsenter "${nso[@]}" -- "$@"
}

# lab_docker I ARGS...: the docker CLI against host I's engine.
lab_docker() {
    local sock
    sock=$(lab_sock "${1:-}") || return 1
    shift
    docker -H "unix://$sock" "$@"
}

# lab_spawn I LOG CMD...: starts CMD in host I's namespace in the background; its own pid (nsenter
# execs it) goes to LAB_SPAWNED_PID and the pids file, so `down` stops it.
lab_spawn() {
    local log=${2:-} i=${1:-}
    local -a nso
    lab__host "$i" || return 1
    if [[ -z $log || $# -lt 3 ]]; then lab__err "spawn: usage: spawn I LOGFILE CMD..."; return 2; fi
    mapfile -t nso < <(lab__nsenter_opts "$i")
    shift 2
    lab__bg "$log" nsenter "${nso[@]}" -- "$@"
    LAB_SPAWNED_PID=$LAB__BG_PID
    lab__record_pid "$LAB_SPAWNED_PID" "spawn-h$i:${1##*/}"
}

lab_status() {
    lab__ensure_loaded || return 1
    local i pid st state ping
    printf '%-5s %-14s %-15s %-8s %-8s %s\n' HOST NAMESPACE IP DOCKERD STATE PING
    for ((i = 1; i <= LAB_N; i++)); do
        pid=$(lab__var DOCKERD_PID "$i")
        st=$(lab__procstat "$pid" 2>/dev/null) || st=""
        case ${st%% *} in
        "") state=gone ;;
        Z | X) state=dead ;;
        T | t) state=stopped ;;
        *) state=running ;;
        esac
        if lab_ping "$i"; then ping=OK; else ping=no; fi
        printf '%-5s %-14s %-15s %-8s %-8s %s\n' "h$i" "$(lab__var NS "$i")" "$(lab__var IP "$i")" \
            "${pid:--}" "$state" "$ping"
    done
}

# ---------------------------------------------------------------------------------------------
# faults

lab_kill_pid() { lab__is_int "${1:-}" || { lab__err "kill: bad pid '${1:-}'"; return 2; }; kill -KILL "$1"; }
lab_freeze() { lab__is_int "${1:-}" || { lab__err "freeze: bad pid '${1:-}'"; return 2; }; kill -STOP "$1"; }
lab_thaw() { lab__is_int "${1:-}" || { lab__err "thaw: bad pid '${1:-}'"; return 2; }; kill -CONT "$1"; }

lab__dockerd_pid_alive() { # I -> pid
    local pid
    pid=$(lab_dockerd_pid "${1:-}") || return 1
    if ! lab__alive "$pid"; then lab__err "dockerd of host $1 (pid ${pid:-?}) is not running"; return 1; fi
    printf '%s\n' "$pid"
}

lab_kill() { local p; p=$(lab__dockerd_pid_alive "${1:-}") || return 1; lab_kill_pid "$p"; }
lab_stop() { local p; p=$(lab__dockerd_pid_alive "${1:-}") || return 1; lab_freeze "$p"; }
lab_cont() { local p; p=$(lab_dockerd_pid "${1:-}") || return 1; lab_thaw "$p"; }

# lab_start I: restarts host I's dockerd (after lab_kill) and waits for /_ping.
lab_start() {
    lab__host "${1:-}" || return 1
    if lab_ping "$1"; then lab__say "start: engine of host $1 already answers"; return 0; fi
    local old
    old=$(lab__var DOCKERD_PID "$1")
    if lab__alive "$old"; then lab__err "start: dockerd of host $1 (pid $old) runs but does not answer"; return 1; fi
    lab__start_engine "$1" || return 1
    lab__save_env
    lab__wait_engines "$1" || return 1
    lab__save_env
}

lab__ns_iptables() { # I ARGS...
    local ns
    ns=$(lab_ns "$1") || return 1
    shift
    nsenter --net="/var/run/netns/$ns" -- iptables -w 10 "$@"
}

lab__ns_delete_tagged() { # I TAG
    local rule
    local -a r
    lab__ns_iptables "$1" -S INPUT | awk -v t="--comment $2 " '$1 == "-A" && index($0 " ", t) > 0' |
        while read -r rule; do
            read -r -a r <<<"${rule#-A }"
            lab__ns_iptables "$1" -D "${r[@]}" || true
        done || true
}

# lab_loss I PCT: drops PCT percent of UDP packets arriving in host I (0 removes the rule).
lab_loss() {
    local i=${1:-} pct=${2:-} p
    lab__host "$i" || return 1
    if ! [[ $pct =~ ^[0-9]+(\.[0-9]+)?$ ]] || awk -v p="$pct" 'BEGIN { exit !(p > 100) }'; then
        lab__err "loss: PCT must be 0..100"; return 2
    fi
    lab__ns_delete_tagged "$i" lab-loss
    if awk -v p="$pct" 'BEGIN { exit !(p == 0) }'; then return 0; fi
    p=$(awk -v p="$pct" 'BEGIN { printf "%.4f", p / 100 }')
    lab__ns_iptables "$i" -A INPUT -p udp -m statistic --mode random --probability "$p" \
        -m comment --comment lab-loss -j DROP
}

# lab_partition "A..." "B...": drops every packet between the two host sets, both ways.
lab_partition() {
    local a b
    lab__ensure_loaded || return 1
    if [[ -z ${1:-} || -z ${2:-} ]]; then lab__err 'partition: usage: partition "1 2" "3"'; return 2; fi
    for a in $1; do
        lab__host "$a" || return 1
        for b in $2; do
            lab__host "$b" || return 1
            if [[ $a == "$b" ]]; then lab__err "partition: host $a is on both sides"; return 2; fi
        done
    done
    for a in $1; do
        for b in $2; do
            lab__ns_iptables "$a" -A INPUT -s "$(lab__var IP "$b")" -m comment --comment lab-part -j DROP || return 1
            lab__ns_iptables "$b" -A INPUT -s "$(lab__var IP "$a")" -m comment --comment lab-part -j DROP || return 1
        done
    done
}

# lab_heal: removes all partition and loss rules.
lab_heal() {
    local i
    lab__ensure_loaded || return 1
    for ((i = 1; i <= LAB_N; i++)); do
        [[ -e /var/run/netns/$(lab__var NS "$i") ]] || continue
        lab__ns_delete_tagged "$i" lab-part
        lab__ns_delete_tagged "$i" lab-loss
    done
}

# ---------------------------------------------------------------------------------------------
# registry

# lab_registry I: Debian's docker-registry inside host I on LAB_IP_I:5000 (LAB_REGISTRY_I).
lab_registry() {
    local i=${1:-} ip d deadline code
    local -a nso
    lab__host "$i" || return 1
    if [[ ! -x /usr/bin/docker-registry ]]; then
        lab__err "registry: /usr/bin/docker-registry is missing (apt-get install docker-registry)"
        return 1
    fi
    ip=$(lab__var IP "$i")
    mapfile -t nso < <(lab__nsenter_opts "$i")
    d=$LAB_DIR/registry-h$i
    if lab__alive "$(lab__var REGISTRY_PID "$i")"; then
        printf '%s\n' "$(lab__var REGISTRY "$i")"; return 0
    fi
    mkdir -p "$d/data" || return 1
    cat >"$d/config.yml" <<EOF
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $d/data
  delete:
    enabled: true
http:
  addr: $ip:5000
EOF
    lab__bg "$d/registry.log" nsenter "${nso[@]}" -- /usr/bin/docker-registry serve "$d/config.yml"
    local pid=$LAB__BG_PID
    lab__record_pid "$pid" "registry-h$i"
    printf -v "LAB_REGISTRY_PID_$i" '%s' "$pid"
    printf -v "LAB_REGISTRY_$i" '%s' "$ip:5000"
    lab__save_env
    deadline=$((SECONDS + 20))
    while :; do
        code=$(lab_exec "$i" curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$ip:5000/v2/" 2>/dev/null) || code=
        if [[ $code == 200 ]]; then break; fi
        if ! lab__alive "$pid" || ((SECONDS >= deadline)); then
            lab__err "registry in host $i did not come up; log:"
            tail -n 20 "$d/registry.log" >&2 || true
            return 1
        fi
        sleep 0.2
    done
    printf '%s\n' "$ip:5000"
}

# ---------------------------------------------------------------------------------------------
# teardown on exit / signals

# Traps run in the middle of whatever command was running, with its redirections (often
# 2>/dev/null): teardown messages go to the stderr saved by lab_trap_cleanup instead.
lab__cleanup_now() {
    trap '' INT TERM HUP # a second Ctrl-C must not cut the teardown short
    local fd=${LAB__ERRFD:-2}
    if [[ -n ${LAB_CLEANUP_HOOK:-} ]]; then "$LAB_CLEANUP_HOOK" 2>&"$fd" || true; fi
    if [[ ${LAB__OWNED:-0} == 1 && -n ${LAB_DIR:-} ]]; then lab_down "$LAB_DIR" 2>&"$fd" || true; fi
}

lab__on_exit() {
    local rc=$?
    trap - EXIT
    lab__cleanup_now
    exit "$rc"
}

lab__on_signal() { # NAME CODE
    trap - EXIT
    lab__say "caught SIG$1; tearing down" 2>&"${LAB__ERRFD:-2}"
    lab__cleanup_now
    exit "$2"
}

# lab_trap_cleanup: tear the lab down when this shell exits, or on SIGINT/SIGTERM/SIGHUP
# (bash runs an EXIT trap on a signal only if that signal is trapped too).
lab_trap_cleanup() {
    if [[ -z ${LAB__ERRFD:-} ]]; then exec {LAB__ERRFD}>&2; fi
    trap 'lab__on_exit' EXIT
    trap 'lab__on_signal INT 130' INT
    trap 'lab__on_signal TERM 143' TERM
    trap 'lab__on_signal HUP 129' HUP
}

# ---------------------------------------------------------------------------------------------
# command line

lab__usage() {
    sed -n '/^# COMMAND USE/,/^# LIBRARY USE/p' "$LAB_SH_PATH" | sed '$d; s/^# \{0,1\}//'
}

lab__cmd_up() {
    local rc=0
    LAB__OWNED=0
    trap 'lab__on_signal INT 130' INT
    trap 'lab__on_signal TERM 143' TERM
    trap 'lab__on_signal HUP 129' HUP
    lab_up "$@" || rc=$?
    trap - INT TERM HUP
    if ((rc != 0)); then return "$rc"; fi
    lab_status
    printf '\nlab %s is up. To use it from another shell:\n  export LAB_DIR=%s\n' "$LAB_PREFIX" "$LAB_DIR"
    printf 'Tear down with:\n  %s down %s\n' "$LAB_SH_PATH" "$LAB_DIR"
}

lab__cmd_pidop() { # FUNC_HOST FUNC_PID ARGS...
    if [[ ${3:-} == -p ]]; then "$2" "${4:-}"; else "$1" "${3:-}"; fi
}

lab__main() {
    set -euo pipefail
    local cmd=${1:-help}
    if (($# > 0)); then shift; fi
    case $cmd in
    up) lab__cmd_up "$@" ;;
    down)
        local d=${1:-}
        if [[ -z $d ]]; then d=$(lab__resolve_dir); fi
        lab_down "$d"
        ;;
    status) lab_status ;;
    env) lab__ensure_loaded && cat "$LAB_DIR/env" ;;
    exec)
        lab__host "${1:-}"
        local -a nso
        mapfile -t nso < <(lab__nsenter_opts "$1")
        exec nsenter "${nso[@]}" -- "${@:2}"
        ;;
    docker) lab__host "${1:-}" && exec docker -H "unix://$(lab__var DOCKER "$1")" "${@:2}" ;;
    ip) lab_ip "$@" ;;
    spawn) lab_spawn "$@" && printf '%s\n' "$LAB_SPAWNED_PID" ;;
    kill) lab__cmd_pidop lab_kill lab_kill_pid "$@" ;;
    stop) lab__cmd_pidop lab_stop lab_freeze "$@" ;;
    cont) lab__cmd_pidop lab_cont lab_thaw "$@" ;;
    start) lab_start "$@" ;;
    loss) lab_loss "$@" ;;
    partition) lab_partition "$@" ;;
    heal) lab_heal ;;
    registry) lab_registry "$@" ;;
    check-clean) lab_check_clean "$@" ;;
    help | -h | --help) lab__usage ;;
    *)
        lab__err "unknown command '$cmd'"
        lab__usage >&2
        return 2
        ;;
    esac
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    lab__main "$@"
fi
