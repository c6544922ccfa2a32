/*
 * manage — `swarm manage`: flags, keys and host facts → a daemon with gossip (role manager, no
 * engine) and the Docker API server as its service. See manage.h.
 */
#include "manager/manage.h"

#include "agent/daemon.h"
#include "agent/join.h"
#include "common/command.h"
#include "common/log.h"
#include "crypto/keyfile.h"
#include "crypto/swcrypto.h"
#include "manager/api_routes.h"
#include "manager/api_server.h"
#include "manager/engines.h"
#include "manager/info_view.h"
#include "manager/init_cmd.h"
#include "manager/reschedule.h"
#include "manager/scheduler.h"
#include "proto/meta.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* Written at build time by cmake/WriteGitVersion.cmake into the swarm executable. */
extern const char *const swarm_version;
extern const char *const swarm_git_commit;

#define DEFAULT_HOST "unix:///run/swarm.sock"
#define DEFAULT_FILTERS "health, port, containerslots, dependency, affinity, constraint, whitelist"

static const char *const filter_names[] = {"health",   "port",       "containerslots", "dependency",
                                           "affinity", "constraint", "whitelist"};

/* Classic Swarm flags that gossip (or a single manager) makes moot: accepted, warned about. */
static const struct {
    const char *flag;
    const char *why;
} moot_flags[] = {
    {"heartbeat", "gossip detects failures by itself (see --probe-interval)"},
    {"engine-refresh-min-interval", "engines are not polled: their agents push changes"},
    {"engine-refresh-max-interval", "engines are not polled: their agents push changes"},
    {"engine-failure-retry", "gossip decides when a node has failed (see --suspicion-mult)"},
    {"discovery-opt", "members find each other by gossip, without a discovery store"},
    {"replication", "one manager only for now"},
    {"api-enable-cors", "CORS headers are not sent"},
    {"cors", "CORS headers are not sent"},
    {"cluster-driver", "the swarm driver is the only one"},
    {"replication-ttl", "one manager only for now"},
    {"engine-refresh-retry", "engines are not polled: their agents push changes"},
    {"refresh-on-node-filter", "engines are not polled: their agents push changes"},
    {"container-name-refresh-filter", "engines are not polled: their agents push changes"},
};

static const char *const tls_flags[] = {"tls", "tlsverify", "tlscacert", "tlscert", "tlskey"};

struct manage {
    struct api_context ctx;
    struct api_endpoint endpoints[API_SERVER_MAX_LISTENERS];
    size_t nendpoints;
    struct api_server *server;
    struct engines *engines;
    struct api_routes *routes;
    struct reschedule *resched;
    const char *state_dir;
    struct keypair kp; /* the manager's relay identity */
    struct gossip_uv *g;
    bool version_dirty;
    char api_version[META_API_MAX + 1];
    uint64_t member_events; /* membership events seen: part of the cluster's generation */
    struct api_info_cache info_cache;
    struct info_view *info_view; /* /info's nodes, kept between bodies */
    /* host facts */
    char hostname[PROTO_NAME_MAX + 1];
    char member_name[PROTO_NAME_MAX + 1]; /* default gossip name: "<host>-manager" */
    char os[256], kernel[65], arch[65], goarch[65], id[2 * KEYPAIR_BYTES + 1];
    char filters[256];
    const char *strategy;
    double overcommit; /* --cluster-opt swarm.overcommit */
    struct sched_config sched;
    struct sched_rng rng; /* the random strategy's, seeded from libsodium */
    long createretry;     /* --cluster-opt swarm.createretry */
    size_t inspect_cache; /* --inspect-cache, bytes */
};

static const char *flag(const struct flagset *f, const char *name, const char *dflt)
{
    const struct flag_value *v = flags_get(f, name);
    return v && v->count ? v->value : dflt;
}

static int given(const struct flagset *f, const char *name)
{
    const struct flag_value *v = flags_get(f, name);
    return v && v->count;
}

/* ---- flag checks (all before anything is touched) ---- */

static int check_strategy(const struct flagset *f, struct manage *m)
{
    const char *s = flag(f, "strategy", "spread");
    if (strcmp(s, "binpacking") == 0) /* classic Swarm's alias */
        s = "binpack";
    if (strcmp(s, "spread") != 0 && strcmp(s, "binpack") != 0 && strcmp(s, "random") != 0) {
        fprintf(stderr, "swarm manage: --strategy \"%s\": expected spread, binpack or random\n", s);
        return -1;
    }
    m->strategy = s;
    return 0;
}

