/*
 * join — `swarm join`: turns flags, the token and the state dir into a daemon configuration and
 * runs the daemon (agent/daemon.h); on its loop, gossip starts at once and the local engine's
 * /info then gives the metadata, the relay and the engine watcher (agent_service below).
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

/* Our metadata: the --label flags, then (ei not NULL) the engine's identity, size and labels,
 * the relay port and our public key. Without ei it only checks the labels (a usage error is
 * said before anything starts). 0, or an exit code after a message on stderr. */
static int build_meta(const struct flagset *f, const struct engine_info *ei,
                      const struct keypair *kp, uint16_t relay_port, uint8_t *buf, size_t *len)
{
    struct meta m = {.role = META_ROLE_AGENT};
    if (ei) {
        m.engine_id = proto_str_c(ei->id);
        m.engine_name = proto_str_c(ei->name);
        m.cpus = (uint32_t)ei->ncpu;
        m.memory = (uint64_t)ei->mem_total;
        m.os = proto_str_c(ei->os);
        m.arch = proto_str_c(ei->arch);
        m.kernel = proto_str_c(ei->kernel);
        m.api_version = proto_str_c(ei->api_version);
        m.relay_port = relay_port;
        m.has_pubkey = true;
        m.relay_hs = HS_VERSION_SUITES;
        memcpy(m.pubkey, kp->pk, sizeof(m.pubkey));
    }
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
    for (int i = 0; ei && i < ei->nlabels && m.nlabels < META_MAX_LABELS; i++) {
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

/* ---- end of --hollow-engine ------------------------------------------------------------------ */

/*
 * The agent on the daemon's loop. Gossip starts first, with no metadata (managers neither list
 * nor schedule on a member without it), and the engine is asked for /info and /version at the
 * same time; once it answers, the relay and the engine watcher start and the metadata goes out
 * as a new incarnation. An engine that does not answer stops the agent: it says why and leaves.
 */
struct agent_service {
    const struct flagset *f;
    const char *engine; /* URL */
    const struct keypair *kp;
    struct relay_service relay;
    struct hollow_engine *hollow; /* --hollow-engine, else NULL */
    uv_loop_t *loop;
    struct gossip_uv *g;
    struct engine_info_fetch *fetch; /* while /info is asked */
    bool stopping;
};

static void on_engine_info(void *arg, const struct engine_info *ei, const char *why)
{
    struct agent_service *as = arg;
    as->fetch = NULL;
    if (ei == NULL) {
        fprintf(stderr, "swarm join: cannot start: %s\n", why);
        daemon_stop(as->loop, SWARM_EXIT_FAILURE);
        return;
    }
    uint8_t meta[META_MAX_SIZE];
    size_t meta_len = 0;
    int rc = build_meta(as->f, ei, as->kp, as->relay.cfg.port, meta, &meta_len);
    if (rc != 0) {
        daemon_stop(as->loop, rc);
        return;
    }
    log_info("agent", "engine %s (%s) %d CPUs %lld MB API %s", ei->name, ei->id, ei->ncpu,
             (long long)(ei->mem_total >> 20), ei->api_version);
    char err[512];
    if (relay_start(&as->relay, as->loop, as->g, err, sizeof(err)) < 0) {
        log_error("agent", "%s", err);
        daemon_stop(as->loop, SWARM_EXIT_FAILURE);
        return;
    }
    /* Advertised once the relay listens: a manager may connect as soon as it reads it. */
    if (gossip_uv_set_meta(as->g, meta, meta_len) < 0) {
        log_error("agent", "cannot advertise this host's metadata (%zu bytes)", meta_len);
        daemon_stop(as->loop, SWARM_EXIT_FAILURE);
    }
}

static int agent_start(void *arg, uv_loop_t *loop, struct gossip_uv *g, char *err, size_t errlen)
{
    struct agent_service *as = arg;
    as->loop = loop;
    as->g = g;
    /* The fake engine listens on this loop before it is asked anything. */
    if (as->hollow && hollow_engine_listen(as->hollow, loop, err, errlen) < 0)
        return -1;
    as->fetch = engine_info_fetch_start(loop, as->engine, ENGINE_TIMEOUT_MS, on_engine_info, as,
                                        err, errlen);
    return as->fetch ? 0 : -1;
}

static void agent_stop(void *arg)
{
    struct agent_service *as = arg;
    if (as->stopping)
        return;
    as->stopping = true;
    engine_info_fetch_cancel(as->fetch);
    as->fetch = NULL;
    relay_stop(&as->relay);
    if (as->hollow)
        hollow_engine_close(as->hollow, NULL, NULL);
}

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
    uint16_t mcast_port = 0;
    const char *mport = flag(f, "mcast-port", NULL);
    if (mport) {
        char *end;
        unsigned long p = strtoul(mport, &end, 10);
        if (*end != '\0' || p == 0 || p > 65535) {
            fprintf(stderr, "swarm join: --mcast-port \"%s\": expected 1..65535\n", mport);
            return SWARM_EXIT_USAGE;
        }
        mcast_port = (uint16_t)p;
    }
    uint8_t meta[META_MAX_SIZE];
    size_t meta_len = 0;
    int mrc = build_meta(f, NULL, NULL, 0, meta, &meta_len); /* the --label flags, checked */
    if (mrc != 0)
        return mrc;
    char host[PROTO_NAME_MAX + 1];
    const char *name = flag(f, "name", NULL);
    if (name == NULL) {
        if (gethostname(host, sizeof(host)) < 0) {
            fprintf(stderr, "swarm join: cannot read the host name (%s): give --name\n",
                    strerror(errno));
            return SWARM_EXIT_FAILURE;
        }
        host[sizeof(host) - 1] = '\0';
        name = host;
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

    struct agent_service as = {.f = f};
    if (relay_address(f, &as.relay) < 0) {
        token_wipe(&tok);
        return SWARM_EXIT_USAGE;
    }
    memcpy(as.relay.manager_pk[0], tok.manager_pk, KEYPAIR_BYTES);

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
    if (hollow) {
        engine = hollow_url;
    } else if (engine_info_probe(engine, err, sizeof(err)) < 0) {
        /* Nothing listens there: say so at once, before joining anything. An engine that
         * listens but does not answer is found out on the loop, and the agent leaves. */
        fprintf(stderr, "swarm join: cannot start: %s\n", err);
        goto out;
    }
    as.engine = engine;
    as.kp = &kp;
    as.hollow = hollow;
    as.relay.cfg.engine_path = engine_socket_path(engine);
    as.relay.cfg.self = &kp;
    as.relay.cfg.managers = (const uint8_t(*)[KEYPAIR_BYTES])as.relay.manager_pk;
    as.relay.cfg.nmanagers = 1;
    struct daemon_config dc = {
        .state_dir = dir,
        .keyring = kr,
        .start = agent_start,
        .stop = agent_stop,
        .service_arg = &as,
        .gossip =
            {
                .name = name,
                .bind = flag(f, "bind", "0.0.0.0:7946"),
                .advertise = flag(f, "advertise", NULL),
                .multicast = !flags_bool(f, "no-multicast"),
                .mcast_group = flag(f, "mcast-group", NULL),
                .mcast_group6 = flag(f, "mcast-group6", NULL),
                .mcast_port = mcast_port,
                /* No metadata until the engine answers (agent_service). */
                .meta = NULL,
                .meta_len = 0,
                /* Wall-clock seconds: a restarted agent comes back above its old incarnation
                 * and takes over its entry at once. */
                .incarnation = (uint64_t)time(NULL),
                .tuning = tuning,
            },
    };
    for (int i = 0; i < seeds->count; i++)
        dc.gossip.seeds[dc.gossip.nseeds++] = seeds->list[i];
    rc = daemon_run(&dc);
    engine_watch_free(as.relay.watch);
    relay_server_free(as.relay.server);
out:
    hollow_engine_free(hollow);
    keypair_wipe(&kp);
    token_wipe(&tok);
    keyring_free(kr);
    return rc;
}
