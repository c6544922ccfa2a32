#!/usr/bin/env bash
# Black-box tests of the swarm command line: exit codes, where messages go, every help text.
# Usage: test_cli.sh PATH/TO/swarm
set -u
swarm=${1:?usage: test_cli.sh PATH/TO/swarm}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
checks=0

# expect RC PATTERN-ON-STDOUT PATTERN-ON-STDERR -- ARGS...   (empty pattern = must be empty)
expect() {
    local want_rc=$1 out_pat=$2 err_pat=$3
    shift 4
    checks=$((checks + 1))
    "$swarm" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    local ok=1
    [ "$rc" -eq "$want_rc" ] || ok=0
    if [ -z "$out_pat" ]; then [ ! -s "$tmp/out" ] || ok=0; else grep -qE -- "$out_pat" "$tmp/out" || ok=0; fi
    if [ -z "$err_pat" ]; then [ ! -s "$tmp/err" ] || ok=0; else grep -qE -- "$err_pat" "$tmp/err" || ok=0; fi
    if [ $ok -eq 1 ]; then
        echo "ok - swarm $* (rc=$rc)"
    else
        fails=$((fails + 1))
        echo "not ok - swarm $*: rc=$rc want $want_rc"
        echo "  stdout: $(head -c 400 "$tmp/out")"
        echo "  stderr: $(head -c 400 "$tmp/err")"
    fi
}

# Usage errors: one line naming the problem, then usage, on stderr; exit 2; nothing on stdout.
expect 2 "" '^swarm: no command given' --
expect 2 "" '^swarm: unknown command "frobnicate"' -- frobnicate
expect 2 "" '^swarm join: unknown flag --bogus' -- join --bogus
expect 2 "" '^swarm join: unknown flag --bogus' -- join --bogus=1
expect 2 "" '^swarm manage: unknown flag -Z' -- manage -Z
expect 2 "" '^swarm join: flag --token needs a value' -- join --token
expect 2 "" '^swarm join: flag --no-multicast takes no value' -- join --no-multicast=sometimes
expect 2 "" '^swarm version: unexpected argument "extra"' -- version extra
expect 2 "" '^swarm: unknown command "nope"' -- help nope
# The first line of a usage error is the message; the usage follows it.
"$swarm" join --bogus 2>"$tmp/err" >/dev/null
checks=$((checks + 1))
if [ "$(sed -n 2p "$tmp/err")" = "Usage: swarm join --token TOKEN [flags]" ]; then
    echo "ok - usage follows the error line"
else
    fails=$((fails + 1)); echo "not ok - usage line missing: $(cat "$tmp/err")"
fi

# Help: on stdout, exit 0.
expect 0 '^Usage: swarm COMMAND' "" -- --help
expect 0 '^Usage: swarm COMMAND' "" -- -h
expect 0 '^Usage: swarm COMMAND' "" -- help
for cmd in init join manage members bench version help; do
    expect 0 "^Usage: swarm $cmd" "" -- help "$cmd"
    expect 0 "^Usage: swarm $cmd" "" -- "$cmd" --help
    # Every command is listed in the overview.
    "$swarm" --help | grep -qE "^  $cmd " || { fails=$((fails + 1)); echo "not ok - $cmd not listed in --help"; }
    checks=$((checks + 1))
done
expect 0 '--token TOKEN' "" -- help join
expect 0 '-H, --host URL' "" -- help manage
expect 0 '--format table\|json' "" -- help members

# Version: our version and commit, and each linked library.
expect 0 '^swarm [0-9]+\.[0-9]+\.[0-9]+ \(commit [0-9a-f]+(-dirty)?|unknown\)' "" -- version
expect 0 '^swarm [0-9]' "" -- --version
for lib in libsodium msgpack-c libuv libcurl http-parser jansson; do
    expect 0 "^  $lib +[0-9]+\.[0-9]+" "" -- version
done