static int check_filters(const struct flagset *f, struct manage *m)
{
    const struct flag_value *v = flags_get(f, "filter");
    if (v->count == 0) {
        snprintf(m->filters, sizeof(m->filters), "%s", DEFAULT_FILTERS);
        return 0;
    }
    size_t off = 0;
    m->filters[0] = '\0';
    for (int i = 0; i < v->count; i++) {
        const char *name = v->list[i];
        bool known = false;
        for (size_t k = 0; k < sizeof(filter_names) / sizeof(filter_names[0]); k++)
            known |= strcmp(name, filter_names[k]) == 0;
        if (!known) {
            fprintf(stderr, "swarm manage: --filter \"%s\": unknown filter (expected one of %s)\n",
                    name, DEFAULT_FILTERS);
            return -1;
        }
        for (int j = 0; j < i; j++) {
            if (strcmp(v->list[j], name) == 0) {
                fprintf(stderr, "swarm manage: --filter \"%s\" given twice\n", name);
                return -1;
            }
        }
        off += (size_t)snprintf(m->filters + off, sizeof(m->filters) - off, "%s%s", i ? ", " : "",
                                name);
    }
    return 0;
}

static int check_cluster_opts(const struct flagset *f, struct manage *m)
{
    const struct flag_value *v = flags_get(f, "cluster-opt");
    m->overcommit = 0.05;
    m->createretry = 0;
    for (int i = 0; i < v->count; i++) {
        const char *opt = v->list[i];
        const char *eq = strchr(opt, '=');
        if (eq == NULL || eq == opt) {
            fprintf(stderr, "swarm manage: --cluster-opt \"%s\": expected KEY=VALUE\n", opt);
            return -1;
        }
        char *end;
        size_t klen = (size_t)(eq - opt);
        if (klen == strlen("swarm.overcommit") && strncmp(opt, "swarm.overcommit", klen) == 0) {
            errno = 0;
            m->overcommit = strtod(eq + 1, &end);
            if (eq[1] == '\0' || *end != '\0' || errno || m->overcommit <= -1) {
                fprintf(stderr,
                        "swarm manage: --cluster-opt %s: expected a ratio above -1, e.g. 0.05\n",
                        opt);
                return -1;
            }
        } else if (klen == strlen("swarm.createretry") &&
                   strncmp(opt, "swarm.createretry", klen) == 0) {
            errno = 0;
            m->createretry = strtol(eq + 1, &end, 10);
            if (eq[1] == '\0' || *end != '\0' || errno || m->createretry < 0) {
                fprintf(stderr, "swarm manage: --cluster-opt %s: expected a count >= 0\n", opt);
                return -1;
            }
        } else {
            fprintf(stderr,
                    "swarm manage: warning: --cluster-opt %.*s is not known and is ignored "
                    "(known: swarm.overcommit, swarm.createretry)\n",
                    (int)klen, opt);
        }
    }
    return 0;
}

static int check_classic(const struct flagset *f)
{
    for (size_t i = 0; i < sizeof(tls_flags) / sizeof(tls_flags[0]); i++) {
        const char *name = tls_flags[i];
        bool is_bool = strcmp(name, "tls") == 0 || strcmp(name, "tlsverify") == 0;
        if (is_bool ? flags_bool(f, name) : given(f, name)) {
            fprintf(stderr,
                    "swarm manage: --%s: TLS for the Docker API is not built yet; serve on "
                    "unix://PATH or tcp://127.0.0.1:PORT instead\n",
                    name);
            return -1;
        }
    }
    for (size_t i = 0; i < sizeof(moot_flags) / sizeof(moot_flags[0]); i++) {
        if (given(f, moot_flags[i].flag))
            fprintf(stderr, "swarm manage: warning: --%s is ignored: %s\n", moot_flags[i].flag,
                    moot_flags[i].why);
    }
    if (f->npositional > 0)
        fprintf(stderr,
                "swarm manage: warning: discovery URL \"%s\" is ignored: members find each other "
                "by gossip (LAN multicast, or --join HOST)\n",
                f->positional[0]);
    return 0;
}

