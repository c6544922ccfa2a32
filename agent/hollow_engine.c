/*
 * hollow_engine — a fake Docker engine for scale tests (see hollow_engine.h for the API it
 * answers, its bounds and who owns what).
 *
 * Layout of this file: small helpers (clock, times, queries, filters); the model (images,
 * containers with two hash indexes, the event ring); sessions (HTTP framing with http-parser in
 * request mode, answers, chunked streams); the routes; the uv_pipe listener; serve_while.
 *
 * Memory per container: one allocation holding the record and its strings (name, image, Cmd,
 * Entrypoint, Labels, Env, HostConfig kept as compact JSON texts, HostConfig without its
 * null/false/0/empty members), plus two index slots. Answers are built with jansson from those
 * texts when asked for.
 *
 * Re-entrancy: a container's change may end other sessions' streams (a wait is answered, a
 * logs -f ends); those sessions then go on with the requests they had queued, which may change
 * containers again. Streams that end are first taken off the engine's lists onto a local list
 * and resumed only after the walk over the lists is over, so no walk sees its list change under
 * it except by the removal of the session at hand.
 */
#include "agent/hollow_engine.h"

#include <errno.h>
#include <http_parser.h>
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define NS 1000000000LL
#define NAME_MAX_LEN 128
#define REF_MAX_LEN 255
#define READ_BUF (64 * 1024)

/* ---- the model's types ------------------------------------------------------------------------
 */

enum { ST_CREATED, ST_RUNNING, ST_EXITED };

enum {
    CF_TTY = 1,
    CF_OPEN_STDIN = 2,
    CF_STDIN_ONCE = 4,
    CF_AUTO_REMOVE = 8,
    CF_EXITS = 16, /* the command is true or echo: exits at once */
    CF_ECHO = 32,  /* ... and it is echo: F_ECHO holds its output */
    CF_RAN = 64,   /* started at least once */
};

/* The strings of a container, NUL-terminated in data[] at off[]. */
enum { F_NAME, F_IMAGE, F_CMD, F_ENTRYPOINT, F_LABELS, F_ENV, F_HOSTCONFIG, F_ECHO, F_COUNT };

struct hollow_container {
    struct hollow_container *prev, *next; /* creation order */
    struct hollow_container *chain[2];    /* hash chains: by id, by name */
    int64_t created_ns, started_ns, finished_ns;
    uint32_t off[F_COUNT];
    uint32_t pid;
    uint32_t seq; /* creation order */
    int exit_code;
    uint16_t image; /* index in the engine's images */
    uint8_t state, flags;
    char id[65];
    char data[];
};

struct hollow_image {
    char *ref;   /* normalized: "busybox:latest" */
    char id[72]; /* "sha256:" + 64 hex */
    int64_t created;
};

struct hollow_event {
    int64_t time_ns;
    char *line; /* compact JSON + "\n" */
    size_t len;
};

enum mode { M_IDLE, M_EVENTS, M_WAIT, M_LOGS, M_DEAD };
enum wait_cond { W_NOT_RUNNING, W_NEXT_EXIT, W_REMOVED };

struct hconn;

struct hollow_engine {
    /* config, copied */
    char *socket_path, *name, *id, *server_version, *server_header;
    char **labels;
    int nlabels, ncpu;
    int64_t mem_total;
    size_t max_containers;
    int64_t (*now_fn)(void);
    uint8_t seed[16];
    uint64_t id_counter;
    char kernel[65], arch[65];
    const char *goarch;

    /* containers: a list in creation order, and two hash indexes (id, name) */
    struct hollow_container *first, *last;
    struct hollow_container **table[2];
    size_t table_cap, ncontainers, nrunning;
    uint32_t next_pid, next_seq;

    struct hollow_image *images;
    size_t nimages, images_cap;

    struct hollow_event events[HOLLOW_EVENTS_KEPT]; /* a ring: the oldest at ev_head */
    size_t ev_head, ev_count;
    int64_t last_event_ns;

    /* sessions in a stream mode (events, wait, logs) */
    struct hollow_session *streams;
    /* sessions whose stream ended, to go on with their queued input once the request at hand
     * is done (hollow_session_feed runs them before it returns) */
    struct hollow_session *run_head, *run_tail;
    size_t nsessions, nsubscribers;
    size_t nuntil; /* subscribers with an until */

    /* the listener */
    uv_loop_t *loop;
    uv_pipe_t listener;
    uv_timer_t until_timer; /* runs hollow_engine_tick while a subscriber has an until */
    bool listener_open, timer_open, closing;
    struct hconn *conns;
    size_t nconns;
    void (*on_closed)(void *arg);
    void *closed_arg;
    char read_buf[READ_BUF];

    struct hollow_engine_stats stats;
    size_t container_bytes;
};

/* One request being read. */
struct request {
    char *url;
    size_t url_len, url_cap;
    char *body;
    size_t body_len, body_cap;
    size_t head_bytes, nheaders;
    int last_cb; /* 0 none, 1 url, 2 field, 3 value */
    bool complete, failed, keep_alive;
    int fail_status;
    char fail_msg[160];
};

struct hollow_session {
    struct hollow_engine *h;
    struct hollow_session_io io;
    void *arg;
    http_parser parser;
    struct request rq;
    char *in; /* unparsed input: in[in_off..in_len) */
    size_t in_off, in_len, in_cap;
    bool eof, head_method, upgrade;
    enum mode mode;
    /* a stream */
    struct hollow_session *prev, *next; /* in h->streams */
    struct hollow_session *ready;       /* on a local list of streams that ended */
    struct hollow_session *run_next;    /* in h->run_head */
    bool linked, queued, stream_keep_alive;
    struct hollow_container *target; /* wait, logs */
    enum wait_cond cond;
    int code;         /* the exit code a wait answers with */
    json_t *filters;  /* events: normalized filters or NULL */
    int64_t until_ns; /* events: 0 none */
};

/* ---- small helpers ------------------------------------------------------------------------------
 */

static int64_t now_ns(const struct hollow_engine *h)
{
    if (h->now_fn)
        return h->now_fn();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

static void hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
    uint8_t d[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(d, data, len);
    hex(d, sizeof(d), out);
}

/* Go's time.RFC3339Nano: "2026-11-25T16:18:33.593495206Z", trailing zeros of the fraction
 * dropped; the zero time for 0. */
static void rfc3339(int64_t ns, char *out, size_t cap)
{
    if (ns <= 0) {
        snprintf(out, cap, "0001-01-01T00:00:00Z");
        return;
    }
    time_t secs = (time_t)(ns / NS);
    long frac = (long)(ns % NS);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char f[16] = "";
    if (frac) {
        int n = snprintf(f, sizeof(f), ".%09ld", frac);
        while (n > 1 && f[n - 1] == '0')
            f[--n] = '\0';
    }
    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, f);
}

/* Docker's units.HumanDuration, as `docker ps` shows it. */
static void human_duration(int64_t ns, char *out, size_t cap)
{
    long long s = ns / NS;
    if (s < 1)
        snprintf(out, cap, "Less than a second");
    else if (s == 1)
        snprintf(out, cap, "1 second");
    else if (s < 60)
        snprintf(out, cap, "%lld seconds", s);
    else if (s / 60 == 1)
        snprintf(out, cap, "About a minute");
    else if (s / 60 < 60)
        snprintf(out, cap, "%lld minutes", s / 60);
    else if (s / 3600 == 1)
        snprintf(out, cap, "About an hour");
    else if (s / 3600 < 48)
        snprintf(out, cap, "%lld hours", s / 3600);
    else if (s / 3600 < 24 * 7 * 2)
        snprintf(out, cap, "%lld days", s / 86400);
    else if (s / 3600 < 24 * 30 * 2)
        snprintf(out, cap, "%lld weeks", s / (86400 * 7));
    else if (s / 3600 < 24 * 365 * 2)
        snprintf(out, cap, "%lld months", s / (86400 * 30));
    else
        snprintf(out, cap, "%lld years", s / (86400 * 365));
}

static int unhex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The value of key in a query ("a=1&b=x%20y"), percent- and '+'-decoded, malloc'd; "" for a key
 * without '='; NULL if absent (or out of memory). */
static char *query_get(const char *query, const char *key)
{
    size_t klen = strlen(key);
    for (const char *p = query; p && *p;) {
        const char *end = strchr(p, '&');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n >= klen && strncmp(p, key, klen) == 0 && (n == klen || p[klen] == '=')) {
            const char *v = n == klen ? p + n : p + klen + 1;
            size_t vlen = (size_t)(p + n - v);
            char *out = malloc(vlen + 1);
            if (out == NULL)
                return NULL;
            size_t o = 0;
            for (size_t i = 0; i < vlen; i++) {
                if (v[i] == '%' && i + 2 < vlen && unhex(v[i + 1]) >= 0 && unhex(v[i + 2]) >= 0) {
                    out[o++] = (char)(unhex(v[i + 1]) * 16 + unhex(v[i + 2]));
                    i += 2;
                } else {
                    out[o++] = v[i] == '+' ? ' ' : v[i];
                }
            }
            out[o] = '\0';
            return out;
        }
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

/* Docker's httputils.BoolValue: absent, "", 0, no, false, none are false. */
static bool query_bool(const char *query, const char *key)
{
    char *v = query_get(query, key);
    if (v == NULL)
        return false;
    static const char *const no[] = {"", "0", "no", "false", "none"};
    bool yes = true;
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        yes = yes && strcasecmp(v, no[i]) != 0;
    free(v);
    return yes;
}

/* Keeps printable ASCII (client bytes quoted in messages stay valid JSON strings). */
static void printable(char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            *s = '?';
    }
}

/* docker filters, map form {"k":{"v":true}} or list form {"k":["v"]}, as {"k":["v",...]}.
 * NULL with err if not that shape; an absent or empty text gives an empty object. */
static json_t *filters_parse(const char *text, const char *const *known, char *err, size_t errlen)
{
    if (text == NULL || text[0] == '\0')
        return json_object();
    json_t *in = json_loads(text, 0, NULL);
    if (!json_is_object(in)) {
        json_decref(in);
        snprintf(err, errlen, "invalid filter: expected a JSON object of lists");
        return NULL;
    }
    json_t *out = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(in, key, v)
    {
        bool ok = false;
        for (size_t i = 0; known[i]; i++)
            ok = ok || strcmp(key, known[i]) == 0;
        if (!ok) {
            snprintf(err, errlen, "hollow engine: filter '%.64s' is not supported", key);
            printable(err);
            goto bad;
        }
        json_t *list = json_array();
        json_object_set_new(out, key, list);
        if (json_is_array(v)) {
            size_t i;
            json_t *x;
            json_array_foreach(v, i, x)
            {
                if (!json_is_string(x))
                    goto shape;
                json_array_append(list, x);
            }
        } else if (json_is_object(v)) {
            const char *name;
            json_t *x;
            json_object_foreach(v, name, x)
            {
                if (json_is_true(x))
                    json_array_append_new(list, json_string(name));
            }
        } else {
            goto shape;
        }
    }
    json_decref(in);
    return out;
shape:
    snprintf(err, errlen, "invalid filter: each value must be a list of strings");
bad:
    json_decref(in);
    json_decref(out);
    return NULL;
}

/* Does any value of filter key pass test(value, arg)? True if the key is absent. */
static bool filter_any(json_t *filters, const char *key, bool (*test)(const char *v, void *arg),
                       void *arg)
{
    json_t *list = json_object_get(filters, key);
    if (list == NULL || json_array_size(list) == 0)
        return true;
    size_t i;
    json_t *x;
    json_array_foreach(list, i, x)
    {
        if (test(json_string_value(x), arg))
            return true;
    }
    return false;
}

/* A label filter value "k" or "k=v" against a labels object. */
static bool label_match(const char *want, json_t *labels)
{
    const char *eq = strchr(want, '=');
    if (eq == NULL)
        return json_object_get(labels, want) != NULL;
    json_t *v = json_object_getn(labels, want, (size_t)(eq - want));
    return json_is_string(v) && strcmp(json_string_value(v), eq + 1) == 0;
}

/* ---- images --------------------------------------------------------------------------------- */

