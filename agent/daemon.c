#include "agent/daemon.h"

#include "agent/control.h"
#include "common/log.h"
#include "proto/meta.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct daemon {
    uv_loop_t loop;
    uv_signal_t sigint, sigterm;
    struct control_server control;
    struct gossip_uv *g;
    int signals;
    int closing;
    int exit_code; /* daemon_stop's */
    const struct daemon_config *dc;
};

/* Compact JSON of v and a newline, malloc'd; takes the reference to v. */
static char *json_line(json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    if (text == NULL)
        return NULL;
    size_t n = strlen(text);
    char *line = realloc(text, n + 2);
    if (line == NULL) {
        free(text);
        return NULL;
    }
    line[n] = '\n';
    line[n + 1] = '\0';
    return line;
}

static json_t *member_json(const struct member *x)
{
    char addr[64];
    gossip_format_addr(&x->addr, addr, sizeof(addr));
    json_t *labels = json_object();
    const char *role = "unknown";
    struct meta meta;
    if (x->meta_len > 0 && meta_decode(x->meta, x->meta_len, &meta, NULL) == 0) {
        role = meta_role_name(meta.role);
        for (size_t i = 0; i < meta.nlabels; i++) {
            char k[META_LABEL_KEY_MAX + 1], v[META_LABEL_VALUE_MAX + 1];
            if (proto_str_copy(meta.labels[i].key, k, sizeof(k)) == 0 &&
                proto_str_copy(meta.labels[i].value, v, sizeof(v)) == 0)
                json_object_set_new(labels, k, json_string(v));
        }
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:o}", "name", x->name, "addr", addr, "role", role,
                     "state", member_state_name(x->state), "incarnation",
                     (json_int_t)x->incarnation, "labels", labels);
}

char *daemon_members_json(struct membership *m, const char *self_role)
{
    (void)self_role;
    json_t *arr = json_array();
    for (size_t i = 0; i < membership_count(m); i++) {
        json_t *o = member_json(membership_member_at(m, i));
        if (o)
            json_array_append_new(arr, o);
    }
    return json_line(arr);
}

static char *stats_json(struct daemon *d)
{
    const struct membership_stats *ms = membership_stats(gossip_uv_membership(d->g));
    const struct gossip_uv_stats *gs = gossip_uv_stats(d->g);
    struct membership *m = gossip_uv_membership(d->g);
    json_t *o = json_pack(
        "{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
        "s:I, s:I, s:I}",
        "addr", gossip_uv_advertised(d->g), "members", (json_int_t)membership_count(m), "health",
        (json_int_t)membership_health(m), "datagrams_in", (json_int_t)gs->rx_datagrams,
        "datagrams_out", (json_int_t)ms->datagrams_out, "rejected_forged",
        (json_int_t)gs->rx_rejected_forged, "rejected_unknown_key", (json_int_t)gs->rx_rejected_key,
        "rejected_other", (json_int_t)gs->rx_rejected_other, "bad_datagrams",
        (json_int_t)ms->bad_datagrams, "unknown_messages", (json_int_t)ms->unknown_messages,
        "beacons_in", (json_int_t)gs->rx_beacons, "beacons_rejected",
        (json_int_t)gs->beacons_rejected, "beacons_sent", (json_int_t)gs->beacons_sent,
        "pushpull_in", (json_int_t)gs->pushpull_in, "pushpull_out", (json_int_t)gs->pushpull_out,
        "pushpull_rejected", (json_int_t)gs->pushpull_rejected, "probes", (json_int_t)ms->probes,
        "probe_failures", (json_int_t)ms->probe_failures, "refutations",
        (json_int_t)ms->refutations, "conflicts", (json_int_t)ms->conflicts);
    return o ? json_line(o) : NULL;
}

static char *on_control(const char *request, void *arg)
{
    struct daemon *d = arg;
    if (strcmp(request, "members") == 0)
        return daemon_members_json(gossip_uv_membership(d->g), NULL);
    if (strcmp(request, "stats") == 0)
        return stats_json(d);
    return strdup("{\"error\":\"unknown request: expected members or stats\"}\n");
}

static void on_gossip_closed(void *arg)
{
    struct daemon *d = arg;
    uv_close((uv_handle_t *)&d->sigint, NULL);
    uv_close((uv_handle_t *)&d->sigterm, NULL);
}

/* Stops the service, the control socket and gossip (a graceful leave); the loop then ends. */
static void stop(struct daemon *d)
{
    d->closing = 1;
    if (d->dc->stop)
        d->dc->stop(d->dc->service_arg);
    control_server_close(&d->control, NULL);
    gossip_uv_leave_and_close(d->g, on_gossip_closed, d);
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct daemon *d = s->data;
    if (++d->signals > 1) {
        log_warn("daemon", "second signal: exiting now");
        exit(1);
    }
    if (d->closing)
        return; /* already leaving (daemon_stop) */
    log_info("daemon", "%s: leaving the cluster", signum == SIGINT ? "SIGINT" : "SIGTERM");
    stop(d);
}

void daemon_stop(uv_loop_t *loop, int exit_code)
{
    struct daemon *d = loop->data;
    if (d->closing)
        return;
    log_info("daemon", "leaving the cluster");
    d->exit_code = exit_code;
    stop(d);
}

int daemon_run(const struct daemon_config *dc)
{
    struct daemon *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return 1;
    uv_loop_init(&d->loop);
    d->loop.data = d; /* daemon_stop finds us */
    char err[512];
    int rc = 0;
    d->dc = dc;
    if (control_server_start(&d->loop, &d->control, dc->state_dir, on_control, d, err,
                             sizeof(err)) < 0) {
        log_error("daemon", "%s", err);
        rc = 1;
    } else if ((d->g = gossip_uv_start(&d->loop, &dc->gossip, dc->keyring, err, sizeof(err))) ==
               NULL) {
        log_error("daemon", "%s", err);
        control_server_close(&d->control, NULL);
        rc = 1;
    } else {
        uv_signal_init(&d->loop, &d->sigint);
        uv_signal_init(&d->loop, &d->sigterm);
        d->sigint.data = d->sigterm.data = d;
        uv_signal_start(&d->sigint, on_signal, SIGINT);
        uv_signal_start(&d->sigterm, on_signal, SIGTERM);
        signal(SIGPIPE, SIG_IGN);
        if (dc->start && dc->start(dc->service_arg, &d->loop, d->g, err, sizeof(err)) < 0) {
            log_error("daemon", "%s", err);
            if (!d->closing) {
                d->exit_code = 1;
                stop(d);
            }
        }
    }
    uv_run(&d->loop, UV_RUN_DEFAULT);
    if (d->g)
        gossip_uv_free(d->g);
    if (uv_loop_close(&d->loop) != 0)
        log_warn("daemon", "event loop closed with handles still open");
    if (rc == 0)
        rc = d->exit_code;
    free(d);
    if (rc == 0)
        log_info("daemon", "stopped");
    return rc;
}
