#!/usr/bin/env bash
# Installs the Debian 12 packages swarm needs to build, test and run its lab of real engines.
# Used by ./test and ./demo. Runs apt-get only when a package is missing (set SWARM_APT=always
# to force the update and install anyway; SWARM_APT=never to skip).
set -euo pipefail

packages=(
    # build
    cmake make gcc clang pkg-config git
    libsodium-dev libmsgpack-dev libuv1-dev libcurl4-openssl-dev libhttp-parser-dev libjansson-dev
    # test tooling: sanitizer and libFuzzer runtimes, leak checks, formatting
    libclang-rt-14-dev valgrind clang-format
    # the lab: real engines in network namespaces
    docker.io busybox-static iptables iproute2 curl procps docker-registry tcpdump
    # docker-py and docker-compose, clients the manager's end-to-end test drives
    python3-docker docker-compose
    # the peer the benchmarks compare gossip with
    serf
    # bench/run (also its smoke test in ./test): plots, the reports' scripts, scale.sh's byte
    # counters on loopback
    gnuplot-nox python3 nftables
)

mode=${SWARM_APT:-auto}
[ "$mode" = never ] && exit 0

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "$mode" = auto ] && [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
    exit 1
fi
echo "deps: installing ${missing[*]:-(forced)}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${packages[@]}"