static bool ref_ok(const char *ref)
{
    size_t n = strlen(ref);
    return n > 0 && n <= REF_MAX_LEN &&
           strspn(ref, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/:@") ==
               n &&
           ref[0] != '/' && ref[0] != ':' && ref[0] != '@';
}

/* "docker.io/library/busybox" -> "busybox:latest"; a tag or digest is kept. */
static void ref_normalize(const char *ref, char *out, size_t cap)
{
    static const char *const prefixes[] = {"docker.io/library/", "index.docker.io/library/",
                                           "docker.io/", "index.docker.io/"};
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(ref, prefixes[i], n) == 0 && ref[n]) {
            ref += n;
            break;
        }
    }
    const char *last = strrchr(ref, '/');
    last = last ? last + 1 : ref;
    bool tagged = strchr(last, ':') != NULL || strchr(ref, '@') != NULL;
    snprintf(out, cap, "%s%s", ref, tagged ? "" : ":latest");
}

static void image_id(const char *norm, char out[72])
{
    char d[65];
    sha256_hex(norm, strlen(norm), d);
    snprintf(out, 72, "sha256:%s", d);
}

/* The index of the image ref names (added if new), or -1 (too many, out of memory). *added
 * says whether it is new. */
static int image_get(struct hollow_engine *h, const char *ref, bool *added)
{
    char norm[REF_MAX_LEN + 16];
    ref_normalize(ref, norm, sizeof(norm));
    *added = false;
    for (size_t i = 0; i < h->nimages; i++) {
        if (strcmp(h->images[i].ref, norm) == 0)
            return (int)i;
    }
    if (h->nimages >= HOLLOW_IMAGES_MAX)
        return -1;
    if (h->nimages == h->images_cap) {
        size_t cap = h->images_cap ? h->images_cap * 2 : 8;
        struct hollow_image *g = realloc(h->images, cap * sizeof(*g));
        if (g == NULL)
            return -1;
        h->images = g;
        h->images_cap = cap;
    }
    struct hollow_image *im = &h->images[h->nimages];
    if ((im->ref = strdup(norm)) == NULL)
        return -1;
    image_id(norm, im->id);
    im->created = now_ns(h) / NS;
    *added = true;
    return (int)h->nimages++;
}

/* ---- containers ----------------------------------------------------------------------------- */

static const char *cf(const struct hollow_container *c, int f)
{
    return c->data + c->off[f];
}

static uint64_t hash_str(const char *s)
{
    uint64_t x = 1469598103934665603ULL;
    for (; *s; s++)
        x = (x ^ (unsigned char)*s) * 1099511628211ULL;
    return x;
}

static const char *ckey(const struct hollow_container *c, int which)
{
    return which == 0 ? c->id : cf(c, F_NAME);
}

static int table_grow(struct hollow_engine *h)
{
    size_t cap = h->table_cap ? h->table_cap * 2 : 64;
    struct hollow_container **t[2];
    t[0] = calloc(cap, sizeof(*t[0]));
    t[1] = calloc(cap, sizeof(*t[1]));
    if (t[0] == NULL || t[1] == NULL) {
        free(t[0]);
        free(t[1]);
        return -1;
    }
    for (struct hollow_container *c = h->first; c; c = c->next) {
        for (int w = 0; w < 2; w++) {
            size_t b = hash_str(ckey(c, w)) & (cap - 1);
            c->chain[w] = t[w][b];
            t[w][b] = c;
        }
    }
    h->container_bytes -= 2 * h->table_cap * sizeof(*t[0]);
    h->container_bytes += 2 * cap * sizeof(*t[0]);
    free(h->table[0]);
    free(h->table[1]);
    h->table[0] = t[0];
    h->table[1] = t[1];
    h->table_cap = cap;
    return 0;
}

static struct hollow_container *table_find(const struct hollow_engine *h, int which,
                                           const char *key)
{
    if (h->table_cap == 0)
        return NULL;
    struct hollow_container *c = h->table[which][hash_str(key) & (h->table_cap - 1)];
    while (c && strcmp(ckey(c, which), key) != 0)
        c = c->chain[which];
    return c;
}

static void table_remove(struct hollow_engine *h, struct hollow_container *c)
{
    for (int w = 0; w < 2; w++) {
        struct hollow_container **pp = &h->table[w][hash_str(ckey(c, w)) & (h->table_cap - 1)];
        while (*pp && *pp != c)
            pp = &(*pp)->chain[w];
        if (*pp)
            *pp = c->chain[w];
    }
}

/* A container by full id, name (with or without "/"), or unique id prefix; NULL if none or
 * ambiguous. */
static struct hollow_container *ctr_find(const struct hollow_engine *h, const char *ref)
{
    if (ref[0] == '\0')
        return NULL;
    struct hollow_container *c = table_find(h, 0, ref);
    if (c)
        return c;
    if ((c = table_find(h, 1, ref[0] == '/' ? ref + 1 : ref)) != NULL)
        return c;
    size_t n = strlen(ref);
    if (n >= 64 || strspn(ref, "0123456789abcdef") != n)
        return NULL;
    struct hollow_container *found = NULL;
    for (c = h->first; c; c = c->next) {
        if (strncmp(c->id, ref, n) == 0) {
            if (found)
                return NULL;
            found = c;
        }
    }
    return found;
}

