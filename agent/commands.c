/* The agent's subcommands as the dispatcher sees them: flags, help texts, entry points. */
#include "agent/agent.h"

#include "agent/control.h"
#include "agent/gossip_uv.h"
#include "agent/join.h"
#include "agent/members_fmt.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define DEFAULT_STATE_DIR "/var/lib/swarm"

static const struct flag_spec join_flags[] = {
    {"token", 0, FLAG_VALUE, "TOKEN",
     "join token printed by `swarm init` (cluster key + manager key)"},
    {"state-dir", 0, FLAG_VALUE, "DIR", "where the agent keeps its keys (default /var/lib/swarm)"},
    {"engine", 0, FLAG_VALUE, "URL", "local Docker engine (default unix:///var/run/docker.sock)"},
    {"bind", 0, FLAG_VALUE, "ADDR:PORT", "gossip address, UDP and TCP (default 0.0.0.0:7946)"},
    {"advertise", 0, FLAG_VALUE, "ADDR[:PORT]", "address other members use to reach this one"},
    {"relay-port", 0, FLAG_VALUE, "PORT",
     "TCP port of the relay the manager connects to, on the --bind\n"
     "address (default: the gossip port + 2, i.e. 7948)"},
    {"join", 0, FLAG_LIST, "HOST[:PORT]", "seed member to contact (DNS names allowed)"},
    {"no-multicast", 0, FLAG_BOOL, NULL,
     "do not discover members with LAN multicast beacons (IPv4 and IPv6)"},
    {"name", 0, FLAG_VALUE, "NAME", "member name (default: the host name)"},
    {"label", 0, FLAG_LIST, "KEY=VALUE", "engine label for scheduling constraints"},
    {"hollow-engine", 0, FLAG_BOOL, NULL,
     "scale tests only: answers the Docker API from memory; runs no\n"
     "containers. Starts a fake engine on STATE_DIR/hollow.sock (0600)\n"
     "and uses it instead of --engine"},
    {"hollow-cpus", 0, FLAG_VALUE, "N", "NCPU the hollow engine reports (default 2)"},
    {"hollow-memory", 0, FLAG_VALUE, "BYTES|SIZE",
     "MemTotal the hollow engine reports, e.g. 512MiB (default 2GiB)"},
    {"log-level", 0, FLAG_VALUE, "LEVEL", "debug, info, warn or error (default info)"},
    {"mcast-group", 0, FLAG_VALUE, "ADDR",
     "IPv4 multicast group for LAN beacons (default " GOSSIP_MCAST_GROUP ", TTL 1)"},
    {"mcast-group6", 0, FLAG_VALUE, "ADDR",
     "IPv6 multicast group for LAN beacons, sent and joined on every\n"
     "interface with IPv6 (default " GOSSIP_MCAST_GROUP6 ", hop limit 1)"},
    {"mcast-port", 0, FLAG_VALUE, "PORT", "UDP port of both beacon groups (default 7947)"},
    {"probe-interval", 0, FLAG_VALUE, "DURATION",
     "probe one member this often (default 500ms); shorter detects\n"
     "failures sooner, costs more packets"},
    {"probe-timeout", 0, FLAG_VALUE, "DURATION",
     "wait this long for an ack before asking others (default 200ms);\n"
     "raise it on slow links, never above --probe-interval"},
    {"suspicion-mult", 0, FLAG_VALUE, "N",
     "a suspect is declared failed after N x probe interval x log10(members)\n"
     "(default 3); lower detects sooner, raises false alarms under loss"},
    {"gossip-interval", 0, FLAG_VALUE, "DURATION",
     "send queued updates to 3 random members this often (default 200ms);\n"
     "shorter spreads news faster, costs bandwidth"},
    {"pushpull-interval", 0, FLAG_VALUE, "DURATION",
     "full state sync with one member this often (default 30s, scaled up\n"
     "past 32 members); repairs what gossip missed, costs TCP"},
};

