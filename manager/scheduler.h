/*
 * scheduler — classic Docker Swarm's placement, as a pure function: a cluster view and a
 * container request in, the ranked nodes (best first) or classic Swarm's error text out. No
 * I/O, no clock, no global state; the random strategy draws from a caller-given generator.
 *
 *   engines (jansson) ──sched_view_add_engine──►  sched_view  ◄──sched_view_add_inflight── the
 *   create body ──sched_request_from_body──► sched_request        creates not answered yet
 *        (strips constraint:/affinity:/reschedule:/whitelist: from Env into com.docker.swarm.*
 *         labels, as classic Swarm did; reports the reschedule policy)
 *   sched_select(config, view, request) ──► ranked node indexes, or the error classic printed
 *
 * Semantics (../shared/reference/classic-swarm.md §2, and docs/SCHEDULING.md for every
 * deviation): filters health, port, containerslots, dependency, affinity, constraint,
 * whitelist in the configured order; a first pass with soft (`~`) expressions and, if it finds
 * nothing, a second pass without them; then spread (default), binpack or random, weighing
 * reserved CPUs and memory (HostConfig.CpuShares N read as N CPUs; NanoCpus as fractions of a
 * CPU) against the node's totals plus the overcommit ratio.
 *
 * Ownership: the scheduler owns nothing the caller gave it. A sched_view owns copies of every
 * string and list added to it (sched_view_free releases all): the strings in one table for
 * the whole view (interned), each node's lists with the node (re-reading or removing a node
 * frees them); a request made by
 * sched_request_from_body owns its strings (sched_request_free); a hand-built request (tests,
 * the bench) is the caller's and is only read. A sched_result owns its ranked list and error
 * text (sched_result_clear). sched_select only reads the view and the request, so one view
 * may serve several decisions; not thread-safe on a shared view while it is being built.
 */
#ifndef SWARM_MANAGER_SCHEDULER_H
#define SWARM_MANAGER_SCHEDULER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct engine; /* manager/engines.h */

/* ---- configuration ------------------------------------------------------------------------ */

enum sched_strategy {
    SCHED_SPREAD = 0,
    SCHED_BINPACK = 1,
    SCHED_RANDOM = 2,
};

enum sched_filter {
    SCHED_F_HEALTH = 0,
    SCHED_F_PORT,
    SCHED_F_SLOTS, /* "containerslots" */
    SCHED_F_DEPENDENCY,
    SCHED_F_AFFINITY,
    SCHED_F_CONSTRAINT,
    SCHED_F_WHITELIST,
    SCHED_F_COUNT
};

struct sched_config {
    enum sched_strategy strategy;
    enum sched_filter filters[SCHED_F_COUNT]; /* applied in this order */
    size_t nfilters;
    double overcommit; /* --cluster-opt swarm.overcommit; classic's default 0.05 */
    /* The random strategy's source: a uniformly distributed 64-bit value per call, e.g.
     * sched_rng_next with a struct sched_rng as arg. NULL: a generator seeded with 0 on each
     * decision (deterministic, so only for tests). */
    uint64_t (*random)(void *arg);
    void *random_arg;
};

/* strategy: "spread", "binpack" (or classic's alias "binpacking"), "random"; NULL or "" means
 * spread. filters: names separated by commas and/or spaces, as manage.c keeps them
 * ("health, port, ..."); NULL or "" means classic's default list. 0, or -1 with err set. */
int sched_config_init(struct sched_config *c, const char *strategy, const char *filters,
                      double overcommit, char *err, size_t errlen);

const char *sched_filter_name(enum sched_filter f);

/* A small seedable generator (splitmix64) for sched_config.random. */
struct sched_rng {
    uint64_t state;
};
void sched_rng_seed(struct sched_rng *r, uint64_t seed);
uint64_t sched_rng_next(void *rng); /* rng: a struct sched_rng * */

/* ---- the request ---------------------------------------------------------------------------- */

struct sched_kv {
    const char *key;
    const char *value;
};