# --hollow-engine (scale tests only; run for real in tests/cli/test_hollow.sh): its flags are
# checked before anything else (exit 2), and its help says what it is.
expect 2 "" '^swarm join: --hollow-cpus needs --hollow-engine' -- join --hollow-cpus 4 --token x
expect 2 "" '^swarm join: --hollow-memory needs --hollow-engine' -- join --hollow-memory 1g --token x
expect 2 "" '^swarm join: --engine and --hollow-engine exclude each other' -- join --hollow-engine --engine unix:///x.sock --token x
expect 2 "" '^swarm join: --hollow-cpus "0": expected 1..1048576' -- join --hollow-engine --hollow-cpus 0 --token x
expect 2 "" '^swarm join: --hollow-memory "lots": expected bytes or a size like 2GiB' -- join --hollow-engine --hollow-memory lots --token x
expect 0 'scale tests only: answers the Docker API from memory; runs no' "" -- help join

# init: a fresh state dir (0700) with two key files (0600), the token as the last line of stdout;
# a second run refuses and changes nothing; --force replaces the keys and the token.
# ok NAME COMMAND...: one check that passes when COMMAND succeeds.
ok() {
    local name=$1
    shift
    checks=$((checks + 1))
    if "$@"; then echo "ok - $name"; else fails=$((fails + 1)); echo "not ok - $name"; fi
}
st="$tmp/init/state"
expect 0 '^SWARM1-' "" -- init --state-dir "$st"
token1=$(tail -n 1 "$tmp/out")
ok "init: the token is the last line" grep -qE '^SWARM1-[A-Za-z0-9_-]{94}$' <<<"$token1"
ok "init: state dir is 0700" [ "$(stat -c %a "$st")" = 700 ]
ok "init: keyring is 0600" [ "$(stat -c %a "$st/keyring")" = 600 ]
ok "init: manager.key is 0600" [ "$(stat -c %a "$st/manager.key")" = 600 ]
ok "init: no temp files left" [ "$(ls -A "$st" | tr '\n' ' ')" = "keyring manager.key " ]
ok "init: the token is not in the logs" [ ! -s "$tmp/err" ]
cp "$st/keyring" "$tmp/keyring.1"
cp "$st/manager.key" "$tmp/manager.key.1"
expect 1 "" "^swarm init: $st already holds keys \(keyring, manager.key\); nothing was changed" -- init --state-dir "$st"
ok "init: refusal names --force" grep -q -- '--force' "$tmp/err"
ok "init: refusal leaves the keyring" cmp -s "$st/keyring" "$tmp/keyring.1"
ok "init: refusal leaves manager.key" cmp -s "$st/manager.key" "$tmp/manager.key.1"
expect 0 '^Replaced' "" -- init --state-dir "$st" --force
token2=$(tail -n 1 "$tmp/out")
ok "init --force: a new token" [ "$token1" != "$token2" ]
ok "init --force: a new token on the last line" grep -qE '^SWARM1-[A-Za-z0-9_-]{94}$' <<<"$token2"
expect 0 '^SWARM1-' "" -- init --state-dir "$st" --show-token
ok "init --show-token: the same token again, alone" [ "$(cat "$tmp/out")" = "$token2" ]
expect 2 "" 'do not go together' -- init --state-dir "$st" --show-token --force
expect 1 "" "^swarm init: cannot open keyring file $tmp/none/keyring" -- init --state-dir "$tmp/none" --show-token
differs() { ! cmp -s "$1" "$2"; }
ok "init --force: a new keyring" differs "$st/keyring" "$tmp/keyring.1"
ok "init --force: a new manager.key" differs "$st/manager.key" "$tmp/manager.key.1"
ok "init --force: still 0600" [ "$(stat -c %a "$st/keyring")$(stat -c %a "$st/manager.key")" = 600600 ]
ok "init --force: no temp files left" [ "$(ls -A "$st" | tr '\n' ' ')" = "keyring manager.key " ]
# Only one of the two files is enough to refuse.
rm "$st/keyring"
expect 1 "" "already holds keys \(manager.key\)" -- init --state-dir "$st"
touch "$tmp/init/file"
expect 1 "" "^swarm init: .*file is not a directory" -- init --state-dir "$tmp/init/file"
expect 1 "" "^swarm init: cannot create" -- init --state-dir "$tmp/init/file/sub"

