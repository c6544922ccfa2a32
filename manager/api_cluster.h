/*
 * api_cluster — the cluster as the Docker API describes it: one record per engine, built from a
 * gossip member and its metadata (proto/meta.h) each time a request needs it: identity, size,
 * platform, labels, health; plus the counts the engine's state over the relay gives
 * (containers by state, images, reservations, server version) once it has arrived.
 *
 * Ownership: struct api_cluster is the caller's (api_cluster_init / api_cluster_free); every
 * string in it is owned by it. api_cluster_add copies what it is given. A struct api_node made
 * alone (api_node_init) owns its strings the same way until api_node_free.
 */
#ifndef SWARM_MANAGER_API_CLUSTER_H
#define SWARM_MANAGER_API_CLUSTER_H

#include "proto/meta.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The API version answered when no engine says (what Debian 12's dockerd 20.10 speaks), and the
 * oldest one a client may ask for in a /vX.Y prefix (as dockerd 20.10). */
#define API_DEFAULT_VERSION "1.41"
#define API_MIN_VERSION "1.12"

struct api_node {
    char *name;        /* engine name (Docker's /info Name), else the member name */
    char *member;      /* gossip member name */
    char *id;          /* engine id, "" if unknown */
    char *addr;        /* the member's gossip address, "ip:port" */
    char *labels;      /* "k=v, ..." sorted: kernelversion, operatingsystem, the engine's labels */
    char *api_version; /* engine API version, "" if unknown */
    bool healthy;      /* gossip says alive; suspect or failed is unhealthy */
    uint32_t cpus;
    uint64_t memory;    /* bytes */
    int64_t updated_at; /* unix seconds: when the manager last saw the member change state */
    /* From the engine's state over the relay (zeros before its first snapshot): */
    uint32_t containers, running, paused, stopped, images;
    int64_t reserved_mcpus;  /* milli-CPUs reserved by its containers */
    int64_t reserved_memory; /* bytes reserved by its containers */
    char *server_version;    /* the engine's /info ServerVersion, else its API version */
};

struct api_cluster {
    struct api_node *nodes;
    size_t n, cap;
};

/* One member, as api_cluster_add takes it. */
struct api_member_in {
    const char *member;
    const char *addr;
    bool healthy;
    int64_t updated_at;
    const struct meta *meta;
    /* The engine's state, when the relay brought it (else all zero / NULL). */
    uint32_t containers, running, paused, stopped, images;
    int64_t reserved_mcpus, reserved_memory;
    const char *server_version;
};

void api_cluster_init(struct api_cluster *c);
void api_cluster_free(struct api_cluster *c);

/* Adds one engine. Returns 0, or -1 when out of memory (nothing added). */
int api_cluster_add(struct api_cluster *c, const struct api_member_in *m);

/* The record api_cluster_add appends, made into *n (which then owns its strings): 0, or -1 when
 * out of memory (*n is then empty). api_node_free frees its strings and empties it. */
int api_node_init(struct api_node *n, const struct api_member_in *m);
void api_node_free(struct api_node *n);

/* The order of api_cluster_sort: names in natural order, then member names (strcmp). */
int api_node_cmp(const char *name_a, const char *member_a, const char *name_b,
                 const char *member_b);

/* Sorts the nodes by name in natural order (h2 before h10), as classic Swarm listed them. */
void api_cluster_sort(struct api_cluster *c);

/* The lowest valid engine API version among the nodes, or dflt when none has one. The pointer
 * is into the cluster (or dflt). */
const char *api_cluster_api_version(const struct api_cluster *c, const char *dflt);

/* API versions are dotted decimals, "1.41": at most 4 parts of at most 5 digits. */
bool api_version_valid(const char *v);
/* <0, 0, >0 as a is older, equal, newer than b; both must be valid. */
int api_version_cmp(const char *a, const char *b);

/* strcmp, but runs of digits compare as numbers. */
int api_natural_cmp(const char *a, const char *b);

#endif