/* A published port: HostConfig.PortBindings {"80/tcp": [{"HostIp": ip, "HostPort": port}]}. */
struct sched_port {
    const char *host_ip;   /* "" (or 0.0.0.0, ::) = every interface */
    const char *host_port; /* "8080", a range "8000-8010", or "" (a random port: ignored) */
    const char *proto;     /* "tcp" (also for NULL or ""), "udp", "sctp" */
};

enum sched_reschedule {
    SCHED_RESCHEDULE_OFF = 0,
    SCHED_RESCHEDULE_ON_NODE_FAILURE = 1,
};

struct sched_request {
    const char *name;     /* the container's name without '/', "" if none */
    const char *image;    /* Config.Image */
    const char *swarm_id; /* label com.docker.swarm.id, "" if none */
    /* The expressions without their "constraint:"-style prefix, e.g. "node==h1",
     * "image==~redis", "storagedriver!=/aufs|vfs/": classic's label lists first, then Env. */
    const char *const *constraints;
    size_t nconstraints;
    const char *const *affinities;
    size_t naffinities;
    const char *const *whitelists;
    size_t nwhitelists;
    enum sched_reschedule reschedule;
    const struct sched_kv *labels; /* the container's labels (an in-flight copy shows them) */
    size_t nlabels;
    int64_t memory; /* bytes reserved (HostConfig.Memory, -m) */
    int64_t mcpus;  /* milli-CPUs reserved: CpuShares N (-c N) = N * 1000, NanoCpus / 10^6 */
    const char *network_mode;       /* HostConfig.NetworkMode: "host", "container:X", ... or "" */
    const struct sched_port *ports; /* each binding of HostConfig.PortBindings */
    size_t nports;
    const char *const *exposed; /* ExposedPorts keys "80/tcp" (what host mode checks) */
    size_t nexposed;
    const char *const *volumes_from; /* HostConfig.VolumesFrom, "c[:ro]" */
    size_t nvolumes_from;
    const char *const *links; /* HostConfig.Links, "c:alias" */
    size_t nlinks;
    void *priv; /* set by sched_request_from_body; NULL in a hand-built request */
};

/*
 * Reads a Docker create body (the JSON of POST /containers/create) into *out, and rewrites the
 * body as classic Swarm did before sending it to an engine:
 *   - Env entries "constraint:X", "affinity:X", "reschedule:X", "whitelist:X" are removed;
 *   - the label lists com.docker.swarm.constraints, .affinities, .reschedule-policies and
 *     .whitelists (JSON arrays in label values) are set to the user's label list followed by
 *     the Env entries (a label is only written when its list is not empty);
 *   - com.docker.swarm.id is set to swarm_id when swarm_id is not NULL/"" and the body has none
 *     (the caller makes the id: 64 hex digits, as classic did; it marks the container for
 *     rescheduling and for in-flight accounting).
 * name: the ?name= query value (a leading '/' is dropped), NULL or "" for none.
 * Returns 0 and *out (free it with sched_request_free), or -1 with err set and *status the HTTP
 * status classic answered with: 400 for a body that is not an object or has a field of the
 * wrong type, 500 for "too many reschedule policies" / "invalid reschedule policy: X". The
 * body may be partly rewritten on error. Expressions are not checked here: as in classic, a
 * bad one fails the decision (sched_select) with the filter's error text.
 */
int sched_request_from_body(json_t *body, const char *name, const char *swarm_id,
                            struct sched_request **out, int *status, char *err, size_t errlen);
void sched_request_free(struct sched_request *r);

/* Adds an expression to a request made by sched_request_from_body, e.g. the create retry's
 * "image==busybox" affinity (classic-swarm.md §2). kind: SCHED_F_CONSTRAINT, SCHED_F_AFFINITY
 * or SCHED_F_WHITELIST. 0, or -1 (out of memory, wrong kind, or a hand-built request). The
 * body is not changed. */
int sched_request_add_expr(struct sched_request *r, enum sched_filter kind, const char *expr);

