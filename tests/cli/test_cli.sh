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

# Commands not built yet say so and fail (exit 3); they never pretend to work.
for cmd in join manage bench init; do
    expect 3 "" "^swarm $cmd: not implemented yet" -- "$cmd"
done
expect 0 'Status: not implemented yet' "" -- help join

# members asks a daemon over its control socket; with none running it says so.
expect 1 "" "^swarm members: no swarm daemon is running with state dir $tmp" -- members --state-dir "$tmp"
expect 2 "" '^swarm members: --format must be table or json' -- members --format xml

echo "$checks checks, $fails failed"
[ "$fails" -eq 0 ]