static bool name_ok(const char *name)
{
    /* [a-zA-Z0-9][a-zA-Z0-9_.-]+, as dockerd */
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    size_t n = strlen(name);
    return n >= 2 && n <= NAME_MAX_LEN && strchr(alnum, name[0]) && name[0] &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static void new_id(struct hollow_engine *h, char out[65])
{
    uint8_t buf[24];
    for (;;) {
        memcpy(buf, h->seed, 16);
        uint64_t n = ++h->id_counter;
        for (int i = 0; i < 8; i++)
            buf[16 + i] = (uint8_t)(n >> (8 * i));
        sha256_hex(buf, sizeof(buf), out);
        /* Never one that is already an id or a name (vanishingly rare: take the next). */
        if (table_find(h, 0, out) == NULL && table_find(h, 1, out) == NULL)
            return;
    }
}

/* ---- events --------------------------------------------------------------------------------- */

static bool ev_test_eq(const char *v, void *arg)
{
    return strcmp(v, (const char *)arg) == 0;
}

static bool ev_test_container(const char *v, void *arg)
{
    json_t *ev = arg;
    const char *id = json_string_value(json_object_get(json_object_get(ev, "Actor"), "ID"));
    const char *name = json_string_value(
        json_object_get(json_object_get(json_object_get(ev, "Actor"), "Attributes"), "name"));
    return (id && strncmp(id, v, strlen(v)) == 0 && v[0]) || (name && strcmp(name, v) == 0);
}

static bool ev_test_image(const char *v, void *arg)
{
    json_t *ev = arg;
    json_t *attrs = json_object_get(json_object_get(ev, "Actor"), "Attributes");
    const char *img = json_string_value(json_object_get(attrs, "image"));
    const char *id = json_string_value(json_object_get(json_object_get(ev, "Actor"), "ID"));
    const char *type = json_string_value(json_object_get(ev, "Type"));
    if (img && strcmp(img, v) == 0)
        return true;
    return type && strcmp(type, "image") == 0 && id && strcmp(id, v) == 0;
}

static bool ev_test_label(const char *v, void *arg)
{
    json_t *ev = arg;
    return label_match(v, json_object_get(json_object_get(ev, "Actor"), "Attributes"));
}

static bool event_matches(json_t *filters, json_t *ev)
{
    if (filters == NULL || json_object_size(filters) == 0)
        return true;
    const char *type = json_string_value(json_object_get(ev, "Type"));
    const char *action = json_string_value(json_object_get(ev, "Action"));
    bool is_ctr = type && strcmp(type, "container") == 0;
    return filter_any(filters, "type", ev_test_eq, (void *)(type ? type : "")) &&
           filter_any(filters, "event", ev_test_eq, (void *)(action ? action : "")) &&
           (json_object_get(filters, "container") == NULL ||
            (is_ctr && filter_any(filters, "container", ev_test_container, ev))) &&
           filter_any(filters, "image", ev_test_image, ev) &&
           filter_any(filters, "label", ev_test_label, ev);
}

static void stream_chunk(struct hollow_session *s, const void *data, size_t len);
static void stream_end(struct hollow_session *s);
static void resume_ready(struct hollow_session *ready);

/* Takes s off the engine's stream list (for a session whose stream is over or that closes). */
static void stream_unlink(struct hollow_session *s)
{
    if (!s->linked)
        return;
    struct hollow_engine *h = s->h;
    if (s->prev)
        s->prev->next = s->next;
    else
        h->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
    s->linked = false;
    if (s->mode == M_EVENTS) {
        h->nsubscribers--;
        if (s->until_ns)
            h->nuntil--;
    }
}

/* Emits an event: kept in the ring, written to each subscriber whose filters it passes.
 * attrs is stolen. */
static void emit(struct hollow_engine *h, const char *type, const char *action, const char *id,
                 const char *from, json_t *attrs)
{
    int64_t t = now_ns(h);
    if (t <= h->last_event_ns)
        t = h->last_event_ns + 1;
    h->last_event_ns = t;
    json_t *ev = json_object();
    if (ev == NULL) {
        json_decref(attrs);
        return;
    }
    if (strcmp(type, "container") == 0 || strcmp(type, "image") == 0) {
        json_object_set_new(ev, "status", json_string(action));
        json_object_set_new(ev, "id", json_string(id));
        if (from)
            json_object_set_new(ev, "from", json_string(from));
    }
    json_object_set_new(ev, "Type", json_string(type));
    json_object_set_new(ev, "Action", json_string(action));
    json_object_set_new(
        ev, "Actor",
        json_pack("{s:s, s:o}", "ID", id, "Attributes", attrs ? attrs : json_object()));
    json_object_set_new(ev, "scope", json_string("local"));
    json_object_set_new(ev, "time", json_integer(t / NS));
    json_object_set_new(ev, "timeNano", json_integer(t));
    char *text = json_dumps(ev, JSON_COMPACT);
    size_t len = text ? strlen(text) : 0;
    char *line = text ? realloc(text, len + 2) : NULL;
    if (line == NULL) {
        free(text);
        json_decref(ev);
        return;
    }
    line[len++] = '\n';
    line[len] = '\0';
    h->stats.events++;
    if (h->ev_count == HOLLOW_EVENTS_KEPT) {
        free(h->events[h->ev_head].line);
        h->ev_head = (h->ev_head + 1) % HOLLOW_EVENTS_KEPT;
        h->ev_count--;
    }
    struct hollow_event *e = &h->events[(h->ev_head + h->ev_count++) % HOLLOW_EVENTS_KEPT];
    e->time_ns = t;
    e->line = line;
    e->len = len;

    struct hollow_session *ready = NULL;
    for (struct hollow_session *s = h->streams, *next; s; s = next) {
        next = s->next;
        if (s->mode != M_EVENTS)
            continue;
        if (s->until_ns && t > s->until_ns) {
            stream_unlink(s);
            s->ready = ready;
            ready = s;
            continue;
        }
        if (event_matches(s->filters, ev))
            stream_chunk(s, line, len); /* a failed write unlinks s only */
    }
    json_decref(ev);
    resume_ready(ready);
}

/* The attributes of a container event: its labels, name, image, and extra (stolen) pairs. */
static json_t *ctr_attrs(const struct hollow_container *c, json_t *extra)
{
    json_t *a = json_loads(cf(c, F_LABELS), 0, NULL);
    if (!json_is_object(a)) {
        json_decref(a);
        a = json_object();
    }
    if (extra) {
        json_object_update(a, extra);
        json_decref(extra);
    }
    json_object_set_new(a, "image", json_string(cf(c, F_IMAGE)));
    json_object_set_new(a, "name", json_string(cf(c, F_NAME)));
    return a;
}

static void ctr_emit(struct hollow_engine *h, const struct hollow_container *c, const char *action,
                     json_t *extra)
{
    emit(h, "container", action, c->id, cf(c, F_IMAGE), ctr_attrs(c, extra));
}

/* ---- container life ----------------------------------------------------------------------------
 */

static void wait_answer(struct hollow_session *s, int code)
{
    char body[64];
    int n = snprintf(body, sizeof(body), "{\"StatusCode\":%d,\"Error\":null}\n", code);
    stream_chunk(s, body, (size_t)n);
    stream_end(s);
}

/* Ends the streams that watch c and are satisfied by what happened (exited or removed); they
 * resume after the walk. Returns the list to pass to resume_ready. */
static struct hollow_session *watchers_done(struct hollow_engine *h, struct hollow_container *c,
                                            bool removed)
{
    struct hollow_session *ready = NULL;
    for (struct hollow_session *s = h->streams, *next; s; s = next) {
        next = s->next;
        if (s->target != c)
            continue;
        bool done = removed || (s->mode == M_WAIT && s->cond != W_REMOVED) || s->mode == M_LOGS;
        if (!done)
            continue;
        s->code = c->exit_code;
        s->target = NULL;
        stream_unlink(s);
        s->ready = ready;
        ready = s;
    }
    return ready;
}

static void ctr_free(struct hollow_engine *h, struct hollow_container *c)
{
    size_t size = sizeof(*c) + c->off[F_COUNT - 1] + strlen(cf(c, F_COUNT - 1)) + 1;
    h->container_bytes -= size;
    free(c);
}

static void ctr_destroy(struct hollow_engine *h, struct hollow_container *c)
{
    ctr_emit(h, c, "destroy", NULL);
    struct hollow_session *ready = watchers_done(h, c, true);
    table_remove(h, c);
    if (c->prev)
        c->prev->next = c->next;
    else
        h->first = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        h->last = c->prev;
    if (c->state == ST_RUNNING)
        h->nrunning--;
    h->ncontainers--;
    ctr_free(h, c);
    resume_ready(ready);
}

/* The container's process ends with code. Returns true if that removed it (AutoRemove). */
static bool ctr_exit(struct hollow_engine *h, struct hollow_container *c, int code,
                     const char *then)
{
    c->state = ST_EXITED;
    c->exit_code = code;
    c->finished_ns = now_ns(h);
    c->pid = 0;
    h->nrunning--;
    char text[16];
    snprintf(text, sizeof(text), "%d", code);
    ctr_emit(h, c, "die", json_pack("{s:s}", "exitCode", text));
    if (then)
        ctr_emit(h, c, then, NULL);
    struct hollow_session *ready = watchers_done(h, c, false);
    bool removed = false;
    if (c->flags & CF_AUTO_REMOVE) {
        ctr_destroy(h, c);
        removed = true;
    }
    resume_ready(ready);
    return removed;
}

/* Starts c (not running). Returns true if it exited and was removed at once. */
static bool ctr_start(struct hollow_engine *h, struct hollow_container *c)
{
    c->state = ST_RUNNING;
    c->started_ns = now_ns(h);
    c->finished_ns = 0;
    c->exit_code = 0;
    c->pid = ++h->next_pid;
    if (h->next_pid > 4000000)
        h->next_pid = 1;
    c->flags |= CF_RAN;
    h->nrunning++;
    ctr_emit(h, c, "start", NULL);
    if (c->flags & CF_EXITS)
        return ctr_exit(h, c, 0, NULL);
    return false;
}

/* ---- sessions: framing ---------------------------------------------------------------------- */

static int rq_fail(struct hollow_session *s, int status, const char *msg)
{
    if (!s->rq.failed) {
        s->rq.failed = true;
        s->rq.fail_status = status;
        snprintf(s->rq.fail_msg, sizeof(s->rq.fail_msg), "%s", msg);
    }
    return 1;
}

static int head_count(struct hollow_session *s, size_t n)
{
    s->rq.head_bytes += n;
    if (s->rq.head_bytes > HOLLOW_HEAD_MAX)
        return rq_fail(s, 431, "request header too large");
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct hollow_session *s = p->data;
    if (head_count(s, len + (s->rq.last_cb == 0 ? 16 : 0)))
        return 1;
    s->rq.last_cb = 1;
    if (s->rq.url_len + len + 1 > s->rq.url_cap) {
        size_t cap = s->rq.url_cap ? s->rq.url_cap : 256;
        while (cap < s->rq.url_len + len + 1)
            cap *= 2;
        char *u = realloc(s->rq.url, cap);
        if (u == NULL)
            return rq_fail(s, 500, "out of memory");
        s->rq.url = u;
        s->rq.url_cap = cap;
    }
    memcpy(s->rq.url + s->rq.url_len, at, len);
    s->rq.url_len += len;
    s->rq.url[s->rq.url_len] = '\0';
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    (void)at;
    struct hollow_session *s = p->data;
    if (s->rq.last_cb != 2) {
        if (++s->rq.nheaders > HOLLOW_HEADERS_MAX)
            return rq_fail(s, 431, "too many request header lines");
        if (head_count(s, 4))
            return 1;
    }
    s->rq.last_cb = 2;
    return head_count(s, len);
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    (void)at;
    struct hollow_session *s = p->data;
    s->rq.last_cb = 3;
    return head_count(s, len);
}

static int on_headers_complete(http_parser *p)
{
    struct hollow_session *s = p->data;
    if (p->http_major != 1)
        return rq_fail(s, 505, "HTTP version not supported: use HTTP/1.1");
    if (!(p->flags & F_CHUNKED) && p->content_length != ULLONG_MAX &&
        p->content_length > HOLLOW_BODY_MAX)
        return rq_fail(s, 413, "request body too large");
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct hollow_session *s = p->data;
    if (len > HOLLOW_BODY_MAX - s->rq.body_len)
        return rq_fail(s, 413, "request body too large");
    if (s->rq.body_len + len + 1 > s->rq.body_cap) {
        size_t cap = s->rq.body_cap ? s->rq.body_cap : 2048;
        while (cap < s->rq.body_len + len + 1)
            cap *= 2;
        char *b = realloc(s->rq.body, cap);
        if (b == NULL)
            return rq_fail(s, 500, "out of memory");
        s->rq.body = b;
        s->rq.body_cap = cap;
    }
    memcpy(s->rq.body + s->rq.body_len, at, len);
    s->rq.body_len += len;
    s->rq.body[s->rq.body_len] = '\0';
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct hollow_session *s = p->data;
    s->rq.complete = true;
    s->rq.keep_alive = http_should_keep_alive(p) != 0;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings parser_settings = {
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void rq_reset(struct hollow_session *s)
{
    struct request *r = &s->rq;
    if (r->url_cap > 4096) {
        free(r->url);
        r->url = NULL;
        r->url_cap = 0;
    }
    if (r->body_cap > 16384) {
        free(r->body);
        r->body = NULL;
        r->body_cap = 0;
    }
    r->url_len = r->body_len = r->head_bytes = r->nheaders = 0;
    if (r->url)
        r->url[0] = '\0';
    r->last_cb = 0;
    r->complete = r->failed = r->keep_alive = false;
    r->fail_status = 0;
    http_parser_pause(&s->parser, 0);
}

/* ---- sessions: answers ---------------------------------------------------------------------- */

static void session_abort(struct hollow_session *s, bool flush)
{
    if (s->mode == M_DEAD)
        return;
    stream_unlink(s);
    s->target = NULL;
    s->mode = M_DEAD;
    s->io.close(s->arg, flush);
}

static void out(struct hollow_session *s, const void *data, size_t len)
{
    if (s->mode == M_DEAD)
        return;
    if (s->io.write(s->arg, data, len) < 0) {
        if (s->mode == M_EVENTS)
            s->h->stats.dropped_subscribers++;
        session_abort(s, false);
    }
}

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 409:
        return "Conflict";
    case 413:
        return "Request Entity Too Large";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

/* The head of an answer. clen: the Content-Length, or -1 for none (204, 304), -2 chunked. */
static int head_text(struct hollow_session *s, char *buf, size_t cap, int status, const char *ctype,
                     long long clen, const char *extra, bool close)
{
    char len[64] = "";
    if (clen >= 0)
        snprintf(len, sizeof(len), "Content-Length: %lld\r\n", clen);
    else if (clen == -2)
        snprintf(len, sizeof(len), "Transfer-Encoding: chunked\r\n");
    char type[96] = "";
    if (ctype)
        snprintf(type, sizeof(type), "Content-Type: %s\r\n", ctype);
    return snprintf(buf, cap,
                    "HTTP/1.1 %d %s\r\nApi-Version: " HOLLOW_API_VERSION "\r\n%s%s"
                    "Docker-Experimental: false\r\nOstype: linux\r\nServer: %s\r\n%s%s\r\n",
                    status, reason(status), extra ? extra : "", type, s->h->server_header, len,
                    close ? "Connection: close\r\n" : "");
}

static bool answer_closes(const struct hollow_session *s)
{
    return !s->rq.keep_alive || s->upgrade || s->eof;
}

static void respond_ex(struct hollow_session *s, int status, const char *ctype, const char *body,
                       size_t len, const char *extra)
{
    bool close = answer_closes(s);
    bool bodiless = status == 204 || status == 304;
    char head[768];
    int n = head_text(s, head, sizeof(head), status, ctype, bodiless ? -1 : (long long)len, extra,
                      close);
    size_t blen = bodiless || s->head_method ? 0 : len;
    char *buf = malloc((size_t)n + blen);
    if (buf == NULL) {
        session_abort(s, false);
        return;
    }
    memcpy(buf, head, (size_t)n);
    if (blen)
        memcpy(buf + n, body, blen);
    out(s, buf, (size_t)n + blen);
    free(buf);
    if (close)
        session_abort(s, true);
}

static void respond(struct hollow_session *s, int status, const char *ctype, const char *body,
                    size_t len)
{
    respond_ex(s, status, ctype, body, len, NULL);
}

static void respond_json(struct hollow_session *s, int status, json_t *v)
{
    char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    size_t n = text ? strlen(text) : 0;
    char *body = text ? realloc(text, n + 2) : NULL;
    if (body == NULL) {
        free(text);
        static const char oom[] = "{\"message\":\"hollow engine: out of memory\"}\n";
        respond(s, 500, "application/json", oom, sizeof(oom) - 1);
        return;
    }
    body[n++] = '\n';
    respond(s, status, "application/json", body, n);
    free(body);
}

static void respond_error(struct hollow_session *s, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void respond_error(struct hollow_session *s, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    printable(msg);
    if (status == 400 || status == 413 || status == 431 || status == 505)
        s->h->stats.bad_requests++;
    respond_json(s, status, json_pack("{s:s}", "message", msg));
}

static void not_found(struct hollow_session *s)
{
    respond_error(s, 404, "page not found");
}

/* Starts a chunked answer; the session is in mode m until stream_end. */
static void stream_begin(struct hollow_session *s, const char *ctype, enum mode m)
{
    char head[768];
    s->stream_keep_alive = !answer_closes(s);
    int n = head_text(s, head, sizeof(head), 200, ctype, -2, NULL, !s->stream_keep_alive);
    out(s, head, (size_t)n);
    if (s->mode == M_DEAD)
        return;
    s->mode = m;
    if (m == M_EVENTS)
        s->h->nsubscribers++;
    s->next = s->h->streams;
    s->prev = NULL;
    if (s->next)
        s->next->prev = s;
    s->h->streams = s;
    s->linked = true;
}

static void stream_chunk(struct hollow_session *s, const void *data, size_t len)
{
    if (s->mode == M_DEAD || len == 0)
        return;
    char *buf = malloc(len + 32);
    if (buf == NULL) {
        session_abort(s, false);
        return;
    }
    int n = snprintf(buf, 32, "%zx\r\n", len);
    memcpy(buf + n, data, len);
    memcpy(buf + n + len, "\r\n", 2);
    out(s, buf, (size_t)n + len + 2);
    free(buf);
}

/* Ends the stream: the last chunk, then the session reads requests again (or closes). */
static void stream_end(struct hollow_session *s)
{
    if (s->mode == M_DEAD)
        return;
    stream_unlink(s);
    out(s, "0\r\n\r\n", 5);
    if (s->mode == M_DEAD)
        return;
    s->mode = M_IDLE;
    s->target = NULL;
    json_decref(s->filters);
    s->filters = NULL;
    if (!s->stream_keep_alive)
        session_abort(s, true);
}

static void process_input(struct hollow_session *s);

/* Finishes the streams on a ready list (taken off the engine's list by the caller); their
 * sessions go on with what they had queued later, from run_queued (nothing they ask for can
 * change a container under the handler at hand). */
static void resume_ready(struct hollow_session *ready)
{
    while (ready) {
        struct hollow_session *s = ready;
        ready = s->ready;
        s->ready = NULL;
        if (s->mode == M_DEAD)
            continue;
        if (s->mode == M_WAIT)
            wait_answer(s, s->code);
        else
            stream_end(s);
        if (s->mode == M_IDLE && !s->queued) {
            s->queued = true;
            s->run_next = NULL;
            if (s->h->run_tail)
                s->h->run_tail->run_next = s;
            else
                s->h->run_head = s;
            s->h->run_tail = s;
        }
    }
}

/* Only from hollow_session_feed, outside every handler. */
static void run_queued(struct hollow_engine *h)
{
    while (h->run_head) {
        struct hollow_session *s = h->run_head;
        h->run_head = s->run_next;
        if (h->run_head == NULL)
            h->run_tail = NULL;
        s->queued = false;
        s->run_next = NULL;
        if (s->mode == M_IDLE)
            process_input(s);
    }
}

/* ---- routes ------------------------------------------------------------------------------------
 */

static const char *state_name(const struct hollow_container *c)
{
    return c->state == ST_RUNNING ? "running" : c->state == ST_EXITED ? "exited" : "created";
}

static json_t *load_or(const char *text, json_t *dflt)
{
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    if (v == NULL)
        return dflt;
    json_decref(dflt);
    return v;
}

/* Entrypoint + Cmd (JSON texts: arrays or null), as one array (new reference). */
static json_t *words_of(const char *ep, const char *cmd)
{
    json_t *words = json_array();
    json_t *epv = json_loads(ep, JSON_DECODE_ANY, NULL);
    json_t *cmdv = json_loads(cmd, JSON_DECODE_ANY, NULL);
    if (json_is_array(epv))
        json_array_extend(words, epv);
    if (json_is_array(cmdv))
        json_array_extend(words, cmdv);
    json_decref(epv);
    json_decref(cmdv);
    return words;
}

static json_t *command_words(const struct hollow_container *c)
{
    return words_of(cf(c, F_ENTRYPOINT), cf(c, F_CMD));
}

/* words[from..] joined by spaces, then end; malloc'd (NULL if out of memory). */
static char *join_words(json_t *words, size_t from, const char *end)
{
    size_t len = strlen(end) + 1, i;
    json_t *w;
    json_array_foreach(words, i, w) len += json_string_length(w) + 1;
    char *text = calloc(1, len);
    if (text == NULL)
        return NULL;
    json_array_foreach(words, i, w)
    {
        if (i < from)
            continue;
        if (i > from)
            strcat(text, " ");
        strcat(text, json_string_value(w));
    }
    strcat(text, end);
    return text;
}

/* What a command does in a hollow engine: true and echo (by their base name) exit at once,
 * echo says its words (*echo, malloc'd); anything else runs until stopped. Returns the CF_
 * flags; -1 if out of memory. */
static int command_effect(json_t *words, char **echo)
{
    *echo = NULL;
    const char *first = json_string_value(json_array_get(words, 0));
    if (first == NULL)
        return 0;
    const char *base = strrchr(first, '/');
    base = base ? base + 1 : first;
    if (strcmp(base, "true") == 0)
        return CF_EXITS;
    if (strcmp(base, "echo") != 0)
        return 0;
    *echo = join_words(words, 1, "\n");
    return *echo ? CF_EXITS | CF_ECHO : -1;
}

static json_t *ctr_entry(const struct hollow_engine *h, const struct hollow_container *c,
                         int64_t now)
{
    json_t *words = command_words(c);
    char *command = join_words(words, 0, "");
    json_decref(words);
    char status[96], ago[64], name[NAME_MAX_LEN + 2];
    if (c->state == ST_RUNNING) {
        human_duration(now - c->started_ns, ago, sizeof(ago));
        snprintf(status, sizeof(status), "Up %s", ago);
    } else if (c->state == ST_EXITED) {
        human_duration(now - c->finished_ns, ago, sizeof(ago));
        snprintf(status, sizeof(status), "Exited (%d) %s ago", c->exit_code, ago);
    } else {
        snprintf(status, sizeof(status), "Created");
    }
    snprintf(name, sizeof(name), "/%s", cf(c, F_NAME));
    json_t *hc = json_loads(cf(c, F_HOSTCONFIG), 0, NULL);
    const char *mode = json_string_value(json_object_get(hc, "NetworkMode"));
    json_t *e = json_pack("{s:s, s:[s], s:s, s:s, s:s, s:I, s:[], s:o, s:s, s:s, s:{s:s}, "
                          "s:{s:{}}, s:[]}",
                          "Id", c->id, "Names", name, "Image", cf(c, F_IMAGE), "ImageID",
                          h->images[c->image].id, "Command", command ? command : "", "Created",
                          (json_int_t)(c->created_ns / NS), "Ports", "Labels",
                          load_or(cf(c, F_LABELS), json_object()), "State", state_name(c), "Status",
                          status, "HostConfig", "NetworkMode", mode ? mode : "default",
                          "NetworkSettings", "Networks", "Mounts");
    json_decref(hc);
    free(command);
    return e;
}

/* The HostConfig fields a Go client or the scheduler reads, where the create left them out. */
static json_t *hostconfig_full(const struct hollow_container *c)
{
    json_t *hc = load_or(cf(c, F_HOSTCONFIG), json_object());
    json_t *dflt = json_pack(
        "{s:n, s:s, s:s, s:{}, s:{s:s, s:i}, s:b, s:s, s:I, s:I, s:I, s:s, s:{s:s, s:{}}, "
        "s:b, s:b, s:[i,i]}",
        "Binds", "ContainerIDFile", "", "NetworkMode", "default", "PortBindings", "RestartPolicy",
        "Name", "no", "MaximumRetryCount", 0, "AutoRemove", (c->flags & CF_AUTO_REMOVE) != 0,
        "CpusetCpus", "", "Memory", (json_int_t)0, "NanoCpus", (json_int_t)0, "CpuShares",
        (json_int_t)0, "IpcMode", "private", "LogConfig", "Type", "none", "Config", "Privileged", 0,
        "ReadonlyRootfs", 0, "ConsoleSize", 0, 0);
    json_object_update_missing(hc, dflt);
    json_decref(dflt);
    return hc;
}

static json_t *ctr_inspect(const struct hollow_engine *h, const struct hollow_container *c)
{
    json_t *words = command_words(c);
    json_t *path = json_array_get(words, 0);
    json_t *args = json_array();
    for (size_t i = 1; i < json_array_size(words); i++)
        json_array_append(args, json_array_get(words, i));
    char created[48], started[48], finished[48], name[NAME_MAX_LEN + 2], host[13];
    rfc3339(c->created_ns, created, sizeof(created));
    rfc3339(c->started_ns, started, sizeof(started));
    rfc3339(c->finished_ns, finished, sizeof(finished));
    snprintf(name, sizeof(name), "/%s", cf(c, F_NAME));
    snprintf(host, sizeof(host), "%.12s", c->id);
    json_t *state =
        json_pack("{s:s, s:b, s:b, s:b, s:b, s:b, s:i, s:i, s:s, s:s, s:s}", "Status",
                  state_name(c), "Running", c->state == ST_RUNNING, "Paused", 0, "Restarting", 0,
                  "OOMKilled", 0, "Dead", 0, "Pid", (int)c->pid, "ExitCode", c->exit_code, "Error",
                  "", "StartedAt", started, "FinishedAt", finished);
    json_t *config = json_pack(
        "{s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:b, s:o, s:o, s:s, s:n, s:s, s:o, s:n, s:o}",
        "Hostname", host, "Domainname", "", "User", "", "AttachStdin", 0, "AttachStdout", 0,
        "AttachStderr", 0, "Tty", (c->flags & CF_TTY) != 0, "OpenStdin",
        (c->flags & CF_OPEN_STDIN) != 0, "StdinOnce", (c->flags & CF_STDIN_ONCE) != 0, "Env",
        load_or(cf(c, F_ENV), json_null()), "Cmd", load_or(cf(c, F_CMD), json_null()), "Image",
        cf(c, F_IMAGE), "Volumes", "WorkingDir", "", "Entrypoint",
        load_or(cf(c, F_ENTRYPOINT), json_null()), "OnBuild", "Labels",
        load_or(cf(c, F_LABELS), json_object()));
    json_t *net =
        json_pack("{s:s, s:s, s:b, s:{}, s:s, s:s, s:s, s:s, s:i, s:s, s:{}}", "Bridge", "",
                  "SandboxID", "", "HairpinMode", 0, "Ports", "SandboxKey", "", "EndpointID", "",
                  "Gateway", "", "IPAddress", "", "IPPrefixLen", 0, "MacAddress", "", "Networks");
    json_t *v = json_pack(
        "{s:s, s:s, s:s, s:O, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, "
        "s:n, s:o, s:{s:n, s:s}, s:[], s:o, s:o}",
        "Id", c->id, "Created", created, "Path", path ? json_string_value(path) : "", "Args", args,
        "State", state, "Image", h->images[c->image].id, "ResolvConfPath", "", "HostnamePath", "",
        "HostsPath", "", "LogPath", "", "Name", name, "RestartCount", 0, "Driver", "hollow",
        "Platform", "linux", "MountLabel", "", "ProcessLabel", "", "AppArmorProfile", "", "ExecIDs",
        "HostConfig", hostconfig_full(c), "GraphDriver", "Data", "Name", "hollow", "Mounts",
        "Config", config, "NetworkSettings", net);
    json_decref(args);
    json_decref(words);
    return v;
}

static bool ctr_test_id(const char *v, void *arg)
{
    const struct hollow_container *c = arg;
    return strncmp(c->id, v, strlen(v)) == 0;
}

static bool ctr_test_name(const char *v, void *arg)
{
    const struct hollow_container *c = arg;
    if (v[0] == '/')
        v++;
    return strstr(cf(c, F_NAME), v) != NULL;
}

static bool ctr_test_status(const char *v, void *arg)
{
    return strcmp(state_name(arg), v) == 0;
}

static bool ctr_test_label(const char *v, void *arg)
{
    json_t *labels = arg;
    return label_match(v, labels);
}

static bool ctr_matches(const struct hollow_container *c, json_t *filters)
{
    if (!filter_any(filters, "id", ctr_test_id, (void *)c) ||
        !filter_any(filters, "name", ctr_test_name, (void *)c) ||
        !filter_any(filters, "status", ctr_test_status, (void *)c))
        return false;
    if (json_object_get(filters, "label") == NULL)
        return true;
    json_t *labels = json_loads(cf(c, F_LABELS), 0, NULL);
    bool ok = filter_any(filters, "label", ctr_test_label, labels);
    json_decref(labels);
    return ok;
}

static void h_containers_list(struct hollow_session *s, const char *query)
{
    struct hollow_engine *h = s->h;
    static const char *const known[] = {"id", "name", "label", "status", NULL};
    char err[160];
    char *text = query_get(query, "filters");
    json_t *filters = filters_parse(text, known, err, sizeof(err));
    free(text);
    if (filters == NULL) {
        respond_error(s, 400, "%s", err);
        return;
    }
    bool all = query_bool(query, "all") || json_object_get(filters, "status") != NULL;
    char *lim = query_get(query, "limit");
    long limit = lim ? strtol(lim, NULL, 10) : -1;
    free(lim);
    int64_t now = now_ns(h);
    json_t *list = json_array();
    long n = 0;
    /* Only full ids asked for (the engine watcher's re-read after each event): look them up
     * instead of walking every container. */
    json_t *ids = json_object_get(filters, "id");
    bool by_id = json_array_size(ids) > 0 && json_array_size(ids) <= 16;
    size_t i;
    json_t *x;
    json_array_foreach(ids, i, x) by_id = by_id && json_string_length(x) == 64;
    if (by_id) {
        struct hollow_container *found[16];
        size_t nfound = 0;
        json_array_foreach(ids, i, x)
        {
            struct hollow_container *c = table_find(h, 0, json_string_value(x));
            bool dup = false;
            for (size_t k = 0; k < nfound; k++)
                dup = dup || found[k] == c;
            if (c && !dup)
                found[nfound++] = c;
        }
        /* newest first, as the walk below gives them */
        for (size_t a = 1; a < nfound; a++)
            for (size_t b = a; b > 0 && found[b]->seq > found[b - 1]->seq; b--) {
                struct hollow_container *t = found[b];
                found[b] = found[b - 1];
                found[b - 1] = t;
            }
        for (size_t k = 0; k < nfound && (limit <= 0 || n < limit); k++) {
            if ((!all && found[k]->state != ST_RUNNING) || !ctr_matches(found[k], filters))
                continue;
            json_array_append_new(list, ctr_entry(h, found[k], now));
            n++;
        }
        json_decref(filters);
        respond_json(s, 200, list);
        return;
    }
    for (struct hollow_container *c = h->last; c && (limit <= 0 || n < limit); c = c->prev) {
        if ((!all && c->state != ST_RUNNING) || !ctr_matches(c, filters))
            continue;
        json_array_append_new(list, ctr_entry(h, c, now));
        n++;
    }
    json_decref(filters);
    respond_json(s, 200, list);
}

/* A JSON value for Cmd/Entrypoint: null, a string (one word), or strings; normalized to an array
 * text (or "null") in out. -1 if another shape. */
static int words_text(json_t *v, char **out)
{
    *out = NULL;
    if (v == NULL || json_is_null(v)) {
        *out = strdup("null");
        return *out ? 0 : -1;
    }
    json_t *arr = NULL;
    if (json_is_string(v)) {
        arr = json_pack("[O]", v);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
        {
            if (!json_is_string(x))
                return -1;
        }
        arr = json_incref(v);
    } else {
        return -1;
    }
    *out = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return *out ? 0 : -1;
}

/* Drops null, false, 0, "", [] and {} members, recursively through objects. */
static void prune(json_t *obj)
{
    const char *key;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(obj, tmp, key, v)
    {
        if (json_is_object(v))
            prune(v);
        bool empty = json_is_null(v) || json_is_false(v) ||
                     (json_is_integer(v) && json_integer_value(v) == 0) ||
                     (json_is_real(v) && json_real_value(v) == 0) ||
                     (json_is_string(v) && json_string_length(v) == 0) ||
                     (json_is_array(v) && json_array_size(v) == 0) ||
                     (json_is_object(v) && json_object_size(v) == 0);
        if (empty)
            json_object_del(obj, key);
    }
}

static bool bool_field(json_t *obj, const char *key)
{
    return json_is_true(json_object_get(obj, key));
}

static void h_create(struct hollow_session *s, const char *query)
{
    struct hollow_engine *h = s->h;
    char *name = query_get(query, "name");
    char *cmd = NULL, *ep = NULL, *labels = NULL, *env = NULL, *hc = NULL, *echo = NULL;
    json_t *body = NULL;
    char genname[32];
    if (name && name[0]) {
        const char *n = name[0] == '/' ? name + 1 : name;
        if (!name_ok(n)) {
            respond_error(s, 400,
                          "Invalid container name (%.128s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are "
                          "allowed",
                          n);
            goto done;
        }
        struct hollow_container *other = table_find(h, 1, n);
        if (other) {
            respond_error(s, 409,
                          "Conflict. The container name \"/%s\" is already in use by container "
                          "\"%s\". You have to remove (or rename) that container to be able to "
                          "reuse that name.",
                          n, other->id);
            goto done;
        }
    }
    if (s->rq.body_len == 0) {
        respond_error(s, 400, "config cannot be empty in order to create a container");
        goto done;
    }
    json_error_t jerr;
    body = json_loadb(s->rq.body, s->rq.body_len, 0, &jerr);
    if (!json_is_object(body)) {
        respond_error(s, 400, "invalid JSON: %s", body ? "expected an object" : jerr.text);
        goto done;
    }
    const char *image = json_string_value(json_object_get(body, "Image"));
    if (image == NULL || !ref_ok(image)) {
        respond_error(s, 400, "hollow engine: Config.Image: expected an image reference");
        goto done;
    }
    if (words_text(json_object_get(body, "Cmd"), &cmd) < 0 ||
        words_text(json_object_get(body, "Entrypoint"), &ep) < 0) {
        respond_error(s, 400, "Config.Cmd and Config.Entrypoint: expected lists of strings");
        goto done;
    }
    json_t *lv = json_object_get(body, "Labels"), *x;
    const char *key;
    if (lv && !json_is_null(lv)) {
        if (!json_is_object(lv))
            goto bad_labels;
        json_object_foreach(lv, key, x)
        {
            if (!json_is_string(x))
                goto bad_labels;
        }
        labels = json_dumps(lv, JSON_COMPACT);
    } else {
        labels = strdup("{}");
    }
    json_t *ev = json_object_get(body, "Env");
    if (ev && !json_is_null(ev)) {
        size_t i;
        if (!json_is_array(ev))
            goto bad_env;
        json_array_foreach(ev, i, x)
        {
            if (!json_is_string(x))
                goto bad_env;
        }
        env = json_dumps(ev, JSON_COMPACT);
    } else {
        env = strdup("null");
    }
    json_t *hv = json_object_get(body, "HostConfig");
    if (hv && !json_is_null(hv) && !json_is_object(hv)) {
        respond_error(s, 400, "HostConfig: expected an object");
        goto done;
    }
    uint8_t flags = 0;
    if (json_is_object(hv)) {
        if (bool_field(hv, "AutoRemove"))
            flags |= CF_AUTO_REMOVE;
        json_t *copy = json_deep_copy(hv);
        prune(copy);
        hc = json_dumps(copy, JSON_COMPACT);
        json_decref(copy);
    } else {
        hc = strdup("{}");
    }
    if (bool_field(body, "Tty"))
        flags |= CF_TTY;
    if (bool_field(body, "OpenStdin"))
        flags |= CF_OPEN_STDIN;
    if (bool_field(body, "StdinOnce"))
        flags |= CF_STDIN_ONCE;
    json_t *words = words_of(ep ? ep : "null", cmd ? cmd : "null");
    int effect = command_effect(words, &echo);
    json_decref(words);
    if (effect > 0)
        flags |= (uint8_t)effect;
    if (cmd == NULL || ep == NULL || labels == NULL || env == NULL || hc == NULL || effect < 0) {
        respond_error(s, 500, "hollow engine: out of memory");
        goto done;
    }
    if (h->ncontainers >= h->max_containers) {
        respond_error(s, 500, "hollow engine: the container limit (%zu) is reached",
                      h->max_containers);
        goto done;
    }
    bool new_image;
    int img = image_get(h, image, &new_image);
    if (img < 0) {
        respond_error(s, 500, "hollow engine: the image limit (%d) is reached", HOLLOW_IMAGES_MAX);
        goto done;
    }
    if (h->ncontainers + 1 > h->table_cap && table_grow(h) < 0) {
        respond_error(s, 500, "hollow engine: out of memory");
        goto done;
    }
    char id[65];
    new_id(h, id);
    const char *cname = name && name[0] ? (name[0] == '/' ? name + 1 : name) : NULL;
    if (cname == NULL) {
        for (int i = 0; cname == NULL || table_find(h, 1, cname); i++) {
            snprintf(genname, sizeof(genname), i ? "hollow_%.12s_%d" : "hollow_%.12s", id, i);
            cname = genname;
        }
    }
    const char *fields[F_COUNT] = {cname, image, cmd, ep, labels, env, hc, echo ? echo : ""};
    size_t total = 0;
    for (int f = 0; f < F_COUNT; f++)
        total += strlen(fields[f]) + 1;
    struct hollow_container *c = malloc(sizeof(*c) + total);
    if (c == NULL) {
        respond_error(s, 500, "hollow engine: out of memory");
        goto done;
    }
    memset(c, 0, sizeof(*c));
    size_t off = 0;
    for (int f = 0; f < F_COUNT; f++) {
        size_t n = strlen(fields[f]) + 1;
        c->off[f] = (uint32_t)off;
        memcpy(c->data + off, fields[f], n);
        off += n;
    }
    memcpy(c->id, id, sizeof(c->id));
    c->created_ns = now_ns(h);
    c->seq = ++h->next_seq;
    c->image = (uint16_t)img;
    c->flags = flags;
    c->state = ST_CREATED;
    c->prev = h->last;
    if (h->last)
        h->last->next = c;
    else
        h->first = c;
    h->last = c;
    for (int w = 0; w < 2; w++) {
        size_t b = hash_str(ckey(c, w)) & (h->table_cap - 1);
        c->chain[w] = h->table[w][b];
        h->table[w][b] = c;
    }
    h->ncontainers++;
    h->container_bytes += sizeof(*c) + total;
    respond_json(s, 201, json_pack("{s:s, s:[]}", "Id", c->id, "Warnings"));
    ctr_emit(h, c, "create", NULL);
    goto done;
bad_labels:
    respond_error(s, 400, "Config.Labels: expected an object of strings");
    goto done;
bad_env:
    respond_error(s, 400, "Config.Env: expected a list of strings");
done:
    json_decref(body);
    free(name);
    free(cmd);
    free(ep);
    free(labels);
    free(env);
    free(hc);
    free(echo);
}

/* Signal names and numbers for kill; 0 if unknown. */
static int signal_number(const char *text)
{
    static const struct {
        const char *name;
        int num;
    } sigs[] = {{"HUP", 1},   {"INT", 2},   {"QUIT", 3},  {"ABRT", 6},  {"KILL", 9},  {"USR1", 10},
                {"SEGV", 11}, {"USR2", 12}, {"PIPE", 13}, {"ALRM", 14}, {"TERM", 15}, {"CHLD", 17},
                {"CONT", 18}, {"STOP", 19}, {"URG", 23},  {"WINCH", 28}};
    if (text == NULL || text[0] == '\0')
        return 9;
    if (strncasecmp(text, "SIG", 3) == 0)
        text += 3;
    char *end;
    long n = strtol(text, &end, 10);
    if (end != text && *end == '\0')
        return n > 0 && n < 65 ? (int)n : 0;
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        if (strcasecmp(text, sigs[i].name) == 0)
            return sigs[i].num;
    }
    return 0;
}

static void h_kill(struct hollow_session *s, struct hollow_container *c, const char *query)
{
    char *text = query_get(query, "signal");
    int sig = signal_number(text);
    free(text);
    if (sig == 0) {
        respond_error(s, 400, "Invalid signal");
        return;
    }
    if (c->state != ST_RUNNING) {
        respond_error(s, 409, "Cannot kill container: %s: Container %s is not running", c->id,
                      c->id);
        return;
    }
    respond(s, 204, NULL, NULL, 0);
    char num[8];
    snprintf(num, sizeof(num), "%d", sig);
    ctr_emit(s->h, c, "kill", json_pack("{s:s}", "signal", num));
    if (sig != 28 && sig != 17 && sig != 23 && sig != 18 && sig != 19)
        ctr_exit(s->h, c, 128 + sig, NULL);
}

static void h_wait(struct hollow_session *s, struct hollow_container *c, const char *query)
{
    char *cond = query_get(query, "condition");
    enum wait_cond w;
    if (cond == NULL || cond[0] == '\0' || strcmp(cond, "not-running") == 0)
        w = W_NOT_RUNNING;
    else if (strcmp(cond, "next-exit") == 0)
        w = W_NEXT_EXIT;
    else if (strcmp(cond, "removed") == 0)
        w = W_REMOVED;
    else {
        respond_error(s, 400, "invalid condition: \"%.64s\"", cond);
        free(cond);
        return;
    }
    free(cond);
    stream_begin(s, "application/json", M_WAIT);
    if (s->mode != M_WAIT)
        return;
    if (w == W_NOT_RUNNING && c->state != ST_RUNNING) {
        wait_answer(s, c->exit_code);
        return;
    }
    s->target = c;
    s->cond = w;
}

static void h_logs(struct hollow_session *s, struct hollow_container *c, const char *query)
{
    bool out_ = query_bool(query, "stdout"), err_ = query_bool(query, "stderr");
    if (!out_ && !err_) {
        respond_error(s, 400, "Bad parameters: you must choose at least one stream");
        return;
    }
    char *tail = query_get(query, "tail");
    bool none = tail && strcmp(tail, "0") == 0;
    free(tail);
    bool follow = query_bool(query, "follow");
    stream_begin(s, NULL, M_LOGS);
    if (s->mode != M_LOGS)
        return;
    const char *text = cf(c, F_ECHO);
    size_t n = strlen(text);
    if ((c->flags & CF_ECHO) && (c->flags & CF_RAN) && out_ && !none && n) {
        if (c->flags & CF_TTY) {
            stream_chunk(s, text, n);
        } else {
            char *frame = malloc(n + 8);
            if (frame) {
                frame[0] = 1;
                frame[1] = frame[2] = frame[3] = 0;
                frame[4] = (char)(n >> 24);
                frame[5] = (char)(n >> 16);
                frame[6] = (char)(n >> 8);
                frame[7] = (char)n;
                memcpy(frame + 8, text, n);
                stream_chunk(s, frame, n + 8);
                free(frame);
            }
        }
    }
    if (follow && c->state == ST_RUNNING && s->mode == M_LOGS)
        s->target = c;
    else
        stream_end(s);
}

static void h_remove(struct hollow_session *s, struct hollow_container *c, const char *query)
{
    if (c->state == ST_RUNNING && !query_bool(query, "force")) {
        respond_error(s, 409,
                      "You cannot remove a running container %s. Stop the container before "
                      "attempting removal or force remove",
                      c->id);
        return;
    }
    respond(s, 204, NULL, NULL, 0);
    if (c->state == ST_RUNNING) {
        ctr_emit(s->h, c, "kill", json_pack("{s:s}", "signal", "9"));
        if (ctr_exit(s->h, c, 137, NULL))
            return;
    }
    ctr_destroy(s->h, c);
}

static void h_container(struct hollow_session *s, const char *ref, const char *op,
                        const char *query)
{
    struct hollow_engine *h = s->h;
    int method = s->parser.method;
    static const char *const posts[] = {"start", "stop", "restart", "kill", "wait", NULL};
    bool known = false;
    if (op == NULL)
        known = method == HTTP_DELETE;
    else if (strcmp(op, "json") == 0 || strcmp(op, "logs") == 0)
        known = method == HTTP_GET;
    else
        for (size_t i = 0; posts[i]; i++)
            known = known || (strcmp(op, posts[i]) == 0 && method == HTTP_POST);
    if (!known) {
        not_found(s);
        return;
    }
    struct hollow_container *c = ctr_find(h, ref);
    if (c == NULL) {
        respond_error(s, 404, "No such container: %.128s", ref);
        return;
    }
    if (op == NULL) {
        h_remove(s, c, query);
    } else if (strcmp(op, "json") == 0) {
        respond_json(s, 200, ctr_inspect(h, c));
    } else if (strcmp(op, "logs") == 0) {
        h_logs(s, c, query);
    } else if (strcmp(op, "start") == 0) {
        if (c->state == ST_RUNNING) {
            respond(s, 304, NULL, NULL, 0);
            return;
        }
        respond(s, 204, NULL, NULL, 0);
        ctr_start(h, c);
    } else if (strcmp(op, "stop") == 0) {
        if (c->state != ST_RUNNING) {
            respond(s, 304, NULL, NULL, 0);
            return;
        }
        respond(s, 204, NULL, NULL, 0);
        ctr_emit(h, c, "kill", json_pack("{s:s}", "signal", "15"));
        ctr_exit(h, c, 0, "stop");
    } else if (strcmp(op, "restart") == 0) {
        respond(s, 204, NULL, NULL, 0);
        if (c->state == ST_RUNNING) {
            ctr_emit(h, c, "kill", json_pack("{s:s}", "signal", "15"));
            if (ctr_exit(h, c, 0, "stop"))
                return;
        }
        if (!ctr_start(h, c))
            ctr_emit(h, c, "restart", NULL);
    } else if (strcmp(op, "kill") == 0) {
        h_kill(s, c, query);
    } else {
        h_wait(s, c, query);
    }
}

static json_t *image_inspect(const struct hollow_engine *h, const char *norm, const char *id,
                             int64_t created)
{
    char when[48];
    rfc3339(created * NS, when, sizeof(when));
    return json_pack("{s:s, s:[s], s:[], s:s, s:s, s:s, s:s, s:s, s:s, s:{s:n, s:n, s:n, s:n}, "
                     "s:s, s:s, s:i, s:i, s:{s:n, s:s}, s:{s:s, s:[]}}",
                     "Id", id, "RepoTags", norm, "RepoDigests", "Parent", "", "Comment",
                     "hollow image (scale tests only)", "Created", when, "Container", "",
                     "DockerVersion", "", "Author", "", "Config", "Cmd", "Entrypoint", "Env",
                     "Labels", "Architecture", h->goarch, "Os", "linux", "Size", 0, "VirtualSize",
                     0, "GraphDriver", "Data", "Name", "hollow", "RootFS", "Type", "layers",
                     "Layers");
}

static void h_images(struct hollow_session *s, const char *rest, const char *query)
{
    struct hollow_engine *h = s->h;
    int method = s->parser.method;
    if (strcmp(rest, "json") == 0 && method == HTTP_GET) {
        json_t *list = json_array();
        for (size_t i = h->nimages; i-- > 0;) {
            const struct hollow_image *im = &h->images[i];
            json_array_append_new(
                list, json_pack("{s:i, s:I, s:s, s:n, s:s, s:[], s:[s], s:i, s:i, s:i}",
                                "Containers", -1, "Created", (json_int_t)im->created, "Id", im->id,
                                "Labels", "ParentId", "", "RepoDigests", "RepoTags", im->ref,
                                "SharedSize", -1, "Size", 0, "VirtualSize", 0));
        }
        respond_json(s, 200, list);
        return;
    }
    if (strcmp(rest, "create") == 0 && method == HTTP_POST) {
        char *from = query_get(query, "fromImage"), *tag = query_get(query, "tag");
        char ref[2 * REF_MAX_LEN + 2];
        if (from == NULL || from[0] == '\0') {
            respond_error(s, 400, "hollow engine: only pulls (fromImage) are supported");
        } else {
            bool digest = tag && strncmp(tag, "sha256:", 7) == 0;
            snprintf(ref, sizeof(ref), "%s%s%s", from, tag && tag[0] ? (digest ? "@" : ":") : "",
                     tag ? tag : "");
            bool added;
            int img = ref_ok(ref) ? image_get(h, ref, &added) : -2;
            if (img == -2) {
                respond_error(s, 400, "invalid reference format");
            } else if (img < 0) {
                respond_error(s, 500, "hollow engine: the image limit (%d) is reached",
                              HOLLOW_IMAGES_MAX);
            } else {
                const struct hollow_image *im = &h->images[img];
                const char *colon = strrchr(im->ref, ':');
                char line[3][600];
                snprintf(line[0], sizeof(line[0]),
                         "{\"status\":\"Pulling from %.*s\",\"id\":\"%s\"}\r\n",
                         (int)(colon ? colon - im->ref : (long)strlen(im->ref)), im->ref,
                         colon ? colon + 1 : "latest");
                snprintf(line[1], sizeof(line[1]), "{\"status\":\"Digest: %s\"}\r\n", im->id);
                snprintf(line[2], sizeof(line[2]), "{\"status\":\"Status: %s %s\"}\r\n",
                         added ? "Downloaded newer image for" : "Image is up to date for", im->ref);
                stream_begin(s, "application/json", M_LOGS);
                for (int i = 0; i < 3; i++)
                    stream_chunk(s, line[i], strlen(line[i]));
                stream_end(s);
                emit(h, "image", "pull", im->ref, NULL, json_pack("{s:s}", "name", im->ref));
            }
        }
        free(from);
        free(tag);
        return;
    }
    size_t n = strlen(rest);
    if (n > 5 && strcmp(rest + n - 5, "/json") == 0 && method == HTTP_GET) {
        char ref[REF_MAX_LEN + 1], norm[REF_MAX_LEN + 16], id[72];
        snprintf(ref, sizeof(ref), "%.*s", (int)(n - 5), rest);
        if (n - 5 > REF_MAX_LEN || !ref_ok(ref)) {
            respond_error(s, 404, "No such image: %.128s", ref);
            return;
        }
        ref_normalize(ref, norm, sizeof(norm));
        int64_t created = now_ns(h) / NS;
        for (size_t i = 0; i < h->nimages; i++) {
            if (strcmp(h->images[i].ref, norm) == 0)
                created = h->images[i].created;
        }
        image_id(norm, id);
        respond_json(s, 200, image_inspect(h, norm, id, created));
        return;
    }
    not_found(s);
}

/* since/until: "1700000000", "1700000000.5", "1700000000.000000001"; 0 if absent, -1 bad. */
static int64_t time_param(const char *query, const char *key)
{
    char *v = query_get(query, key);
    if (v == NULL || v[0] == '\0') {
        free(v);
        return 0;
    }
    char *end;
    errno = 0;
    long long secs = strtoll(v, &end, 10);
    int64_t ns = -1;
    if (end != v && errno == 0 && secs >= 0 && secs < 9000000000LL) {
        ns = (int64_t)secs * NS;
        if (*end == '.') {
            long long frac = 0;
            int digits = 0;
            for (end++; *end >= '0' && *end <= '9'; end++) {
                if (digits++ < 9)
                    frac = frac * 10 + (*end - '0');
            }
            for (; digits < 9; digits++)
                frac *= 10;
            ns += frac;
        }
        if (*end != '\0')
            ns = -1;
    }
    free(v);
    return ns;
}

static void on_until_timer(uv_timer_t *t)
{
    struct hollow_engine *h = t->data;
    hollow_engine_tick(h);
    if (h->nuntil == 0)
        uv_timer_stop(t);
}

static void h_events(struct hollow_session *s, const char *query)
{
    struct hollow_engine *h = s->h;
    static const char *const known[] = {"type", "event", "container", "image", "label", NULL};
    int64_t since = time_param(query, "since"), until = time_param(query, "until");
    if (since < 0 || until < 0) {
        respond_error(s, 400, "invalid since or until: expected unix seconds[.nanoseconds]");
        return;
    }
    char err[160];
    char *text = query_get(query, "filters");
    json_t *filters = filters_parse(text, known, err, sizeof(err));
    free(text);
    if (filters == NULL) {
        respond_error(s, 400, "%s", err);
        return;
    }
    stream_begin(s, "application/json", M_EVENTS);
    if (s->mode != M_EVENTS) {
        json_decref(filters);
        return;
    }
    s->filters = filters;
    s->until_ns = until;
    if (since) {
        for (size_t i = 0; i < h->ev_count && s->mode == M_EVENTS; i++) {
            const struct hollow_event *e = &h->events[(h->ev_head + i) % HOLLOW_EVENTS_KEPT];
            if (e->time_ns < since || (until && e->time_ns > until))
                continue;
            bool pass = json_object_size(filters) == 0;
            if (!pass) {
                json_t *ev = json_loadb(e->line, e->len, 0, NULL);
                pass = event_matches(filters, ev);
                json_decref(ev);
            }
            if (pass)
                stream_chunk(s, e->line, e->len);
        }
    }
    if (s->mode == M_EVENTS && until) {
        h->nuntil++;
        if (until <= now_ns(h))
            stream_end(s);
        else if (h->timer_open && !uv_is_active((uv_handle_t *)&h->until_timer))
            uv_timer_start(&h->until_timer, on_until_timer, HOLLOW_UNTIL_TICK_MS,
                           HOLLOW_UNTIL_TICK_MS);
    }
}

static void h_info(struct hollow_session *s)
{
    struct hollow_engine *h = s->h;
    char when[48];
    rfc3339(now_ns(h), when, sizeof(when));
    json_t *labels = json_array();
    for (int i = 0; i < h->nlabels; i++)
        json_array_append_new(labels, json_string(h->labels[i]));
    json_t *info = json_pack(
        "{s:s, s:I, s:I, s:i, s:I, s:I, s:s, s:[[s,s]], s:{s:[], s:[], s:n, s:[]}, s:b, s:b, "
        "s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:i, s:b, s:i, s:s, s:s, s:s, s:s, s:i, "
        "s:s, s:s, s:s, s:s, s:s, s:{s:[], s:[], s:{}, s:[]}, s:i, s:I, s:n, s:s, s:s, s:s, s:s, "
        "s:s, s:o, s:b, s:s, s:{}, s:s, s:{s:s, s:s, s:s, s:b, s:s, s:n}, s:b, s:s, s:s, "
        "s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:s}, s:[], s:[s]}",
        "ID", h->id, "Containers", (json_int_t)h->ncontainers, "ContainersRunning",
        (json_int_t)h->nrunning, "ContainersPaused", 0, "ContainersStopped",
        (json_int_t)(h->ncontainers - h->nrunning), "Images", (json_int_t)h->nimages, "Driver",
        "hollow", "DriverStatus", "Hollow", "scale tests only: no container runs", "Plugins",
        "Volume", "Network", "Authorization", "Log", "MemoryLimit", 1, "SwapLimit", 0,
        "KernelMemory", 0, "KernelMemoryTCP", 0, "CpuCfsPeriod", 1, "CpuCfsQuota", 1, "CPUShares",
        1, "CPUSet", 1, "PidsLimit", 1, "IPv4Forwarding", 1, "Debug", 0, "NFd", 0, "OomKillDisable",
        0, "NGoroutines", 0, "SystemTime", when, "LoggingDriver", "none", "CgroupDriver", "none",
        "CgroupVersion", "2", "NEventsListener", (int)h->nsubscribers, "KernelVersion", h->kernel,
        "OperatingSystem", "hollow", "OSVersion", "", "OSType", "linux", "Architecture", h->arch,
        "RegistryConfig", "AllowNondistributableArtifactsCIDRs", "InsecureRegistryCIDRs",
        "IndexConfigs", "Mirrors", "NCPU", h->ncpu, "MemTotal", (json_int_t)h->mem_total,
        "GenericResources", "DockerRootDir", "/hollow", "HttpProxy", "", "HttpsProxy", "",
        "NoProxy", "", "Name", h->name, "Labels", labels, "ExperimentalBuild", 0, "ServerVersion",
        h->server_version, "Runtimes", "DefaultRuntime", "hollow", "Swarm", "NodeID", "",
        "NodeAddr", "", "LocalNodeState", "inactive", "ControlAvailable", 0, "Error", "",
        "RemoteManagers", "LiveRestoreEnabled", 0, "Isolation", "", "InitBinary", "",
        "ContainerdCommit", "ID", "", "Expected", "", "RuncCommit", "ID", "", "Expected", "",
        "InitCommit", "ID", "", "Expected", "", "SecurityOptions", "Warnings",
        "WARNING: hollow engine: for scale tests only; it answers from memory and runs no "
        "containers");
    respond_json(s, 200, info);
}

static void h_version(struct hollow_session *s)
{
    struct hollow_engine *h = s->h;
    json_t *v = json_pack(
        "{s:{s:s}, s:[{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}}], s:s, s:s, "
        "s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
        "Platform", "Name", "swarm hollow engine (scale tests only)", "Components", "Name",
        "Engine", "Version", h->server_version, "Details", "ApiVersion", HOLLOW_API_VERSION, "Arch",
        h->goarch, "BuildTime", "", "Experimental", "false", "GitCommit", "", "GoVersion", "",
        "KernelVersion", h->kernel, "MinAPIVersion", "1.12", "Os", "linux", "Version",
        h->server_version, "ApiVersion", HOLLOW_API_VERSION, "MinAPIVersion", "1.12", "GitCommit",
        "", "GoVersion", "", "Os", "linux", "Arch", h->goarch, "KernelVersion", h->kernel,
        "BuildTime", "");
    respond_json(s, 200, v);
}

/* "/v1.41/x" → "/x"; -1 for a bad or unsupported version (answered). */
static int strip_version(struct hollow_session *s, char **path)
{
    char *p = *path;
    if (p[1] != 'v' || p[2] < '0' || p[2] > '9')
        return 0;
    char *end;
    long major = strtol(p + 2, &end, 10), minor = 0;
    if (*end == '.') {
        char *m = end + 1;
        minor = strtol(m, &end, 10);
        if (end == m)
            minor = -1;
    }
    if (*end != '/' || minor < 0) {
        not_found(s);
        return -1;
    }
    if (major > 1 || (major == 1 && minor > 41)) {
        respond_error(s, 400,
                      "client version %ld.%ld is too new. Maximum supported API version "
                      "is " HOLLOW_API_VERSION,
                      major, minor);
        return -1;
    }
    if (major < 1 || (major == 1 && minor < 12)) {
        respond_error(s, 400,
                      "client version %ld.%ld is too old. Minimum supported API version is 1.12, "
                      "please upgrade your client to a newer version",
                      major, minor);
        return -1;
    }
    *path = end;
    return 0;
}

/* Percent-decodes a path segment in place (Go's router matches decoded paths). */
static void unescape(char *p)
{
    char *o = p;
    for (; *p; p++) {
        if (p[0] == '%' && unhex(p[1]) >= 0 && unhex(p[2]) >= 0) {
            *o++ = (char)(unhex(p[1]) * 16 + unhex(p[2]));
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
}

static void route(struct hollow_session *s)
{
    struct hollow_engine *h = s->h;
    h->stats.requests++;
    s->head_method = s->parser.method == HTTP_HEAD;
    char *url = s->rq.url ? s->rq.url : (char *)"";
    if (url[0] != '/') {
        respond_error(s, 400, "malformed request URL");
        return;
    }
    const char *query = "";
    char *q = strpbrk(url, "?#");
    if (q) {
        if (*q == '?') {
            query = q + 1;
            char *frag = strchr(query, '#');
            if (frag)
                *frag = '\0';
        }
        *q = '\0';
    }
    char *path = url;
    if (strip_version(s, &path) < 0)
        return;
    int method = s->parser.method;
    bool get = method == HTTP_GET;
    if (strcmp(path, "/_ping") == 0 && (get || s->head_method)) {
        respond_ex(s, 200, "text/plain; charset=utf-8", "OK", s->head_method ? 0 : 2,
                   "Cache-Control: no-cache, no-store, must-revalidate\r\nPragma: no-cache\r\n");
        return;
    }
    if (s->head_method) {
        not_found(s);
        return;
    }
    if (strcmp(path, "/version") == 0 && get) {
        h_version(s);
    } else if (strcmp(path, "/info") == 0 && get) {
        h_info(s);
    } else if (strcmp(path, "/events") == 0 && get) {
        h_events(s, query);
    } else if (strcmp(path, "/containers/json") == 0 && get) {
        h_containers_list(s, query);
    } else if (strcmp(path, "/containers/create") == 0 && method == HTTP_POST) {
        h_create(s, query);
    } else if (strncmp(path, "/containers/", 12) == 0 && path[12] && path[12] != '/') {
        char *ref = path + 12, *op = strchr(ref, '/');
        if (op) {
            *op++ = '\0';
            if (strchr(op, '/')) {
                not_found(s);
                return;
            }
        }
        unescape(ref);
        h_container(s, ref, op, query);
    } else if (strncmp(path, "/images/", 8) == 0 && path[8]) {
        unescape(path + 8);
        h_images(s, path + 8, query);
    } else {
        not_found(s);
    }
}

/* ---- sessions: input --------------------------------------------------------------------------
 */

static void bad_request(struct hollow_session *s, int status, const char *msg)
{
    s->h->stats.requests++;
    s->rq.keep_alive = false;
    respond_error(s, status, "%s", msg);
    session_abort(s, true);
}

static void process_input(struct hollow_session *s)
{
    while (s->mode == M_IDLE) {
        size_t avail = s->in_len - s->in_off;
        if (avail == 0)
            break;
        size_t n = http_parser_execute(&s->parser, &parser_settings, s->in + s->in_off, avail);
        s->in_off += n;
        if (s->rq.failed) {
            bad_request(s, s->rq.fail_status, s->rq.fail_msg);
            return;
        }
        if (!s->rq.complete) {
            enum http_errno e = HTTP_PARSER_ERRNO(&s->parser);
            if (e == HPE_HEADER_OVERFLOW) {
                bad_request(s, 431, "request header too large");
                return;
            }
            if (e != HPE_OK || n != avail) {
                char msg[128];
                snprintf(msg, sizeof(msg), "malformed HTTP request: %s", http_errno_description(e));
                bad_request(s, 400, msg);
                return;
            }
            break;
        }
        s->upgrade = s->parser.upgrade != 0;
        route(s);
        rq_reset(s);
        if (s->upgrade) {
            /* A hijack we do not do: what follows is not HTTP. */
            session_abort(s, true);
            return;
        }
    }
    if (s->mode == M_DEAD)
        return;
    if (s->in_off == s->in_len) {
        s->in_off = s->in_len = 0;
        if (s->in_cap > 65536) {
            free(s->in);
            s->in = NULL;
            s->in_cap = 0;
        }
    }
    if (s->eof && s->mode == M_IDLE)
        session_abort(s, true);
}

void hollow_engine_tick(struct hollow_engine *h)
{
    int64_t now = now_ns(h);
    struct hollow_session *ready = NULL;
    for (struct hollow_session *s = h->streams, *next; s; s = next) {
        next = s->next;
        if (s->mode == M_EVENTS && s->until_ns && s->until_ns < now) {
            stream_unlink(s);
            s->ready = ready;
            ready = s;
        }
    }
    resume_ready(ready);
    run_queued(h);
}

struct hollow_session *hollow_session_new(struct hollow_engine *h,
                                          const struct hollow_session_io *io, void *arg)
{
    struct hollow_session *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->h = h;
    s->io = *io;
    s->arg = arg;
    http_parser_init(&s->parser, HTTP_REQUEST);
    s->parser.data = s;
    s->mode = M_IDLE;
    h->nsessions++;
    return s;
}

void hollow_session_feed(struct hollow_session *s, const char *data, size_t len)
{
    if (s->mode == M_DEAD)
        return;
    if (len == 0) {
        s->eof = true;
        if (s->mode != M_IDLE) {
            /* A stream's reader left (the docker CLI closes its wait connection). */
            session_abort(s, false);
            return;
        }
        process_input(s);
        if (s->mode != M_DEAD && s->mode != M_IDLE)
            session_abort(s, true); /* a stream asked for by a client that is leaving */
        run_queued(s->h);
        return;
    }
    if (len > HOLLOW_INPUT_MAX - (s->in_len - s->in_off)) {
        s->h->stats.bad_requests++;
        session_abort(s, false);
        return;
    }
    if (s->in_off > 0 && s->in_len + len > s->in_cap) {
        memmove(s->in, s->in + s->in_off, s->in_len - s->in_off);
        s->in_len -= s->in_off;
        s->in_off = 0;
    }
    if (s->in_len + len > s->in_cap) {
        size_t cap = s->in_cap ? s->in_cap : 4096;
        while (cap < s->in_len + len)
            cap *= 2;
        char *b = realloc(s->in, cap);
        if (b == NULL) {
            session_abort(s, false);
            return;
        }
        s->in = b;
        s->in_cap = cap;
    }
    memcpy(s->in + s->in_len, data, len);
    s->in_len += len;
    process_input(s);
    run_queued(s->h);
}

void hollow_session_free(struct hollow_session *s)
{
    if (s == NULL)
        return;
    stream_unlink(s);
    struct hollow_engine *h = s->h;
    if (s->queued) {
        struct hollow_session **pp = &h->run_head, *prev = NULL;
        while (*pp && *pp != s) {
            prev = *pp;
            pp = &(*pp)->run_next;
        }
        if (*pp)
            *pp = s->run_next;
        if (h->run_tail == s)
            h->run_tail = prev;
    }
    h->nsessions--;
    json_decref(s->filters);
    free(s->in);
    free(s->rq.url);
    free(s->rq.body);
    free(s);
}

/* ---- the engine --------------------------------------------------------------------------------
 */

int hollow_parse_size(const char *s, int64_t *out)
{
    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s)
        return -1;
    static const struct {
        const char *suffix;
        double mult;
    } units[] = {{"", 1},
                 {"b", 1},
                 {"k", 1024.0},
                 {"kb", 1024.0},
                 {"kib", 1024.0},
                 {"m", 1048576.0},
                 {"mb", 1048576.0},
                 {"mib", 1048576.0},
                 {"g", 1073741824.0},
                 {"gb", 1073741824.0},
                 {"gib", 1073741824.0},
                 {"t", 1099511627776.0},
                 {"tb", 1099511627776.0},
                 {"tib", 1099511627776.0}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcasecmp(end, units[i].suffix) != 0)
            continue;
        double bytes = v * units[i].mult;
        if (bytes < 1 || bytes > 4611686018427387904.0)
            return -1;
        *out = (int64_t)bytes;
        return 0;
    }
    return -1;
}

struct hollow_engine *hollow_engine_new(const struct hollow_engine_config *cfg, char *err,
                                        size_t errlen)
{
    if (cfg->name == NULL || cfg->name[0] == '\0') {
        snprintf(err, errlen, "hollow engine: a name is required");
        return NULL;
    }
    if (cfg->socket_path &&
        (cfg->socket_path[0] != '/' ||
         strlen(cfg->socket_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))) {
        snprintf(err, errlen,
                 "hollow engine: socket path %s: expected an absolute path under %zu bytes",
                 cfg->socket_path, sizeof(((struct sockaddr_un *)0)->sun_path));
        return NULL;
    }
    if (cfg->nlabels < 0 || cfg->nlabels > HOLLOW_LABELS_MAX) {
        snprintf(err, errlen, "hollow engine: at most %d labels", HOLLOW_LABELS_MAX);
        return NULL;
    }
    for (int i = 0; i < cfg->nlabels; i++) {
        const char *eq = strchr(cfg->labels[i], '=');
        json_t *probe = json_string(cfg->labels[i]);
        json_decref(probe);
        if (eq == NULL || eq == cfg->labels[i] || probe == NULL) {
            snprintf(err, errlen, "hollow engine: label \"%.64s\": expected KEY=VALUE",
                     cfg->labels[i]);
            return NULL;
        }
    }
    json_t *pn = json_string(cfg->name), *pi = cfg->id ? json_string(cfg->id) : NULL;
    bool utf8 = pn != NULL && (cfg->id == NULL || pi != NULL);
    json_decref(pn);
    json_decref(pi);
    if (!utf8) {
        snprintf(err, errlen, "hollow engine: name and id must be UTF-8");
        return NULL;
    }
    struct hollow_engine *h = calloc(1, sizeof(*h));
    if (h == NULL)
        goto oom;
    h->ncpu = cfg->ncpu > 0 ? cfg->ncpu : HOLLOW_DEFAULT_CPUS;
    h->mem_total = cfg->mem_total > 0 ? cfg->mem_total : HOLLOW_DEFAULT_MEMORY;
    h->max_containers = cfg->max_containers ? cfg->max_containers : HOLLOW_CONTAINERS_MAX;
    h->now_fn = cfg->now_ns;
    if (cfg->id_seed)
        memcpy(h->seed, cfg->id_seed, sizeof(h->seed));
    else
        randombytes_buf(h->seed, sizeof(h->seed));
    char idbuf[65];
    if (cfg->id == NULL) {
        char *text = NULL;
        if (asprintf(&text, "swarm-hollow-engine:%s", cfg->name) < 0)
            goto oom;
        sha256_hex(text, strlen(text), idbuf);
        free(text);
    }
    const char *version = cfg->version ? cfg->version : "0";
    h->name = strdup(cfg->name);
    h->id = strdup(cfg->id ? cfg->id : idbuf);
    h->socket_path = cfg->socket_path ? strdup(cfg->socket_path) : NULL;
    if (asprintf(&h->server_version, "hollow-%s", version) < 0)
        h->server_version = NULL;
    if (asprintf(&h->server_header, "Docker/hollow-%s (linux)", version) < 0)
        h->server_header = NULL;
    h->labels = calloc((size_t)cfg->nlabels + 1, sizeof(char *));
    if (h->name == NULL || h->id == NULL || (cfg->socket_path && h->socket_path == NULL) ||
        h->server_version == NULL || h->server_header == NULL || h->labels == NULL)
        goto oom;
    for (int i = 0; i < cfg->nlabels; i++) {
        if ((h->labels[i] = strdup(cfg->labels[i])) == NULL)
            goto oom;
        h->nlabels++;
    }
    struct utsname u;
    if (uname(&u) == 0) {
        snprintf(h->kernel, sizeof(h->kernel), "%s", u.release);
        snprintf(h->arch, sizeof(h->arch), "%s", u.machine);
    } else {
        snprintf(h->kernel, sizeof(h->kernel), "unknown");
        snprintf(h->arch, sizeof(h->arch), "unknown");
    }
    h->goarch = strcmp(h->arch, "x86_64") == 0    ? "amd64"
                : strcmp(h->arch, "aarch64") == 0 ? "arm64"
                : strncmp(h->arch, "arm", 3) == 0 ? "arm"
                                                  : h->arch;
    return h;
oom:
    snprintf(err, errlen, "hollow engine: out of memory");
    hollow_engine_free(h);
    return NULL;
}

const struct hollow_engine_stats *hollow_engine_stats(struct hollow_engine *h)
{
    h->stats.containers = h->ncontainers;
    h->stats.running = h->nrunning;
    h->stats.images = h->nimages;
    h->stats.sessions = h->nsessions;
    h->stats.subscribers = h->nsubscribers;
    h->stats.container_bytes = h->container_bytes;
    return &h->stats;
}

void hollow_engine_free(struct hollow_engine *h)
{
    if (h == NULL)
        return;
    for (struct hollow_container *c = h->first, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(h->table[0]);
    free(h->table[1]);
    for (size_t i = 0; i < h->nimages; i++)
        free(h->images[i].ref);
    free(h->images);
    for (size_t i = 0; i < h->ev_count; i++)
        free(h->events[(h->ev_head + i) % HOLLOW_EVENTS_KEPT].line);
    for (int i = 0; h->labels && i < h->nlabels; i++)
        free(h->labels[i]);
    free(h->labels);
    free(h->socket_path);
    free(h->name);
    free(h->id);
    free(h->server_version);
    free(h->server_header);
    free(h);
}

/* ---- the listener -----------------------------------------------------------------------------
 */

struct hconn {
    struct hollow_engine *h;
    struct hconn *prev, *next;
    struct hollow_session *s;
    uv_pipe_t pipe;
    uv_shutdown_t shutdown;
    bool closing, shutting;
};

struct wreq {
    uv_write_t req;
    struct hconn *c;
    char data[];
};

static void maybe_closed(struct hollow_engine *h)
{
    if (!h->closing || h->listener_open || h->timer_open || h->nconns > 0)
        return;
    h->closing = false;
    h->loop = NULL;
    void (*cb)(void *) = h->on_closed;
    h->on_closed = NULL;
    if (cb)
        cb(h->closed_arg);
}

static void conn_closed(uv_handle_t *handle)
{
    struct hconn *c = handle->data;
    struct hollow_engine *h = c->h;
    if (c->prev)
        c->prev->next = c->next;
    else
        h->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    hollow_session_free(c->s);
    free(c);
    h->nconns--;
    maybe_closed(h);
}

static void conn_close(struct hconn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    uv_close((uv_handle_t *)&c->pipe, conn_closed);
}

static void on_written(uv_write_t *req, int status)
{
    struct wreq *w = (struct wreq *)req;
    if (status < 0 && status != UV_ECANCELED)
        conn_close(w->c);
    free(w);
}

static int conn_write(void *arg, const void *data, size_t len)
{
    struct hconn *c = arg;
    if (c->closing || c->shutting)
        return -1;
    uv_stream_t *st = (uv_stream_t *)&c->pipe;
    if (st->write_queue_size > HOLLOW_WRITE_QUEUE_MAX)
        return -1; /* the client does not read what it was sent */
    const char *p = data;
    if (st->write_queue_size == 0 && len <= INT_MAX) {
        uv_buf_t b = uv_buf_init((char *)p, (unsigned)len);
        int n = uv_try_write(st, &b, 1);
        if (n == (int)len)
            return 0;
        if (n < 0 && n != UV_EAGAIN)
            return -1;
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        }
    }
    struct wreq *w = malloc(sizeof(*w) + len);
    if (w == NULL)
        return -1;
    w->c = c;
    memcpy(w->data, p, len);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
    if (uv_write(&w->req, st, &b, 1, on_written) < 0) {
        free(w);
        return -1;
    }
    return 0;
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    conn_close(req->data);
}

static void conn_session_close(void *arg, bool flush)
{
    struct hconn *c = arg;
    if (c->closing || c->shutting)
        return;
    uv_read_stop((uv_stream_t *)&c->pipe);
    if (flush) {
        c->shutting = true;
        c->shutdown.data = c;
        if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->pipe, on_shutdown) == 0)
            return;
    }
    conn_close(c);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct hconn *c = handle->data;
    *buf = uv_buf_init(c->h->read_buf, sizeof(c->h->read_buf));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct hconn *c = stream->data;
    if (nread > 0) {
        hollow_session_feed(c->s, buf->base, (size_t)nread);
    } else if (nread == UV_EOF) {
        hollow_session_feed(c->s, NULL, 0);
        if (!c->shutting)
            conn_close(c);
    } else if (nread < 0) {
        conn_close(c);
    }
}

static const struct hollow_session_io conn_io = {conn_write, conn_session_close};

static void on_connection(uv_stream_t *server, int status)
{
    struct hollow_engine *h = server->data;
    if (status < 0 || h->closing)
        return;
    struct hconn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return;
    c->h = h;
    uv_pipe_init(h->loop, &c->pipe, 0);
    c->pipe.data = c;
    c->next = h->conns;
    if (c->next)
        c->next->prev = c;
    h->conns = c;
    h->nconns++;
    if (uv_accept(server, (uv_stream_t *)&c->pipe) < 0) {
        conn_close(c);
        return;
    }
    h->stats.connections++;
    if (h->nconns > HOLLOW_CONNS_MAX || (c->s = hollow_session_new(h, &conn_io, c)) == NULL) {
        h->stats.refused++;
        conn_close(c);
        return;
    }
    uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
}

static void listener_closed(uv_handle_t *handle)
{
    struct hollow_engine *h = handle->data;
    h->listener_open = false;
    maybe_closed(h);
}

static void timer_closed(uv_handle_t *handle)
{
    struct hollow_engine *h = handle->data;
    h->timer_open = false;
    maybe_closed(h);
}

/* True if something accepts connections on path. */
static bool socket_answers(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    bool yes = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return yes;
}

int hollow_engine_listen(struct hollow_engine *h, uv_loop_t *loop, char *err, size_t errlen)
{
    if (h->socket_path == NULL) {
        snprintf(err, errlen, "hollow engine: no socket path");
        return -1;
    }
    if (h->loop != NULL) {
        snprintf(err, errlen, "hollow engine: already listening (or closing)");
        return -1;
    }
    if (socket_answers(h->socket_path)) {
        snprintf(err, errlen,
                 "hollow engine socket %s answers: another agent uses this state dir; give each "
                 "its own --state-dir",
                 h->socket_path);
        return -1;
    }
    unlink(h->socket_path); /* stale, from an agent that did not exit cleanly */
    h->loop = loop;
    uv_pipe_init(loop, &h->listener, 0);
    h->listener.data = h;
    h->listener_open = true;
    /* Created owner-only from the start: no window in which others could connect. */
    mode_t old = umask(0077);
    int rc = uv_pipe_bind(&h->listener, h->socket_path);
    umask(old);
    if (rc == 0 && chmod(h->socket_path, 0600) < 0)
        rc = uv_translate_sys_error(errno);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&h->listener, 128, on_connection);
    if (rc < 0) {
        snprintf(err, errlen, "hollow engine socket %s: %s", h->socket_path, uv_strerror(rc));
        h->closing = true;
        uv_close((uv_handle_t *)&h->listener, listener_closed);
        return -1;
    }
    uv_timer_init(loop, &h->until_timer);
    h->until_timer.data = h;
    h->timer_open = true;
    if (h->nuntil)
        uv_timer_start(&h->until_timer, on_until_timer, HOLLOW_UNTIL_TICK_MS, HOLLOW_UNTIL_TICK_MS);
    return 0;
}