static int check_hosts(const struct flagset *f, struct manage *m)
{
    const struct flag_value *v = flags_get(f, "host");
    static const char *const dflt[] = {DEFAULT_HOST};
    const char *const *list = v->count ? v->list : dflt;
    size_t n = v->count ? (size_t)v->count : 1;
    if (n > API_SERVER_MAX_LISTENERS) {
        fprintf(stderr, "swarm manage: at most %d -H addresses\n", API_SERVER_MAX_LISTENERS);
        return -1;
    }
    char err[512];
    for (size_t i = 0; i < n; i++) {
        if (api_endpoint_parse(list[i], &m->endpoints[i], err, sizeof(err)) < 0) {
            fprintf(stderr, "swarm manage: %s\n", err);
            return -1;
        }
    }
    m->nendpoints = n;
    return 0;
}

static int check_mcast_port(const struct flagset *f, uint16_t *port)
{
    const char *p = flag(f, "mcast-port", NULL);
    if (p == NULL)
        return 0;
    char *end;
    unsigned long n = strtoul(p, &end, 10);
    if (*p == '\0' || *end != '\0' || n == 0 || n > 65535) {
        fprintf(stderr, "swarm manage: --mcast-port \"%s\": expected 1..65535\n", p);
        return -1;
    }
    *port = (uint16_t)n;
    return 0;
}

/* --inspect-cache MB: 0 (keep none) up to 4096. */
static int check_inspect_cache(const struct flagset *f, size_t *bytes)
{
    *bytes = API_ROUTES_INSPECT_CACHE;
    const char *p = flag(f, "inspect-cache", NULL);
    if (p == NULL)
        return 0;
    char *end;
    errno = 0;
    unsigned long n = strtoul(p, &end, 10);
    if (*p < '0' || *p > '9' || *end != '\0' || errno || n > 4096) {
        fprintf(stderr, "swarm manage: --inspect-cache \"%s\": expected MB, 0..4096\n", p);
        return -1;
    }
    *bytes = (size_t)n * 1024 * 1024;
    return 0;
}

/* ---- host facts ---- */

static void read_os_release(char *out, size_t cap)
{
    snprintf(out, cap, "Linux");
    FILE *fp = fopen("/etc/os-release", "r");
    if (fp == NULL)
        return;
    char line[256];
    while (fgets(line, sizeof(line), fp)) {
        if (strncmp(line, "PRETTY_NAME=", 12) != 0)
            continue;
        char *v = line + 12;
        v[strcspn(v, "\n")] = '\0';
        size_t len = strlen(v);
        if (len >= 2 && (v[0] == '"' || v[0] == '\'') && v[len - 1] == v[0]) {
            v[len - 1] = '\0';
            v++;
        }
        snprintf(out, cap, "%s", v);
        break;
    }
    fclose(fp);
}

/* Go's GOARCH for a uname machine, which /version's Arch uses. */
static const char *goarch_of(const char *machine)
{
    static const struct {
        const char *uname, *go;
    } map[] = {{"x86_64", "amd64"},    {"aarch64", "arm64"}, {"armv7l", "arm"},
               {"armv6l", "arm"},      {"i686", "386"},      {"i386", "386"},
               {"ppc64le", "ppc64le"}, {"s390x", "s390x"},   {"riscv64", "riscv64"}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(machine, map[i].uname) == 0)
            return map[i].go;
    }
    return machine;
}

static void host_facts(struct manage *m, const struct keypair *kp)
{
    if (gethostname(m->hostname, sizeof(m->hostname)) < 0)
        snprintf(m->hostname, sizeof(m->hostname), "swarm");
    m->hostname[sizeof(m->hostname) - 1] = '\0';
    /* The manager usually shares a host with an agent, whose default name is the host name. */
    snprintf(m->member_name, sizeof(m->member_name), "%.*s-manager",
             (int)(sizeof(m->member_name) - sizeof("-manager")), m->hostname);
    struct utsname u;
    if (uname(&u) == 0) {
        snprintf(m->kernel, sizeof(m->kernel), "%s", u.release);
        snprintf(m->arch, sizeof(m->arch), "%s", u.machine);
    }
    snprintf(m->goarch, sizeof(m->goarch), "%s", goarch_of(m->arch));
    read_os_release(m->os, sizeof(m->os));
    /* The manager's identity is its public key: stable across restarts, unique per cluster. */
    for (size_t i = 0; i < KEYPAIR_BYTES; i++)
        snprintf(m->id + 2 * i, 3, "%02x", kp->pk[i]);
}

