/* The manager's subcommands as the dispatcher sees them: flags, help texts, entry points. */
#include "agent/gossip_uv.h"
#include "manager/curl_runtime.h"
#include "manager/init_cmd.h"
#include "manager/manage.h"
#include "manager/manager.h"

#include <curl/curl.h>
#include <http_parser.h>
#include <jansson.h>
#include <stdio.h>

static const struct flag_spec init_flags[] = {
    {"state-dir", 0, FLAG_VALUE, "DIR", "where to create the keys (default /var/lib/swarm)"},
    {"force", 0, FLAG_BOOL, NULL, "replace keys already in DIR (old tokens stop working)"},
    {"show-token", 0, FLAG_BOOL, NULL,
     "print the token of the keys already in DIR again (changes nothing)"},
};

const struct swarm_command manager_init_command = {
    .name = "init",
    .summary = "create the cluster key and the manager's keypair; print the join token",
    .usage = "swarm init [--state-dir DIR] [--force | --show-token]",
    .description =
        "Run once, on the host that will run `swarm manage`. Creates DIR (mode 0700) if needed,\n"
        "then DIR/keyring (the cluster key) and DIR/manager.key (the manager's X25519 keypair),\n"
        "both mode 0600. The join token, the last line of stdout, holds the cluster key and the\n"
        "manager's public key; pass it to `swarm join --token` on every Docker host. Keep it\n"
        "secret. On a DIR that already holds keys, init changes nothing and exits 1, unless\n"
        "--force: then the old keys are replaced and tokens made before stop working.",
    .flags = init_flags,
    .nflags = sizeof(init_flags) / sizeof(init_flags[0]),
    .run = init_cmd_run,
};

static const struct flag_spec manage_flags[] = {
    {"state-dir", 0, FLAG_VALUE, "DIR", "keys made by `swarm init` (default /var/lib/swarm)"},
    {"host", 'H', FLAG_LIST, "URL",
     "serve the Docker API on unix://PATH or tcp://127.0.0.1:PORT\n(default "
     "unix:///run/swarm.sock, mode 0660)"},
    {"bind", 0, FLAG_VALUE, "ADDR:PORT", "gossip address, UDP and TCP (default 0.0.0.0:7946)"},
    {"advertise", 0, FLAG_VALUE, "ADDR[:PORT]", "address other members use to reach this one"},
    {"join", 0, FLAG_LIST, "HOST[:PORT]", "seed member to contact (DNS names allowed)"},
    {"no-multicast", 0, FLAG_BOOL, NULL,
     "do not discover members with LAN multicast beacons (IPv4 and IPv6)"},
    {"name", 0, FLAG_VALUE, "NAME",
     "member name (default: HOSTNAME-manager, so an agent on\n"
     "the same host keeps the host name)"},
    {"strategy", 0, FLAG_VALUE, "NAME",
     "placement strategy: spread, binpack or random (default spread)"},
    {"filter", 'f', FLAG_LIST, "NAME",
     "scheduling filter; replaces the default list and sets the order\n"
     "(default health, port, containerslots, dependency, affinity, constraint, whitelist)"},
    {"cluster-opt", 0, FLAG_LIST, "KEY=VALUE",
     "swarm.overcommit=RATIO, swarm.createretry=N (as classic Swarm)"},
    {"inspect-cache", 0, FLAG_VALUE, "MB",
     "memory for container inspect answers kept between calls\n"
     "(default 8; 0: every inspect goes to its engine)"},
    {"log-level", 0, FLAG_VALUE, "LEVEL", "debug, info, warn or error (default info)"},
    {"mcast-group", 0, FLAG_VALUE, "ADDR",
     "IPv4 multicast group for LAN beacons (default " GOSSIP_MCAST_GROUP ", TTL 1)"},
    {"mcast-group6", 0, FLAG_VALUE, "ADDR",
     "IPv6 multicast group for LAN beacons, sent and joined on every\n"
     "interface with IPv6 (default " GOSSIP_MCAST_GROUP6 ", hop limit 1)"},
    {"mcast-port", 0, FLAG_VALUE, "PORT", "UDP port of both beacon groups (default 7947)"},
    {"probe-interval", 0, FLAG_VALUE, "DURATION", "as for `swarm join` (default 500ms)"},
    {"probe-timeout", 0, FLAG_VALUE, "DURATION", "as for `swarm join` (default 200ms)"},
    {"suspicion-mult", 0, FLAG_VALUE, "N", "as for `swarm join` (default 3)"},
    {"gossip-interval", 0, FLAG_VALUE, "DURATION", "as for `swarm join` (default 200ms)"},
    {"pushpull-interval", 0, FLAG_VALUE, "DURATION", "as for `swarm join` (default 30s)"},
    /* classic Swarm's manage flags, so old scripts run */
    {"addr", 0, FLAG_VALUE, "ADDR[:PORT]", "classic Swarm's name for --advertise"},
    {"tls", 0, FLAG_BOOL, NULL, "classic Swarm TLS flags: refused until TLS is built"},
    {"tlsverify", 0, FLAG_BOOL, NULL, "(refused until TLS is built)"},
    {"tlscacert", 0, FLAG_VALUE, "FILE", "(refused until TLS is built)"},
    {"tlscert", 0, FLAG_VALUE, "FILE", "(refused until TLS is built)"},
    {"tlskey", 0, FLAG_VALUE, "FILE", "(refused until TLS is built)"},
    {"heartbeat", 0, FLAG_VALUE, "DURATION", "classic Swarm; ignored with a warning (gossip)"},
    {"engine-refresh-min-interval", 0, FLAG_VALUE, "DURATION", "classic Swarm; ignored"},
    {"engine-refresh-max-interval", 0, FLAG_VALUE, "DURATION", "classic Swarm; ignored"},
    {"engine-failure-retry", 0, FLAG_VALUE, "N", "classic Swarm; ignored"},
    {"discovery-opt", 0, FLAG_LIST, "KEY=VALUE", "classic Swarm; ignored"},
    {"replication", 0, FLAG_BOOL, NULL, "classic Swarm; ignored (one manager)"},
    {"api-enable-cors", 0, FLAG_BOOL, NULL, "classic Swarm; ignored"},
    {"cors", 0, FLAG_BOOL, NULL, "classic Swarm; ignored"},
    {"cluster-driver", 'c', FLAG_VALUE, "NAME", "classic Swarm; only swarm exists; ignored"},
    {"replication-ttl", 0, FLAG_VALUE, "DURATION", "classic Swarm; ignored (one manager)"},
    {"engine-refresh-retry", 0, FLAG_VALUE, "N", "classic Swarm (deprecated); ignored"},
    {"refresh-on-node-filter", 0, FLAG_BOOL, NULL, "classic Swarm; ignored"},
    {"container-name-refresh-filter", 0, FLAG_VALUE, "NAME", "classic Swarm; ignored"},
};

