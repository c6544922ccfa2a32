# tests/lab/harness.sh — what the manager's end-to-end tests share; sourced after lab.sh.
#
#   step TEXT...            a numbered heading with the seconds since the test began
#   ok TEXT...              one line under it
#   fail TEXT...            FAIL: TEXT, the tail of every agent and manager log in $LAB_DIR, exit 1
#   wait_for S WHAT CMD...  polls CMD every 0.2 s until it succeeds (WAITED_MS: how long it
#                           took), or fails the test with "WHAT: not within S s"
#   spawn_manager LOG PIDFILE ARGS...
#                           `$SWARM manage ARGS...` in host 1's namespace, through a small shell
#                           that logs its exit code to LOG; waits for its pid (MGR_PID)
#
# Needs SWARM (the binary) and, once the lab is up, LAB_DIR.

T0=$SECONDS

step() { printf '\n== [%3ss] %s\n' "$((SECONDS - T0))" "$*"; }
ok() { printf '   ok: %s\n' "$*"; }
fail() {
    printf 'FAIL: %s\n' "$*"
    for f in "$LAB_DIR"/agent*.log "$LAB_DIR"/manager*.log; do
        [[ -f $f ]] && { echo "--- $f"; tail -n 25 "$f"; }
    done
    exit 1
}
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
spawn_manager() {
    local log=$1 pidfile=$2
    shift 2
    lab_spawn 1 "$log" bash -c \
        'pidfile=$1; shift; "$@" & echo $! >"$pidfile"; wait $!; echo "manager exited with code $?"' \
        _ "$pidfile" "$SWARM" manage "$@"
    wait_for 10 "the manager's pid file" test -s "$pidfile"
    MGR_PID=$(cat "$pidfile")
}