/* ---- the cluster view, for the API ---- */

static uint64_t gossip_now_ms(void)
{
    return uv_hrtime() / 1000000; /* gossip_uv's clock */
}

/* The member's metadata if it is an agent we list (not ourselves, not gone); 0 if so. */
static int listed_agent(const struct member *x, struct meta *meta)
{
    if (x->self || x->state == MEMBER_LEFT || x->meta_len == 0)
        return -1;
    if (meta_decode(x->meta, x->meta_len, meta, NULL) != 0 || meta->role != META_ROLE_AGENT)
        return -1;
    return 0;
}

/* The engine record /info counts for a listed member. */
static struct engine *member_engine(void *arg, const char *member)
{
    struct manage *m = arg;
    return m->engines ? engines_find(m->engines, member) : NULL;
}

/* /info's per-node view, brought up to date: entries made again only for what moved. */
static struct info_view *cluster_info_view(void *arg)
{
    struct manage *m = arg;
    if (m->info_view == NULL && (m->info_view = info_view_new()) == NULL)
        return NULL;
    info_view_begin(m->info_view, (int64_t)time(NULL), gossip_now_ms());
    if (m->g) {
        struct membership *ms = gossip_uv_membership(m->g);
        for (size_t i = 0; i < membership_count(ms); i++)
            if (info_view_member(m->info_view, membership_member_at(ms, i), member_engine, m) < 0)
                return NULL;
    }
    return info_view_end(m->info_view) < 0 ? NULL : m->info_view;
}

/* The lowest engine API version among listed agents; recomputed after membership events. */
static const char *cluster_api_version(void *arg)
{
    struct manage *m = arg;
    if (m->g == NULL)
        return NULL;
    if (m->version_dirty) {
        m->version_dirty = false;
        m->api_version[0] = '\0';
        struct membership *ms = gossip_uv_membership(m->g);
        struct meta *meta = malloc(sizeof(*meta));
        if (meta == NULL) {
            m->version_dirty = true;
            return NULL;
        }
        for (size_t i = 0; i < membership_count(ms); i++) {
            char v[META_API_MAX + 1];
            if (listed_agent(membership_member_at(ms, i), meta) < 0 ||
                proto_str_copy(meta->api_version, v, sizeof(v)) < 0 || !api_version_valid(v))
                continue;
            if (m->api_version[0] == '\0' || api_version_cmp(v, m->api_version) < 0)
                snprintf(m->api_version, sizeof(m->api_version), "%s", v);
        }
        free(meta);
    }
    return m->api_version[0] ? m->api_version : NULL;
}

/* What /info reads changes with a membership event or an engine record's change: both
 * counters only grow, so their sum changes whenever either does. */
static uint64_t cluster_generation(void *arg)
{
    struct manage *m = arg;
    return m->member_events + engines_generation(m->engines);
}

static void on_member_event(void *arg, const struct membership_event *ev)
{
    struct manage *m = arg;
    m->version_dirty = true;
    m->member_events++;
    if (m->engines == NULL || ev->member == NULL || ev->member->self)
        return;
    if (ev->kind == MEMBERSHIP_REAPED)
        engines_remove_member(m->engines, ev->member->name);
    else if (ev->kind != MEMBERSHIP_CONFLICT)
        engines_update_member(m->engines, ev->member);
    if (m->resched && ev->kind == MEMBERSHIP_FAILED)
        reschedule_node_failed(m->resched, ev->member->name);
    else if (m->resched && (ev->kind == MEMBERSHIP_ALIVE || ev->kind == MEMBERSHIP_JOIN))
        reschedule_node_alive(m->resched, ev->member->name);
}

static void on_engine_event(void *arg, struct engine *e, json_t *event)
{
    struct manage *m = arg;
    if (m->routes)
        api_routes_engine_event(m->routes, e, event);
}

static void on_engine(void *arg, struct engine *e, bool up)
{
    struct manage *m = arg;
    if (m->routes)
        api_routes_swarm_event(m->routes, e, up ? "engine_connect" : "engine_disconnect");
    if (m->resched && up)
        reschedule_engine_up(m->resched, e);
}

/* ---- the daemon's service hooks ---- */

