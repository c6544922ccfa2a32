/*
 * join — `swarm join`: turns flags, the token, the state dir and the local engine's /info into a
 * daemon configuration, then runs the daemon (agent/daemon.h).
 */
#include "agent/join.h"

#include "agent/daemon.h"
#include "agent/engine_info.h"
#include "agent/engine_watch.h"
#include "agent/hollow_engine.h"
#include "agent/relay_server.h"
#include "common/log.h"
#include "crypto/handshake.h"
#include "crypto/keyfile.h"
#include "crypto/swcrypto.h"
#include "crypto/token.h"
#include "proto/meta.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ENGINE_TIMEOUT_MS 5000

static const char *flag(const struct flagset *f, const char *name, const char *dflt)
{
    const struct flag_value *v = flags_get(f, name);
    return v && v->count ? v->value : dflt;
}

/* Parses a duration flag in ms ("500", "500ms", "2s"). */
static int duration_ms(const char *cmd, const struct flagset *f, const char *name, uint32_t *out)
{
    const char *v = flag(f, name, NULL);
    if (v == NULL)
        return 0;
    char *end;
    unsigned long n = strtoul(v, &end, 10);
    if (end == v)
        goto bad;
    if (strcmp(end, "s") == 0)
        n *= 1000;
    else if (*end != '\0' && strcmp(end, "ms") != 0)
        goto bad;
    if (n == 0 || n > 3600 * 1000)
        goto bad;
    *out = (uint32_t)n;
    return 0;
bad:
    fprintf(stderr, "swarm %s: --%s \"%s\": expected a duration like 500ms or 2s\n", cmd, name, v);
    return -1;
}

int join_tuning_from_flags(const char *cmd, const struct flagset *f, struct membership_tuning *t)
{
    membership_tuning_lan(t);
    if (duration_ms(cmd, f, "probe-interval", &t->probe_interval_ms) < 0 ||
        duration_ms(cmd, f, "probe-timeout", &t->probe_timeout_ms) < 0 ||
        duration_ms(cmd, f, "gossip-interval", &t->gossip_interval_ms) < 0 ||
        duration_ms(cmd, f, "pushpull-interval", &t->pushpull_interval_ms) < 0)
        return -1;
    const char *mult = flag(f, "suspicion-mult", NULL);
    if (mult) {
        char *end;
        unsigned long n = strtoul(mult, &end, 10);
        if (*end != '\0' || n < 1 || n > 32) {
            fprintf(stderr, "swarm %s: --suspicion-mult \"%s\": expected 1..32\n", cmd, mult);
            return -1;
        }
        t->suspicion_mult = (uint32_t)n;
    }
    if (t->probe_timeout_ms > t->probe_interval_ms) {
        fprintf(stderr, "swarm %s: --probe-timeout must not exceed --probe-interval\n", cmd);
        return -1;
    }
    return 0;
}

int join_check_mcast_groups(const char *cmd, const struct flagset *f)
{
    static const struct {
        const char *flag;
        int family;
    } groups[] = {{"mcast-group", AF_INET}, {"mcast-group6", AF_INET6}};
    char err[256];
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        const char *v = flag(f, groups[i].flag, NULL);
        if (v && gossip_check_mcast_group(groups[i].family, v, err, sizeof(err)) < 0) {
            fprintf(stderr, "swarm %s: --%s: %s\n", cmd, groups[i].flag, err);
            return -1;
        }
    }
    return 0;
}

