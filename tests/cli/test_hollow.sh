#!/usr/bin/env bash
# `swarm join --hollow-engine` for real (scale tests only: a fake engine answering the Docker API
# from memory): starts an agent with it on loopback, then drives STATE_DIR/hollow.sock with curl
# and the real docker CLI (those checks are skipped, and say so, where the tool is missing),
# and checks the agent stops cleanly. Usage: test_hollow.sh PATH/TO/swarm
set -u
swarm=${1:?usage: test_hollow.sh PATH/TO/swarm}
tmp=$(mktemp -d /tmp/swarm-hollow-cli.XXXXXX)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
checks=0
ok() { # ok NAME COMMAND...
    local name=$1
    shift
    checks=$((checks + 1))
    if "$@" >/dev/null 2>&1; then
        echo "ok - $name"
    else
        fails=$((fails + 1))
        echo "not ok - $name"
    fi
}
# has TEXT PATTERN: the text matches the extended regex.
has() { grep -qE -- "$2" <<<"$1"; }

dir=$tmp/agent
sock=$dir/hollow.sock
port=$((20000 + RANDOM % 30000))
token=$("$swarm" init --state-dir "$tmp/mgr" 2>/dev/null | tail -n 1)
"$swarm" join --token "$token" --hollow-engine --hollow-cpus 6 --hollow-memory 3GiB \
    --state-dir "$dir" --name hollow-cli --label zone=attic --bind "127.0.0.1:$port" \
    --no-multicast >"$tmp/log" 2>&1 &
pid=$!
for _ in $(seq 100); do
    [ -S "$dir/control.sock" ] && [ -S "$sock" ] && break
    sleep 0.05
done
ok "agent up with its hollow socket" [ -S "$sock" ]
ok "hollow socket is owner-only" [ "$(stat -c %a "$sock")" = 600 ]
ok "start log says scale tests only" grep -q 'hollow engine on .*hollow.sock: scale tests only: answers the Docker API from memory; runs no containers' "$tmp/log"
ok "engine_info read the hollow engine" grep -q 'engine hollow-cli .* 6 CPUs 3072 MB API 1.41' "$tmp/log"
ok "members answers" "$swarm" members --state-dir "$dir" --format json

if command -v curl >/dev/null; then
    info=$(curl -s --max-time 5 --unix-socket "$sock" http://x/info)
    ok "curl /info: Name" has "$info" '"Name":"hollow-cli"'
    ok "curl /info: NCPU" has "$info" '"NCPU":6'
    ok "curl /info: MemTotal" has "$info" '"MemTotal":3221225472'
    ok "curl /info: OperatingSystem" has "$info" '"OperatingSystem":"hollow"'
    ok "curl /info: Labels" has "$info" '"Labels":\["zone=attic"\]'
    ok "curl /info: ServerVersion" has "$info" '"ServerVersion":"hollow-[0-9]'
    ok "curl /v1.41/_ping" [ "$(curl -s --max-time 5 --unix-socket "$sock" http://x/v1.41/_ping)" = OK ]
    ok "curl unknown route: 404" has "$(curl -s --max-time 5 --unix-socket "$sock" -w '%{http_code}' http://x/nope | tr -d '\n')" '^\{"message":"page not found"\}404$'
else
    echo "ok - # SKIP curl not installed"
fi

if command -v docker >/dev/null; then
    export DOCKER_CONFIG=$tmp/docker-config
    unset DOCKER_HOST DOCKER_CONTEXT
    d() { timeout 10 docker -H "unix://$sock" "$@"; }
    ok "docker info" has "$(d info 2>&1)" 'Operating System: hollow'
    id=$(d run -d busybox true)
    ok "docker run -d busybox true" has "$id" '^[0-9a-f]{64}$'
    ps=$(d ps -a --no-trunc --format '{{.ID}} {{.Status}}')
    ok "docker ps -a shows it exited" has "$ps" "^$id Exited \(0\)"
    ok "docker ps hides it" [ -z "$(d ps -q)" ]
    ok "docker run -d --name sl busybox sleep 100" d run -d --name sl busybox sleep 100
    ok "docker ps shows it running" has "$(d ps --format '{{.Names}} {{.Status}}')" '^sl Up'
    ok "docker run with a name in use fails" bash -c "! timeout 10 docker -H unix://$sock run -d --name sl busybox true 2>/dev/null"
    ok "docker logs of echo" [ "$(d run -d --name say busybox echo hello hollow >/dev/null && d logs say)" = "hello hollow" ]
    ok "docker stop" d stop sl
    ok "docker rm" d rm "$id" sl say
    ok "docker ps -a is empty" [ -z "$(d ps -aq)" ]
    since=$(date +%s)
    d run -d --rm --name gone busybox true >/dev/null
    ev=$(d events --since "$since" --until "$(($(date +%s) + 1))" --format '{{.Action}} {{.Actor.Attributes.name}}')
    ok "docker events: create start die destroy" has "$(tr '\n' ' ' <<<"$ev")" 'create gone start gone die gone destroy gone'
    ok "docker pull" has "$(d pull alpine:3.19 2>&1)" 'Downloaded newer image for alpine:3.19'
    ok "docker images" has "$(d images --format '{{.Repository}}:{{.Tag}}')" 'alpine:3.19'
    ok "docker rm -f nosuch exits 0 (404)" d rm -f nosuch
else
    echo "ok - # SKIP docker CLI not installed"
fi

# A second agent on the same state dir is refused before it touches the socket.
"$swarm" join --token "$token" --hollow-engine --state-dir "$dir" --name other \
    --bind "127.0.0.1:$((port + 10))" --no-multicast >"$tmp/log2" 2>&1
rc=$?
ok "second agent on the same state dir fails" [ "$rc" -eq 1 ]
ok "... and says why" grep -q 'another swarm daemon is running with state dir' "$tmp/log2"
ok "... leaving the first one's socket" [ -S "$sock" ]

kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
ok "SIGTERM: exit 0" [ "$rc" -eq 0 ]
ok "SIGTERM: stopped cleanly" bash -c "grep -q 'daemon: stopped' '$tmp/log' && ! grep -q 'handles still open' '$tmp/log'"
ok "SIGTERM: socket removed" [ ! -e "$sock" ]

echo "$checks checks, $fails failed"
[ "$fails" -eq 0 ]