# join checks its inputs before touching anything: token, timing flags, labels, the engine.
expect 2 "" '^swarm join: --token is required' -- join
expect 2 "" '^swarm join: invalid token' -- join --token SWARM1-garbage --state-dir "$tmp/j"
ok "join: a bad token creates no state dir" [ ! -e "$tmp/j" ]
expect 2 "" '^swarm join: --probe-interval "fast": expected a duration' -- join --token "$token2" --probe-interval fast
expect 2 "" '^swarm join: --probe-timeout must not exceed --probe-interval' -- join --token "$token2" --probe-interval 100ms --probe-timeout 1s
expect 2 "" '^swarm join: --suspicion-mult "0": expected 1..32' -- join --token "$token2" --suspicion-mult 0
# Beacon groups: each flag wants a numeric multicast address of its own family (exit 2, before
# any state dir or engine is touched).
expect 2 "" '^swarm join: --mcast-group6: "fe80::1" is not an IPv6 multicast address: expected a numeric ff00::/8 group' -- join --token "$token2" --state-dir "$tmp/j6" --mcast-group6 fe80::1
expect 2 "" '^swarm join: --mcast-group6: "239.255.77.46" is not an IPv6 multicast address' -- join --token "$token2" --state-dir "$tmp/j6" --mcast-group6 239.255.77.46
expect 2 "" '^swarm join: --mcast-group6: "\[ff12::77:46\]" is not an IPv6 multicast address' -- join --token "$token2" --state-dir "$tmp/j6" --mcast-group6 '[ff12::77:46]'
expect 2 "" '^swarm join: --mcast-group6: "ff12::77:46%eth0" is not an IPv6 multicast address.*without brackets or %zone' -- join --token "$token2" --state-dir "$tmp/j6" --mcast-group6 ff12::77:46%eth0
expect 2 "" '^swarm join: --mcast-group6: "ff00::1" is not an IPv6 multicast address' -- join --token "$token2" --state-dir "$tmp/j6" --mcast-group6 ff00::1
expect 2 "" '^swarm join: flag --mcast-group6 needs a value' -- join --token "$token2" --mcast-group6
expect 2 "" '^swarm join: --mcast-group: "ff12::77:46" is not an IPv4 multicast address: expected a numeric 224.0.0.0/4 group' -- join --token "$token2" --state-dir "$tmp/j6" --mcast-group ff12::77:46
expect 2 "" '^swarm join: --mcast-group: "10.1.2.3" is not an IPv4 multicast address' -- join --token "$token2" --state-dir "$tmp/j6" --mcast-group 10.1.2.3
ok "join: a bad beacon group creates no state dir" [ ! -e "$tmp/j6" ]
# A valid group gets past the check (and on to the engine, which is missing here).
expect 1 "" '^swarm join: cannot start: the Docker engine at unix:///nonexistent.sock did not answer' -- join --token "$token2" --state-dir "$tmp/j6" --engine unix:///nonexistent.sock --mcast-group6 ff02::77:46 --mcast-group 239.1.2.3
expect 0 '--mcast-group6 ADDR +IPv6 multicast group for LAN beacons' "" -- help join
expect 0 'default ff12::77:46, hop limit 1' "" -- help join
expect 1 "" '^swarm join: cannot start: the Docker engine at unix:///nonexistent.sock did not answer' -- join --token "$token2" --state-dir "$tmp/j2" --engine unix:///nonexistent.sock
expect 1 "" '^swarm join: cannot start: engine tcp://1.2.3.4:2375: expected unix://' -- join --token "$token2" --state-dir "$tmp/j2" --engine tcp://1.2.3.4:2375
ok "join: keys kept owner-only" [ "$(stat -c %a "$tmp/j2/keyring")$(stat -c %a "$tmp/j2/agent.key")" = 600600 ]

