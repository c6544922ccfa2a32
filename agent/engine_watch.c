/* engine_watch — the engine's state from list + inspect + /events; see engine_watch.h. */
#include "agent/engine_watch.h"

#include "agent/engine_http.h"
#include "common/log.h"

#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- growable text --------------------------------------------------------------------------- */

struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *grown = realloc(b->p, cap);
        if (grown == NULL) {
            b->oom = true;
            return;
        }
        b->p = grown;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_adds(struct sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

/* The text, malloc'd, or NULL (out of memory); the buffer is empty afterwards. */
static char *sb_take(struct sbuf *b, size_t *len)
{
    if (!b->oom && b->p == NULL)
        sb_add(b, "", 0);
    char *p = b->oom ? NULL : b->p;
    if (b->oom)
        free(b->p);
    if (len)
        *len = p ? b->len : 0;
    memset(b, 0, sizeof(*b));
    return p;
}

/* ---- pure helpers ---------------------------------------------------------------------------- */

static size_t skip_ws(const char *p, size_t off, size_t len)
{
    while (off < len && (p[off] == ' ' || p[off] == '\t' || p[off] == '\n' || p[off] == '\r'))
        off++;
    return off;
}

int engine_watch_each(const char *text, size_t len, int (*fn)(void *arg, json_t *v), void *arg)
{
    /* A raw NUL is JSON nowhere, and jansson's element parser miscounts its position past one. */
    if (memchr(text, '\0', len) != NULL)
        return -1;
    size_t off = skip_ws(text, 0, len);
    if (off == len || text[off] != '[')
        return -1;
    off = skip_ws(text, off + 1, len);
    if (off < len && text[off] == ']')
        return skip_ws(text, off + 1, len) == len ? 0 : -1;
    for (;;) {
        json_error_t jerr;
        json_t *v =
            json_loadb(text + off, len - off, JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &jerr);
        if (v == NULL)
            return -1;
        off += (size_t)jerr.position;
        int rc = fn(arg, v);
        json_decref(v);
        if (rc != 0)
            return rc;
        off = skip_ws(text, off, len);
        if (off < len && text[off] == ',') {
            off = skip_ws(text, off + 1, len);
            continue;
        }
        if (off < len && text[off] == ']')
            return skip_ws(text, off + 1, len) == len ? 0 : -1;
        return -1;
    }
}

static bool id_ok(const char *s)
{
    if (s == NULL)
        return false;
    size_t n = strlen(s);
    if (n == 0 || n > ENGINE_WATCH_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

/* What the scheduler counts, from the inspect's HostConfig into E's. */
static const char *const reservation_fields[] = {"Memory",     "NanoCpus",     "CpuShares",
                                                 "CpusetCpus", "PortBindings", "RestartPolicy"};

char *engine_watch_entry(const json_t *entry, const json_t *inspect,
                         char id[ENGINE_WATCH_ID_MAX + 1], size_t *len)
{
    if (!json_is_object(entry))
        return NULL;
    const char *cid = json_string_value(json_object_get(entry, "Id"));
    if (!id_ok(cid) || strlen(cid) != json_string_length(json_object_get(entry, "Id")))
        return NULL;
    /* A shallow copy: the new HostConfig replaces the old one in the copy only. */
    json_t *e = json_copy((json_t *)entry);
    if (e == NULL)
        return NULL;
    json_object_del(e, "Env");
    json_t *hc = json_object_get(entry, "HostConfig");
    json_t *nhc = json_is_object(hc) ? json_copy(hc) : json_object();
    json_t *ihc = json_is_object(inspect) ? json_object_get(inspect, "HostConfig") : NULL;
    if (nhc && json_is_object(ihc)) {
        for (size_t i = 0; i < sizeof(reservation_fields) / sizeof(reservation_fields[0]); i++) {
            json_t *v = json_object_get(ihc, reservation_fields[i]);
            if (v)
                json_object_set(nhc, reservation_fields[i], v);
        }
    }
    char *text = NULL;
    if (nhc && json_object_set_new(e, "HostConfig", nhc) == 0)
        text = json_dumps(e, JSON_COMPACT);
    json_decref(e);
    if (text == NULL)
        return NULL;
    snprintf(id, ENGINE_WATCH_ID_MAX + 1, "%s", cid);
    *len = strlen(text);
    return text;
}

/* Container actions that do not change what /containers/json says about it. */
static const char *const unchanged_actions[] = {
    "exec_create", "exec_start", "exec_die", "exec_detach",  "attach", "detach",
    "resize",      "top",        "export",   "archive-path", "copy",   "extract-to-dir",
};

static bool action_is(const char *action, size_t alen, const char *name)
{
    return alen == strlen(name) && memcmp(action, name, alen) == 0;
}

enum engine_watch_action engine_watch_classify(const json_t *event,
                                               char id[ENGINE_WATCH_ID_MAX + 1])
{
    if (!json_is_object(event))
        return ENGINE_WATCH_PASS;
    const char *type = json_string_value(json_object_get(event, "Type"));
    const char *action = json_string_value(json_object_get(event, "Action"));
    if (type == NULL || action == NULL)
        return ENGINE_WATCH_PASS;
    if (strcmp(type, "image") == 0)
        return ENGINE_WATCH_IMAGES;
    if (strcmp(type, "daemon") == 0)
        return strcmp(action, "reload") == 0 ? ENGINE_WATCH_INFO : ENGINE_WATCH_PASS;
    if (strcmp(type, "container") != 0)
        return ENGINE_WATCH_PASS;
    /* "exec_create: sh -c ...", "health_status: healthy": the action is what precedes ':'. */
    size_t alen = strcspn(action, ":");
    if (action_is(action, alen, "commit"))
        return ENGINE_WATCH_IMAGES;
    for (size_t i = 0; i < sizeof(unchanged_actions) / sizeof(unchanged_actions[0]); i++)
        if (action_is(action, alen, unchanged_actions[i]))
            return ENGINE_WATCH_PASS;
    json_t *actor = json_object_get(event, "Actor");
    json_t *jid = json_object_get(actor, "ID");
    if (!json_is_string(jid))
        jid = json_object_get(event, "id");
    const char *cid = json_string_value(jid);
    if (!id_ok(cid) || strlen(cid) != json_string_length(jid))
        return ENGINE_WATCH_PASS;
    snprintf(id, ENGINE_WATCH_ID_MAX + 1, "%s", cid);
    return action_is(action, alen, "destroy") ? ENGINE_WATCH_REMOVED : ENGINE_WATCH_CONTAINER;
}

void engine_lines_init(struct engine_lines *l, size_t max)
{
    memset(l, 0, sizeof(*l));
    l->max = max;
}

void engine_lines_reset(struct engine_lines *l)
{
    free(l->buf);
    l->buf = NULL;
    l->len = l->cap = 0;
    l->skipping = false;
}

int engine_lines_feed(struct engine_lines *l, const char *p, size_t n,
                      void (*line)(void *arg, const char *text, size_t len), void *arg)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;
        if (l->skipping) {
            l->skipping = nl == NULL;
        } else if (take > l->max - l->len) {
            l->dropped++;
            l->len = 0;
            l->skipping = nl == NULL;
        } else if (nl && l->len == 0) {
            line(arg, p, take); /* a whole line in the input: no copy */
        } else {
            if (l->len + take > l->cap) {
                size_t cap = l->cap ? l->cap : 4096;
                while (cap < l->len + take)
                    cap *= 2;
                if (cap > l->max)
                    cap = l->max;
                char *grown = realloc(l->buf, cap ? cap : 1);
                if (grown == NULL) {
                    l->len = 0;
                    l->skipping = nl == NULL;
                    return -1;
                }
                l->buf = grown;
                l->cap = cap;
            }
            if (take)
                memcpy(l->buf + l->len, p, take);
            l->len += take;
            if (nl) {
                size_t len = l->len;
                l->len = 0;
                line(arg, l->buf, len);
            }
        }
        if (nl == NULL)
            break;
        p += take + 1;
        n -= take + 1;
    }
    /* A burst of long lines leaves a big buffer behind: give it back once it is empty. */
    if (l->len == 0 && l->cap > 64 * 1024) {
        free(l->buf);
        l->buf = NULL;
        l->cap = 0;
    }
    return 0;
}

/* ---- the watcher ----------------------------------------------------------------------------- */

enum phase {
    PH_WAIT,      /* the engine failed; the timer retries */
    PH_SUBSCRIBE, /* /events requested; the timer is the deadline for its headers */
    PH_SNAPSHOT,  /* listing and inspecting; events queue */
    PH_LIVE,      /* applying events */
    PH_CLOSED,
};

/* One event waiting to be applied. */
struct qev {
    struct qev *next;
    json_t *ev;
    enum engine_watch_action act;
    char id[ENGINE_WATCH_ID_MAX + 1];
    size_t bytes;
};

struct centry {
    char id[ENGINE_WATCH_ID_MAX + 1];
    char *json; /* E, compact */
    size_t len;
};

/* The state, as compact texts (NULL images/info/version: empty). */
struct state {
    struct centry *c;
    size_t n, cap;
    char *images, *info, *version;
    char *error; /* an error snapshot */
    bool have;   /* there is a snapshot (maybe an error one) */
};

struct snap {
    struct engine_http *list, *images, *info, *version;
    bool listed; /* the list came back and was parsed */
    size_t ncont, cap, next, inflight;
    struct engine_http *insp[ENGINE_WATCH_PARALLEL];
    size_t insp_i[ENGINE_WATCH_PARALLEL];
    /* ncont list entries as compact text, E once inspected; json NULL: gone or unusable */
    struct centry *entries;
    char *images_txt, *info_txt, *version_txt;
};

struct refetch {
    struct qev *q; /* the event being applied; NULL: none */
    struct engine_http *list, *inspect, *other;
    bool list_done, inspect_done;
    json_t *found;   /* the container's list entry (a reference), or NULL */
    json_t *details; /* its inspect, or NULL (gone) */
};

struct engine_watch {
    uv_loop_t *loop;
    char path[108];
    struct engine_watch_config cfg;
    struct engine_watch_callbacks cb;
    void *arg;
    enum phase phase;
    bool closing;
    void (*on_closed)(void *arg);
    void *on_closed_arg;
    uv_timer_t timer;
    uv_check_t check; /* applies what a read queued, once the loop's I/O callbacks ran */
    int handles;
    uint32_t backoff_ms;
    uint64_t started_ns; /* the /events request of the snapshot under way */
    struct engine_http *events;
    struct engine_lines lines;
    struct qev *qhead, *qtail;
    size_t qn, qbytes;
    bool resnapshot; /* an overflow or unreadable event while feeding: a fresh snapshot is due */
    struct snap snap;
    struct refetch rf;
    struct state st;
    char last_error[320]; /* the error snapshot last emitted, "" after a good snapshot */
    struct engine_watch_stats stats;
};

static void engine_down(struct engine_watch *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void drain(struct engine_watch *w);

/* ---- the state ------------------------------------------------------------------------------- */

static void state_clear(struct state *st)
{
    for (size_t i = 0; i < st->n; i++)
        free(st->c[i].json);
    free(st->c);
    free(st->images);
    free(st->info);
    free(st->version);
    free(st->error);
    memset(st, 0, sizeof(*st));
}

static ssize_t state_find(const struct state *st, const char *id)
{
    for (size_t i = 0; i < st->n; i++)
        if (strcmp(st->c[i].id, id) == 0)
            return (ssize_t)i;
    return -1;
}

/* Adds or replaces the entry; takes json. -1 out of memory (json freed). */
static int state_upsert(struct state *st, const char *id, char *json, size_t len)
{
    ssize_t i = state_find(st, id);
    if (i >= 0) {
        free(st->c[i].json);
        st->c[i].json = json;
        st->c[i].len = len;
        return 0;
    }
    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 16;
        struct centry *grown = realloc(st->c, cap * sizeof(*grown));
        if (grown == NULL) {
            free(json);
            return -1;
        }
        st->c = grown;
        st->cap = cap;
    }
    struct centry *e = &st->c[st->n++];
    snprintf(e->id, sizeof(e->id), "%s", id);
    e->json = json;
    e->len = len;
    return 0;
}

static void state_remove(struct state *st, const char *id)
{
    ssize_t i = state_find(st, id);
    if (i < 0)
        return;
    free(st->c[i].json);
    memmove(&st->c[i], &st->c[i + 1], (st->n - (size_t)i - 1) * sizeof(st->c[0]));
    st->n--;
}

static char *state_text(const struct state *st, size_t *len)
{
    struct sbuf b = {0};
    if (st->error) {
        sb_adds(&b, "{\"containers\":[],\"images\":[],\"info\":{},\"version\":{},\"error\":");
        json_t *s = json_string(st->error);
        char *e = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
        json_decref(s);
        if (e == NULL)
            b.oom = true;
        else
            sb_adds(&b, e);
        free(e);
        sb_adds(&b, "}");
        return sb_take(&b, len);
    }
    sb_adds(&b, "{\"containers\":[");
    for (size_t i = 0; i < st->n; i++) {
        if (i)
            sb_add(&b, ",", 1);
        sb_add(&b, st->c[i].json, st->c[i].len);
    }
    sb_adds(&b, "],\"images\":");
    sb_adds(&b, st->images ? st->images : "[]");
    sb_adds(&b, ",\"info\":");
    sb_adds(&b, st->info ? st->info : "{}");
    sb_adds(&b, ",\"version\":");
    sb_adds(&b, st->version ? st->version : "{}");
    sb_adds(&b, "}");
    return sb_take(&b, len);
}

char *engine_watch_snapshot(struct engine_watch *w, size_t *len)
{
    if (!w->st.have)
        return NULL;
    return state_text(&w->st, len);
}

bool engine_watch_healthy(const struct engine_watch *w)
{
    return w->st.have && w->st.error == NULL;
}

const struct engine_watch_stats *engine_watch_stats(const struct engine_watch *w)
{
    return &w->stats;
}

/* ---- requests -------------------------------------------------------------------------------- */

static struct engine_http *get(struct engine_watch *w, const char *path, size_t body_max,
                               bool stream, const struct engine_http_callbacks *cb)
{
    struct engine_http_request rq = {
        .path = path,
        .body_max = body_max,
        .timeout_ms = stream ? 0 : w->cfg.timeout_ms,
        .stream = stream,
    };
    w->stats.requests++;
    struct engine_http *h = engine_http_get(w->loop, w->path, &rq, cb, w);
    if (h == NULL)
        engine_down(w, "GET %s: cannot start the request (out of memory)", path);
    return h;
}

/* Parses a response body as JSON of the wanted type (JSON_OBJECT or JSON_ARRAY); NULL after
 * engine_down otherwise. */
static json_t *parse_body(struct engine_watch *w, const char *what, int status, const char *body,
                          size_t len, const char *err, json_type want)
{
    if (err) {
        engine_down(w, "%s", err);
        return NULL;
    }
    if (status != 200) {
        engine_down(w, "GET %s answered HTTP %d", what, status);
        return NULL;
    }
    json_error_t jerr;
    json_t *v = json_loadb(body, len, 0, &jerr);
    if (v == NULL || json_typeof(v) != want) {
        json_decref(v);
        engine_down(w, "GET %s: %s", what, v ? "unexpected JSON type" : "the answer is not JSON");
        return NULL;
    }
    return v;
}

/* Compact text of a parsed body, or NULL after engine_down. Takes v. */
static char *compact(struct engine_watch *w, json_t *v, const char *what)
{
    char *text = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    if (text == NULL)
        engine_down(w, "GET %s: out of memory", what);
    return text;
}

/* ---- the queue ------------------------------------------------------------------------------- */

static void qev_free(struct qev *q)
{
    if (q == NULL)
        return;
    json_decref(q->ev);
    free(q);
}

static void queue_clear(struct engine_watch *w)
{
    for (struct qev *q = w->qhead, *next; q; q = next) {
        next = q->next;
        qev_free(q);
    }
    w->qhead = w->qtail = NULL;
    w->qn = w->qbytes = 0;
}

static void queue_push(struct engine_watch *w, struct qev *q)
{
    q->next = NULL;
    if (w->qtail)
        w->qtail->next = q;
    else
        w->qhead = q;
    w->qtail = q;
    w->qn++;
    w->qbytes += q->bytes;
}

static void queue_push_front(struct engine_watch *w, struct qev *q)
{
    q->next = w->qhead;
    w->qhead = q;
    if (w->qtail == NULL)
        w->qtail = q;
    w->qn++;
    w->qbytes += q->bytes;
}

static struct qev *queue_pop(struct engine_watch *w)
{
    struct qev *q = w->qhead;
    if (q == NULL)
        return NULL;
    w->qhead = q->next;
    if (w->qhead == NULL)
        w->qtail = NULL;
    w->qn--;
    w->qbytes -= q->bytes;
    q->next = NULL;
    return q;
}

/* ---- cancelling ------------------------------------------------------------------------------ */

static void snap_cancel(struct engine_watch *w)
{
    struct snap *s = &w->snap;
    engine_http_cancel(s->list);
    engine_http_cancel(s->images);
    engine_http_cancel(s->info);
    engine_http_cancel(s->version);
    for (size_t i = 0; i < ENGINE_WATCH_PARALLEL; i++)
        engine_http_cancel(s->insp[i]);
    if (s->entries)
        for (size_t i = 0; i < s->ncont; i++)
            free(s->entries[i].json);
    free(s->entries);
    free(s->images_txt);
    free(s->info_txt);
    free(s->version_txt);
    memset(s, 0, sizeof(*s));
}

/* Stops the re-fetch under way; its event goes back to the head of the queue if requeue. */
static void rf_cancel(struct engine_watch *w, bool requeue)
{
    struct refetch *r = &w->rf;
    engine_http_cancel(r->list);
    engine_http_cancel(r->inspect);
    engine_http_cancel(r->other);
    json_decref(r->found);
    json_decref(r->details);
    if (r->q && requeue)
        queue_push_front(w, r->q);
    else
        qev_free(r->q);
    memset(r, 0, sizeof(*r));
}

static void cancel_all(struct engine_watch *w)
{
    engine_http_cancel(w->events);
    w->events = NULL;
    snap_cancel(w);
    rf_cancel(w, false);
    queue_clear(w);
    engine_lines_reset(&w->lines);
    w->resnapshot = false;
}

/* ---- deltas ---------------------------------------------------------------------------------- */

/* {"event":EV[,"key":value]} to cb.delta; value is JSON text. */
static void emit_delta(struct engine_watch *w, const struct qev *q, const char *key,
                       const char *value, size_t vlen)
{
    char *ev = json_dumps(q->ev, JSON_COMPACT);
    struct sbuf b = {0};
    sb_adds(&b, "{\"event\":");
    if (ev == NULL)
        b.oom = true;
    else
        sb_adds(&b, ev);
    free(ev);
    if (key) {
        sb_adds(&b, ",\"");
        sb_adds(&b, key);
        sb_adds(&b, "\":");
        sb_add(&b, value, vlen);
    }
    sb_adds(&b, "}");
    size_t len;
    char *text = sb_take(&b, &len);
    if (text == NULL) {
        engine_down(w, "out of memory building a delta");
        return;
    }
    w->stats.deltas++;
    w->stats.containers = w->st.n;
    w->cb.delta(w->arg, text, len);
    free(text);
}

static void emit_removed(struct engine_watch *w, const struct qev *q)
{
    char v[ENGINE_WATCH_ID_MAX + 3];
    int n = snprintf(v, sizeof(v), "\"%s\"", q->id); /* id_ok: nothing to escape */
    state_remove(&w->st, q->id);
    emit_delta(w, q, "removed", v, (size_t)n);
}

/* ---- the engine failed ----------------------------------------------------------------------- */

static void on_timer(uv_timer_t *t);

static void engine_down(struct engine_watch *w, const char *fmt, ...)
{
    if (w->closing)
        return;
    char why[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    char msg[sizeof(w->last_error)];
    snprintf(msg, sizeof(msg), "engine at %s: %s", w->path, why);
    cancel_all(w);
    w->stats.engine_errors++;
    w->phase = PH_WAIT;
    uv_timer_start(&w->timer, on_timer, w->backoff_ms, 0);
    uint32_t next = w->backoff_ms * 2;
    w->backoff_ms = next > w->cfg.backoff_max_ms ? w->cfg.backoff_max_ms : next;
    if (strcmp(msg, w->last_error) == 0) {
        log_debug("engine", "%s (retrying)", msg);
        return;
    }
    log_warn("engine", "%s; retrying with backoff", msg);
    snprintf(w->last_error, sizeof(w->last_error), "%s", msg);
    state_clear(&w->st);
    w->st.error = strdup(msg);
    w->st.have = w->st.error != NULL;
    w->stats.containers = 0;
    w->stats.error_snapshots++;
    if (w->st.have)
        w->cb.snapshot(w->arg);
}

/* ---- the snapshot ---------------------------------------------------------------------------- */

static void snap_maybe_done(struct engine_watch *w);
static void snap_pump(struct engine_watch *w);

static void commit_snapshot(struct engine_watch *w)
{
    struct snap *s = &w->snap;
    struct state st = {0};
    for (size_t i = 0; i < s->ncont; i++) {
        struct centry *e = &s->entries[i];
        if (e->json == NULL)
            continue;
        if (state_upsert(&st, e->id, e->json, e->len) < 0) {
            e->json = NULL;
            state_clear(&st);
            engine_down(w, "out of memory building the snapshot");
            return;
        }
        e->json = NULL;
    }
    st.images = s->images_txt;
    st.info = s->info_txt;
    st.version = s->version_txt;
    s->images_txt = s->info_txt = s->version_txt = NULL;
    st.have = true;
    snap_cancel(w);
    state_clear(&w->st);
    w->st = st;
    w->phase = PH_LIVE;
    w->backoff_ms = w->cfg.backoff_min_ms;
    if (w->last_error[0])
        log_info("engine", "engine at %s answers again", w->path);
    w->last_error[0] = '\0';
    w->stats.snapshots++;
    w->stats.containers = st.n;
    w->stats.last_snapshot_ms = (uv_hrtime() - w->started_ns) / 1000000;
    /* what state_text will make, without making it */
    size_t len = strlen("{\"containers\":[],\"images\":,\"info\":,\"version\":}");
    for (size_t i = 0; i < st.n; i++)
        len += st.c[i].len + (i > 0);
    len += strlen(st.images) + strlen(st.info) + strlen(st.version);
    w->stats.last_snapshot_bytes = len;
    log_info("engine", "snapshot: %zu containers, %zu bytes in %llu ms", st.n, len,
             (unsigned long long)w->stats.last_snapshot_ms);
    /* Parsing the listings left free memory behind, scattered: give the pages back. */
    malloc_trim(0);
    w->cb.snapshot(w->arg);
    drain(w);
}

static void snap_maybe_done(struct engine_watch *w)
{
    struct snap *s = &w->snap;
    if (w->phase != PH_SNAPSHOT || !s->listed || s->next < s->ncont || s->inflight > 0 ||
        s->images_txt == NULL || s->info_txt == NULL || s->version_txt == NULL)
        return;
    commit_snapshot(w);
}

static void on_inspect_done(struct engine_http *h, int status, const char *body, size_t len,
                            const char *err, void *arg)
{
    struct engine_watch *w = arg;
    struct snap *s = &w->snap;
    size_t slot = ENGINE_WATCH_PARALLEL;
    for (size_t i = 0; i < ENGINE_WATCH_PARALLEL; i++)
        if (s->insp[i] == h)
            slot = i;
    if (slot == ENGINE_WATCH_PARALLEL)
        return;
    s->insp[slot] = NULL;
    s->inflight--;
    size_t idx = s->insp_i[slot];
    struct centry *e = &s->entries[idx];
    if (err == NULL && status == 404) {
        free(e->json); /* removed since the listing: its destroy event is queued */
        e->json = NULL;
    } else {
        json_t *details = parse_body(w, engine_http_name(h), status, body, len, err, JSON_OBJECT);
        if (details == NULL)
            return;
        json_t *entry = json_loadb(e->json, e->len, 0, NULL);
        free(e->json);
        e->json = engine_watch_entry(entry, details, e->id, &e->len);
        json_decref(entry);
        json_decref(details);
    }
    snap_pump(w);
    snap_maybe_done(w);
}

static const struct engine_http_callbacks inspect_cb = {.done = on_inspect_done};

/* Starts inspects while fewer than ENGINE_WATCH_PARALLEL are under way. */
static void snap_pump(struct engine_watch *w)
{
    struct snap *s = &w->snap;
    while (w->phase == PH_SNAPSHOT && s->next < s->ncont && s->inflight < ENGINE_WATCH_PARALLEL) {
        size_t idx = s->next++;
        if (s->entries[idx].json == NULL)
            continue; /* not a container we can name: left out */
        size_t slot = 0;
        while (s->insp[slot])
            slot++;
        char path[ENGINE_WATCH_ID_MAX + 32];
        snprintf(path, sizeof(path), "/containers/%s/json", s->entries[idx].id);
        s->insp_i[slot] = idx;
        s->inflight++;
        s->insp[slot] = get(w, path, w->cfg.inspect_max, false, &inspect_cb);
        if (s->insp[slot] == NULL)
            return;
    }
}

/* A list entry of the snapshot, kept as compact text until its inspect comes. */
static int add_entry(void *arg, json_t *entry)
{
    struct snap *s = arg;
    if (s->ncont == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        struct centry *grown = realloc(s->entries, cap * sizeof(*grown));
        if (grown == NULL)
            return -2;
        s->entries = grown;
        s->cap = cap;
    }
    struct centry *e = &s->entries[s->ncont++];
    e->json = engine_watch_entry(entry, NULL, e->id, &e->len); /* NULL: left out */
    return 0;
}

static void on_list_done(struct engine_http *h, int status, const char *body, size_t len,
                         const char *err, void *arg)
{
    struct engine_watch *w = arg;
    struct snap *s = &w->snap;
    if (s->list != h)
        return;
    s->list = NULL;
    const char *what = engine_http_name(h);
    if (err) {
        engine_down(w, "%s", err);
        return;
    }
    if (status != 200) {
        engine_down(w, "GET %s answered HTTP %d", what, status);
        return;
    }
    /* One entry at a time: the whole list as one jansson tree would take ten times its text. */
    int rc = engine_watch_each(body, len, add_entry, s);
    if (rc != 0) {
        engine_down(w, "GET %s: %s", what,
                    rc == -2 ? "out of memory" : "the answer is not a JSON array");
        return;
    }
    s->listed = true;
    snap_pump(w);
    snap_maybe_done(w);
}

/* /images/json, /info and /version of a snapshot: kept as compact text. */
static void on_part_done(struct engine_http *h, int status, const char *body, size_t len,
                         const char *err, void *arg)
{
    struct engine_watch *w = arg;
    struct snap *s = &w->snap;
    char **dst;
    json_type want = JSON_OBJECT;
    if (s->images == h) {
        s->images = NULL;
        dst = &s->images_txt;
        want = JSON_ARRAY;
    } else if (s->info == h) {
        s->info = NULL;
        dst = &s->info_txt;
    } else if (s->version == h) {
        s->version = NULL;
        dst = &s->version_txt;
    } else {
        return;
    }
    const char *what = engine_http_name(h);
    json_t *v = parse_body(w, what, status, body, len, err, want);
    if (v == NULL)
        return;
    *dst = compact(w, v, what);
    if (*dst)
        snap_maybe_done(w);
}

static const struct engine_http_callbacks list_cb = {.done = on_list_done};
static const struct engine_http_callbacks part_cb = {.done = on_part_done};

/* Lists and inspects everything; the events stream is live and queues meanwhile. A re-fetch
 * under way is dropped and its event applied after the snapshot. */
static void start_snapshot(struct engine_watch *w)
{
    rf_cancel(w, true);
    snap_cancel(w);
    w->phase = PH_SNAPSHOT;
    struct snap *s = &w->snap;
    if ((s->list = get(w, "/containers/json?all=1", w->cfg.list_max, false, &list_cb)) == NULL ||
        (s->images = get(w, "/images/json", w->cfg.list_max, false, &part_cb)) == NULL ||
        (s->info = get(w, "/info", w->cfg.list_max, false, &part_cb)) == NULL ||
        (s->version = get(w, "/version", w->cfg.list_max, false, &part_cb)) == NULL)
        return;
}

/* ---- applying events ------------------------------------------------------------------------- */

static void rf_finish(struct engine_watch *w)
{
    rf_cancel(w, false);
    drain(w);
}

static void rf_container_maybe_done(struct engine_watch *w)
{
    struct refetch *r = &w->rf;
    if (!r->list_done || !r->inspect_done)
        return;
    struct qev *q = r->q;
    char id[ENGINE_WATCH_ID_MAX + 1];
    size_t len = 0;
    char *e = r->found && r->details ? engine_watch_entry(r->found, r->details, id, &len) : NULL;
    if (e == NULL) {
        emit_removed(w, q);
    } else if (state_upsert(&w->st, q->id, e, len) < 0) {
        engine_down(w, "out of memory");
        return;
    } else {
        emit_delta(w, q, "container", e, len);
    }
    if (w->rf.q == q) /* emit_delta may have failed into engine_down */
        rf_finish(w);
}

static void on_rf_list_done(struct engine_http *h, int status, const char *body, size_t len,
                            const char *err, void *arg)
{
    struct engine_watch *w = arg;
    struct refetch *r = &w->rf;
    if (r->list != h)
        return;
    r->list = NULL;
    json_t *list = parse_body(w, engine_http_name(h), status, body, len, err, JSON_ARRAY);
    if (list == NULL)
        return;
    size_t i;
    json_t *entry;
    json_array_foreach(list, i, entry)
    {
        const char *id = json_string_value(json_object_get(entry, "Id"));
        if (id && strcmp(id, r->q->id) == 0) {
            r->found = json_incref(entry);
            break;
        }
    }
    json_decref(list);
    r->list_done = true;
    rf_container_maybe_done(w);
}

static void on_rf_inspect_done(struct engine_http *h, int status, const char *body, size_t len,
                               const char *err, void *arg)
{
    struct engine_watch *w = arg;
    struct refetch *r = &w->rf;
    if (r->inspect != h)
        return;
    r->inspect = NULL;
    if (err != NULL || status != 404) {
        r->details = parse_body(w, engine_http_name(h), status, body, len, err, JSON_OBJECT);
        if (r->details == NULL)
            return;
    }
    r->inspect_done = true;
    rf_container_maybe_done(w);
}

static void on_rf_other_done(struct engine_http *h, int status, const char *body, size_t len,
                             const char *err, void *arg)
{
    struct engine_watch *w = arg;
    struct refetch *r = &w->rf;
    if (r->other != h)
        return;
    r->other = NULL;
    bool images = r->q->act == ENGINE_WATCH_IMAGES;
    const char *what = engine_http_name(h);
    json_t *v = parse_body(w, what, status, body, len, err, images ? JSON_ARRAY : JSON_OBJECT);
    if (v == NULL)
        return;
    char *text = compact(w, v, what);
    if (text == NULL)
        return;
    char **dst = images ? &w->st.images : &w->st.info;
    free(*dst);
    *dst = text;
    struct qev *q = r->q;
    emit_delta(w, q, images ? "images" : "info", text, strlen(text));
    if (w->rf.q == q)
        rf_finish(w);
}

static const struct engine_http_callbacks rf_list_cb = {.done = on_rf_list_done};
static const struct engine_http_callbacks rf_inspect_cb = {.done = on_rf_inspect_done};
static const struct engine_http_callbacks rf_other_cb = {.done = on_rf_other_done};

/* True if a later queued event re-reads what q would (so q can go on as just its event). */
static bool reread_later(const struct qev *q)
{
    for (const struct qev *o = q->next; o; o = o->next) {
        if (q->act == ENGINE_WATCH_CONTAINER) {
            if ((o->act == ENGINE_WATCH_CONTAINER || o->act == ENGINE_WATCH_REMOVED) &&
                strcmp(o->id, q->id) == 0)
                return true;
        } else if (o->act == q->act) {
            return true;
        }
    }
    return false;
}

static void start_refetch(struct engine_watch *w, struct qev *q)
{
    struct refetch *r = &w->rf;
    r->q = q;
    char path[ENGINE_WATCH_ID_MAX + 96];
    switch (q->act) {
    case ENGINE_WATCH_CONTAINER:
        /* filters={"id":["<id>"]}, escaped */
        snprintf(path, sizeof(path),
                 "/containers/json?all=1&filters=%%7B%%22id%%22%%3A%%5B%%22%s%%22%%5D%%7D", q->id);
        if ((r->list = get(w, path, w->cfg.list_max, false, &rf_list_cb)) == NULL)
            return;
        snprintf(path, sizeof(path), "/containers/%s/json", q->id);
        r->inspect = get(w, path, w->cfg.inspect_max, false, &rf_inspect_cb);
        return;
    case ENGINE_WATCH_IMAGES:
        r->other = get(w, "/images/json", w->cfg.list_max, false, &rf_other_cb);
        return;
    default:
        r->other = get(w, "/info", w->cfg.list_max, false, &rf_other_cb);
        return;
    }
}

/* Applies queued events in order while nothing is in flight. */
static void drain(struct engine_watch *w)
{
    while (w->phase == PH_LIVE && w->rf.q == NULL && w->qhead) {
        struct qev *q = queue_pop(w);
        /* reread_later looks at what follows q */
        q->next = w->qhead;
        bool coalesce =
            q->act != ENGINE_WATCH_PASS && q->act != ENGINE_WATCH_REMOVED && reread_later(q);
        q->next = NULL;
        if (q->act == ENGINE_WATCH_REMOVED) {
            emit_removed(w, q);
        } else if (q->act == ENGINE_WATCH_PASS || coalesce) {
            w->stats.coalesced += coalesce;
            emit_delta(w, q, NULL, NULL, 0);
        } else {
            start_refetch(w, q);
            continue; /* the re-fetch owns q now */
        }
        qev_free(q);
    }
}

/* ---- the event stream ------------------------------------------------------------------------ */

static void on_event_line(void *arg, const char *text, size_t len)
{
    struct engine_watch *w = arg;
    while (len && (text[len - 1] == '\r' || text[len - 1] == ' '))
        len--;
    if (len == 0)
        return;
    w->stats.events++;
    json_error_t jerr;
    json_t *ev = json_loadb(text, len, 0, &jerr);
    if (!json_is_object(ev)) {
        json_decref(ev);
        log_warn("engine",
                 "engine at %s: an event that is not a JSON object (%zu bytes): taking "
                 "a fresh snapshot",
                 w->path, len);
        w->resnapshot = true;
        return;
    }
    if (w->qn >= w->cfg.queue_max || w->qbytes + len > w->cfg.queue_bytes) {
        json_decref(ev);
        log_warn("engine",
                 "engine at %s: %zu events waiting (%zu bytes): dropping them and taking "
                 "a fresh snapshot",
                 w->path, w->qn, w->qbytes);
        queue_clear(w);
        w->resnapshot = true;
        return;
    }
    struct qev *q = calloc(1, sizeof(*q));
    if (q == NULL) {
        json_decref(ev);
        w->resnapshot = true;
        return;
    }
    q->ev = ev;
    q->bytes = len;
    q->act = engine_watch_classify(ev, q->id);
    queue_push(w, q);
}

/* After the reads of one loop iteration: everything a burst of events queued is in the queue,
 * so drain() can see that a later event re-reads the same object. */
static void on_check(uv_check_t *c)
{
    struct engine_watch *w = c->data;
    uv_check_stop(c);
    if (w->resnapshot && (w->phase == PH_LIVE || w->phase == PH_SNAPSHOT)) {
        /* What is still queued came after the overflow or the unreadable line: it is applied
         * after the fresh snapshot (harmless, and its events still reach the managers). */
        w->resnapshot = false;
        w->stats.overflows++;
        w->started_ns = uv_hrtime();
        start_snapshot(w);
        return;
    }
    drain(w);
}

static void on_events_data(struct engine_http *h, const char *p, size_t n, void *arg)
{
    (void)h;
    struct engine_watch *w = arg;
    uint64_t dropped = w->lines.dropped;
    if (engine_lines_feed(&w->lines, p, n, on_event_line, w) < 0 || w->lines.dropped != dropped) {
        log_warn("engine", "engine at %s: an event line over %zu bytes: taking a fresh snapshot",
                 w->path, w->cfg.event_max);
        w->resnapshot = true;
    }
    uv_check_start(&w->check, on_check);
}

static void on_events_headers(struct engine_http *h, int status, void *arg)
{
    (void)h;
    struct engine_watch *w = arg;
    if (w->phase != PH_SUBSCRIBE)
        return;
    uv_timer_stop(&w->timer);
    if (status != 200) {
        engine_down(w, "GET /events answered HTTP %d", status);
        return;
    }
    start_snapshot(w);
}

static void on_events_done(struct engine_http *h, int status, const char *body, size_t len,
                           const char *err, void *arg)
{
    (void)status;
    (void)body;
    (void)len;
    struct engine_watch *w = arg;
    if (w->events != h)
        return;
    w->events = NULL;
    if (err)
        engine_down(w, "%s", err);
    else
        engine_down(w, "the event stream ended");
}

static const struct engine_http_callbacks events_cb = {
    .headers = on_events_headers,
    .data = on_events_data,
    .done = on_events_done,
};

static void subscribe(struct engine_watch *w)
{
    w->phase = PH_SUBSCRIBE;
    w->started_ns = uv_hrtime();
    engine_lines_init(&w->lines, w->cfg.event_max);
    /* since = now: the engine replays what happens between this request and its subscription */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char path[64];
    snprintf(path, sizeof(path), "/events?since=%lld.%09ld", (long long)ts.tv_sec, ts.tv_nsec);
    w->events = get(w, path, SIZE_MAX, true, &events_cb);
    if (w->events)
        uv_timer_start(&w->timer, on_timer, w->cfg.timeout_ms, 0);
}

static void on_timer(uv_timer_t *t)
{
    struct engine_watch *w = t->data;
    if (w->phase == PH_WAIT)
        subscribe(w);
    else if (w->phase == PH_SUBSCRIBE)
        engine_down(w, "GET /events: no answer within %u ms", w->cfg.timeout_ms);
}

/* ---- start and stop -------------------------------------------------------------------------- */

struct engine_watch *engine_watch_start(uv_loop_t *loop, const struct engine_watch_config *cfg,
                                        const struct engine_watch_callbacks *cb, void *arg,
                                        char *err, size_t errlen)
{
    if (cfg->engine_path == NULL || cfg->engine_path[0] != '/' || strlen(cfg->engine_path) > 107) {
        snprintf(err, errlen,
                 "engine watch: the engine socket path must be absolute and at most "
                 "107 bytes");
        return NULL;
    }
    if (cb->snapshot == NULL || cb->delta == NULL) {
        snprintf(err, errlen, "engine watch: both callbacks are required");
        return NULL;
    }
    struct engine_watch *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        snprintf(err, errlen, "engine watch: out of memory");
        return NULL;
    }
    w->loop = loop;
    snprintf(w->path, sizeof(w->path), "%s", cfg->engine_path);
    w->cfg = *cfg;
    w->cfg.engine_path = w->path;
#define DEFAULT(field, value)                                                                      \
    if (w->cfg.field == 0)                                                                         \
    w->cfg.field = (value)
    DEFAULT(list_max, ENGINE_WATCH_LIST_MAX);
    DEFAULT(inspect_max, ENGINE_WATCH_INSPECT_MAX);
    DEFAULT(event_max, ENGINE_WATCH_EVENT_MAX);
    DEFAULT(queue_max, ENGINE_WATCH_QUEUE_MAX);
    DEFAULT(queue_bytes, ENGINE_WATCH_QUEUE_BYTES);
    DEFAULT(timeout_ms, ENGINE_WATCH_TIMEOUT_MS);
    DEFAULT(backoff_min_ms, ENGINE_WATCH_BACKOFF_MIN_MS);
    DEFAULT(backoff_max_ms, ENGINE_WATCH_BACKOFF_MAX_MS);
#undef DEFAULT
    w->cb = *cb;
    w->arg = arg;
    w->backoff_ms = w->cfg.backoff_min_ms;
    uv_timer_init(loop, &w->timer);
    uv_check_init(loop, &w->check);
    w->timer.data = w->check.data = w;
    w->handles = 2;
    engine_lines_init(&w->lines, w->cfg.event_max);
    subscribe(w);
    return w;
}

static void on_handle_closed(uv_handle_t *h)
{
    struct engine_watch *w = h->data;
    if (--w->handles == 0 && w->on_closed)
        w->on_closed(w->on_closed_arg);
}

void engine_watch_close(struct engine_watch *w, void (*on_closed)(void *arg), void *arg)
{
    if (w == NULL || w->closing)
        return;
    w->closing = true;
    w->phase = PH_CLOSED;
    w->on_closed = on_closed;
    w->on_closed_arg = arg;
    cancel_all(w);
    uv_close((uv_handle_t *)&w->timer, on_handle_closed);
    uv_close((uv_handle_t *)&w->check, on_handle_closed);
}

void engine_watch_free(struct engine_watch *w)
{
    if (w == NULL)
        return;
    cancel_all(w);
    state_clear(&w->st);
    free(w);
}
