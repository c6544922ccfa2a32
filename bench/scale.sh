#!/usr/bin/env bash
# bench/scale.sh — classic Swarm's 1,000-node scale test, on one machine, with hollow engines.
#
# Starts N agents (`swarm join --hollow-engine`: a fake engine in memory, FOR SCALE TESTS ONLY)
# on loopback and one `swarm manage`, fills the cluster with N x C containers through the
# manager, and measures what classic Swarm's published test measured on 1,000 real nodes
# (docker info 150/200/360 ms and docker run 230/250/400 ms p50/p90/p99, classic-swarm.md §7;
# goal: 10x lower), plus start-up, memory and gossip bandwidth:
#
#   convergence  from the first agent's spawn until the manager's membership lists N+1 alive
#                (`members` on its control socket, as `swarm members` asks); also until three
#                sampled agents do, until the manager's log says N engines connected (relay
#                handshake + engine snapshot), and until `/info` through the manager says
#                Nodes: N, all Healthy. Polled every 200 ms.
#   fill         N x C containers (`sleep infinity`: they "run" until removed) created and
#                started through the manager by W concurrent workers (python3, one keep-alive
#                connection each, POST /containers/create then /start: what `docker run -d`
#                sends); create and start latency of every one, by position in the fill.
#   idle         IDLE s (at least one push-pull period, 60-180 s) with the cluster full and nothing asked of it: gossip bytes sent per node
#                per second (IP bytes on lo, counted by an nftables table of this run's own on
#                the output hook: UDP from the gossip ports, TCP push-pull to and from them;
#                relay TCP apart), datagrams per node per second (`swarm members --stats`
#                deltas on three agents), CPU of the manager and of all agents.
#   memory       VmRSS of the manager before the agents, with N engines connected, and full
#                (per node = connected - before, per container = full - connected); VmRSS and
#                RssAnon of every agent (averages).
#   latency      with the cluster full: `docker info` (the CLI, a new process per call: what a
#                user sees) and GET /info (one HTTP request on a fresh unix-socket connection:
#                the manager alone) x SAMPLES; `docker run -d` as `swarm bench run-latency -n
#                SAMPLES` (create + start over HTTP, one at a time, per step) and as the CLI
#                (`docker run -d busybox:local sleep infinity`) x SAMPLES; `docker version`
#                through the manager x 20 (the CLI's own floor: answered by the manager with no
#                cluster work); `docker ps -a | wc -l` x 3.
#
# The agents run at a lower CPU priority (nice 19 unless --agent-nice says otherwise): they
# stand in for N other machines, each with its own CPU, while here they share two CPUs with the
# manager; at nice 19 their gossip and start-up take what the manager leaves rather than
# delaying it. An agent a request goes to still does its part of the request (relay, hollow
# engine) at that priority, behind the other agents' gossip: the latencies include that.
# The manager, the fill's clients and the docker CLI run at the default priority.
#
# Usage: bench/scale.sh [N] [--containers-per-node C] [--quick] [--samples S] [--workers W]
#                       [--swarm PATH] [--out DIR] [--base-port P] [--idle S] [--keep]
#                       [--agent-nice K]
#   N            agents (default 1000)
#   --containers-per-node C   containers placed per node (default 30)
#   --quick      a sanity pass: N = 20 unless given, C = 5, 20 samples, 5 s idle
#   --samples S  latency samples per measurement (default 100)
#   --workers W  concurrent fill workers (default 4)
#   --swarm PATH the swarm binary (default build-bench/swarm, else build/swarm; a Release build
#                is what the figures mean); a copy is run, so a rebuild cannot change it mid-run
#   --out DIR    where scale.csv (one row per N, a row for the same N replaced), scale.md (the
#                RESULTS.md section, rendered from every row), scale.png and the per-run files
#                go (default bench/results)
#   --base-port P  gossip ports P .. P+N-1 (agents), P+N (manager), relay ports P+N+1 ..
#                P+2N (default 20000, or the first free range above it; below the ephemeral
#                range)
#   --idle S     the idle window, at least one push-pull period (default 30; 60 s at N = 50,
#                120 s at 200, 180 s at 1,000)
#   --keep       keep the run's directory (logs, state dirs) instead of removing it
#   --agent-nice K  the agents' nice value (default 19; 0: the manager's priority, as runs
#                before 2026-11-26 04:00 UTC did). Recorded with the row.
#
# The run's directory (keys, sockets, logs) is made under $TMPDIR (default /tmp).
# Needs python3, curl and the docker CLI; nft (root) for the byte counts (without it the bytes
# are "n/a" and the datagram rates remain). Everything it starts is recorded by pid and stopped
# on exit, failure, SIGINT and SIGTERM (SIGTERM, then SIGKILL after 15 s); it then checks that
# none is left and says so. Figures only, no asserts: the goals are printed next to the ratios.
set -euo pipefail
# The whole script is one block, read before it runs: editing the file mid-run cannot change it.
{
cd "$(dirname "$0")/.."
top=$PWD

n=""
cpn=30
quick=0
samples=100
workers=4
swarm_bin=""
out=$top/bench/results
base=20000
idle=30
keep=0
agent_nice=19
usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 2
}
cpn_set=0 samples_set=0 idle_set=0
while [ $# -gt 0 ]; do
    case $1 in
    --containers-per-node) cpn=${2:?}; cpn_set=1; shift 2 ;;
    --quick) quick=1; shift ;;
    --samples) samples=${2:?}; samples_set=1; shift 2 ;;
    --workers) workers=${2:?}; shift 2 ;;
    --swarm) swarm_bin=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --base-port) base=${2:?}; base_set=1; shift 2 ;;
    --idle) idle=${2:?}; idle_set=1; shift 2 ;;
    --keep) keep=1; shift ;;
    --agent-nice) agent_nice=${2:?}; shift 2 ;;
    -h | --help) usage ;;
    [0-9]*) n=$1; shift ;;
    *) echo "bench/scale.sh: unknown argument $1" >&2; usage ;;
    esac
done
if [ $quick = 1 ]; then
    n=${n:-20}
    [ $cpn_set = 1 ] || cpn=5
    [ $samples_set = 1 ] || samples=20
    [ $idle_set = 1 ] || idle=5
fi
n=${n:-1000}
for v in "$n" "$cpn" "$samples" "$workers" "$base" "$idle" "$agent_nice"; do
    [[ $v =~ ^[0-9]+$ ]] || { echo "bench/scale.sh: expected a number, got \"$v\"" >&2; exit 2; }