const struct swarm_command manager_manage_command = {
    .name = "manage",
    .summary = "run the manager: the Docker Engine API over the whole cluster",
    .usage = "swarm manage [--state-dir DIR] [-H URL]... [flags]",
    .description = "A gossip member with no engine. Point DOCKER_HOST at one of its -H addresses\n"
                   "and docker, docker-compose or a Docker SDK drive every engine as one: new\n"
                   "containers are scheduled onto engines, every other call goes to the engine\n"
                   "that owns the object through that host's agent. TCP listeners other than\n"
                   "loopback need TLS, which is not built yet, so they are refused.\n"
                   "\n"
                   "Containers: ps across engines (names as node/name), run/create placed by\n"
                   "classic Swarm's filters and strategy (-e constraint:node==NAME, affinities,\n"
                   "--strategy, --filter), and every call on a container, exec, logs, attach,\n"
                   "stats and events passed to its engine unbuffered; an inspect of a container\n"
                   "that did not change since its last one is answered from the manager's kept\n"
                   "answer (--inspect-cache). Images: listed across engines, pulled on every\n"
                   "engine. Networks and volumes: NODE/NAME names one engine; compose projects\n"
                   "go with their network. -e reschedule:on-node-failure recreates a container\n"
                   "elsewhere when gossip declares its host failed. Builds go to the engine the\n"
                   "scheduler picks (classic builder: DOCKER_BUILDKIT=0). Not built yet:\n"
                   "BuildKit's /session and the swarm-mode (services) API; those "
                   "answer 501.\n"
                   "\n"
                   "A discovery URL argument (token://, consul://...) and classic flags that\n"
                   "gossip makes moot are accepted with a warning, so old scripts run.\n"
                   "SIGINT or SIGTERM leaves the cluster and removes the unix sockets.",
    .flags = manage_flags,
    .nflags = sizeof(manage_flags) / sizeof(manage_flags[0]),
    .max_positional = 1,
    .run = manage_run,
};

const char *manager_http_parser_version(void)
{
    static char buf[32];
    unsigned long v = http_parser_version();
    snprintf(buf, sizeof(buf), "%lu.%lu.%lu", (v >> 16) & 255, (v >> 8) & 255, v & 255);
    return buf;
}

const char *manager_jansson_version(void)
{
    return jansson_version_str();
}

const char *manager_libcurl_version(void)
{
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    return v ? v->version : curl_runtime_error();
}