# manage checks its flags before touching anything: -H, --strategy, --filter, --cluster-opt,
# TLS flags (refused until TLS is built), then the keys `swarm init` made.
expect 2 "" '^swarm manage: -H tcp://0.0.0.0:2375: serving the Docker API on a non-loopback TCP address needs TLS' -- manage -H tcp://0.0.0.0:2375
expect 2 "" '^swarm manage: -H tcp://192.168.1.5:2375: .*needs TLS, which swarm does not have yet' -- manage -H unix://$tmp/ok.sock -H tcp://192.168.1.5:2375
expect 2 "" '^swarm manage: -H unix://relative.sock: the socket path must be absolute' -- manage -H unix://relative.sock
expect 2 "" '^swarm manage: -H http://x: expected unix://PATH or tcp://ADDR:PORT' -- manage -H http://x
expect 2 "" '^swarm manage: --strategy "fastest": expected spread, binpack or random' -- manage --strategy fastest
expect 2 "" '^swarm manage: --filter "bogus": unknown filter' -- manage --filter health --filter bogus
expect 2 "" '^swarm manage: --filter "port" given twice' -- manage -f port -f port
expect 2 "" '^swarm manage: --cluster-opt swarm.overcommit=-2: expected a ratio above -1' -- manage --cluster-opt swarm.overcommit=-2
expect 2 "" '^swarm manage: --cluster-opt "nonsense": expected KEY=VALUE' -- manage --cluster-opt nonsense
expect 2 "" '^swarm manage: --tlsverify: TLS for the Docker API is not built yet' -- manage --tlsverify
expect 2 "" '^swarm manage: --tlscert: TLS for the Docker API is not built yet' -- manage --tlscert /x.pem
expect 2 "" '--probe-interval "fast": expected a duration' -- manage --probe-interval fast
expect 2 "" '^swarm manage: --inspect-cache "lots": expected MB, 0..4096' -- manage --inspect-cache lots
expect 2 "" '^swarm manage: --inspect-cache "-1": expected MB, 0..4096' -- manage --inspect-cache -1
expect 2 "" '^swarm manage: --inspect-cache "5000": expected MB, 0..4096' -- manage --inspect-cache 5000
expect 0 '--inspect-cache MB +memory for container inspect answers kept' "" -- help manage
expect 2 "" '^swarm manage: --mcast-group6: "2001:db8::1" is not an IPv6 multicast address' -- manage --mcast-group6 2001:db8::1 --state-dir "$tmp/nokeys"
expect 2 "" '^swarm manage: --mcast-group: "ff02::1" is not an IPv4 multicast address' -- manage --mcast-group ff02::1 --state-dir "$tmp/nokeys"
expect 0 '--mcast-group6 ADDR +IPv6 multicast group for LAN beacons' "" -- help manage
expect 2 "" '^swarm manage: unexpected argument' -- manage token://a token://b
expect 1 "" "^swarm manage: $tmp/nokeys holds no cluster keys \(keyring and manager.key missing\): run \`swarm init --state-dir $tmp/nokeys\` first" -- manage --state-dir "$tmp/nokeys" -H "unix://$tmp/m.sock"
ok "manage: a failed start leaves no socket" [ ! -e "$tmp/m.sock" ]
ok "manage: a failed start creates no state dir" [ ! -e "$tmp/nokeys" ]
# Classic Swarm's flags and discovery URL are accepted with a one-line warning each.
expect 1 "" '^swarm manage: warning: --heartbeat is ignored: gossip detects failures' -- manage --heartbeat 10s --state-dir "$tmp/nokeys"
expect 1 "" '^swarm manage: warning: --engine-refresh-min-interval is ignored' -- manage --engine-refresh-min-interval 30s --state-dir "$tmp/nokeys"
expect 1 "" '^swarm manage: warning: discovery URL "token://abc" is ignored' -- manage token://abc --strategy binpacking --cluster-opt swarm.createretry=2 --state-dir "$tmp/nokeys"
expect 1 "" '^swarm manage: warning: --cluster-opt swarm.bogus is not known and is ignored' -- manage --cluster-opt swarm.bogus=1 --state-dir "$tmp/nokeys"
expect 0 '--strategy NAME' "" -- help manage
expect 0 'run/create placed by' "" -- help manage