done
[ "$n" -ge 3 ] || { echo "bench/scale.sh: N must be at least 3" >&2; exit 2; }
mgr_port=$((base + n))
relay0=$((base + n + 1))
[ $((base + 2 * n)) -lt 32768 ] || {
    echo "bench/scale.sh: ports $base..$((base + 2 * n)) reach the ephemeral range (32768+): lower --base-port" >&2
    exit 2
}
for tool in python3 curl docker; do
    command -v $tool >/dev/null || { echo "SKIP: bench/scale.sh needs $tool" >&2; exit 77; }
done
if [ -z "$swarm_bin" ]; then
    for c in "$top/build-bench/swarm" "$top/build/swarm"; do
        [ -x "$c" ] && { swarm_bin=$c; break; }
    done
fi
[ -n "$swarm_bin" ] && [ -x "$swarm_bin" ] || {
    echo "bench/scale.sh: no swarm binary; build one: cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release && cmake --build build-bench --target swarm" >&2
    exit 1
}
"$swarm_bin" join --help | grep -q -- --hollow-engine || {
    echo "bench/scale.sh: $swarm_bin has no --hollow-engine" >&2
    exit 1
}

# Every listening port we need must be free on loopback (UDP and TCP). Without --base-port,
# the first free range from the default up is taken (another run may hold the default one).
ports_busy() {
    ss -Hlntu 2>/dev/null | awk '{print $5}' | sed 's/.*://' | sort -un |
        awk -v lo="$1" -v hi=$(($1 + 2 * n)) '$1 >= lo && $1 <= hi' | head -n 5 | tr '\n' ' '
}
busy=$(ports_busy "$base")
while [ -n "$busy" ] && [ "${base_set:-0}" = 0 ] && [ $((base + 4 * n + 2)) -lt 32768 ]; do
    base=$((base + 2 * n + 1))
    busy=$(ports_busy "$base")
done
[ -z "$busy" ] || {
    echo "bench/scale.sh: ports in use in $base..$((base + 2 * n)): $busy- pick another --base-port" >&2
    exit 1
}
mgr_port=$((base + n))
relay0=$((base + n + 1))

# Descriptors: the manager holds one relay connection per agent, plus the API clients.
need=$((n + 1024))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $need ]; then
    ulimit -n $need 2>/dev/null || ulimit -n "$(ulimit -Hn)"
fi