static int service_start(void *arg, uv_loop_t *loop, struct gossip_uv *g, char *err, size_t errlen)
{
    struct manage *m = arg;
    m->g = g;
    m->version_dirty = true;
    m->member_events++;
    struct engines_callbacks ecb = {.on_event = on_engine_event, .on_engine = on_engine};
    m->engines = engines_new(loop, &m->kp, &ecb, m);
    m->routes = m->engines ? api_routes_new(loop, m->engines, &m->sched) : NULL;
    if (m->routes && api_routes_set_inspect_cache(m->routes, m->inspect_cache) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    m->resched = m->routes ? reschedule_new(loop, m->engines, m->routes, m->state_dir) : NULL;
    if (m->resched == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    api_routes_set_reschedule(m->routes, m->resched);
    m->ctx.take = api_routes_take;
    m->ctx.take_arg = m->routes;
    m->ctx.streams_body = api_routes_streams_body;
    struct api_server_config cfg = {
        .endpoints = m->endpoints,
        .nendpoints = m->nendpoints,
        .ctx = &m->ctx,
    };
    m->server = api_server_start(loop, &cfg, err, errlen);
    if (m->server == NULL)
        return -1;
    /* The members gossip already knows (a restart finds them in its first push-pull). */
    struct membership *ms = gossip_uv_membership(g);
    for (size_t i = 0; i < membership_count(ms); i++) {
        const struct member *x = membership_member_at(ms, i);
        if (x->self)
            continue;
        engines_update_member(m->engines, x);
        /* A host that failed while the manager was away. */
        if (x->state == MEMBER_FAILED)
            reschedule_node_failed(m->resched, x->name);
    }
    return 0;
}

static void service_stop(void *arg)
{
    struct manage *m = arg;
    if (m->server) {
        api_server_close(m->server, NULL, NULL);
        m->server = NULL;
    }
    reschedule_free(m->resched);
    m->resched = NULL;
    struct icache_stats st;
    if (m->routes && api_routes_inspect_stats(m->routes, &st))
        log_info("manager",
                 "kept inspect answers: %" PRIu64 " given, %" PRIu64
                 " looked up and missing; %" PRIu64 " kept, %" PRIu64
                 " dropped by changes, %" PRIu64 " evicted; %zu kept at the end (%zu of %zu bytes)",
                 st.hits, st.misses, st.stores, st.dropped, st.evicted, st.entries, st.bytes,
                 st.budget);
    api_routes_free(m->routes);
    m->routes = NULL;
    if (m->engines) {
        engines_close(m->engines, NULL, NULL);
        m->engines = NULL;
    }
    m->g = NULL; /* the view is gone with gossip */
    m->member_events++;
}

static int build_meta(const struct keypair *kp, uint8_t *buf, size_t *len)
{
    struct meta meta = {.role = META_ROLE_MANAGER, .has_pubkey = true};
    memcpy(meta.pubkey, kp->pk, sizeof(meta.pubkey));
    struct proto_err perr;
    if (meta_encode(&meta, buf, META_MAX_SIZE, len, &perr) != 0) {
        fprintf(stderr, "swarm manage: cannot advertise this manager: %s\n", perr.msg);
        return -1;
    }
    return 0;
}

static int load_keys(const char *dir, struct keyring *kr, struct keypair *kp)
{
    char err[512], ring[4096], pair[4096];
    snprintf(ring, sizeof(ring), "%s/%s", dir, KEYFILE_KEYRING);
    snprintf(pair, sizeof(pair), "%s/%s", dir, KEYFILE_MANAGER);
    bool has_ring = access(ring, F_OK) == 0, has_pair = access(pair, F_OK) == 0;
    if (!has_ring || !has_pair) {
        fprintf(stderr,
                "swarm manage: %s holds no cluster keys (%s%s%s missing): run `swarm init "
                "--state-dir %s` first\n",
                dir, has_ring ? "" : KEYFILE_KEYRING, !has_ring && !has_pair ? " and " : "",
                has_pair ? "" : KEYFILE_MANAGER, dir);
        return -1;
    }
    if (keyring_load(kr, dir, err, sizeof(err)) < 0 ||
        keypair_load(kp, dir, KEYFILE_MANAGER, err, sizeof(err)) < 0) {
        fprintf(stderr, "swarm manage: %s\n", err);
        return -1;
    }
    return 0;
}

int manage_run(const struct flagset *f)
{
    enum log_level lv;
    if (log_level_parse(flag(f, "log-level", "info"), &lv) < 0) {
        fprintf(stderr, "swarm manage: --log-level must be debug, info, warn or error\n");
        return SWARM_EXIT_USAGE;
    }
    log_set_level(lv);
    struct manage *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return SWARM_EXIT_FAILURE;
    int rc = SWARM_EXIT_USAGE;
    struct keyring *kr = NULL;
    struct keypair kp;
    memset(&kp, 0, sizeof(kp));
    struct membership_tuning tuning;
    uint16_t mcast_port = 0;
    const struct flag_value *seeds = flags_get(f, "join");
    if (check_classic(f) < 0 || check_strategy(f, m) < 0 || check_filters(f, m) < 0 ||
        check_cluster_opts(f, m) < 0 || check_hosts(f, m) < 0 ||
        check_mcast_port(f, &mcast_port) < 0 || check_inspect_cache(f, &m->inspect_cache) < 0)
        goto out;
    /* join's helper: the same timing flags, the same LAN profile. */
    if (join_tuning_from_flags("manage", f, &tuning) < 0 ||
        join_check_mcast_groups("manage", f) < 0)
        goto out;
    if (seeds->count > GOSSIP_UV_MAX_SEEDS) {
        fprintf(stderr, "swarm manage: at most %d --join seeds\n", GOSSIP_UV_MAX_SEEDS);
        goto out;
    }

    rc = SWARM_EXIT_FAILURE;
    if (swcrypto_init() < 0) {
        fprintf(stderr, "swarm manage: libsodium failed to initialise\n");
        goto out;
    }
    const char *dir = flag(f, "state-dir", INIT_DEFAULT_STATE_DIR);
    m->state_dir = dir;
    kr = keyring_new();
    if (kr == NULL || load_keys(dir, kr, &kp) < 0)
        goto out;
    uint8_t meta[META_MAX_SIZE];
    size_t meta_len = 0;
    if (build_meta(&kp, meta, &meta_len) < 0)
        goto out;
    host_facts(m, &kp);
    m->kp = kp;
    char serr[256];
    if (sched_config_init(&m->sched, m->strategy, m->filters, m->overcommit, serr, sizeof(serr)) <
        0) {
        fprintf(stderr, "swarm manage: %s\n", serr);
        goto out;
    }
    uint64_t seed;
    randombytes_buf(&seed, sizeof(seed));
    sched_rng_seed(&m->rng, seed);
    m->sched.random = sched_rng_next;
    m->sched.random_arg = &m->rng;
    m->ctx = (struct api_context){
        .version = swarm_version,
        .git_commit = swarm_git_commit,
        .host = {.name = m->hostname,
                 .id = m->id,
                 .os = m->os,
                 .kernel = m->kernel,
                 .arch = m->arch,
                 .goarch = m->goarch},
        .strategy = m->strategy,
        .filters = m->filters,
        .info_view = cluster_info_view,
        .api_version = cluster_api_version,
        .generation = cluster_generation,
        .info_cache = &m->info_cache,
        .arg = m,
    };

    struct daemon_config dc = {
        .state_dir = dir,
        .keyring = kr,
        .gossip =
            {
                .name = flag(f, "name", m->member_name),
                .bind = flag(f, "bind", "0.0.0.0:7946"),
                .advertise = flag(f, "advertise", flag(f, "addr", NULL)),
                .multicast = !flags_bool(f, "no-multicast"),
                .mcast_group = flag(f, "mcast-group", NULL),
                .mcast_group6 = flag(f, "mcast-group6", NULL),
                .mcast_port = mcast_port,
                .meta = meta,
                .meta_len = meta_len,
                .incarnation = (uint64_t)time(NULL),
                .tuning = tuning,
                .on_event = on_member_event,
                .arg = m,
            },
        .start = service_start,
        .stop = service_stop,
        .service_arg = m,
    };
    for (int i = 0; i < seeds->count; i++)
        dc.gossip.seeds[dc.gossip.nseeds++] = seeds->list[i];
    log_info("manager", "strategy %s, filters %s", m->strategy, m->filters);
    rc = daemon_run(&dc);
out:
    api_info_cache_free(&m->info_cache);
    info_view_free(m->info_view);
    keypair_wipe(&kp);
    keypair_wipe(&m->kp);
    keyring_free(kr);
    free(m);
    return rc;
}