/* mkdir -p with mode 0700 for the last component. */
static int ensure_dir(const char *dir, char *err, size_t errlen)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "state dir %s is not a directory", dir);
            return -1;
        }
        return 0;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) < 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create %.400s: %s", path, strerror(errno));
            return -1;
        }
        *p = '/';
    }
    if (mkdir(path, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create state dir %s: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

int join_load_keys(const char *dir, const struct join_token *tok, struct keyring *kr,
                   struct keypair *kp, const char *kp_name, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, KEYFILE_KEYRING);
    if (access(path, F_OK) == 0) {
        /* Keys rotated since the token was made live here. */
        if (keyring_load(kr, dir, err, errlen) < 0)
            return -1;
    } else if (keyring_install(kr, tok->key_id, tok->cluster_key, err, errlen) < 0 ||
               keyring_save(kr, dir, err, errlen) < 0) {
        return -1;
    }
    if (kp == NULL)
        return 0;
    snprintf(path, sizeof(path), "%s/%s", dir, kp_name);
    if (access(path, F_OK) == 0)
        return keypair_load(kp, dir, kp_name, err, errlen);
    if (keypair_generate(kp) < 0) {
        snprintf(err, errlen, "cannot generate a keypair");
        return -1;
    }
    return keypair_save(kp, dir, kp_name, err, errlen);
}

/* "k=v" into a label; both parts non-empty. */
static int split_label(const char *text, struct meta_label *l)
{
    const char *eq = strchr(text, '=');
    if (eq == NULL || eq == text || eq[1] == '\0')
        return -1;
    l->key = (struct proto_str){.ptr = text, .len = (size_t)(eq - text)};
    l->value = proto_str_c(eq + 1);
    return 0;
}

static int build_meta(const struct flagset *f, const struct engine_info *ei,
                      const struct keypair *kp, uint16_t relay_port, uint8_t *buf, size_t *len)
{
    struct meta m = {
        .role = META_ROLE_AGENT,
        .engine_id = proto_str_c(ei->id),
        .engine_name = proto_str_c(ei->name),
        .cpus = (uint32_t)ei->ncpu,
        .memory = (uint64_t)ei->mem_total,
        .os = proto_str_c(ei->os),
        .arch = proto_str_c(ei->arch),
        .kernel = proto_str_c(ei->kernel),
        .api_version = proto_str_c(ei->api_version),
        .relay_port = relay_port,
        .has_pubkey = true,
        .relay_hs = HS_VERSION_SUITES,
    };
    memcpy(m.pubkey, kp->pk, sizeof(m.pubkey));
    const struct flag_value *labels = flags_get(f, "label");
    for (int i = 0; i < labels->count; i++) {
        if (m.nlabels == META_MAX_LABELS ||
            split_label(labels->list[i], &m.labels[m.nlabels]) < 0) {
            fprintf(stderr, "swarm join: --label \"%s\": expected KEY=VALUE (at most %d labels)\n",
                    labels->list[i], META_MAX_LABELS);
            return SWARM_EXIT_USAGE;
        }
        m.nlabels++;
    }
    /* The engine's own labels (dockerd --label) count too, after ours; ours win a key both
     * have (a hollow engine's labels are ours). */
    for (int i = 0; i < ei->nlabels && m.nlabels < META_MAX_LABELS; i++) {
        struct meta_label *l = &m.labels[m.nlabels];
        bool taken = split_label(ei->labels[i], l) < 0;
        for (size_t j = 0; j < m.nlabels && !taken; j++)
            taken = m.labels[j].key.len == l->key.len &&
                    memcmp(m.labels[j].key.ptr, l->key.ptr, l->key.len) == 0;
        if (!taken)
            m.nlabels++;
    }
    struct proto_err perr;
    if (meta_encode(&m, buf, META_MAX_SIZE, len, &perr) != 0) {
        fprintf(stderr, "swarm join: cannot advertise this host: %s\n", perr.msg);
        return perr.code == PROTO_ERR_TOO_BIG || perr.code == PROTO_ERR_INVALID
                   ? SWARM_EXIT_USAGE
                   : SWARM_EXIT_FAILURE;
    }
    return 0;
}

/* The relay runs on the daemon's loop: started once gossip is up, stopped with it. The engine
 * watcher beside it feeds it the engine's state (STATE messages, docs/PROTOCOL.md 8.1). */
struct relay_service {
    struct relay_server_config cfg;
    uint8_t manager_pk[1][KEYPAIR_BYTES];
    char host[64];
    struct relay_server *server;
    struct engine_watch *watch;
};

static char *state_snapshot(void *arg, size_t *len)
{
    struct relay_service *rs = arg;
    return rs->watch ? engine_watch_snapshot(rs->watch, len) : NULL;
}

static void state_on_snapshot(void *arg)
{
    struct relay_service *rs = arg;
    relay_server_state_snapshot(rs->server);
}

static void state_on_delta(void *arg, const char *json, size_t len)
{
    struct relay_service *rs = arg;
    relay_server_state_delta(rs->server, json, len);
}

static int relay_start(void *arg, uv_loop_t *loop, struct gossip_uv *g, char *err, size_t errlen)
{
    (void)g;
    static const struct engine_watch_callbacks watch_cb = {state_on_snapshot, state_on_delta};
    struct relay_service *rs = arg;
    rs->cfg.state = (struct relay_state_source){state_snapshot, rs};
    rs->server = relay_server_start(loop, &rs->cfg, err, errlen);
    if (rs->server == NULL)
        return -1;
    struct engine_watch_config wc = {.engine_path = rs->cfg.engine_path};
    rs->watch = engine_watch_start(loop, &wc, &watch_cb, rs, err, errlen);
    return rs->watch ? 0 : -1;
}

static void relay_stop(void *arg)
{
    struct relay_service *rs = arg;
    engine_watch_close(rs->watch, NULL, NULL);
    relay_server_close(rs->server, NULL, NULL);
}

/* The relay listens on the --bind address, at --relay-port or the gossip port + 2. */
static int relay_address(const struct flagset *f, struct relay_service *rs)
{
    char err[256];
    struct proto_addr bind;
    if (gossip_parse_addr(flag(f, "bind", "0.0.0.0:7946"), GOSSIP_DEFAULT_PORT, &bind, err,
                          sizeof(err)) < 0) {
        fprintf(stderr, "swarm join: --bind: %s\n", err);
        return -1;
    }
    if (inet_ntop(bind.len == 16 ? AF_INET6 : AF_INET, bind.ip, rs->host, sizeof(rs->host)) == NULL)
        return -1;
    unsigned long port = (unsigned long)bind.port + 2;
    const char *text = flag(f, "relay-port", NULL);
    if (text) {
        char *end;
        port = strtoul(text, &end, 10);
        if (*text == '\0' || *end != '\0' || port == 0 || port > 65535) {
            fprintf(stderr, "swarm join: --relay-port \"%s\": expected 1..65535\n", text);
            return -1;
        }
    } else if (port > 65535) {
        fprintf(stderr,
                "swarm join: gossip port %u leaves no room for the relay: give --relay-port\n",
                bind.port);
        return -1;
    }
    rs->cfg.host = rs->host;
    rs->cfg.port = (uint16_t)port;
    return 0;
}

/* ---- --hollow-engine (scale tests only) ------------------------------------------------------
 * The agent starts an in-process fake engine on STATE_DIR/hollow.sock and uses it as its engine:
 * engine_info, the watcher and the relay run unchanged against it (agent/hollow_engine.h). */

extern const char *const swarm_version;

/* 1 with --hollow-engine (its options in hc), 0 without, -1 after a usage message. */
static int hollow_flags(const struct flagset *f, struct hollow_engine_config *hc)
{
    const char *cpus = flag(f, "hollow-cpus", NULL), *mem = flag(f, "hollow-memory", NULL);
    if (!flags_bool(f, "hollow-engine")) {
        if (cpus || mem)
            fprintf(stderr, "swarm join: --%s needs --hollow-engine\n",
                    cpus ? "hollow-cpus" : "hollow-memory");
        return cpus || mem ? -1 : 0;
    }
    if (flag(f, "engine", NULL)) {
        fprintf(stderr, "swarm join: --engine and --hollow-engine exclude each other\n");
        return -1;
    }
    hc->ncpu = HOLLOW_DEFAULT_CPUS;
    hc->mem_total = HOLLOW_DEFAULT_MEMORY;
    if (cpus) {
        char *end;
        unsigned long n = strtoul(cpus, &end, 10);
        if (*cpus < '0' || *cpus > '9' || *end != '\0' || n < 1 || n > 1 << 20) {
            fprintf(stderr, "swarm join: --hollow-cpus \"%s\": expected 1..1048576\n", cpus);
            return -1;
        }
        hc->ncpu = (int)n;
    }
    if (mem && hollow_parse_size(mem, &hc->mem_total) < 0) {
        fprintf(stderr, "swarm join: --hollow-memory \"%s\": expected bytes or a size like 2GiB\n",
                mem);
        return -1;
    }
    return 1;
}

/* The fake engine for this agent: /info Name = --name or the host name, its labels = --label. */
static struct hollow_engine *hollow_create(const struct flagset *f, const char *dir,
                                           struct hollow_engine_config *hc, char *url,
                                           size_t urlsize)
{
    char sock[4200], abs[4096], host[PROTO_NAME_MAX + 1] = "hollow", err[512];
    snprintf(sock, sizeof(sock), "%s/" HOLLOW_SOCKET_NAME, realpath(dir, abs) ? abs : dir);
    const char *name = flag(f, "name", NULL);
    if (name == NULL && gethostname(host, sizeof(host)) == 0)
        host[sizeof(host) - 1] = '\0';
    const struct flag_value *labels = flags_get(f, "label");
    hc->socket_path = sock;
    hc->name = name ? name : host;
    hc->labels = labels->list;
    hc->nlabels = labels->count;
    hc->version = swarm_version;
    struct hollow_engine *h = hollow_engine_new(hc, err, sizeof(err));
    if (h == NULL) {
        fprintf(stderr, "swarm join: --hollow-engine: %s\n", err);
        return NULL;
    }
    snprintf(url, urlsize, "unix://%s", sock);
    log_warn("agent",
             "hollow engine on %s: scale tests only: answers the Docker API from memory; runs no "
             "containers (%d CPUs, %lld MB)",
             sock, hc->ncpu, (long long)(hc->mem_total >> 20));
    return h;
}

struct hollow_fetch {
    const char *engine;
    struct engine_info *ei;
    char *err;
    size_t errlen;
};

static int hollow_fetch_info(void *arg)
{
    struct hollow_fetch *hf = arg;
    return engine_info_fetch(hf->engine, ENGINE_TIMEOUT_MS, hf->ei, hf->err, hf->errlen);
}

/* engine_info_fetch, unchanged; with a hollow engine it is served meanwhile (the daemon's loop
 * does not exist yet). */
static int fetch_engine_info(struct hollow_engine *hollow, const char *engine,
                             struct engine_info *ei, char *err, size_t errlen)
{
    struct hollow_fetch hf = {engine, ei, err, errlen};
    if (hollow == NULL)
        return hollow_fetch_info(&hf);
    return hollow_engine_serve_while(hollow, hollow_fetch_info, &hf, err, errlen);
}

/* On the daemon's loop: the fake engine listens first, then the relay and watcher start;
 * it closes after them. */
struct hollow_service {
    struct hollow_engine *engine;
    struct relay_service *relay;
};

static int hollow_service_start(void *arg, uv_loop_t *loop, struct gossip_uv *g, char *err,
                                size_t errlen)
{
    struct hollow_service *hs = arg;
    if (hollow_engine_listen(hs->engine, loop, err, errlen) < 0)
        return -1;
    return relay_start(hs->relay, loop, g, err, errlen);
}

static void hollow_service_stop(void *arg)
{
    struct hollow_service *hs = arg;
    relay_stop(hs->relay);
    hollow_engine_close(hs->engine, NULL, NULL);
}
/* ---- end of --hollow-engine ------------------------------------------------------------------ */

int join_run(const struct flagset *f)
{
    const char *level = flag(f, "log-level", "info");
    enum log_level lv;
    if (log_level_parse(level, &lv) < 0) {
        fprintf(stderr, "swarm join: --log-level must be debug, info, warn or error\n");
        return SWARM_EXIT_USAGE;
    }
    log_set_level(lv);
    struct hollow_engine_config hollow_cfg = {0};
    struct hollow_engine *hollow = NULL;
    int hollow_on = hollow_flags(f, &hollow_cfg);
    if (hollow_on < 0)
        return SWARM_EXIT_USAGE;
    const char *token_text = flag(f, "token", NULL);
    if (token_text == NULL) {
        fprintf(stderr, "swarm join: --token is required (the last line `swarm init` printed)\n"
                        "Usage: swarm join --token TOKEN [flags]\n");
        return SWARM_EXIT_USAGE;
    }
    struct membership_tuning tuning;
    if (join_tuning_from_flags("join", f, &tuning) < 0 || join_check_mcast_groups("join", f) < 0)
        return SWARM_EXIT_USAGE;
    const struct flag_value *seeds = flags_get(f, "join");
    if (seeds->count > GOSSIP_UV_MAX_SEEDS) {
        fprintf(stderr, "swarm join: at most %d --join seeds\n", GOSSIP_UV_MAX_SEEDS);
        return SWARM_EXIT_USAGE;
    }
    if (swcrypto_init() < 0) {
        fprintf(stderr, "swarm join: libsodium failed to initialise\n");
        return SWARM_EXIT_FAILURE;
    }
    char err[512];
    struct join_token tok;
    if (token_parse(token_text, strlen(token_text), &tok, err, sizeof(err)) < 0) {
        fprintf(stderr, "swarm join: %s\n", err);
        return SWARM_EXIT_USAGE;
    }

    struct relay_service relay = {.server = NULL};
    if (relay_address(f, &relay) < 0) {
        token_wipe(&tok);
        return SWARM_EXIT_USAGE;
    }
    memcpy(relay.manager_pk[0], tok.manager_pk, KEYPAIR_BYTES);

    const char *dir = flag(f, "state-dir", "/var/lib/swarm");
    struct keyring *kr = keyring_new();
    struct keypair kp;
    int rc = SWARM_EXIT_FAILURE;
    if (kr == NULL) {
        fprintf(stderr, "swarm join: out of memory\n");
        token_wipe(&tok);
        return rc;
    }
    if (ensure_dir(dir, err, sizeof(err)) < 0 ||
        join_load_keys(dir, &tok, kr, &kp, KEYFILE_AGENT, err, sizeof(err)) < 0) {
        fprintf(stderr, "swarm join: %s\n", err);
        goto out;
    }

    const char *engine = flag(f, "engine", "unix:///var/run/docker.sock");
    char hollow_url[4300];
    if (hollow_on &&
        (hollow = hollow_create(f, dir, &hollow_cfg, hollow_url, sizeof(hollow_url))) == NULL)
        goto out;
    if (hollow)
        engine = hollow_url;
    struct engine_info *ei = calloc(1, sizeof(*ei));
    if (ei == NULL)
        goto out;
    if (fetch_engine_info(hollow, engine, ei, err, sizeof(err)) < 0) {
        fprintf(stderr, "swarm join: cannot start: %s\n", err);
        free(ei);
        goto out;
    }
    uint8_t meta[META_MAX_SIZE];
    size_t meta_len = 0;
    int mrc = build_meta(f, ei, &kp, relay.cfg.port, meta, &meta_len);
    if (mrc != 0) {
        free(ei);
        rc = mrc;
        goto out;
    }
    char host[PROTO_NAME_MAX + 1];
    const char *name = flag(f, "name", NULL);
    if (name == NULL) {
        if (gethostname(host, sizeof(host)) < 0)
            snprintf(host, sizeof(host), "%s", ei->name);
        host[sizeof(host) - 1] = '\0';
        name = host;
    }
    log_info("agent", "engine %s (%s) %d CPUs %lld MB API %s", ei->name, ei->id, ei->ncpu,
             (long long)(ei->mem_total >> 20), ei->api_version);

    relay.cfg.engine_path = engine_socket_path(engine);
    relay.cfg.self = &kp;
    relay.cfg.managers = (const uint8_t(*)[KEYPAIR_BYTES])relay.manager_pk;
    relay.cfg.nmanagers = 1;
    struct daemon_config dc = {
        .state_dir = dir,
        .keyring = kr,
        .start = relay_start,
        .stop = relay_stop,
        .service_arg = &relay,
        .gossip =
            {
                .name = name,
                .bind = flag(f, "bind", "0.0.0.0:7946"),
                .advertise = flag(f, "advertise", NULL),
                .multicast = !flags_bool(f, "no-multicast"),
                .mcast_group = flag(f, "mcast-group", NULL),
                .mcast_group6 = flag(f, "mcast-group6", NULL),
                .meta = meta,
                .meta_len = meta_len,
                /* Wall-clock seconds: a restarted agent comes back above its old incarnation
                 * and takes over its entry at once. */
                .incarnation = (uint64_t)time(NULL),
                .tuning = tuning,
            },
    };
    const char *mport = flag(f, "mcast-port", NULL);
    if (mport) {
        char *end;
        unsigned long p = strtoul(mport, &end, 10);
        if (*end != '\0' || p == 0 || p > 65535) {
            fprintf(stderr, "swarm join: --mcast-port \"%s\": expected 1..65535\n", mport);
            free(ei);
            rc = SWARM_EXIT_USAGE;
            goto out;
        }
        dc.gossip.mcast_port = (uint16_t)p;
    }
    for (int i = 0; i < seeds->count; i++)
        dc.gossip.seeds[dc.gossip.nseeds++] = seeds->list[i];
    free(ei);
    struct hollow_service hollow_svc = {hollow, &relay};
    if (hollow) {
        dc.start = hollow_service_start;
        dc.stop = hollow_service_stop;
        dc.service_arg = &hollow_svc;
    }
    rc = daemon_run(&dc);
    engine_watch_free(relay.watch);
    relay_server_free(relay.server);
out:
    hollow_engine_free(hollow);
    keypair_wipe(&kp);
    token_wipe(&tok);
    keyring_free(kr);
    return rc;
}