mkdir -p "$out"
T=$(mktemp -d "${TMPDIR:-/tmp}/swarm-scale.XXXXXX")
pids=()
nft_table=""
say() { echo "== $(date -u +%H:%M:%S) $*"; }

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [ ${#pids[@]} -gt 0 ] && say "stopping ${#pids[@]} processes"
    local p left=()
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for _ in $(seq 150); do
        left=()
        for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && left+=("$p"); done
        [ ${#left[@]} = 0 ] && break
        sleep 0.1
    done
    if [ ${#left[@]} -gt 0 ]; then
        echo "bench/scale.sh: ${#left[@]} processes still up 15 s after SIGTERM: SIGKILL" >&2
        for p in "${left[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
        sleep 0.5
    fi
    wait 2>/dev/null || true
    left=()
    for p in "${pids[@]}"; do [ -d "/proc/$p" ] && left+=("$p"); done
    # Anything else still running from this run's directory (a child we did not record)?
    # (the pattern's [s] keeps grep from matching its own command line)
    local stray
    local base=${T##*/}
    stray=$(grep -ls -- "[${base:0:1}]${base:1}" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3 || true)
    if [ ${#left[@]} -gt 0 ] || [ -n "$stray" ]; then
        echo "bench/scale.sh: LEFT RUNNING: ${left[*]} $stray" >&2
        rc=1
    elif [ ${#pids[@]} -gt 0 ]; then
        say "all ${#pids[@]} processes gone"
    fi
    [ -n "$nft_table" ] && nft delete table inet "$nft_table" 2>/dev/null || true
    if [ $keep = 1 ]; then echo "kept: $T"; else rm -rf "$T"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cp "$swarm_bin" "$T/swarm"
S=$T/swarm
swarm_sha=$(sha256sum "$S" | cut -c1-12)
# The commit the binary was built from (swarm version; "-dirty": with uncommitted changes).
commit=$("$S" version | sed -n '1s/.*(commit \([^)]*\)).*/\1/p')
commit=${commit:-unknown}
started=$(date -u '+%Y-%m-%d %H:%M UTC')
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
say "scale: N=$n, $cpn containers per node, agents at nice $agent_nice, swarm $swarm_sha ($swarm_bin), run dir $T, load $load_start"

cat >"$T/h.py" <<'PY'
# bench/scale.sh's helper: control-socket and HTTP clients, the fill, percentiles, the report.
import csv, json, math, os, socket, subprocess, sys, threading, time, http.client

def pct(v, p):
    """Nearest rank, as swarm bench (manager/bench_stats.c)."""
    if not v:
        return float("nan")
    s = sorted(v)
    r = max(1, min(len(s), math.ceil(p / 100.0 * len(s) - 1e-9)))
    return s[r - 1]

def control(d, req, timeout=10):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(os.path.join(d, "control.sock"))
    s.sendall(req.encode() + b"\n")
    buf = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        buf += b
    s.close()
    return json.loads(buf)

def alive(d):
    try:
        return sum(1 for m in control(d, "members") if m.get("state") == "alive")
    except Exception:
        return -1

class UConn(http.client.HTTPConnection):
    def __init__(self, path, timeout=120):
        super().__init__("localhost", timeout=timeout)
        self.path = path
    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.path)
        self.sock = s

def get(sock, path):
    c = UConn(sock)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, body

def info_nodes(sock):
    """Nodes and healthy nodes in /info's SystemStatus (classic Swarm's listing)."""
    st, body = get(sock, "/info")
    if st != 200:
        return -1, -1
    ss = json.loads(body).get("SystemStatus") or []
    nodes = next((int(v) for k, v in ss if k == "Nodes"), 0)
    healthy = sum(1 for k, v in ss if k.strip().endswith("Status") and v == "Healthy")
    return nodes, healthy

def count_lines(path, needle):
    try:
        with open(path, "rb") as f:
            return f.read().count(needle.encode())
    except OSError:
        return 0

def converge(argv):
    mgr, api, log, n, t0, timeout = argv[0], argv[1], argv[2], int(argv[3]), float(argv[4]), float(argv[5])
    agents = argv[6:]
    t = {"members": None, "agents": None, "connected": None, "info": None}
    last = {}
    while time.time() - t0 < timeout:
        now = time.time() - t0
        if t["members"] is None:
            a = alive(mgr); last["members"] = a
            if a == n + 1:
                t["members"] = now
        if t["agents"] is None:
            a = [alive(d) for d in agents]; last["agents"] = a
            if all(x == n + 1 for x in a):
                t["agents"] = now
        if t["connected"] is None:
            c = count_lines(log, "connected addr="); last["connected"] = c
            if c >= n:
                t["connected"] = now
        if t["info"] is None:
            try:
                nodes, healthy = info_nodes(api)
            except Exception:
                nodes, healthy = -1, -1
            last["info"] = [nodes, healthy]
            if nodes == n and healthy == n:
                t["info"] = now
        if all(v is not None for v in t.values()):
            break
        time.sleep(0.2)
    print(json.dumps({"t": t, "last": last}))
    return 0 if all(v is not None for v in t.values()) else 1

def fill(argv):
    api, total, workers, csvpath = argv[0], int(argv[1]), int(argv[2]), argv[3]
    body = json.dumps({"Image": "busybox:local", "Cmd": ["sleep", "infinity"],
                       "Labels": {"com.swarm.scale": "1"}, "HostConfig": {}}).encode()
    lock = threading.Lock()
    nxt = [0]
    rows, errors = [], {}
    t0 = time.time()
    def worker():
        c = UConn(api)
        while True:
            with lock:
                if nxt[0] >= total or len(errors) and sum(errors.values()) > 100:
                    return
                i = nxt[0]; nxt[0] += 1
            try:
                a = time.time()
                c.request("POST", "/containers/create", body, {"Content-Type": "application/json"})
                r = c.getresponse(); b = r.read()
                m = time.time()
                if r.status != 201:
                    raise RuntimeError("create HTTP %d %s" % (r.status, b[:120].decode(errors="replace")))
                cid = json.loads(b)["Id"]
                c.request("POST", "/containers/%s/start" % cid)
                r = c.getresponse(); b = r.read()
                e = time.time()
                if r.status not in (204, 304):
                    raise RuntimeError("start HTTP %d %s" % (r.status, b[:120].decode(errors="replace")))
                with lock:
                    rows.append((i, a - t0, (m - a) * 1e3, (e - m) * 1e3))
            except Exception as ex:
                k = str(ex)[:160]
                with lock:
                    errors[k] = errors.get(k, 0) + 1
                c.close(); c = UConn(api)
    ts = [threading.Thread(target=worker) for _ in range(workers)]
    last = time.time()
    for th in ts:
        th.start()
    while any(th.is_alive() for th in ts):
        time.sleep(0.5)
        if time.time() - last >= 15:
            last = time.time()
            with lock:
                print("   fill: %d/%d in %.0f s, %d errors" % (len(rows), total, last - t0,
                      sum(errors.values())), file=sys.stderr, flush=True)
    for th in ts:
        th.join()
    dur = time.time() - t0
    rows.sort(key=lambda r: r[1])
    with open(csvpath, "w") as f:
        f.write("seq,t_s,create_ms,start_ms\n")
        for k, r in enumerate(rows):
            f.write("%d,%.3f,%.3f,%.3f\n" % (k, r[1], r[2], r[3]))
    cr = [r[2] for r in rows]; st = [r[3] for r in rows]
    tenth = max(1, len(rows) // 10)
    print(json.dumps({
        "done": len(rows), "errors": sum(errors.values()), "error_kinds": errors,
        "seconds": dur, "rate": len(rows) / dur if dur else 0,
        "create": [pct(cr, 50), pct(cr, 90), pct(cr, 99)],
        "start": [pct(st, 50), pct(st, 90), pct(st, 99)],
        "create_first10": pct(cr[:tenth], 50), "create_last10": pct(cr[-tenth:], 50)}))
    return 0 if len(rows) == total else 1

def cli_lat(argv):
    """cli-lat COUNT CMD...: wall time of each run of CMD (output discarded), ms; p50/p90/p99."""
    count, cmd = int(argv[0]), argv[1:]
    v, fails = [], 0
    for _ in range(count):
        a = time.time()
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        v.append((time.time() - a) * 1e3)
        fails += r.returncode != 0
    print(json.dumps({"n": count, "fails": fails, "p": [pct(v, 50), pct(v, 90), pct(v, 99)],
                      "max": max(v)}))

def http_lat(argv):
    """http-lat SOCK PATH COUNT: GET PATH on a fresh connection each time, ms to the last byte."""
    sock, path, count = argv[0], argv[1], int(argv[2])
    v, fails, size = [], 0, 0
    for _ in range(count):
        a = time.time()
        st, body = get(sock, path)
        v.append((time.time() - a) * 1e3)
        fails += st != 200
        size = len(body)
    print(json.dumps({"n": count, "fails": fails, "p": [pct(v, 50), pct(v, 90), pct(v, 99)],
                      "max": max(v), "bytes": size}))

def spread(argv):
    """Containers per node (min, max) from GET /containers/json?all=1 (names are /NODE/NAME),
    and the Containers figure /info reports."""
    st, body = get(argv[0], "/containers/json?all=1")
    per = {}
    for c in json.loads(body) if st == 200 else []:
        node = (c.get("Names") or ["/?/"])[0].split("/")[1]
        per[node] = per.get(node, 0) + 1
    st, body = get(argv[0], "/info")
    print(json.dumps({"min": min(per.values()) if per else 0, "max": max(per.values()) if per else 0,
                      "nodes": len(per), "listed": sum(per.values()),
                      "info_containers": json.loads(body).get("Containers") if st == 200 else None}))

def stats(argv):
    """stats DIR...: summed datagrams_in/out and pushpull counters of these daemons."""
    tot = {}
    for d in argv:
        s = control(d, "stats")
        for k in ("datagrams_in", "datagrams_out", "pushpull_in", "pushpull_out"):
            tot[k] = tot.get(k, 0) + int(s.get(k, 0))
    print(json.dumps(tot))

def nft_counters(argv):
    """The byte counters of this run's nftables table, by rule comment."""
    j = json.loads(subprocess.run(["nft", "-j", "list", "table", "inet", argv[0]],
                                  capture_output=True, check=True).stdout)
    res = {}
    for item in j.get("nftables", []):
        rule = item.get("rule")
        if not rule:
            continue
        by = next((e["counter"]["bytes"] for e in rule["expr"] if "counter" in e), None)
        if by is not None and rule.get("comment"):
            res[rule["comment"]] = by
    print(json.dumps(res))

def procs(argv):
    """procs PID...: VmRSS and RssAnon (kB) summed, and utime+stime (clock ticks) summed."""
    rss = anon = cpu = alive = 0
    for p in argv:
        try:
            with open("/proc/%s/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
                    elif line.startswith("RssAnon:"):
                        anon += int(line.split()[1])
            with open("/proc/%s/stat" % p) as f:
                fs = f.read().rsplit(")", 1)[1].split()
                cpu += int(fs[11]) + int(fs[12])
            alive += 1
        except OSError:
            pass
    print(json.dumps({"n": alive, "rss_kb": rss, "anon_kb": anon, "ticks": cpu}))

COLS = ["n", "cpn", "date", "commit", "swarm_sha", "load_start", "load_end", "status",
        "t_spawned_s", "t_members_s", "t_agents_s", "t_connected_s", "t_info_s",
        "fill_done", "fill_errors", "fill_s", "fill_rate", "fill_create_p50", "fill_create_p99",
        "fill_create_first10_p50", "fill_create_last10_p50", "per_node_min", "per_node_max",
        "info_containers",
        "info_cli_p50", "info_cli_p90", "info_cli_p99", "info_http_p50", "info_http_p90",
        "info_http_p99", "info_bytes",
        "run_p50", "run_p90", "run_p99", "run_create_p50", "run_create_p99", "run_start_p50",
        "run_start_p99", "run_cli_p50", "run_cli_p90", "run_cli_p99", "version_cli_p50",
        "ps_s", "ps_lines",
        "mgr_rss_start_kb", "mgr_rss_connected_kb", "mgr_rss_full_kb", "mgr_per_node_b",
        "mgr_per_container_b", "agent_rss_avg_kb", "agent_anon_avg_kb",
        "idle_window_s", "gossip_udp_Bps_node", "gossip_pushpull_Bps_node", "relay_Bps_node", "dgram_out_per_s_node",
        "idle_cpu_mgr_pct", "idle_cpu_agents_pct", "relay_drops", "mgr_suspects", "mgr_suspected", "idle_suspects",
        "agent_nice"]

def record(argv):
    """record CSV KEY=VALUE...: puts this run's row in CSV, replacing a row with the same n."""
    path, kv = argv[0], dict(a.split("=", 1) for a in argv[1:])
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            rows = [r for r in csv.DictReader(f) if r.get("n") != kv["n"]]
    rows.append({c: kv.get(c, "") for c in COLS})
    rows.sort(key=lambda r: int(r["n"]))
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLS, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)

CLASSIC = {"info": (150, 200, 360), "run": (230, 250, 400)}

def fnum(x, d=1):
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "n/a"
    if math.isnan(v):
        return "n/a"
    return ("%." + str(d) + "f") % v

def render(argv):
    """render CSV MD: the RESULTS.md section from every row of the CSV."""
    path, md = argv[0], argv[1]
    with open(path) as f:
        rows = list(csv.DictReader(f))
    L = []
    L.append("## Scale on one machine: hollow engines, one manager (classic Swarm's 1,000-node test)")
    L.append("")
    L.append("N agents (`swarm join --hollow-engine`: a fake engine in memory, for scale tests only, so "
             "the agent, its relay and the manager run their real code while no container runs) on "
             "loopback and one `swarm manage`, all on this 2-CPU machine; the cluster filled with N x C "
             "containers through the manager, then measured full. Classic Swarm's published figures "
             "are from 1,000 real nodes (t2.micro) and a 4-CPU manager (classic-swarm.md §7); the "
             "ratio is ours / theirs at the same percentile; goal: 0.1x or less. Each row is one run "
             "(its date, commit and load are in the table below it); `bench/run` runs a smaller N "
             "(N = 100) to fit its time budget and keeps the rows of other N from earlier runs.")
    L.append("")
    big = [r for r in rows if r["n"] == "1000" and r.get("fill_s")]
    took = (" (the full test: placing the 30,000 containers alone took %.0f min here)"
            % (float(big[0]["fill_s"]) / 60)) if big else " (the full test)"
    L.append("Commands: `bench/scale.sh 1000`%s; `bench/scale.sh 200`, `bench/scale.sh 50`; "
             "raw figures in results/scale.csv, every create's latency during the fill in "
             "results/scale-fill-N.csv." % took)
    L.append("")
    top_ = max(rows, key=lambda r: int(r["n"]))
    def ratio1(k, c):
        try:
            return float(top_[k]) / c
        except ValueError:
            return float("nan")
    ri, rh, rr = ratio1("info_cli_p50", 150), ratio1("info_http_p50", 150), ratio1("run_p50", 230)
    verdict = lambda x: "meets the 0.1x goal" if x <= 0.1 else "misses the 0.1x goal"
    L.append("**Summary at N = %s (%s containers):** `docker info` p50 %s ms with the docker CLI, "
             "%.3fx classic's (%s; the manager's answer alone, GET /info, %s ms: %.3fx); "
             "`docker run -d` (create + start) p50 %s ms, %.3fx classic's (%s)."
             % (top_["n"], top_["fill_done"], fnum(top_["info_cli_p50"]), ri, verdict(ri),
                fnum(top_["info_http_p50"]), rh, fnum(top_["run_p50"]), rr, verdict(rr)))
    try:
        L[-1] += (" At p99: `docker info` %s ms (CLI), `docker run -d` %s ms (%.3fx classic's 400). "
                  "The manager holds %.1f KB per node (and %s B per container) and each node sends "
                  "%s + %s B/s of gossip (UDP + push-pull) with the cluster idle."
                  % (fnum(top_["info_cli_p99"]), fnum(top_["run_p99"]), float(top_["run_p99"]) / 400,
                     float(top_["mgr_per_node_b"]) / 1024, fnum(top_["mgr_per_container_b"], 0),
                     fnum(top_["gossip_udp_Bps_node"], 0), fnum(top_["gossip_pushpull_Bps_node"], 0)))
    except (ValueError, KeyError, TypeError):
        pass
    L.append("")
    L.append("The agents stand in for N machines but share this machine's 2 CPUs with the manager; "
             "since 2026-11-26 they run at nice 19 (`--agent-nice`, the agents' nice column in the "
             "last table; 0 = the manager's priority, as in runs before then), so their gossip and "
             "start-up take the CPU the manager leaves, as other machines' CPUs would. The agent a "
             "request goes to still does its share at that priority.")
    try:
        grow = float(top_["fill_create_last10_p50"]) / float(top_["fill_create_first10_p50"])
    except (ValueError, ZeroDivisionError):
        grow = 0
    if grow > 3:
        L.append("")
        L.append("Create latency grows with the containers already placed (fill p50 %s ms in the "
                 "first tenth, %s ms in the last, with 4 clients queueing)."
                 % (fnum(top_["fill_create_first10_p50"]), fnum(top_["fill_create_last10_p50"])))
    L.append("")
    L.append("### Latency with the cluster full (ms, p50 / p90 / p99)")
    L.append("")
    L.append("| N | containers | `docker info` (CLI) | ratio vs classic | GET /info (HTTP) | `docker run -d` (API: create+start) | ratio vs classic | `docker run -d` (CLI) | CLI floor (`docker version`, p50) | `docker ps -a` (s) |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    def trip(r, k):
        return " / ".join(fnum(r[k + s], 1) for s in ("_p50", "_p90", "_p99"))
    def ratio(r, k, which):
        out = []
        for s, c in zip(("_p50", "_p90", "_p99"), CLASSIC[which]):
            try:
                out.append("%.3f" % (float(r[k + s]) / c))
            except ValueError:
                out.append("n/a")
        return " / ".join(out)
    for r in rows:
        L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["n"], r["fill_done"], trip(r, "info_cli"), ratio(r, "info_cli", "info"),
            trip(r, "info_http"), trip(r, "run"), ratio(r, "run", "run"), trip(r, "run_cli"),
            fnum(r["version_cli_p50"]), fnum(r["ps_s"], 2)))
    L.append("| classic, 1,000 nodes | 30,000 | 150 / 200 / 360 | 1 | | 230 / 250 / 400 | 1 | | | |")
    L.append("")
    L.append("The ratios take the CLI's `docker info` (what classic's figure most likely timed: the "
             "post does not say) and the API's create+start for `docker run -d` (classic's figure was "
             "the scheduling delay of `docker run -dit`); the CLI columns add the docker CLI's own "
             "start-up, shown by the floor column. `docker ps -a` is the wall time of "
             "`docker ps -a | wc -l`, median of 3.")
    bad = [r["n"] for r in rows if r.get("info_containers") == "0" and r["fill_done"] not in ("", "0")]
    if bad:
        L.append("")
        L.append("**Caveat (N = %s):** `docker info` through the manager said `Containers: 0` (and 0 per "
                 "node, 0 reserved) with the cluster full: it is built from the gossip metadata each "
                 "agent announced at start, not from the engines' state the manager holds, so these "
                 "`docker info` latencies do not include counting the containers (a bug, reported; "
                 "classic Swarm counted from its engine cache)." % ", ".join(bad))
    L.append("")
    L.append("### Start-up, fill, memory, gossip")
    L.append("")
    L.append("| N | all spawned (s) | manager sees N+1 alive (s) | 3 agents see N+1 (s) | N relays connected (s) | /info: N Healthy (s) | fill: containers/s | create p50 / p99 (ms) | create p50, first / last tenth | per node min-max | manager RSS start / N connected / full (MB) | manager per node (KB) | manager per container (B) | agent RSS avg (MB; anon) | gossip B/s per node: UDP + push-pull | datagrams/s per node | relay B/s per node (idle) | idle CPU: manager / all agents (% of one CPU) |")
    L.append("|" + "---|" * 18)
    for r in rows:
        mb = lambda k: fnum(float(r[k]) / 1024, 1) if r[k] not in ("", None) else "n/a"
        L.append("| %s | %s | %s | %s | %s | %s | %s | %s / %s | %s / %s | %s-%s | %s / %s / %s | %s | %s | %s (%s) | %s + %s | %s | %s | %s / %s |" % (
            r["n"], fnum(r.get("t_spawned_s")), fnum(r["t_members_s"]), fnum(r["t_agents_s"]), fnum(r["t_connected_s"]),
            fnum(r["t_info_s"]), fnum(r["fill_rate"], 0), fnum(r["fill_create_p50"]),
            fnum(r["fill_create_p99"]), fnum(r["fill_create_first10_p50"]),
            fnum(r["fill_create_last10_p50"]), r["per_node_min"], r["per_node_max"],
            mb("mgr_rss_start_kb"), mb("mgr_rss_connected_kb"), mb("mgr_rss_full_kb"),
            fnum(float(r["mgr_per_node_b"]) / 1024 if r["mgr_per_node_b"] else "", 1),
            fnum(r["mgr_per_container_b"], 0), mb("agent_rss_avg_kb"), mb("agent_anon_avg_kb"),
            fnum(r["gossip_udp_Bps_node"], 0), fnum(r["gossip_pushpull_Bps_node"], 0),
            fnum(r["dgram_out_per_s_node"], 2), fnum(r["relay_Bps_node"], 1),
            fnum(r["idle_cpu_mgr_pct"], 1), fnum(r["idle_cpu_agents_pct"], 1)))
    L.append("")
    L.append("Churn over each run (start-up, fill and measurements): relay connections the manager "
             "dropped (it drops an engine's relay when gossip marks the member failed or gone, and "
             "reconnects with a full engine snapshot once it is alive again; before 2026-11-26 04:00 "
             "UTC a suspicion dropped it too), "
             "suspicions of any member the manager heard of (it logs every member's state change), and how often three sampled agents suspected the manager:")
    L.append("")
    L.append("| N | relay drops | suspicions the manager heard of (any member) | of which in the idle window | manager suspected (3 agents' logs) |")
    L.append("|---|---|---|---|---|")
    for r in rows:
        L.append("| %s | %s | %s | %s | %s |" % (r["n"], r.get("relay_drops") or "n/a",
                 r.get("mgr_suspects") or "n/a", r.get("idle_suspects") or "n/a",
                 r.get("mgr_suspected") or "n/a"))
    L.append("")
    L.append("| N | date | built from commit | swarm binary (sha256) | agents' nice | load average at start | at end | status |")
    L.append("|---|---|---|---|---|---|---|---|")
    for r in rows:
        L.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (r["n"], r["date"], r["commit"],
                 r["swarm_sha"], r.get("agent_nice") or "0", r["load_start"], r["load_end"],
                 r["status"]))
    L.append("")
    L.append("How measured: see the header of `bench/scale.sh`. Times from the first agent's spawn "
             "(the manager starts after the two seed agents); equal times were met at the same poll "
             "(every 200 ms plus the poll's own time: /info, 400 KB at N = 1,000, is built again "
             "whenever the cluster changed since the last one), so convergence took at most the "
             "spawning plus one poll. Memory: VmRSS; the manager's per node "
             "is (N connected - before any agent) / N, per container (full - N connected) / "
             "containers; an agent's RSS is mostly the shared binary and libraries (anon = its own). "
             "Bytes: IP bytes on lo (sealed datagrams: 44 bytes of envelope and 28 of IP and UDP "
             "headers each) counted by nftables over the idle window (one push-pull period: each "
             "member starts one push-pull in it), divided by N+1 members; push-pull = TCP to and from the gossip ports; relay = the manager's relay "
             "connections (PINGs; no API call runs then). The hollow engines answer from memory, so "
             "the latencies are the manager's, the relay's and the agent's work, not an engine's: "
             "a real dockerd's create+start adds its own tens to hundreds of ms.")
    if any(os.path.exists(os.path.join(os.path.dirname(md), "scale.png")) for _ in [0]):
        L.append("")
        L.append("![latency vs N](results/scale.png)")
    if os.path.exists(os.path.join(os.path.dirname(md), "scale-fill.png")):
        L.append("")
        L.append("Create latency during the fill, by containers already placed (4 concurrent "
                 "clients):")
        L.append("")
        L.append("![create latency during the fill](results/scale-fill.png)")
    L.append("")
    with open(md, "w") as f:
        f.write("\n".join(L))

def plot(argv):
    """plot CSV DIR: scale.dat + scale.gp + scale.png (gnuplot) of p50/p99 vs N."""
    path, d = argv[0], argv[1]
    with open(path) as f:
        rows = [r for r in csv.DictReader(f) if r.get("info_cli_p50")]
    if len(rows) < 1:
        return 0
    dat = os.path.join(d, "scale.dat")
    with open(dat, "w") as f:
        f.write("# n info_cli_p50 info_cli_p99 info_http_p50 info_http_p99 run_p50 run_p99 run_cli_p50 run_cli_p99\n")
        for r in rows:
            f.write(" ".join(r[k] or "NaN" for k in ("n", "info_cli_p50", "info_cli_p99", "info_http_p50",
                    "info_http_p99", "run_p50", "run_p99", "run_cli_p50", "run_cli_p99")) + "\n")
    gp = os.path.join(d, "scale.gp")
    with open(gp, "w") as f:
        f.write("""set terminal pngcairo size 960,600 font ',10'
set output '%s'
set title "Latency through the manager vs N (hollow engines, 30 containers per node, one 2-CPU machine)"
set xlabel 'nodes (N)'
set ylabel 'ms (log)'
set logscale xy
set grid
set key top left box opaque font ',9'
set xrange [30:1500]
set yrange [0.1:2000]
set arrow from 30,15 to 1500,15 nohead dt 3 lc rgb '#d62728'
set label 'goal for info p50 (classic / 10)' at 35,18 tc rgb '#d62728' font ',8'
set arrow from 30,23 to 1500,23 nohead dt 3 lc rgb 'black'
set label 'goal for run p50 (classic / 10)' at 35,28 tc rgb 'black' font ',8'
plot '%s' u 1:2 w lp pt 7 lc 1 t 'docker info (CLI) p50', \\
     '' u 1:3 w lp pt 6 dt 2 lc 1 t 'docker info (CLI) p99', \\
     '' u 1:4 w lp pt 5 lc 2 t 'GET /info p50', \\
     '' u 1:5 w lp pt 4 dt 2 lc 2 t 'GET /info p99', \\
     '' u 1:6 w lp pt 9 lc 3 t 'run -d (API create+start) p50', \\
     '' u 1:7 w lp pt 8 dt 2 lc 3 t 'run -d (API) p99', \\
     '' u 1:8 w lp pt 11 lc 4 t 'run -d (CLI) p50', \\
     '' u 1:9 w lp pt 10 dt 2 lc 4 t 'run -d (CLI) p99', \\
     '-' w p pt 13 ps 2 lc rgb '#d62728' t 'classic, 1,000 nodes: info p50 / p99', \\
     '-' w p pt 15 ps 2 lc rgb 'black' t 'classic, 1,000 nodes: run p50 / p99'
1000 150
1000 360
e
1000 230
1000 400
e
""" % (os.path.join(d, "scale.png"), dat))
    subprocess.run(["gnuplot", gp], check=False)
    # Create latency against the containers already placed, one curve per N.
    fills = sorted((int(r["n"]), os.path.join(d, "scale-fill-%s.csv" % r["n"])) for r in rows)
    fills = [(k, f) for k, f in fills if os.path.exists(f)]
    if fills:
        gp2 = os.path.join(d, "scale-fill.gp")
        with open(gp2, "w") as f:
            f.write("""set terminal pngcairo size 960,540 font ',10'
set output '%s'
set title "POST /containers/create through the manager, by containers already placed (4 concurrent clients)"
set xlabel 'containers already placed'
set ylabel 'create latency, ms (log)'
set logscale y
set grid
set key top left box opaque
set datafile separator ','
plot %s
""" % (os.path.join(d, "scale-fill.png"), ", \\\n     ".join(
                "'%s' every 5 u 1:3 skip 1 w p pt 7 ps 0.3 lc %d t 'N = %d'" % (f, i + 1, k)
                for i, (k, f) in enumerate(fills))))
        subprocess.run(["gnuplot", gp2], check=False)

if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    fn = {"converge": converge, "fill": fill, "cli-lat": cli_lat, "http-lat": http_lat,
          "spread": spread, "stats": stats, "nft": nft_counters, "procs": procs,
          "alive": lambda a: print(alive(a[0])), "record": record, "render": render,
          "plot": plot}[cmd]
    sys.exit(fn(args) or 0)
PY
H() { python3 "$T/h.py" "$@"; }
# A long step runs in the background and is waited for, so SIGTERM/SIGINT stop the run at once
# (bash runs a trap only between commands); its pid is recorded like the others.
bg() {
    local o=$1
    shift
    "$@" >"$o" &
    local p=$!
    pids+=($p)
    wait $p
}
jget() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); exec("print(" + sys.argv[2] + ")")' "$1" "$2"; }

"$S" init --state-dir "$T/m" >"$T/init.out" 2>&1
token=$(tail -n 1 "$T/init.out")
api=$T/m/api.sock
export DOCKER_HOST=unix://$api

# Agents 0 and 1 are the seeds (each other's); the others join both. Only the seeds and the
# three sampled agents log at info (a join line per member from 1,000 agents is 10^6 lines).
sample=(0 $((n / 2)) $((n - 1)))
agent() {
    local i=$1 lvl=warn
    case " 0 1 ${sample[*]} " in *" $i "*) lvl=info ;; esac
    local seeds=(--join 127.0.0.1:$base --join 127.0.0.1:$((base + 1)))
    nice -n "$agent_nice" "$S" join --token "$token" --state-dir "$T/a$i" --hollow-engine --name "n$i" \
        --bind 127.0.0.1:$((base + i)) --relay-port $((relay0 + i)) --no-multicast \
        --log-level $lvl "${seeds[@]}" >"$T/a$i.log" 2>&1 &
    pids+=($!)
    agent_pids+=($!)
}
agent_pids=()
t0=$(date +%s.%N)
agent 0
agent 1
"$S" manage --state-dir "$T/m" -H "unix://$api" --bind 127.0.0.1:$mgr_port --no-multicast \
    --name manager --join 127.0.0.1:$base --join 127.0.0.1:$((base + 1)) >"$T/m.log" 2>&1 &
mgr=$!
pids+=($mgr)
sleep 0.3
mgr_start=$(H procs $mgr)
for ((i = 2; i < n; i++)); do
    agent $i
    # A breath every 50 spawns, so 1,000 key generations do not starve the seeds' first acks.
    if [ $((i % 50)) = 0 ]; then sleep 0.05; fi
done
t_spawned=$(python3 -c "import time; print('%.1f' % (time.time() - $t0))")
say "spawned $n agents and the manager in $t_spawned s; waiting for convergence"
status=ok
bg "$T/conv.json" H converge "$T/m" "$api" "$T/m.log" $n "$t0" $((120 + n / 2)) \
    "${sample[@]/#/$T/a}" || status="no convergence"
conv=$(cat "$T/conv.json")
echo "   $conv"
tj() { jget "$conv" "'%.2f' % d['t']['$1'] if d['t']['$1'] is not None else ''"; }
t_members=$(tj members) t_agents=$(tj agents) t_connected=$(tj connected) t_info=$(tj info)
mgr_connected=$(H procs $mgr)

row=(n=$n cpn=$cpn "date=$started" commit=$commit swarm_sha=$swarm_sha "load_start=$load_start"
    agent_nice=$agent_nice
    t_spawned_s=$t_spawned
    t_members_s=$t_members t_agents_s=$t_agents t_connected_s=$t_connected t_info_s=$t_info
    mgr_rss_start_kb=$(jget "$mgr_start" "d['rss_kb']")
    mgr_rss_connected_kb=$(jget "$mgr_connected" "d['rss_kb']"))
finish() {
    row+=("status=$status" "load_end=$(cut -d' ' -f1-3 /proc/loadavg)")
    H record "$out/scale.csv" "${row[@]}"
    H plot "$out/scale.csv" "$out" >/dev/null 2>&1 || true
    H render "$out/scale.csv" "$out/scale.md"
    say "wrote $out/scale.csv and $out/scale.md (status: $status)"
}
if [ "$status" != ok ]; then
    echo "bench/scale.sh: N=$n did not converge; manager log tail:" >&2
    tail -n 5 "$T/m.log" >&2
    finish
    exit 1
fi

say "converged: manager sees N+1 at ${t_members}s, sampled agents at ${t_agents}s, $n relays at ${t_connected}s, /info Healthy at ${t_info}s"
docker pull busybox:local >/dev/null 2>&1 || true # a hollow engine has any image; this makes it listed

total=$((n * cpn))
say "placing $total containers ($workers workers)"
bg "$T/fill.json" H fill "$api" $total $workers "$out/scale-fill-$n.csv" || status="fill incomplete"
fillj=$(cat "$T/fill.json")
echo "   $fillj"
spread=$(H spread "$api")
echo "   $spread"
row+=(fill_done=$(jget "$fillj" "d['done']") fill_errors=$(jget "$fillj" "d['errors']")
    fill_s=$(jget "$fillj" "'%.1f' % d['seconds']") fill_rate=$(jget "$fillj" "'%.1f' % d['rate']")
    fill_create_p50=$(jget "$fillj" "'%.2f' % d['create'][0]")
    fill_create_p99=$(jget "$fillj" "'%.2f' % d['create'][2]")
    fill_create_first10_p50=$(jget "$fillj" "'%.2f' % d['create_first10']")
    fill_create_last10_p50=$(jget "$fillj" "'%.2f' % d['create_last10']")
    per_node_min=$(jget "$spread" "d['min']") per_node_max=$(jget "$spread" "d['max']")
    info_containers=$(jget "$spread" "d['info_containers']"))
mgr_full=$(H procs $mgr)
row+=(mgr_rss_full_kb=$(jget "$mgr_full" "d['rss_kb']"))
row+=(mgr_per_node_b=$(python3 -c "print(round(($(jget "$mgr_connected" "d['rss_kb']") - $(jget "$mgr_start" "d['rss_kb']")) * 1024 / $n))"))
done_n=$(jget "$fillj" "d['done']")
[ "$done_n" -gt 0 ] && row+=(mgr_per_container_b=$(python3 -c "print(round(($(jget "$mgr_full" "d['rss_kb']") - $(jget "$mgr_connected" "d['rss_kb']")) * 1024 / $done_n))"))

# The idle window: bytes on lo by nftables (a table of our own, removed at exit), datagram
# counters of the sampled agents, CPU of every process.
nft_ok=0
if command -v nft >/dev/null && [ "$(id -u)" = 0 ]; then
    nft_table=swarm_scale_$$
    g1=$mgr_port r1=$((base + 2 * n))
    if nft -f - <<EOF 2>"$T/nft.err"; then
table inet $nft_table {
    chain out {
        type filter hook output priority 0; policy accept;
        oifname "lo" udp sport $base-$g1 counter comment "udp"
        oifname "lo" tcp dport $base-$g1 counter comment "pp_req"
        oifname "lo" tcp sport $base-$g1 counter comment "pp_resp"
        oifname "lo" tcp dport $relay0-$r1 counter comment "relay_req"
        oifname "lo" tcp sport $relay0-$r1 counter comment "relay_resp"
    }
}
EOF
        nft_ok=1
    else
        echo "bench/scale.sh: nft failed ($(head -c 200 "$T/nft.err")): bytes not counted" >&2
        nft_table=""
    fi
fi
# Each member starts a push-pull once per period P = 30 s x (ceil(log2(members) - 5) + 1) past
# 32 members (agent/membership.c pushpull_interval), so a window of one P sees each member's
# once; a shorter one would see a random share of them.
pp_period=$(python3 -c "import math; m = $n + 1; print(30 if m <= 32 else 30 * (math.ceil(math.log2(m) - 5) + 1))")
[ $quick = 1 ] || [ "$idle" -ge "$pp_period" ] || idle=$pp_period
say "idle window: $idle s (push-pull period at N+1 = $((n + 1)) members: $pp_period s)"
sample_dirs=("${sample[@]/#/$T/a}")
c0=$([ $nft_ok = 1 ] && H nft "$nft_table" || echo '{}')
s0=$(H stats "${sample_dirs[@]}")
p0m=$(H procs $mgr) p0a=$(H procs "${agent_pids[@]}")
sus0=$(grep -c " suspect addr=" "$T/m.log" || true)
w0=$(date +%s.%N)
bg /dev/null sleep "$idle"
c1=$([ $nft_ok = 1 ] && H nft "$nft_table" || echo '{}')
s1=$(H stats "${sample_dirs[@]}")
p1m=$(H procs $mgr) p1a=$(H procs "${agent_pids[@]}")
row+=(idle_suspects=$(($(grep -c " suspect addr=" "$T/m.log" || true) - sus0)))
w1=$(date +%s.%N)
idlej=$(python3 - "$c0" "$c1" "$s0" "$s1" "$p0m" "$p1m" "$p0a" "$p1a" "$w0" "$w1" $n "${#sample[@]}" <<'PY'
import json, os, sys
c0, c1, s0, s1, pm0, pm1, pa0, pa1 = (json.loads(a) for a in sys.argv[1:9])
w = float(sys.argv[10]) - float(sys.argv[9]); n = int(sys.argv[11]); k = int(sys.argv[12])
hz = os.sysconf("SC_CLK_TCK")
d = lambda a, b, key: (b.get(key, 0) - a.get(key, 0))
out = {"window": w,
       "dgram_out_per_s_node": d(s0, s1, "datagrams_out") / k / w,
       "idle_cpu_mgr_pct": 100.0 * d(pm0, pm1, "ticks") / hz / w,
       "idle_cpu_agents_pct": 100.0 * d(pa0, pa1, "ticks") / hz / w}
if c1:
    out["gossip_udp_Bps_node"] = d(c0, c1, "udp") / (n + 1) / w
    out["gossip_pushpull_Bps_node"] = (d(c0, c1, "pp_req") + d(c0, c1, "pp_resp")) / (n + 1) / w
    out["relay_Bps_node"] = (d(c0, c1, "relay_req") + d(c0, c1, "relay_resp")) / n / w
print(json.dumps(out))
PY
)
echo "   $idlej"
row+=("idle_window_s=$(jget "$idlej" "'%.0f' % d['window']")")
for k in dgram_out_per_s_node idle_cpu_mgr_pct idle_cpu_agents_pct gossip_udp_Bps_node \
    gossip_pushpull_Bps_node relay_Bps_node; do
    row+=("$k=$(jget "$idlej" "'%.2f' % d['$k'] if '$k' in d else ''")")
done
row+=(agent_rss_avg_kb=$(jget "$p1a" "round(d['rss_kb'] / d['n'])")
    agent_anon_avg_kb=$(jget "$p1a" "round(d['anon_kb'] / d['n'])"))

say "docker info x $samples (CLI), GET /info x $samples"
bg "$T/ic.json" H cli-lat "$samples" docker info
bg "$T/ih.json" H http-lat "$api" /info "$samples"
ic=$(cat "$T/ic.json") ih=$(cat "$T/ih.json")
echo "   cli $ic"
echo "   http $ih"
row+=(info_cli_p50=$(jget "$ic" "'%.2f' % d['p'][0]") info_cli_p90=$(jget "$ic" "'%.2f' % d['p'][1]")
    info_cli_p99=$(jget "$ic" "'%.2f' % d['p'][2]") info_http_p50=$(jget "$ih" "'%.2f' % d['p'][0]")
    info_http_p90=$(jget "$ih" "'%.2f' % d['p'][1]") info_http_p99=$(jget "$ih" "'%.2f' % d['p'][2]")
    info_bytes=$(jget "$ih" "d['bytes']"))

say "docker ps -a | wc -l x 3"
ps_t=()
for _ in 1 2 3; do
    a=$(date +%s%N)
    ps_lines=$(docker ps -a | wc -l)
    ps_t+=($((($(date +%s%N) - a) / 1000000)))
done
ps_med=$(printf '%s\n' "${ps_t[@]}" | sort -n | sed -n 2p)
echo "   ${ps_t[*]} ms, $ps_lines lines"
row+=(ps_s=$(python3 -c "print('%.3f' % ($ps_med / 1000))") ps_lines=$ps_lines)

say "swarm bench run-latency -n $samples"
bg "$T/run.txt" "$S" bench -H "$DOCKER_HOST" run-latency -n "$samples" --json "$T/run.json" ||
    { cat "$T/run.txt"; status="run-latency failed"; }
cat "$T/run.txt" | sed -n '/latency ms/,$p'
if [ -s "$T/run.json" ]; then
    rj=$(cat "$T/run.json")
    for s in run create start; do
        pre=run_${s}
        [ $s = run ] && pre=run
        row+=("${pre}_p50=$(jget "$rj" "'%.2f' % d['latency_ms']['$s']['p50']")"
            "${pre}_p99=$(jget "$rj" "'%.2f' % d['latency_ms']['$s']['p99']")")
    done
    row+=("run_p90=$(jget "$rj" "'%.2f' % d['latency_ms']['run']['p90']")")
fi
say "docker run -d x $samples (CLI), docker version x 20"
bg "$T/rc.json" H cli-lat "$samples" docker run -d busybox:local sleep infinity
bg "$T/vc.json" H cli-lat 20 docker version
rc=$(cat "$T/rc.json") vc=$(cat "$T/vc.json")
echo "   run cli $rc"
echo "   version cli $vc"
row+=(run_cli_p50=$(jget "$rc" "'%.2f' % d['p'][0]") run_cli_p90=$(jget "$rc" "'%.2f' % d['p'][1]")
    run_cli_p99=$(jget "$rc" "'%.2f' % d['p'][2]") version_cli_p50=$(jget "$vc" "'%.2f' % d['p'][0]"))

# Churn over the whole run: relay connections the manager dropped (it drops an engine's relay
# when gossip marks the member anything but alive, suspect included) and suspicions.
row+=(relay_drops=$(grep -c "disconnected addr=" "$T/m.log" || true)
    mgr_suspects=$(grep -c " suspect addr=" "$T/m.log" || true)
    mgr_suspected=$(for i in "${sample[@]}"; do grep -c "member manager suspect" "$T/a$i.log" || true; done |
        awk '{s += $1} END {print s + 0}'))

# Every process still there?
gone=0
for p in $mgr "${agent_pids[@]}"; do kill -0 "$p" 2>/dev/null || gone=$((gone + 1)); done
[ $gone = 0 ] || status="$gone processes died during the run"
finish
if [ "$status" = ok ]; then exit 0; else exit 1; fi
}
