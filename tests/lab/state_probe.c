/*
 * state_probe — plays the manager on one agent's relay and prints the engine state the agent
 * pushes (docs/PROTOCOL.md 8.1), for tests/lab/test_state.sh and by hand:
 *
 *   state_probe MANAGER_DIR AGENT_DIR HOST PORT [SECONDS]
 *
 * MANAGER_DIR holds manager.key (swarm init's state dir), AGENT_DIR the agent's agent.key (its
 * public half names the agent). It connects to HOST:PORT, reassembles STATE messages from
 * their chunks and prints one line per message, flushed:
 *
 *   snapshot|delta SEQ CHUNKS BYTES JSON
 *
 * and exits after SECONDS (default: never), on SIGINT/SIGTERM (0), or when the connection
 * ends or a chunk breaks the rules (1, with the reason on stderr).
 */
#include "agent/relay_link.h"
#include "common/log.h"
#include "crypto/keyfile.h"
#include "crypto/swcrypto.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct probe {
    uv_loop_t loop;
    struct relay_link link;
    uv_signal_t sigint, sigterm;
    uv_timer_t limit;
    uint8_t *buf;
    size_t len, cap;
    bool in_msg;
    int kind, chunks;
    uint64_t seq, last_seq;
    int rc;
    bool stopping;
};

static void stop(struct probe *p, int rc, const char *why)
{
    if (p->stopping)
        return;
    p->stopping = true;
    p->rc = rc;
    if (why)
        fprintf(stderr, "state_probe: %s\n", why);
    uv_close((uv_handle_t *)&p->sigint, NULL);
    uv_close((uv_handle_t *)&p->sigterm, NULL);
    uv_close((uv_handle_t *)&p->limit, NULL);
    relay_link_close_graceful(&p->link, "probe done");
}

static void on_ready(struct relay_link *l)
{
    (void)l;
    fprintf(stderr, "state_probe: connected\n");
}

static void on_frame(struct relay_link *l, const struct frame *f)
{
    struct probe *p = l->data;
    if (f->type != FRAME_STATE)
        return;
    char why[160];
    if (!p->in_msg) {
        if (f->u.state.seq <= p->last_seq) {
            snprintf(why, sizeof(why), "seq %llu after %llu", (unsigned long long)f->u.state.seq,
                     (unsigned long long)p->last_seq);
            stop(p, 1, why);
            return;
        }
        p->in_msg = true;
        p->kind = (int)f->u.state.kind;
        p->seq = f->u.state.seq;
        p->len = 0;
        p->chunks = 0;
    } else if (p->kind != (int)f->u.state.kind || p->seq != f->u.state.seq) {
        stop(p, 1, "a chunk of another message in the middle of one");
        return;
    }
    size_t n = f->u.state.payload.len;
    if (p->len + n > FRAME_STATE_MAX) {
        stop(p, 1, "a state message over 4 MiB");
        return;
    }
    if (p->len + n + 1 > p->cap) {
        p->cap = (p->len + n + 1) * 2;
        uint8_t *grown = realloc(p->buf, p->cap);
        if (grown == NULL) {
            stop(p, 1, "out of memory");
            return;
        }
        p->buf = grown;
    }
    memcpy(p->buf + p->len, f->u.state.payload.ptr, n);
    p->len += n;
    p->chunks++;
    if (f->u.state.more)
        return;
    p->in_msg = false;
    p->last_seq = p->seq;
    printf("%s %llu %d %zu %.*s\n", p->kind == FRAME_STATE_SNAPSHOT ? "snapshot" : "delta",
           (unsigned long long)p->seq, p->chunks, p->len, (int)p->len, (const char *)p->buf);
    fflush(stdout);
}

static void on_closed(struct relay_link *l, const char *reason)
{
    struct probe *p = l->data;
    if (!p->stopping) {
        p->stopping = true;
        p->rc = 1;
        fprintf(stderr, "state_probe: connection closed: %s\n", reason);
        uv_close((uv_handle_t *)&p->sigint, NULL);
        uv_close((uv_handle_t *)&p->sigterm, NULL);
        uv_close((uv_handle_t *)&p->limit, NULL);
    }
}

static const struct relay_link_ops ops = {on_ready, on_frame, NULL, on_closed};

static void on_signal(uv_signal_t *s, int signum)
{
    (void)signum;
    stop(s->data, 0, NULL);
}

static void on_limit(uv_timer_t *t)
{
    stop(t->data, 0, NULL);
}

int main(int argc, char **argv)
{
    if (argc < 5 || argc > 6) {
        fprintf(stderr, "usage: state_probe MANAGER_DIR AGENT_DIR HOST PORT [SECONDS]\n");
        return 2;
    }
    if (swcrypto_init() < 0)
        return 1;
    log_set_level(LOG_WARN);
    char err[512];
    struct keypair mgr, agent;
    if (keypair_load(&mgr, argv[1], KEYFILE_MANAGER, err, sizeof(err)) < 0 ||
        keypair_load(&agent, argv[2], KEYFILE_AGENT, err, sizeof(err)) < 0) {
        fprintf(stderr, "state_probe: %s\n", err);
        return 1;
    }
    struct sockaddr_storage ss;
    int port = atoi(argv[4]);
    if (uv_ip4_addr(argv[3], port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(argv[3], port, (struct sockaddr_in6 *)&ss) != 0) {
        fprintf(stderr, "state_probe: bad address %s\n", argv[3]);
        return 2;
    }
    static struct probe p;
    uv_loop_init(&p.loop);
    uv_signal_init(&p.loop, &p.sigint);
    uv_signal_init(&p.loop, &p.sigterm);
    uv_timer_init(&p.loop, &p.limit);
    p.sigint.data = p.sigterm.data = p.limit.data = &p;
    uv_signal_start(&p.sigint, on_signal, SIGINT);
    uv_signal_start(&p.sigterm, on_signal, SIGTERM);
    if (argc == 6)
        uv_timer_start(&p.limit, on_limit, (uint64_t)atoi(argv[5]) * 1000, 0);
    signal(SIGPIPE, SIG_IGN);
    struct relay_link_timing t = {.ping_ms = 5000};
    p.link.data = &p;
    relay_link_init(&p.link, &p.loop, &ops, &t);
    if (relay_link_connect(&p.link, (const struct sockaddr *)&ss, &mgr, agent.pk, err,
                           sizeof(err)) < 0)
        stop(&p, 1, err);
    keypair_wipe(&mgr);
    keypair_wipe(&agent);
    uv_run(&p.loop, UV_RUN_DEFAULT);
    uv_loop_close(&p.loop);
    free(p.buf);
    return p.rc;
}
