/*
 * bench_opts — the inputs of `swarm bench`, checked before anything runs: the Docker endpoint
 * URL, the workload name, counts and durations. Pure; each parser fills a one-line message
 * naming what is wrong.
 */
#ifndef SWARM_MANAGER_BENCH_OPTS_H
#define SWARM_MANAGER_BENCH_OPTS_H

#include <stddef.h>

#define BENCH_DEFAULT_HOST "unix:///var/run/docker.sock"

/* Where requests go: over a unix socket (unix_path non-empty, base "http://localhost") or TCP
 * (base "http://HOST:PORT"). */
struct bench_endpoint {
    char url[256];       /* as given, for messages and the summary */
    char unix_path[108]; /* sun_path bound */
    char base[280];
};

/* Parses "unix:///path" or "tcp://host:port" (an absolute path alone also means unix). */
int bench_endpoint_parse(const char *url, struct bench_endpoint *out, char *err, size_t errlen);

enum bench_workload {
    BENCH_API,
    BENCH_CHURN,
    BENCH_RUN_LATENCY,
    BENCH_LOGS,
    BENCH_INSPECT,
    BENCH_PS,
    BENCH_NWORKLOADS,
};

/* "api", "churn", "run-latency", "logs", "inspect", "ps" → the enum; -1 for anything else. */
int bench_workload_parse(const char *name);
const char *bench_workload_name(enum bench_workload w);

/* A decimal integer in [min, max], nothing else ("4", not "4x", " 4" or "0x4"). */
int bench_parse_long(const char *s, long min, long max, long *out);

/* Seconds: "10", "2.5", "10s", "500ms", "2m"; more than 0 and at most a day. */
int bench_parse_seconds(const char *s, double *out);

#endif