/* Classic converted the request's CpuShares (N CPUs) to real shares for the chosen engine:
 * ceil(N * 1024 / ncpu). Rewrites HostConfig.CpuShares (and a top-level "CpuShares" of an old
 * API body) in place; no change when it is 0 or ncpu <= 0. */
void sched_body_set_cpu_shares(json_t *body, int64_t ncpu);

/* ---- the view ------------------------------------------------------------------------------- */

/* A container on a node, as added (sched_node_add_container) and as kept in the view. */
struct sched_container {
    const char *id;           /* "" for an in-flight create */
    const char *const *names; /* without the leading '/'; the first is the container's name */
    size_t nnames;
    const char *swarm_id; /* label com.docker.swarm.id, "" if none */
    const char *image;    /* as created ("Image"), "" if unknown */
    const char *image_id; /* "ImageID", "" if unknown */
    const struct sched_kv *labels;
    size_t nlabels;
    int64_t memory;                 /* bytes reserved */
    int64_t mcpus;                  /* milli-CPUs reserved (sched_mcpus_from_engine) */
    bool host_network;              /* HostConfig.NetworkMode == "host" */
    const struct sched_port *ports; /* published host ports (bindings and the listing's Ports) */
    size_t nports;
    const char *const *exposed; /* host mode: exposed ports "80/tcp" */
    size_t nexposed;
    bool inflight; /* counted for a create the engine has not answered yet */
};

/* A host port in use on a node (private: kept for the port filter). */
struct sched_bound {
    const char *ip;
    uint32_t lo, hi; /* the port or range */
    uint8_t proto;
    bool any_ip; /* "", 0.0.0.0 or :: */
    bool host_mode;
};

struct sched_node {
    const char *name;
    const char *id;
    int health; /* classic's HealthIndicator, 0..100: 0 = not usable (filtered by health) */
    const struct sched_kv *labels; /* the standard ones first, then the engine's and agent's */
    size_t nlabels;
    int64_t cpus;   /* NCPU */
    int64_t memory; /* MemTotal, bytes */
    void *user;     /* the caller's (sched_view_add_engine: the struct engine *) */
    /* Read-only below: kept by the sched_node_add_* calls. */
    struct sched_container *containers;
    size_t ncontainers;
    int64_t used_memory, used_mcpus; /* sums over containers, in-flight included */
    const char **image_refs;         /* image ids, repo:tags and repos (image affinity) */
    size_t nimage_refs;
    struct sched_bound *bound; /* host ports in use */
    size_t nbound;
    bool has_slots; /* engine label containerslots=N readable as an integer */
    int64_t slots;
    uint64_t port_mask[4];   /* private: host ports in use, modulo 256 (a quick "no") */
    size_t ccap, icap, bcap; /* private */
    void *mem;               /* private: the node's lists (its containers' names, labels...) */
};

/* Every string in a view is interned: equal strings are one pointer (the view's own). */
struct sched_view {
    struct sched_node *nodes;
    size_t nnodes;
    size_t cap; /* private */
    void *priv; /* private: the string table and every list the view copied */
};

struct sched_view *sched_view_new(void);
void sched_view_free(struct sched_view *v);

/* Adds a node with the given name, id, health, totals and labels (copied; each key and value a
 * string). user is kept as given. Returns its index, or -1 when out of memory. */
long sched_view_add_node(struct sched_view *v, const char *name, const char *id, int health,
                         int64_t cpus, int64_t memory, const struct sched_kv *labels,
                         size_t nlabels, void *user);

/* Adds a container to node i (everything copied); its reservations count in the node's sums,
 * its published ports in the node's ports. 0, or -1 when out of memory. */
int sched_node_add_container(struct sched_view *v, size_t i, const struct sched_container *c);

/* Adds an image present on node i: its id and repo tags ("redis:7", "<none>:<none>" skipped). */
int sched_node_add_image(struct sched_view *v, size_t i, const char *id, const char *const *tags,
                         size_t ntags);

/* Counts a create sent to node i and not answered yet (its name, labels, reservations and
 * ports), as classic counted its pending containers. Skipped (returns 0) when the node already
 * lists a container with the request's swarm id (the engine answered in between). 0 or -1. */