const struct swarm_command agent_join_command = {
    .name = "join",
    .summary = "run the agent next to a Docker engine (gossip + relay)",
    .usage = "swarm join --token TOKEN [flags]",
    .description =
        "Runs in the foreground on every Docker host. Finds the other members with LAN\n"
        "multicast (or --join seeds), gossips encrypted heartbeats over UDP, and relays the\n"
        "manager's Docker API calls to the local engine over an encrypted, mutually\n"
        "authenticated TCP channel. The engine is never exposed on TCP.\n"
        "\n"
        "Logs one line per member state change. SIGINT or SIGTERM leaves the cluster\n"
        "gracefully (members list it as left, not failed). The engine's containers,\n"
        "images and info reach the manager over the relay: a snapshot when it connects,\n"
        "then a change for each event the engine reports (no polling).\n"
        "\n"
        "Relay frames are AES-256-GCM when both ends have AES instructions (x86-64 with\n"
        "AES-NI), else XChaCha20-Poly1305 (secretstream; e.g. a Raspberry Pi), chosen in\n"
        "the authenticated handshake. SWARM_RELAY_CIPHER=secretstream in the environment\n"
        "of either end forces the latter.\n"
        "\n"
        "--hollow-engine is for scale tests only: answers the Docker API from memory; runs\n"
        "no containers. Many agents can then share one machine (each with its own\n"
        "--state-dir, --name and --bind port) and exercise the real engine code paths.",
    .flags = join_flags,
    .nflags = sizeof(join_flags) / sizeof(join_flags[0]),
    .run = join_run,
};

static const struct flag_spec members_flags[] = {
    {"state-dir", 0, FLAG_VALUE, "DIR", "state dir of the daemon to ask (default /var/lib/swarm)"},
    {"format", 0, FLAG_VALUE, "table|json", "output format (default table)"},
    {"stats", 0, FLAG_BOOL, NULL,
     "print the daemon's gossip counters instead (JSON): datagrams,\n"
     "rejected packets by reason, probes, refutations, conflicts"},
};

static int members_run(const struct flagset *f)
{
    const struct flag_value *dir = flags_get(f, "state-dir");
    const struct flag_value *format = flags_get(f, "format");
    const char *fmt = format->count ? format->value : "table";
    if (strcmp(fmt, "table") != 0 && strcmp(fmt, "json") != 0) {
        fprintf(stderr, "swarm members: --format must be table or json, not \"%s\"\n", fmt);
        return SWARM_EXIT_USAGE;
    }
    char err[512];
    char *answer = NULL;
    bool stats = flags_bool(f, "stats");
    if (control_request(dir->count ? dir->value : DEFAULT_STATE_DIR, stats ? "stats" : "members",
                        5000, &answer, err, sizeof(err)) < 0) {
        fprintf(stderr, "swarm members: %s\n", err);
        return SWARM_EXIT_FAILURE;
    }
    int rc = SWARM_EXIT_OK;
    if (stats || strcmp(fmt, "json") == 0) {
        fputs(answer, stdout);
    } else if (members_fmt_table(answer, strlen(answer), stdout, err, sizeof(err)) < 0) {
        fprintf(stderr, "swarm members: %s\n", err);
        rc = SWARM_EXIT_FAILURE;
    }
    free(answer);
    return rc;
}

const struct swarm_command agent_members_command = {
    .name = "members",
    .summary = "list the cluster's members as a running agent or manager sees them",
    .usage = "swarm members [--state-dir DIR] [--format table|json] [--stats]",
    .description = "Asks the daemon running with DIR over its control socket. JSON output is an\n"
                   "array of objects with name, addr, role, state (alive|suspect|failed|left),\n"
                   "incarnation and labels.",
    .flags = members_flags,
    .nflags = sizeof(members_flags) / sizeof(members_flags[0]),
    .run = members_run,
};

const char *agent_libuv_version(void)
{
    return uv_version_string();
}