void hollow_engine_close(struct hollow_engine *h, void (*on_closed)(void *arg), void *arg)
{
    if (h->loop == NULL) {
        if (on_closed)
            on_closed(arg);
        return;
    }
    h->on_closed = on_closed;
    h->closed_arg = arg;
    bool was_closing = h->closing;
    h->closing = true;
    if (h->listener_open && !was_closing) {
        uv_close((uv_handle_t *)&h->listener, listener_closed);
        unlink(h->socket_path);
    }
    if (h->timer_open && !uv_is_closing((uv_handle_t *)&h->until_timer))
        uv_close((uv_handle_t *)&h->until_timer, timer_closed);
    for (struct hconn *c = h->conns; c; c = c->next)
        conn_close(c);
}

/* ---- serve_while --------------------------------------------------------------------------------
 */

struct serve {
    struct hollow_engine *h;
    uv_loop_t loop;
    uv_async_t stop;
};

static void serve_stop(uv_async_t *a)
{
    struct serve *sv = a->data;
    hollow_engine_close(sv->h, NULL, NULL);
    uv_close((uv_handle_t *)a, NULL);
}

static void serve_thread(void *arg)
{
    struct serve *sv = arg;
    uv_run(&sv->loop, UV_RUN_DEFAULT);
}

int hollow_engine_serve_while(struct hollow_engine *h, int (*fn)(void *arg), void *arg, char *err,
                              size_t errlen)
{
    struct serve *sv = calloc(1, sizeof(*sv));
    if (sv == NULL) {
        snprintf(err, errlen, "hollow engine: out of memory");
        return -1;
    }
    sv->h = h;
    int rc = uv_loop_init(&sv->loop);
    if (rc < 0) {
        snprintf(err, errlen, "hollow engine: %s", uv_strerror(rc));
        free(sv);
        return -1;
    }
    if (hollow_engine_listen(h, &sv->loop, err, errlen) < 0) {
        uv_run(&sv->loop, UV_RUN_DEFAULT);
        uv_loop_close(&sv->loop);
        free(sv);
        return -1;
    }
    uv_async_init(&sv->loop, &sv->stop, serve_stop);
    sv->stop.data = sv;
    uv_thread_t tid;
    if ((rc = uv_thread_create(&tid, serve_thread, sv)) < 0) {
        snprintf(err, errlen, "hollow engine: cannot start a thread: %s", uv_strerror(rc));
        hollow_engine_close(h, NULL, NULL);
        uv_close((uv_handle_t *)&sv->stop, NULL);
        uv_run(&sv->loop, UV_RUN_DEFAULT);
        uv_loop_close(&sv->loop);
        free(sv);
        return -1;
    }
    rc = fn(arg);
    uv_async_send(&sv->stop);
    uv_thread_join(&tid);
    uv_loop_close(&sv->loop);
    free(sv);
    return rc;
}