int sched_view_add_inflight(struct sched_view *v, size_t i, const struct sched_request *r);

/* An engine's reservation in milli-CPUs, as classic read a container back: CpuShares were real
 * shares there, N CPUs = shares * ncpu / 1024 (integer division), and NanoCpus / 10^6
 * (rounded up); the larger of the two. */
int64_t sched_mcpus_from_engine(int64_t cpu_shares, int64_t nano_cpus, int64_t ncpu);

/*
 * Adds engine e as a node: name, id, health (100 when e is healthy, ready and connected, else
 * 0), /info NCPU and MemTotal, labels (storagedriver, kernelversion, operatingsystem, ostype
 * from /info Driver, KernelVersion, OperatingSystem, OSType; then extra_labels "k=v" — the
 * agent's --label list from its gossip metadata, may be NULL; then /info Labels "k=v"; the
 * first of a key wins, a key "node" and an entry without '=' are skipped), its containers
 * (e->containers: /containers/json entries whose HostConfig carries Memory, NanoCpus,
 * CpuShares, PortBindings, NetworkMode) and its images (e->images). user = e. Returns the
 * node's index, or -1 when out of memory. Pure: reads e only.
 */
long sched_view_add_engine(struct sched_view *v, const struct engine *e,
                           const char *const *extra_labels, size_t nextra);

/* Re-reads engine e into node i (as sched_view_add_engine did) in place: its name, id,
 * health, totals, labels, containers and images; in-flight creates counted on it before are
 * gone (add them again). For a caller that keeps one view and refreshes only the engines that
 * changed (manager/sched_cache.h): the node's old lists are freed (their room reused), so the
 * node ends as it would in a fresh build. Only the string table keeps every distinct string
 * it ever saw (container ids come and go): rebuild the view from scratch when
 * sched_view_string_bytes has grown well past its size after a fresh build. 0, or -1 when out
 * of memory (the node is then left with health 0). */
int sched_view_update_engine(struct sched_view *v, size_t i, const struct engine *e,
                             const char *const *extra_labels, size_t nextra);

/* Adds engine e as a node (as sched_view_add_engine) at index at (0..nnodes): the nodes from
 * at on move up one. Returns at, or -1 when out of memory (a half-read node with health 0 may
 * then be at at; at > nnodes adds nothing). */
long sched_view_insert_engine(struct sched_view *v, size_t at, const struct engine *e,
                              const char *const *extra_labels, size_t nextra);

/* Removes node i and everything it held; the nodes after it move down one. i >= nnodes: no-op. */
void sched_view_remove_node(struct sched_view *v, size_t i);

/* The memory the view holds, in bytes. */
size_t sched_view_bytes(const struct sched_view *v);

/* The memory its string table holds, in bytes: it only grows (see sched_view_update_engine). */
size_t sched_view_string_bytes(const struct sched_view *v);

/* ---- the decision --------------------------------------------------------------------------- */

struct sched_result {
    size_t *ranked; /* node indexes into the view, best first */
    size_t nranked;
    char *error; /* NULL on success; classic's text on failure */
    int status;  /* 0 on success; the HTTP status for error (500, as classic answered) */
};

/*
 * Chooses where req goes in v under c. want: how many ranked nodes to return (0 = every node
 * that passed, ranked; 1 = only the best, the create path's case: linear time, no sort).
 * Returns 0 with out->ranked[0] the chosen node, or -1 with out->error, e.g.
 *   "No healthy node available in the cluster"
 *   "Unable to find a node that satisfies the following conditions \n[port 80 (Bridge
 *    mode)]\n[available container slots]\n[node==h9]"
 *   "no resources available to schedule container"
 *   "No nodes available in the cluster"
 * or "out of memory". Always call sched_result_clear afterwards.
 */
int sched_select(const struct sched_config *c, const struct sched_view *v,
                 const struct sched_request *req, size_t want, struct sched_result *out);
void sched_result_clear(struct sched_result *out);

#endif