# bench checks its inputs before touching any endpoint (exit 2), then says when it cannot reach
# one (exit 1); each time one line on stderr, nothing on stdout.
expect 2 "" '^swarm bench: no workload given: expected api, inspect, ps, churn, run-latency or logs' -- bench
expect 2 "" '^swarm bench: unknown workload "frobnicate": expected api, inspect, ps, churn, run-latency or logs' -- bench frobnicate
expect 2 "" '^swarm bench: --log-mb applies to the logs workload only' -- bench churn --log-mb 5
expect 2 "" '^swarm bench: --log-mb "0": expected 1..1000' -- bench logs --log-mb 0
expect 2 "" '^swarm bench: --log-mb "1001": expected 1..1000' -- bench logs --log-mb 1001
expect 2 "" '^swarm bench: --env "NOEQUALS": expected KEY=VALUE' -- bench logs -e NOEQUALS
expect 2 "" '^swarm bench: --env "=x": expected KEY=VALUE' -- bench api --env =x
expect 2 "" '^swarm bench: --concurrency "0": expected 1..256' -- bench api --concurrency 0
expect 2 "" '^swarm bench: --concurrency "4x": expected 1..256' -- bench churn -c 4x
expect 2 "" '^swarm bench: --count "-1": expected 1..1000000000' -- bench churn --count=-1
expect 2 "" '^swarm bench: --duration "soon": expected seconds' -- bench api --duration soon
expect 2 "" '^swarm bench: --duration "0": expected seconds' -- bench api --duration 0
expect 2 "" '^swarm bench: --duration and --count exclude each other' -- bench api --duration 2 --count 5
expect 2 "" '^swarm bench: --cleanup takes no workload' -- bench --cleanup api
expect 2 "" '^swarm bench: -H http://x: expected unix:///PATH or tcp://HOST:PORT' -- bench -H http://x api
expect 2 "" '^swarm bench: -H unix://rel.sock: the socket path must be absolute' -- bench -H unix://rel.sock api
expect 2 "" '^swarm bench: -H tcp://host: expected tcp://HOST:PORT' -- bench -H tcp://host api
expect 2 "" '^swarm bench: unexpected argument "extra"' -- bench api extra
expect 2 "" '^swarm bench: unknown flag --bogus' -- bench api --bogus
expect 1 "" '^swarm bench: cannot reach the Docker endpoint unix:///nonexistent.sock: GET /_ping: transport: ' -- bench -H unix:///nonexistent.sock api
expect 1 "" '^swarm bench: cannot reach the Docker endpoint unix:///nonexistent.sock' -- bench -H unix:///nonexistent.sock churn --count 1
# $DOCKER_HOST is the default endpoint; -H wins over it.
checks=$((checks + 1))
if DOCKER_HOST=unix:///nonexistent-env.sock "$swarm" bench api >/dev/null 2>"$tmp/err"; then
    fails=$((fails + 1)); echo "not ok - bench: DOCKER_HOST unreachable yet exit 0"
elif grep -q 'unix:///nonexistent-env.sock' "$tmp/err"; then
    echo "ok - bench: DOCKER_HOST is the default endpoint"
else
    fails=$((fails + 1)); echo "not ok - bench: DOCKER_HOST ignored: $(cat "$tmp/err")"
fi
expect 1 "" '^swarm bench: cleanup: listing containers labelled com.swarm.bench=1 at unix:///nonexistent.sock: transport: ' -- bench -H unix:///nonexistent.sock --cleanup
expect 0 'com.swarm.bench=1' "" -- help bench
expect 0 'run-latency' "" -- help bench
expect 0 'logs .*stream throughput' "" -- help bench
expect 0 '--log-mb MB' "" -- help bench

# members asks a daemon over its control socket; with none running it says so.
expect 1 "" "^swarm members: no swarm daemon is running with state dir $tmp" -- members --state-dir "$tmp"
expect 2 "" '^swarm members: --format must be table or json' -- members --format xml

echo "$checks checks, $fails failed"
[ "$fails" -eq 0 ]
