/* api_routes — the engine API over the cluster: view answers and proxied calls. See
 * api_routes.h. */
#include "manager/api_routes.h"

#include "common/log.h"
#include "manager/api_cluster.h"
#include "manager/api_proxy.h"
#include "manager/container_list.h"
#include "manager/create_retry.h"
#include "manager/reschedule.h"
#include "manager/sched_cache.h"
#include "manager/scheduler.h"

#include <sodium.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REF_MAX 512
#define URL_MAX 2048
/* An /events watcher this far behind is cut off rather than buffered without end. */
#define EVENTS_BACKLOG_MAX (8 * 1024 * 1024)

struct watcher {
    struct api_routes *r;
    struct api_exchange *x;
    struct watcher *prev, *next;
    json_t *filters; /* the client's filters (object of arrays), or NULL */
    int64_t until;   /* unix seconds, 0: none */
};

struct create_ctx;
struct settle;

/* The engines' recent container events, to settle a change whose event came before its answer
 * (the engine sends the event first; the agent's delta may overtake the relayed answer). */
#define RECENT_MAX 512

struct recent_event {
    char engine[ENGINES_NAME_MAX + 1];
    char id[72];
    char action[24];
};

#define NODE_CACHE 8

struct api_routes {
    uv_loop_t *loop;
    struct recent_event recent[RECENT_MAX];
    uint64_t nrecent; /* events recorded since start; recent[i % RECENT_MAX] */
    struct engines *es;
    struct settle *settling;
    struct watcher *watchers;
    struct create_ctx *inflight;
    struct sched_config sched;
    struct reschedule *resched; /* NULL: none */
    /* The scheduler's view, kept across creates (current_view); the engines handed to it. */
    struct sched_cache *view;
    struct engine **engine_list;
    size_t engine_cap;
    struct clist *listing; /* GET /containers/json's entry texts; NULL until the first */
    /* The Node object inspect answers carry, as text, per engine gen (gens are unique across
     * engines and change with anything the object shows): made once, not per inspect. */
    struct node_text {
        uint64_t gen;
        char *text; /* NULL: empty slot */
        size_t len;
    } node_cache[NODE_CACHE];
    struct icache *icache; /* kept inspect answers; NULL: none kept */
};

static int view_decorate(void *arg, struct sched_view *v, size_t i, const struct engine *e);

struct api_routes *api_routes_new(uv_loop_t *loop, struct engines *es,
                                  const struct sched_config *sched)
{
    struct api_routes *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->loop = loop;
    r->es = es;
    r->sched = *sched;
    struct sched_cache_hooks hooks = {.decorate = view_decorate, .arg = r};
    r->view = sched_cache_new(&hooks);
    r->icache = icache_new(API_ROUTES_INSPECT_CACHE);
    if (r->view == NULL || r->icache == NULL) {
        sched_cache_free(r->view);
        icache_free(r->icache);
        free(r);
        return NULL;
    }
    return r;
}

int api_routes_set_inspect_cache(struct api_routes *r, size_t bytes)
{
    struct icache *c = bytes ? icache_new(bytes) : NULL;
    if (bytes && c == NULL)
        return -1;
    icache_free(r->icache);
    r->icache = c;
    return 0;
}

bool api_routes_inspect_stats(const struct api_routes *r, struct icache_stats *out)
{
    if (r->icache == NULL)
        return false;
    icache_get_stats(r->icache, out);
    return true;
}

static void watcher_free(struct watcher *w)
{
    struct api_routes *r = w->r;
    if (w->prev)
        w->prev->next = w->next;
    else
        r->watchers = w->next;
    if (w->next)
        w->next->prev = w->prev;
    json_decref(w->filters);
    free(w);
}

static void watcher_end(struct watcher *w)
{
    struct api_exchange *x = w->x;
    size_t n = 0;
    char *last = api_http_chunk("", 0, &n);
    if (last)
        api_exchange_write(x, last, n);
    free(last);
    watcher_free(w);
    api_exchange_end(x, last != NULL);
}

static void routes_detach_creates(struct api_routes *r);
static void settle_all(struct api_routes *r);

void api_routes_free(struct api_routes *r)
{
    if (r == NULL)
        return;
    while (r->watchers)
        watcher_end(r->watchers);
    routes_detach_creates(r);
    settle_all(r);
    sched_cache_free(r->view);
    icache_free(r->icache);
    free(r->engine_list);
    clist_free(r->listing);
    for (size_t i = 0; i < NODE_CACHE; i++)
        free(r->node_cache[i].text);
    free(r);
}

/* ---- small helpers ---- */

static void respond_json(struct api_exchange *x, int status, json_t *v)
{
    char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    if (text == NULL) {
        api_proxy_error(x, 500, "swarm: out of memory");
        return;
    }
    size_t n = strlen(text);
    char *body = realloc(text, n + 2);
    if (body == NULL) {
        free(text);
        api_proxy_error(x, 500, "swarm: out of memory");
        return;
    }
    body[n] = '\n';
    body[n + 1] = '\0';
    api_proxy_respond(x, status, "application/json", body, n + 1);
    free(body);
}

/* The /vX.Y prefix the client used ("" if none): req->path minus path. */
static size_t prefix_len(const struct api_request *req, const char *path)
{
    size_t full = strlen(req->path), rest = strlen(path);
    return full >= rest ? full - rest : 0;
}

/* prefix + middle + query → out. */
static int build_url(char *out, size_t cap, const struct api_request *req, const char *path,
                     const char *middle)
{
    int n = snprintf(out, cap, "%.*s%s%s%s", (int)prefix_len(req, path), req->path, middle,
                     req->query[0] ? "?" : "", req->query);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static const char *json_str(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

/* The client asked for a fresh answer: Cache-Control no-cache, no-store or max-age=0, or
 * Pragma: no-cache (RFC 9111 5.2.1, 5.4). */
static bool wants_fresh(const struct api_request *req)
{
    const char *cc = api_request_header(req, "Cache-Control");
    const char *pragma = api_request_header(req, "Pragma");
    return (cc && (strcasestr(cc, "no-cache") || strcasestr(cc, "no-store") ||
                   strcasestr(cc, "max-age=0"))) ||
           (pragma && strcasestr(pragma, "no-cache"));
}

static bool engine_usable(const struct engine *e)
{
    return e->healthy && e->ready && e->conn != NULL;
}

/* ---- GET /containers/json ---- */

/* Does the value list of a filter key match? v: the candidate values. */
static bool filter_any(json_t *list, bool (*match)(const char *want, void *ctx), void *ctx)
{
    if (list == NULL)
        return true;
    if (json_is_object(list)) {
        /* The old form: {"value": true}. */
        const char *k;
        json_t *v;
        json_object_foreach(list, k, v)
        {
            if (match(k, ctx))
                return true;
        }
        return false;
    }
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        const char *want = json_string_value(v);
        if (want && match(want, ctx))
            return true;
    }
    return json_array_size(list) == 0;
}

/* Every value of a filter key must match (dockerd's rule for "label"). */
static bool filter_all(json_t *list, bool (*match)(const char *want, void *ctx), void *ctx)
{
    if (list == NULL)
        return true;
    if (json_is_object(list)) {
        const char *k;
        json_t *v;
        json_object_foreach(list, k, v)
        {
            if (!match(k, ctx))
                return false;
        }
        return true;
    }
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        const char *want = json_string_value(v);
        if (want == NULL || !match(want, ctx))
            return false;
    }
    return true;
}

struct cmatch {
    const struct engine *e;
    json_t *c;
};

static bool match_name(const char *want, void *ctx)
{
    struct cmatch *m = ctx;
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(m->c, "Names"), i, n)
    {
        const char *name = json_string_value(n);
        if (name == NULL)
            continue;
        char full[REF_MAX];
        snprintf(full, sizeof(full), "/%s%s", m->e->name, name);
        /* dockerd matches a regular expression; a substring covers the usual uses. */
        if (strstr(name, want) || strstr(full, want))
            return true;
    }
    return false;
}

static bool match_id(const char *want, void *ctx)
{
    struct cmatch *m = ctx;
    return strncmp(json_str(m->c, "Id"), want, strlen(want)) == 0;
}

static bool match_label_in(json_t *labels, const char *want)
{
    const char *eq = strchr(want, '=');
    if (eq == NULL)
        return json_object_get(labels, want) != NULL;
    char key[256];
    snprintf(key, sizeof(key), "%.*s", (int)(eq - want), want);
    const char *v = json_string_value(json_object_get(labels, key));
    return v && strcmp(v, eq + 1) == 0;
}

static bool match_label(const char *want, void *ctx)
{
    struct cmatch *m = ctx;
    return match_label_in(json_object_get(m->c, "Labels"), want);
}

static bool match_status(const char *want, void *ctx)
{
    struct cmatch *m = ctx;
    return strcmp(json_str(m->c, "State"), want) == 0;
}

static bool match_node(const char *want, void *ctx)
{
    struct cmatch *m = ctx;
    return fnmatch(want, m->e->name, 0) == 0 || strcmp(want, m->e->id) == 0;
}

static bool match_ancestor(const char *want, void *ctx)
{
    struct cmatch *m = ctx;
    const char *image = json_str(m->c, "Image");
    size_t n = strlen(want);
    return strcmp(image, want) == 0 || strncmp(json_str(m->c, "ImageID"), want, n) == 0 ||
           (strncmp(image, want, n) == 0 && image[n] == ':');
}

static bool match_exited(const char *want, void *ctx)
{
    struct cmatch *m = ctx;
    const char *status = json_str(m->c, "Status");
    char code[32];
    snprintf(code, sizeof(code), "Exited (%s)", want);
    return strncmp(status, code, strlen(code)) == 0;
}

/* A listing's rule: all (stopped ones and those of unhealthy engines too: the caller's reading
 * of the query) and each filter key's values (NULL: that key is absent). */
struct listing {
    bool all;
    json_t *name, *id, *label, *status, *node, *ancestor, *exited;
};

static void listing_init(struct listing *q, bool all, json_t *filters)
{
    q->all = all;
    q->name = json_object_get(filters, "name");
    q->id = json_object_get(filters, "id");
    q->label = json_object_get(filters, "label");
    q->status = json_object_get(filters, "status");
    q->node = json_object_get(filters, "node");
    q->ancestor = json_object_get(filters, "ancestor");
    q->exited = json_object_get(filters, "exited");
}

static bool listing_pick(void *arg, const struct engine *e, json_t *c)
{
    const struct listing *q = arg;
    if (!q->all && (strcmp(json_str(c, "State"), "running") != 0 || !e->healthy))
        return false;
    struct cmatch m = {e, c};
    return filter_any(q->name, match_name, &m) && filter_any(q->id, match_id, &m) &&
           filter_all(q->label, match_label, &m) && filter_any(q->status, match_status, &m) &&
           filter_any(q->node, match_node, &m) && filter_any(q->ancestor, match_ancestor, &m) &&
           filter_any(q->exited, match_exited, &m);
}

bool api_routes_container_listed(const struct engine *e, json_t *c, bool all, json_t *filters)
{
    struct listing q;
    listing_init(&q, all, filters);
    return listing_pick(&q, e, c);
}

int api_routes_containers_body(struct clist *cache, struct engine *const *list, size_t n,
                               const char *query, char **body, size_t *len, char *err,
                               size_t errlen)
{
    *body = NULL;
    *len = 0;
    char v[4096];
    bool all = api_query_get(query, "all", v, sizeof(v)) == 1 &&
               (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "True") == 0);
    long limit = -1;
    if (api_query_get(query, "limit", v, sizeof(v)) == 1 && v[0])
        limit = strtol(v, NULL, 10);
    json_t *filters = NULL;
    int fr = api_query_get(query, "filters", v, sizeof(v));
    if (fr < 0) {
        snprintf(err, errlen, "invalid filter: the filters parameter is too long");
        return 400;
    }
    if (fr == 1 && v[0]) {
        json_error_t jerr;
        filters = json_loads(v, 0, &jerr);
        if (!json_is_object(filters)) {
            json_decref(filters);
            snprintf(err, errlen, "invalid filter: %s", jerr.text);
            return 400;
        }
    }
    if (limit > 0)
        all = true; /* dockerd: -n implies -a */
    if (json_object_get(filters, "status"))
        all = true;
    struct listing q;
    listing_init(&q, all, filters);
    /* Without filters, all picks every entry. */
    int rc = clist_json(cache, list, n, all && filters == NULL ? NULL : listing_pick, &q, limit,
                        body, len);
    json_decref(filters);
    if (rc < 0) {
        snprintf(err, errlen, "swarm: out of memory");
        return 500;
    }
    return 200;
}

/* r->engine_list: the engines in order. Their number, or -1 on ENOMEM. */
static long engine_list_fill(struct api_routes *r)
{
    size_t n = engines_count(r->es);
    if (n > r->engine_cap) {
        size_t cap = n * 2;
        struct engine **list = realloc(r->engine_list, cap * sizeof(*list));
        if (list == NULL)
            return -1;
        r->engine_list = list;
        r->engine_cap = cap;
    }
    for (size_t i = 0; i < n; i++)
        r->engine_list[i] = engines_at(r->es, i);
    return (long)n;
}

static void containers_json(struct api_routes *r, const struct api_request *req,
                            struct api_exchange *x)
{
    char err[256] = "swarm: out of memory";
    char *body = NULL;
    size_t len = 0;
    int status = 500;
    if (r->listing == NULL)
        r->listing = clist_new();
    long n = r->listing ? engine_list_fill(r) : -1;
    if (n >= 0)
        status = api_routes_containers_body(r->listing, r->engine_list, (size_t)n, req->query,
                                            &body, &len, err, sizeof(err));
    if (status == 200)
        api_proxy_respond(x, 200, "application/json", body, len);
    else
        api_proxy_error(x, status, "%s", err);
    free(body);
}

/* ---- create ---- */

struct create_ctx {
    struct api_routes *r;
    struct create_ctx *prev, *next; /* r->inflight: creates the engines have not answered */
    char engine[ENGINES_NAME_MAX + 1];
    char name[REF_MAX];
    char *body;                 /* the rewritten config, as sent to engine */
    struct sched_request *sreq; /* what it reserves, for the decisions made meanwhile */
    int refs;                   /* proxies running for it (create, pull, create again) */
    /* The image-missing retry (create_retry.h): */
    json_t *cfg;                   /* the rewritten config before the CPU conversion */
    struct api_exchange *x;        /* the client's while the manager pulls; NULL: gone */
    const struct api_request *req; /* the client's request: valid while its exchange is */
    bool linked;                   /* in r->inflight, counted in its engine's pending */
    bool retried;                  /* the pull ran: no second one */
    int missing_status;            /* the engine's 404, given back if the pull fails */
    char missing_ctype[128];
    char *missing_body;
    size_t missing_len;
};

void api_routes_set_reschedule(struct api_routes *r, struct reschedule *rs)
{
    r->resched = rs;
}

/* The scheduler's view counts a create in flight on every engine of that name (view_decorate):
 * each one's reading changes when such a create comes or goes. */
static void touch_named(struct api_routes *r, const char *name)
{
    for (size_t i = 0; i < engines_count(r->es); i++) {
        struct engine *e = engines_at(r->es, i);
        if (strcmp(e->name, name) == 0)
            engine_touch(e);
    }
}

/* Takes cc out of the in-flight list and its engine's pending count. */
static void create_unlink(struct create_ctx *cc)
{
    if (!cc->linked)
        return;
    cc->linked = false;
    struct api_routes *r = cc->r; /* NULL: the routes were freed first (shutdown) */
    struct engine *e = r ? engines_find(r->es, cc->engine) : NULL;
    if (e && e->pending > 0)
        e->pending--;
    if (r)
        touch_named(r, cc->engine);
    if (cc->prev)
        cc->prev->next = cc->next;
    else if (r && r->inflight == cc)
        r->inflight = cc->next;
    if (cc->next)
        cc->next->prev = cc->prev;
    cc->prev = cc->next = NULL;
}

/* Counts cc on engine e (in flight there) until the engine answers. */
static void create_link(struct create_ctx *cc, struct engine *e)
{
    struct api_routes *r = cc->r;
    snprintf(cc->engine, sizeof(cc->engine), "%s", e->name);
    cc->prev = NULL;
    cc->next = r->inflight;
    if (r->inflight)
        r->inflight->prev = cc;
    r->inflight = cc;
    e->pending++;
    cc->linked = true;
    touch_named(r, cc->engine);
}

/* Each proxy's done: the create is over when the last of them is. */
static void create_done(void *arg)
{
    struct create_ctx *cc = arg;
    if (--cc->refs > 0)
        return;
    create_unlink(cc);
    sched_request_free(cc->sreq);
    json_decref(cc->cfg);
    free(cc->missing_body);
    free(cc->body);
    free(cc);
}

static void create_answered(void *arg, struct api_exchange *x, const char *engine, int status,
                            const char *ctype, const char *body, size_t len);
static struct sched_view *current_view(struct api_routes *r);
static struct engine *engine_with_image(struct api_routes *r, const char *ref);

/* Sends cc's create to engine e (cc->body) for the client's exchange x. */
static void create_send(struct create_ctx *cc, struct api_exchange *x, struct engine *e)
{
    struct api_proxy_opts o = {
        .body = cc->body,
        .body_len = strlen(cc->body),
        .body_set = true,
        .on_response = create_answered,
        .done = create_done,
        .arg = cc,
    };
    cc->refs++;
    api_proxy_start(x, e, cc->req, &o);
}

/* The client left while the manager was pulling: nothing more is created. */
static void create_abort(struct api_exchange *x, void *arg)
{
    (void)x;
    struct create_ctx *cc = arg;
    cc->x = NULL;
}

/* Gives the client the engine's first answer (its 404), as if the manager had not tried. */
static void create_give_up(struct create_ctx *cc)
{
    struct api_exchange *x = cc->x;
    cc->x = NULL;
    if (x)
        api_proxy_respond(x, cc->missing_status, cc->missing_ctype,
                          cc->missing_body ? cc->missing_body : "", cc->missing_len);
}

/* The pull failed: where the image already is, unless a node== constraint pins the container
 * (classic's retry with an image affinity). Returns true when a create went out. */
static bool create_where_image_is(struct create_ctx *cc)
{
    struct api_routes *r = cc->r;
    const char *image = cc->sreq->image;
    if (r == NULL || image == NULL || image[0] == '\0' || create_has_node_constraint(cc->sreq) ||
        engine_with_image(r, image) == NULL)
        return false;
    char expr[REF_MAX + 8];
    snprintf(expr, sizeof(expr), "image==%s", image);
    if (sched_request_add_expr(cc->sreq, SCHED_F_AFFINITY, expr) < 0)
        return false;
    /* Out of flight while deciding: its own entry would show the image where it is missing. */
    create_unlink(cc);
    struct engine *was = engines_find(r->es, cc->engine);
    struct sched_view *v = current_view(r);
    struct sched_result res;
    memset(&res, 0, sizeof(res));
    struct engine *best = NULL;
    json_t *cfg = NULL;
    char *body = NULL;
    if (v && sched_select(&r->sched, v, cc->sreq, 1, &res) == 0 &&
        v->nodes[res.ranked[0]].user != was) {
        best = v->nodes[res.ranked[0]].user;
        cfg = json_deep_copy(cc->cfg);
        if (cfg) {
            sched_body_set_cpu_shares(cfg, v->nodes[res.ranked[0]].cpus);
            body = json_dumps(cfg, JSON_COMPACT);
        }
    } else if (v) {
        log_info("api", "image %s: no other engine takes the container (%s)", image,
                 res.error ? res.error : "the same engine");
    }
    sched_result_clear(&res);
    json_decref(cfg);
    if (body == NULL) {
        if (was)
            create_link(cc, was);
        return false;
    }
    log_info("api", "image %s is on %s: the container goes there", image, best->name);
    free(cc->body);
    cc->body = body;
    create_link(cc, best);
    struct api_exchange *x = cc->x;
    cc->x = NULL;
    create_send(cc, x, best);
    return true;
}

/* The pull on the chosen engine has ended: create again there, or try where the image is, or
 * give the client the engine's 404. */
static void create_pulled(void *arg, struct api_exchange *px, const char *engine, int status,
                          const char *ctype, const char *body, size_t len)
{
    (void)px;
    (void)ctype;
    struct create_ctx *cc = arg;
    char err[512];
    bool ok = create_pull_result(status, body, len, err, sizeof(err)) == 0;
    if (cc->x == NULL) {
        log_info("api", "image %s pulled on %s for a client that left: not created",
                 cc->sreq->image, engine);
        return;
    }
    struct engine *e = cc->r ? engines_find(cc->r->es, engine) : NULL;
    if (ok && e) {
        log_info("api", "image %s pulled on %s: creating the container again", cc->sreq->image,
                 engine);
        struct api_exchange *x = cc->x;
        cc->x = NULL;
        create_send(cc, x, e);
        return;
    }
    log_info("api", "pulling image %s on %s failed: %s", cc->sreq->image, engine,
             ok ? "the engine is gone" : err);
    if (!create_where_image_is(cc))
        create_give_up(cc);
}

/* The engine said "No such image": pull it there (the client's headers, X-Registry-Auth
 * included, go along). Returns false when no pull could start. */
static bool create_pull(struct create_ctx *cc, struct api_exchange *x, const char *engine,
                        int status, const char *ctype, const char *body, size_t len)
{
    struct engine *e = cc->r ? engines_find(cc->r->es, engine) : NULL;
    char url[URL_MAX];
    if (e == NULL || cc->req == NULL ||
        create_pull_target(cc->req->path, prefix_len(cc->req, "/containers/create"),
                           cc->sreq->image, url, sizeof(url)) < 0)
        return false;
    cc->missing_body = malloc(len + 1);
    if (cc->missing_body == NULL)
        return false;
    memcpy(cc->missing_body, body, len);
    cc->missing_body[len] = '\0';
    cc->missing_len = len;
    cc->missing_status = status;
    snprintf(cc->missing_ctype, sizeof(cc->missing_ctype), "%s", ctype ? ctype : "");
    cc->retried = true;
    cc->x = x;
    struct api_exchange_callbacks cb = {.on_abort = create_abort};
    api_exchange_set_callbacks(x, &cb, cc);
    log_info("api", "image %s is not on %s: pulling it there", cc->sreq->image, engine);
    /* The pull is a POST without a body, whatever the create carried. */
    struct api_proxy_opts o = {
        .url = url,
        .body = "",
        .body_set = true,
        .on_response = create_pulled,
        .done = create_done,
        .arg = cc,
    };
    cc->refs++;
    api_proxy_start(NULL, e, cc->req, &o);
    return true;
}

static void create_answered(void *arg, struct api_exchange *x, const char *engine, int status,
                            const char *ctype, const char *body, size_t len)
{
    struct create_ctx *cc = arg;
    if (!cc->retried && x && create_image_missing(status, body, len) &&
        create_pull(cc, x, engine, status, ctype, body, len))
        return;
    if (status == 201) {
        json_t *v = json_loadb(body, len, 0, NULL);
        const char *id = json_string_value(json_object_get(v, "Id"));
        struct engine *e = cc->r ? engines_find(cc->r->es, engine) : NULL;
        if (id && e)
            engines_note_container(cc->r->es, e, id, cc->name);
        if (id && cc->r && cc->r->resched &&
            cc->sreq->reschedule == SCHED_RESCHEDULE_ON_NODE_FAILURE)
            reschedule_record(cc->r->resched, cc->sreq->swarm_id, cc->name, engine, id, cc->body);
        if (id)
            log_info("api", "container %.12s%s%s created on %s", id, cc->name[0] ? " " : "",
                     cc->name, engine);
        json_decref(v);
    }
    api_proxy_respond(x, status, ctype, body, len);
}

/* Creates still waiting for their engine finish on their own; they must not touch r. */
static void routes_detach_creates(struct api_routes *r)
{
    for (struct create_ctx *p = r->inflight; p; p = p->next)
        p->r = NULL;
}

/* 64 random hex digits: classic Swarm's com.docker.swarm.id, which follows a container through
 * rescheduling. */
static void make_swarm_id(char out[65])
{
    uint8_t b[32];
    randombytes_buf(b, sizeof(b));
    for (size_t i = 0; i < sizeof(b); i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* What the scheduler counts on engine e besides its own state (sched_cache's hook): it reads
 * e's readiness and the creates in flight there, and every change to either touches e. */
static int view_decorate(void *arg, struct sched_view *v, size_t i, const struct engine *e)
{
    struct api_routes *r = arg;
    /* An engine that cannot take a call now is not a candidate, whatever gossip says. */
    if (!engine_usable(e))
        v->nodes[i].health = 0;
    for (struct create_ctx *p = r->inflight; p; p = p->next)
        if (strcmp(p->engine, e->name) == 0 && sched_view_add_inflight(v, i, p->sreq) < 0)
            return -1;
    return 0;
}

/* The scheduler's view of the engines now, creates in flight included: kept across creates,
 * only the engines that changed since the last decision are read again (sched_cache.h).
 * Valid until the next call; NULL on ENOMEM. */
static struct sched_view *current_view(struct api_routes *r)
{
    long n = engine_list_fill(r);
    return n < 0 ? NULL : sched_cache_sync(r->view, r->engine_list, (size_t)n);
}

static void create_placed(struct api_routes *r, const struct api_request *req,
                          struct api_exchange *x, json_t *cfg, struct sched_request *sreq,
                          const char *bare);
static bool user_network(const char *mode);
static void locate_network_then_create(struct api_routes *r, const struct api_request *req,
                                       struct api_exchange *x, json_t *cfg,
                                       struct sched_request *sreq, const char *bare,
                                       const char *net);

static void containers_create(struct api_routes *r, const struct api_request *req,
                              struct api_exchange *x)
{
    char name[REF_MAX] = "";
    if (api_query_get(req->query, "name", name, sizeof(name)) < 0) {
        api_proxy_error(x, 400, "invalid container name: too long");
        return;
    }
    const char *bare = name[0] == '/' ? name + 1 : name;
    bool taken = bare[0] && engines_name_taken(r->es, bare);
    for (struct create_ctx *p = r->inflight; p && !taken && bare[0]; p = p->next)
        taken = strcmp(p->name, bare) == 0;
    if (taken) {
        struct engine *holder = NULL;
        json_t *c = NULL;
        engines_find_container(r->es, bare, &holder, &c);
        api_proxy_error(x, 409,
                        "Conflict. The container name \"/%s\" is already in use by container "
                        "\"%s\". You have to remove (or rename) that container to be able to "
                        "reuse that name.",
                        bare, c ? json_str(c, "Id") : "");
        return;
    }
    json_error_t jerr;
    json_t *cfg = req->body_len ? json_loadb(req->body, req->body_len, 0, &jerr) : json_object();
    if (!json_is_object(cfg)) {
        json_decref(cfg);
        api_proxy_error(x, 400, "invalid JSON: %s",
                        req->body_len ? jerr.text : "the container config is empty");
        return;
    }
    /* The scheduling expressions leave the environment (the engine never sees them) for the
     * com.docker.swarm.* labels, as classic Swarm stored them. */
    char sid[65], err[512];
    make_swarm_id(sid);
    struct sched_request *sreq = NULL;
    int status = 500;
    if (sched_request_from_body(cfg, bare, sid, &sreq, &status, err, sizeof(err)) < 0) {
        json_decref(cfg);
        api_proxy_error(x, status, "%s", err);
        return;
    }
    /* A container on a user network goes where that network is (a local network lives on one
     * engine); finding it takes a lookup on the engines first. */
    const char *net =
        json_string_value(json_object_get(json_object_get(cfg, "HostConfig"), "NetworkMode"));
    if (net && user_network(net)) {
        locate_network_then_create(r, req, x, cfg, sreq, bare, net);
        return;
    }
    create_placed(r, req, x, cfg, sreq, bare);
}

struct engine *api_routes_place(struct api_routes *r, json_t *body, const char *name, char *err,
                                size_t errlen)
{
    struct sched_request *sreq = NULL;
    int status = 500;
    if (sched_request_from_body(body, name, NULL, &sreq, &status, err, errlen) < 0)
        return NULL;
    struct sched_view *v = current_view(r);
    struct sched_result res;
    memset(&res, 0, sizeof(res));
    struct engine *e = NULL;
    if (v == NULL)
        snprintf(err, errlen, "out of memory");
    else if (sched_select(&r->sched, v, sreq, 1, &res) < 0)
        snprintf(err, errlen, "%s", res.error ? res.error : "no engine fits");
    else
        e = v->nodes[res.ranked[0]].user;
    sched_result_clear(&res);
    sched_request_free(sreq);
    return e;
}

/* Places and forwards a create whose request is ready (takes cfg and sreq). */
static void create_placed(struct api_routes *r, const struct api_request *req,
                          struct api_exchange *x, json_t *cfg, struct sched_request *sreq,
                          const char *bare)
{
    struct sched_view *v = current_view(r);
    struct sched_result res;
    memset(&res, 0, sizeof(res));
    if (v == NULL || sched_select(&r->sched, v, sreq, 1, &res) < 0) {
        if (v)
            api_proxy_error(x, res.status ? res.status : 500, "%s", res.error);
        else
            api_proxy_error(x, 500, "swarm: out of memory");
        sched_result_clear(&res);
        sched_request_free(sreq);
        json_decref(cfg);
        return;
    }
    struct sched_node *chosen = &v->nodes[res.ranked[0]];
    struct engine *best = chosen->user;
    /* The config keeps N CPUs for a placement elsewhere; the engine gets its own shares. */
    json_t *sent = json_deep_copy(cfg);
    if (sent)
        sched_body_set_cpu_shares(sent, chosen->cpus);
    sched_result_clear(&res);

    struct create_ctx *cc = calloc(1, sizeof(*cc));
    char *body = sent ? json_dumps(sent, JSON_COMPACT) : NULL;
    json_decref(sent);
    if (cc == NULL || body == NULL) {
        free(cc);
        free(body);
        json_decref(cfg);
        sched_request_free(sreq);
        api_proxy_error(x, 500, "swarm: out of memory");
        return;
    }
    cc->r = r;
    cc->body = body;
    cc->cfg = cfg;
    cc->sreq = sreq;
    cc->req = req;
    snprintf(cc->name, sizeof(cc->name), "%s", bare);
    create_link(cc, best);
    create_send(cc, x, best);
}

/* ---- calls on one container ---- */

struct object_ctx {
    struct api_routes *r;
    uint64_t since;   /* r->nrecent when the call was forwarded */
    char id[72];      /* the container's full id */
    const char *wait; /* the engine event that ends this call's change, or NULL */
    /* (an inspect whose answer may be kept) the engine's clock (a reference), its epoch and
     * the record's gen when the request went out, and the API version prefix */
    struct icache_clock *clock;
    uint64_t epoch, gen;
    char variant[ICACHE_VARIANT_MAX + 1];
};

/* ---- read your writes: a change is answered once the view shows it ----
 *
 * The engine answers a start, stop or rm before its agent's delta for it reaches the
 * manager, so a client that lists right after its own change would not see it. Such an
 * answer is held until the engine's event for that change (the last one the change makes)
 * has been applied to the view, for at most SETTLE_MS. */
#define SETTLE_MS 2000

struct settle {
    struct api_routes *r;
    struct settle *prev, *next;
    struct api_exchange *x;
    uv_timer_t timer;
    char engine[ENGINES_NAME_MAX + 1];
    char id[72];
    const char *action;
    int status;
    char ctype[128];
    char *body;
    size_t len;
};

static void settle_closed(uv_handle_t *h)
{
    struct settle *st = h->data;
    free(st->body);
    free(st);
}

/* Answers the held call (if its client is still there) and forgets it. */
static void settle_release(struct settle *st)
{
    struct api_routes *r = st->r;
    if (st->prev)
        st->prev->next = st->next;
    else
        r->settling = st->next;
    if (st->next)
        st->next->prev = st->prev;
    if (st->x)
        api_proxy_respond(st->x, st->status, st->ctype, st->body ? st->body : "", st->len);
    uv_close((uv_handle_t *)&st->timer, settle_closed);
}

static void settle_timeout(uv_timer_t *t)
{
    settle_release(t->data);
}

static void settle_abort(struct api_exchange *x, void *arg)
{
    (void)x;
    struct settle *st = arg;
    st->x = NULL;
}

static void settle_all(struct api_routes *r)
{
    while (r->settling)
        settle_release(r->settling);
}

/* An event from engine e: releases the calls it settles. */
static void settle_event(struct api_routes *r, const struct engine *e, json_t *ev)
{
    const char *id = json_str(json_object_get(ev, "Actor"), "ID");
    const char *action = json_str(ev, "Action");
    if (strcmp(json_str(ev, "Type"), "container") == 0) {
        struct recent_event *re = &r->recent[r->nrecent++ % RECENT_MAX];
        snprintf(re->engine, sizeof(re->engine), "%s", e->name);
        snprintf(re->id, sizeof(re->id), "%s", id);
        snprintf(re->action, sizeof(re->action), "%s", action);
    }
    for (struct settle *st = r->settling, *next; st; st = next) {
        next = st->next;
        if (strcmp(st->id, id) == 0 && strcmp(st->action, action) == 0 &&
            strcmp(st->engine, e->name) == 0)
            settle_release(st);
    }
}

/* The event the engine sends last for a change made by POST /containers/{id}/ACTION (or
 * DELETE: action ""), or NULL for calls that change nothing the view shows. */
static const char *settling_event(const char *method, const char *action)
{
    if (strcmp(method, "DELETE") == 0)
        return "destroy";
    if (strcmp(method, "POST") != 0)
        return NULL;
    static const char *const map[][2] = {
        {"start", "start"}, {"stop", "stop"},       {"kill", "die"},      {"restart", "restart"},
        {"pause", "pause"}, {"unpause", "unpause"}, {"rename", "rename"},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(action, map[i][0]) == 0)
            return map[i][1];
    }
    return NULL;
}

static void change_answered(void *arg, struct api_exchange *x, const char *engine, int status,
                            const char *ctype, const char *body, size_t len)
{
    struct object_ctx *oc = arg;
    struct api_routes *r = oc->r;
    bool seen = false;
    if (r && status / 100 == 2) {
        /* The event may have come first. */
        uint64_t from = r->nrecent - oc->since > RECENT_MAX ? r->nrecent - RECENT_MAX : oc->since;
        for (uint64_t i = from; i < r->nrecent && !seen; i++) {
            const struct recent_event *re = &r->recent[i % RECENT_MAX];
            seen = strcmp(re->id, oc->id) == 0 && strcmp(re->action, oc->wait) == 0 &&
                   strcmp(re->engine, engine) == 0;
        }
    }
    struct settle *st = status / 100 == 2 && r && !seen ? calloc(1, sizeof(*st)) : NULL;
    if (st && len)
        st->body = malloc(len);
    if (st == NULL || (len && st->body == NULL)) {
        if (st)
            free(st);
        api_proxy_respond(x, status, ctype, body, len);
        return;
    }
    st->r = r;
    st->x = x;
    snprintf(st->engine, sizeof(st->engine), "%s", engine);
    snprintf(st->id, sizeof(st->id), "%s", oc->id);
    snprintf(st->ctype, sizeof(st->ctype), "%s", ctype);
    st->action = oc->wait;
    st->status = status;
    if (len)
        memcpy(st->body, body, len);
    st->len = len;
    st->next = r->settling;
    if (r->settling)
        r->settling->prev = st;
    r->settling = st;
    struct api_exchange_callbacks cb = {.on_abort = settle_abort};
    api_exchange_set_callbacks(x, &cb, st);
    uv_timer_init(r->loop, &st->timer);
    st->timer.data = st;
    uv_timer_start(&st->timer, settle_timeout, SETTLE_MS, 0);
}

static void object_done(void *arg)
{
    struct object_ctx *oc = arg;
    icache_clock_unref(oc->clock);
    free(oc);
}

static json_t *node_object(const struct engine *e)
{
    json_t *labels = json_object();
    json_t *info_labels = json_object_get(e->info, "Labels");
    size_t i;
    json_t *l;
    json_array_foreach(info_labels, i, l)
    {
        const char *kv = json_string_value(l);
        const char *eq = kv ? strchr(kv, '=') : NULL;
        if (eq) {
            char key[256];
            snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
            json_object_set_new(labels, key, json_string(eq + 1));
        }
    }
    const char *kernel = json_str(e->info, "KernelVersion");
    const char *os = json_str(e->info, "OperatingSystem");
    const char *ostype = json_str(e->info, "OSType");
    const char *driver = json_str(e->info, "Driver");
    if (kernel[0])
        json_object_set_new(labels, "kernelversion", json_string(kernel));
    if (os[0])
        json_object_set_new(labels, "operatingsystem", json_string(os));
    if (ostype[0])
        json_object_set_new(labels, "ostype", json_string(ostype));
    if (driver[0])
        json_object_set_new(labels, "storagedriver", json_string(driver));
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:I, s:I, s:o}", "ID", e->id, "IP", e->ip, "Addr", e->addr, "Name",
        e->name, "Cpus", (json_int_t)json_integer_value(json_object_get(e->info, "NCPU")), "Memory",
        (json_int_t)json_integer_value(json_object_get(e->info, "MemTotal")), "Labels", labels);
}

/* e's Node object as compact JSON, from the cache while e's gen is the same; *len its length.
 * Valid until the next call; NULL when out of memory. */
static const char *node_text(struct api_routes *r, const struct engine *e, size_t *len)
{
    struct node_text *c = &r->node_cache[e->gen % NODE_CACHE];
    if (c->text == NULL || c->gen != e->gen) {
        json_t *node = node_object(e);
        char *text = node ? json_dumps(node, JSON_COMPACT) : NULL;
        json_decref(node);
        if (text == NULL)
            return NULL;
        free(c->text);
        c->text = text;
        c->gen = e->gen;
        c->len = strlen(text);
    }
    *len = c->len;
    return c->text;
}

/* Answers x with an engine's inspect body, "Node" spliced in before its closing brace (e's
 * Node object; as the engine gave it when e is NULL or the body is not an object): parsing and
 * re-encoding the whole inspect cost most of the manager's time on this call. */
static void inspect_respond(struct api_routes *r, struct api_exchange *x, const struct engine *e,
                            int status, const char *ctype, const char *body, size_t len,
                            const char *extra_headers)
{
    size_t end = len;
    while (end > 0 && (body[end - 1] == '\n' || body[end - 1] == ' ' || body[end - 1] == '\r'))
        end--;
    size_t start = 0;
    while (start < end && (body[start] == ' ' || body[start] == '\n'))
        start++;
    size_t nlen = 0;
    const char *ntext =
        status == 200 && e && end > start + 1 && body[start] == '{' && body[end - 1] == '}'
            ? node_text(r, e, &nlen)
            : NULL;
    if (ntext == NULL) {
        api_proxy_respond(x, status, ctype, body, len);
        return;
    }
    /* An empty object takes no comma. */
    size_t k = end - 1;
    while (k > start + 1 && (body[k - 1] == ' ' || body[k - 1] == '\n'))
        k--;
    bool empty = k == start + 1;
    size_t out_len = (end - 1) + (empty ? 0 : 1) + 7 + nlen + 2;
    char *out = malloc(out_len + 1);
    if (out == NULL) {
        api_proxy_error(x, 500, "swarm: out of memory");
        return;
    }
    size_t o = end - 1;
    memcpy(out, body, o);
    if (!empty)
        out[o++] = ',';
    memcpy(out + o, "\"Node\":", 7);
    o += 7;
    memcpy(out + o, ntext, nlen);
    o += nlen;
    out[o++] = '}';
    out[o++] = '\n';
    struct api_response resp = {.status = 200,
                                .content_type = ctype && ctype[0] ? ctype : NULL,
                                .body = out,
                                .body_len = o,
                                .extra_headers = extra_headers};
    api_exchange_respond(x, &resp);
    free(out);
}

static void inspect_answered(void *arg, struct api_exchange *x, const char *engine, int status,
                             const char *ctype, const char *body, size_t len)
{
    struct object_ctx *oc = arg;
    struct engine *e = oc->r ? engines_find(oc->r->es, engine) : NULL;
    /* Kept only if the record is the one asked and nothing about it changed meanwhile (an
     * event for this container, applied while the answer was on its way, moves gen). */
    if (oc->clock && e && e->clock == oc->clock && e->gen == oc->gen)
        icache_put(oc->r->icache, oc->id, oc->variant, oc->clock, oc->epoch, status, ctype, body,
                   len, uv_now(oc->r->loop));
    inspect_respond(oc->r, x, e, status, ctype, body, len, NULL);
}

static void exec_answered(void *arg, struct api_exchange *x, const char *engine, int status,
                          const char *ctype, const char *body, size_t len)
{
    struct object_ctx *oc = arg;
    if (status == 201) {
        json_t *v = json_loadb(body, len, 0, NULL);
        const char *id = json_string_value(json_object_get(v, "Id"));
        struct engine *e = engines_find(oc->r->es, engine);
        if (id && e)
            engines_note_exec(oc->r->es, e, id);
        json_decref(v);
    }
    api_proxy_respond(x, status, ctype, body, len);
}

static void not_found_container(struct api_exchange *x, const char *method, const char *ref,
                                bool ambiguous)
{
    if (ambiguous) {
        api_proxy_error(x, 404,
                        "No such container: %s (it names containers on several nodes; "
                        "use NODE/NAME or the id)",
                        ref);
        return;
    }
    if (strcmp(method, "DELETE") == 0)
        api_proxy_error(x, 404, "No such container: %s", ref);
    else
        api_proxy_error(x, 404, "No such container: %s", ref);
}

static void container_call(struct api_routes *r, const struct api_request *req, const char *path,
                           struct api_exchange *x)
{
    const char *rest = path + strlen("/containers/");
    char ref[REF_MAX];
    const char *action = "";
    if (strcmp(req->method, "DELETE") == 0) {
        snprintf(ref, sizeof(ref), "%s", rest);
    } else {
        const char *slash = strrchr(rest, '/');
        if (slash == NULL) {
            api_proxy_error(x, 404, "page not found: %s %s", req->method, path);
            return;
        }
        snprintf(ref, sizeof(ref), "%.*s", (int)(slash - rest), rest);
        action = slash + 1;
    }
    struct engine *e = NULL;
    json_t *c = NULL;
    enum engines_lookup lk = engines_find_container(r->es, ref, &e, &c);
    if (lk != ENGINES_FOUND) {
        not_found_container(x, req->method, ref, lk == ENGINES_AMBIGUOUS);
        return;
    }
    if (!e->healthy) {
        api_proxy_error(x, 500, "Container %s running on unhealthy node %s", ref, e->name);
        return;
    }
    bool inspect = strcmp(req->method, "GET") == 0 && strcmp(action, "json") == 0;
    size_t plen = prefix_len(req, path);
    bool keep = inspect && r->icache && e->clock && req->query[0] == '\0' &&
                plen <= ICACHE_VARIANT_MAX && !wants_fresh(req);
    char variant[ICACHE_VARIANT_MAX + 1] = "";
    if (keep) {
        snprintf(variant, sizeof(variant), "%.*s", (int)plen, req->path);
        const struct icache_entry *k = icache_get(r->icache, json_str(c, "Id"), variant, e->clock);
        if (k) {
            /* Age (RFC 9111 5.1): the answer comes from a cache, kept that many seconds. */
            char age[40];
            snprintf(age, sizeof(age), "Age: %llu\r\n",
                     (unsigned long long)((uv_now(r->loop) - k->stamp) / 1000));
            inspect_respond(r, x, e, 200, k->content_type, k->body, k->len, age);
            return;
        }
    }
    char middle[REF_MAX + 64], url[URL_MAX];
    snprintf(middle, sizeof(middle), "/containers/%s%s%s", json_str(c, "Id"), action[0] ? "/" : "",
             action);
    if (build_url(url, sizeof(url), req, path, middle) < 0) {
        api_proxy_error(x, 414, "the request's URL is too long");
        return;
    }
    struct object_ctx *oc = calloc(1, sizeof(*oc));
    if (oc == NULL) {
        api_proxy_error(x, 500, "swarm: out of memory");
        return;
    }
    oc->r = r;
    snprintf(oc->id, sizeof(oc->id), "%s", json_str(c, "Id"));
    oc->since = r->nrecent;
    if (keep) {
        oc->clock = icache_clock_ref(e->clock);
        oc->epoch = e->clock->epoch;
        oc->gen = e->gen;
        memcpy(oc->variant, variant, sizeof(oc->variant));
    }
    struct api_proxy_opts o = {
        .url = url, .done = object_done, .arg = oc, .body_stream = req->body_stream};
    o.read_only = inspect;
    if (inspect)
        o.on_response = inspect_answered;
    else if (strcmp(req->method, "POST") == 0 && strcmp(action, "exec") == 0)
        o.on_response = exec_answered;
    else if ((oc->wait = settling_event(req->method, action)) != NULL)
        o.on_response = change_answered;
    api_proxy_start(x, e, req, &o);
}

static void exec_call(struct api_routes *r, const struct api_request *req, const char *path,
                      struct api_exchange *x)
{
    const char *rest = path + strlen("/exec/");
    char id[REF_MAX];
    snprintf(id, sizeof(id), "%.*s", (int)strcspn(rest, "/"), rest);
    struct engine *e = engines_find_exec(r->es, id);
    if (e == NULL) {
        api_proxy_error(x, 404, "No such exec instance: %s", id);
        return;
    }
    struct api_proxy_opts o = {0};
    api_proxy_start(x, e, req, &o);
}

/* ---- images ---- */

static bool image_has_name(json_t *img, const char *ref)
{
    const char *id = json_str(img, "Id");
    size_t n = strlen(ref);
    if (n == 0)
        return false;
    if (strcmp(id, ref) == 0 ||
        (strncmp(id, "sha256:", 7) == 0 && n >= 4 && strncmp(id + 7, ref, n) == 0))
        return true;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(img, "RepoTags"), i, t)
    {
        const char *tag = json_string_value(t);
        if (tag == NULL)
            continue;
        if (strcmp(tag, ref) == 0)
            return true;
        /* "busybox" means "busybox:latest"; "library/busybox" and "docker.io/..." too. */
        size_t tl = strlen(tag);
        if (tl == n + 7 && strncmp(tag, ref, n) == 0 && strcmp(tag + n, ":latest") == 0)
            return true;
        const char *prefixes[] = {"library/", "docker.io/library/", "docker.io/"};
        for (size_t k = 0; k < 3; k++) {
            size_t pl = strlen(prefixes[k]);
            if (strncmp(ref, prefixes[k], pl) == 0 &&
                (strcmp(tag, ref + pl) == 0 ||
                 (strncmp(tag, ref + pl, n - pl) == 0 && strcmp(tag + n - pl, ":latest") == 0)))
                return true;
        }
    }
    return false;
}

static void images_json(struct api_routes *r, const struct api_request *req, struct api_exchange *x)
{
    char v[4096];
    json_t *filters = NULL;
    if (api_query_get(req->query, "filters", v, sizeof(v)) == 1 && v[0])
        filters = json_loads(v, 0, NULL);
    json_t *node_filter = filters ? json_object_get(filters, "node") : NULL;
    json_t *out = json_array();
    json_t *by_id = json_object();
    for (size_t i = 0; out && by_id && i < engines_count(r->es); i++) {
        struct engine *e = engines_at(r->es, i);
        struct cmatch m = {e, NULL};
        if (!filter_any(node_filter, match_node, &m))
            continue;
        size_t k;
        json_t *img;
        json_array_foreach(e->images, k, img)
        {
            const char *id = json_str(img, "Id");
            json_t *have = json_object_get(by_id, id);
            if (have == NULL) {
                json_t *copy = json_deep_copy(img);
                if (copy == NULL)
                    continue;
                json_object_set(by_id, id, copy);
                json_array_append_new(out, copy);
                continue;
            }
            /* The same image on several engines: one entry, tags and digests merged. */
            const char *keys[] = {"RepoTags", "RepoDigests"};
            for (size_t q = 0; q < 2; q++) {
                json_t *dst = json_object_get(have, keys[q]);
                size_t j;
                json_t *t;
                json_array_foreach(json_object_get(img, keys[q]), j, t)
                {
                    bool dup = false;
                    size_t z;
                    json_t *u;
                    json_array_foreach(dst, z, u) dup |= json_equal(t, u);
                    if (!dup && json_is_array(dst))
                        json_array_append(dst, t);
                }
            }
        }
    }
    json_decref(by_id);
    json_decref(filters);
    respond_json(x, 200, out);
}

static struct engine *engine_with_image(struct api_routes *r, const char *ref)
{
    for (size_t i = 0; i < engines_count(r->es); i++) {
        struct engine *e = engines_at(r->es, i);
        if (!engine_usable(e))
            continue;
        size_t k;
        json_t *img;
        json_array_foreach(e->images, k, img)
        {
            if (image_has_name(img, ref))
                return e;
        }
    }
    return NULL;
}

static void image_call(struct api_routes *r, const struct api_request *req, const char *path,
                       struct api_exchange *x)
{
    const char *rest = path + strlen("/images/");
    char ref[REF_MAX];
    if (strcmp(req->method, "DELETE") == 0) {
        snprintf(ref, sizeof(ref), "%s", rest);
    } else {
        const char *slash = strrchr(rest, '/');
        if (slash == NULL) {
            api_proxy_error(x, 404, "page not found: %s %s", req->method, path);
            return;
        }
        snprintf(ref, sizeof(ref), "%.*s", (int)(slash - rest), rest);
    }
    struct engine *e = engine_with_image(r, ref);
    if (e == NULL) {
        api_proxy_error(x, 404, "No such image: %s", ref);
        return;
    }
    struct api_proxy_opts o = {0};
    api_proxy_start(x, e, req, &o);
}

/* ---- fan-out: the same request to every usable engine, the answers combined ---- */

struct fan_result {
    char engine[ENGINES_NAME_MAX + 1];
    int status;
    json_t *body; /* parsed JSON answer, or NULL */
    char *raw;    /* the answer as sent, for errors passed on */
    size_t raw_len;
    char ctype[128];
};

struct fanout;
typedef void (*fan_combine)(struct fanout *f, struct api_exchange *x);

struct fanout {
    struct api_routes *r;
    struct api_exchange *x; /* NULL once the client left */
    fan_combine combine;
    void *ctx;                /* the combine's */
    void (*ctx_free)(void *); /* frees ctx when the fan-out ends (may be NULL) */
    int pending;
    size_t n, cap;
    struct fan_result *res;
    /* The client's body copied to every leg as it arrives (fan_opts.tee_body). */
    bool tee;
    bool tee_paused;       /* the client is not read: a leg's queue is full */
    struct fan_leg **legs; /* [cap]; NULL once a leg is done */
};

struct fan_leg {
    struct fanout *f;
    size_t slot;
    struct api_proxy *p; /* (tee) the leg in flight, NULL until it started */
};

static void fan_free(struct fanout *f)
{
    if (f->ctx_free)
        f->ctx_free(f->ctx);
    for (size_t i = 0; i < f->n; i++) {
        json_decref(f->res[i].body);
        free(f->res[i].raw);
    }
    free(f->res);
    free(f->legs);
    free(f);
}

static int fan_by_engine(const void *a, const void *b)
{
    return api_natural_cmp(((const struct fan_result *)a)->engine,
                           ((const struct fan_result *)b)->engine);
}

static void fan_maybe_finish(struct fanout *f)
{
    if (f->pending > 0)
        return;
    if (f->x) {
        qsort(f->res, f->n, sizeof(*f->res), fan_by_engine);
        struct api_exchange *x = f->x;
        f->x = NULL;
        f->combine(f, x);
    }
    fan_free(f);
}

static void fan_leg_answered(void *arg, struct api_exchange *x, const char *engine, int status,
                             const char *ctype, const char *body, size_t len)
{
    (void)x;
    struct fan_leg *leg = arg;
    struct fanout *f = leg->f;
    if (f->n == f->cap)
        return; /* cannot happen: cap is the number of legs */
    struct fan_result *res = &f->res[f->n++];
    memset(res, 0, sizeof(*res));
    snprintf(res->engine, sizeof(res->engine), "%s", engine);
    snprintf(res->ctype, sizeof(res->ctype), "%s", ctype);
    res->status = status;
    res->body = json_loadb(body, len, 0, NULL);
    res->raw = malloc(len + 1);
    if (res->raw) {
        memcpy(res->raw, body, len);
        res->raw[len] = '\0';
        res->raw_len = len;
    }
}

static void tee_maybe_resume(struct fanout *f);

static void fan_leg_done(void *arg)
{
    struct fan_leg *leg = arg;
    struct fanout *f = leg->f;
    if (f->legs)
        f->legs[leg->slot] = NULL;
    free(leg);
    f->pending--;
    if (f->pending > 0)
        tee_maybe_resume(f); /* the slow leg may be the one that went */
    fan_maybe_finish(f);
}

static void fan_abort(struct api_exchange *x, void *arg)
{
    (void)x;
    struct fanout *f = arg;
    f->x = NULL;
    for (size_t i = 0; f->legs && i < f->cap; i++) {
        if (f->legs[i] && f->legs[i]->p)
            api_proxy_cancel(f->legs[i]->p, "the client went away");
    }
}

/* ---- the tee: one client body to every leg, at the pace of the slowest ---- */

static void tee_maybe_resume(struct fanout *f)
{
    if (!f->tee || !f->tee_paused || f->x == NULL)
        return;
    for (size_t i = 0; i < f->cap; i++) {
        if (f->legs[i] && f->legs[i]->p &&
            api_proxy_body_queued(f->legs[i]->p) >= API_PROXY_BODY_HIGH)
            return;
    }
    f->tee_paused = false;
    api_exchange_read_start(f->x);
}

static void tee_drain(void *arg)
{
    struct fan_leg *leg = arg;
    tee_maybe_resume(leg->f);
}

static void tee_data(struct api_exchange *x, const char *data, size_t len, void *arg)
{
    struct fanout *f = arg;
    bool full = false;
    for (size_t i = 0; i < f->cap; i++) {
        struct fan_leg *leg = f->legs[i];
        if (leg == NULL || leg->p == NULL)
            continue;
        if (api_proxy_body_write(leg->p, data, len) == 0 &&
            api_proxy_body_queued(leg->p) >= API_PROXY_BODY_HIGH)
            full = true;
    }
    if (full && !f->tee_paused) {
        f->tee_paused = true;
        api_exchange_read_stop(x);
    }
}

static void tee_end(struct api_exchange *x, void *arg)
{
    (void)x;
    struct fanout *f = arg;
    for (size_t i = 0; i < f->cap; i++) {
        if (f->legs[i] && f->legs[i]->p)
            api_proxy_body_end(f->legs[i]->p);
    }
}

struct fan_opts {
    const char *url;  /* NULL: the client's */
    const char *body; /* with body_set: replaces the client's */
    size_t body_len;
    bool body_set;
    void *ctx;
    void (*ctx_free)(void *);
    bool tee_body; /* the client's streamed body goes to every engine */
};

/* Sends req to every usable engine; combine answers x once all have answered. fo may be
 * NULL. */
static void fanout_opts(struct api_routes *r, const struct api_request *req, struct api_exchange *x,
                        fan_combine combine, const struct fan_opts *fo)
{
    static const struct fan_opts none = {0};
    if (fo == NULL)
        fo = &none;
    size_t usable = 0;
    for (size_t i = 0; i < engines_count(r->es); i++)
        usable += engine_usable(engines_at(r->es, i));
    if (usable == 0) {
        if (fo->ctx_free)
            fo->ctx_free(fo->ctx);
        api_proxy_error(x, 500, "No healthy node available in the cluster");
        return;
    }
    struct fanout *f = calloc(1, sizeof(*f));
    struct fan_result *res = calloc(usable, sizeof(*res));
    struct fan_leg **legs = calloc(usable, sizeof(*legs));
    if (f == NULL || res == NULL || legs == NULL) {
        free(f);
        free(res);
        free(legs);
        if (fo->ctx_free)
            fo->ctx_free(fo->ctx);
        api_proxy_error(x, 500, "swarm: out of memory");
        return;
    }
    f->r = r;
    f->x = x;
    f->combine = combine;
    f->ctx = fo->ctx;
    f->ctx_free = fo->ctx_free;
    f->res = res;
    f->cap = usable;
    f->legs = legs;
    f->tee = fo->tee_body && req->body_stream;
    struct api_exchange_callbacks cb = {.on_abort = fan_abort};
    if (f->tee) {
        cb.on_client_data = tee_data;
        cb.on_body_end = tee_end;
    }
    api_exchange_set_callbacks(x, &cb, f);
    f->pending = 1; /* held until every leg started */
    size_t started = 0;
    for (size_t i = 0; i < engines_count(r->es); i++) {
        struct engine *e = engines_at(r->es, i);
        if (!engine_usable(e))
            continue;
        struct fan_leg *leg = calloc(1, sizeof(*leg));
        if (leg == NULL || started == usable) {
            free(leg);
            continue;
        }
        leg->f = f;
        leg->slot = started++;
        f->legs[leg->slot] = leg;
        f->pending++;
        struct api_proxy_opts o = {.url = fo->url,
                                   .body = fo->body,
                                   .body_len = fo->body_len,
                                   .body_set = fo->body_set,
                                   .on_response = fan_leg_answered,
                                   .done = fan_leg_done,
                                   .arg = leg,
                                   .body_stream = f->tee,
                                   .on_body_drain = f->tee ? tee_drain : NULL,
                                   .handle = f->tee ? &leg->p : NULL};
        api_proxy_start(NULL, e, req, &o);
    }
    f->pending--;
    fan_maybe_finish(f);
}

static void fanout(struct api_routes *r, const struct api_request *req, struct api_exchange *x,
                   fan_combine combine)
{
    fanout_opts(r, req, x, combine, NULL);
}

/* The first engine's success (in name order); else the first 404; else the first error. */
static void combine_first(struct fanout *f, struct api_exchange *x)
{
    struct fan_result *pick = NULL;
    for (size_t i = 0; i < f->n && pick == NULL; i++)
        if (f->res[i].status / 100 == 2)
            pick = &f->res[i];
    for (size_t i = 0; i < f->n && pick == NULL; i++)
        if (f->res[i].status == 404)
            pick = &f->res[i];
    if (pick == NULL && f->n > 0)
        pick = &f->res[0];
    if (pick == NULL) {
        api_proxy_error(x, 500, "swarm: no engine answered");
        return;
    }
    api_proxy_respond(x, pick->status, pick->ctype, pick->raw ? pick->raw : "", pick->raw_len);
}

/* A failed leg: the whole answer is that error, naming the engine. */
static bool fan_failed(struct fanout *f, struct api_exchange *x)
{
    for (size_t i = 0; i < f->n; i++) {
        struct fan_result *res = &f->res[i];
        if (res->status / 100 == 2 && res->body)
            continue;
        const char *msg = json_string_value(json_object_get(res->body, "message"));
        api_proxy_error(x, res->status / 100 == 2 ? 502 : res->status, "node %s: %s", res->engine,
                        msg ? msg : "an answer that is not JSON");
        return true;
    }
    return false;
}

/* Local-scope objects are shown as node/name, as classic Swarm listed them. */
static void prefix_name(json_t *obj, const char *key, const char *engine)
{
    const char *name = json_string_value(json_object_get(obj, key));
    if (name == NULL)
        return;
    char buf[REF_MAX];
    snprintf(buf, sizeof(buf), "%s/%s", engine, name);
    json_object_set_new(obj, key, json_string(buf));
}

/* GET /networks: every engine's networks; local ones as node/name, swarm-scope ones once. */
static void combine_networks(struct fanout *f, struct api_exchange *x)
{
    if (fan_failed(f, x))
        return;
    json_t *out = json_array();
    json_t *seen = json_object();
    for (size_t i = 0; out && seen && i < f->n; i++) {
        size_t k;
        json_t *net;
        json_array_foreach(f->res[i].body, k, net)
        {
            const char *scope = json_str(net, "Scope");
            if (strcmp(scope, "local") != 0) {
                const char *id = json_str(net, "Id");
                if (json_object_get(seen, id))
                    continue;
                json_object_set_new(seen, id, json_true());
                json_array_append(out, net);
                continue;
            }
            json_t *copy = json_deep_copy(net);
            if (copy == NULL)
                continue;
            prefix_name(copy, "Name", f->res[i].engine);
            json_array_append_new(out, copy);
        }
    }
    json_decref(seen);
    respond_json(x, 200, out);
}

/* GET /volumes: {"Volumes": [...], "Warnings": [...]} merged; local ones as node/name. */
static void combine_volumes(struct fanout *f, struct api_exchange *x)
{
    if (fan_failed(f, x))
        return;
    json_t *vols = json_array();
    json_t *warnings = json_array();
    for (size_t i = 0; vols && warnings && i < f->n; i++) {
        size_t k;
        json_t *v;
        json_array_foreach(json_object_get(f->res[i].body, "Volumes"), k, v)
        {
            json_t *copy = json_deep_copy(v);
            if (copy == NULL)
                continue;
            if (strcmp(json_str(copy, "Scope"), "global") != 0)
                prefix_name(copy, "Name", f->res[i].engine);
            json_array_append_new(vols, copy);
        }
        json_array_foreach(json_object_get(f->res[i].body, "Warnings"), k, v)
            json_array_append(warnings, v);
    }
    respond_json(x, 200, json_pack("{s:o, s:o}", "Volumes", vols, "Warnings", warnings));
}

/* ---- networks and volumes: node/name targets one engine, anything else every engine ---- */

/* A network mode naming a user network (not bridge, host, none, default or container:X). */
static bool user_network(const char *mode)
{
    return mode[0] && strcmp(mode, "default") != 0 && strcmp(mode, "bridge") != 0 &&
           strcmp(mode, "host") != 0 && strcmp(mode, "none") != 0 &&
           strncmp(mode, "container:", 10) != 0;
}

/* "NODE/rest" where NODE is an engine we know: that engine, and *rest after the slash. */
static struct engine *node_prefix(struct api_routes *r, const char *ref, const char **rest)
{
    const char *slash = strchr(ref, '/');
    if (slash == NULL || slash == ref || slash[1] == '\0')
        return NULL;
    char node[ENGINES_NAME_MAX + 1];
    if ((size_t)(slash - ref) >= sizeof(node))
        return NULL;
    memcpy(node, ref, (size_t)(slash - ref));
    node[slash - ref] = '\0';
    struct engine *e = engines_find(r->es, node);
    if (e)
        *rest = slash + 1;
    return e;
}

struct netcreate {
    struct api_routes *r;
    const struct api_request *req; /* valid while the exchange lives */
    json_t *cfg;
    struct sched_request *sreq;
    char name[REF_MAX];
    char net[REF_MAX];
};

static void netcreate_free(void *arg)
{
    struct netcreate *nc = arg;
    json_decref(nc->cfg);
    sched_request_free(nc->sreq);
    free(nc);
}

/* Where the network is: every engine that answered its inspect with a local-scope network;
 * the container is pinned to them. A network found nowhere is left to the engine to refuse. */
static void network_located(struct fanout *f, struct api_exchange *x)
{
    struct netcreate *nc = f->ctx;
    char expr[1024];
    size_t off = (size_t)snprintf(expr, sizeof(expr), "node==/^(");
    int found = 0;
    bool global = false;
    for (size_t i = 0; i < f->n; i++) {
        if (f->res[i].status != 200)
            continue;
        if (strcmp(json_str(f->res[i].body, "Scope"), "local") != 0)
            global = true;
        if (off + strlen(f->res[i].engine) + 8 < sizeof(expr))
            off += (size_t)snprintf(expr + off, sizeof(expr) - off, "%s%s", found ? "|" : "",
                                    f->res[i].engine);
        found++;
    }
    snprintf(expr + off, sizeof(expr) - off, ")$/");
    if (found > 0 && !global && sched_request_add_expr(nc->sreq, SCHED_F_CONSTRAINT, expr) < 0) {
        api_proxy_error(x, 500, "swarm: out of memory");
        return;
    }
    json_t *cfg = nc->cfg;
    struct sched_request *sreq = nc->sreq;
    nc->cfg = NULL;
    nc->sreq = NULL;
    create_placed(nc->r, nc->req, x, cfg, sreq, nc->name);
}

/* The network mode may be "node/net": pinned there, and the engine sees "net". */
static void locate_network_then_create(struct api_routes *r, const struct api_request *req,
                                       struct api_exchange *x, json_t *cfg,
                                       struct sched_request *sreq, const char *bare,
                                       const char *net)
{
    const char *rest = NULL;
    struct engine *e = node_prefix(r, net, &rest);
    if (e) {
        char plain[REF_MAX], expr[REF_MAX];
        snprintf(plain, sizeof(plain), "%s", rest);
        json_t *hc = json_object_get(cfg, "HostConfig");
        json_object_set_new(hc, "NetworkMode", json_string(plain));
        json_t *eps = json_object_get(json_object_get(cfg, "NetworkingConfig"), "EndpointsConfig");
        json_t *ep = json_object_get(eps, net);
        if (ep) {
            json_object_set(eps, plain, ep);
            json_object_del(eps, net);
        }
        snprintf(expr, sizeof(expr), "node==%s", e->name);
        if (sched_request_add_expr(sreq, SCHED_F_CONSTRAINT, expr) < 0) {
            json_decref(cfg);
            sched_request_free(sreq);
            api_proxy_error(x, 500, "swarm: out of memory");
            return;
        }
        create_placed(r, req, x, cfg, sreq, bare);
        return;
    }
    struct netcreate *nc = calloc(1, sizeof(*nc));
    char url[URL_MAX];
    int n = snprintf(url, sizeof(url), "/networks/%s", net);
    if (nc == NULL || n < 0 || (size_t)n >= sizeof(url)) {
        free(nc);
        json_decref(cfg);
        sched_request_free(sreq);
        api_proxy_error(x, 500, "swarm: out of memory");
        return;
    }
    nc->r = r;
    nc->req = req;
    nc->cfg = cfg;
    nc->sreq = sreq;
    snprintf(nc->name, sizeof(nc->name), "%s", bare);
    snprintf(nc->net, sizeof(nc->net), "%s", net);
    /* The lookup is a GET without a body, whatever the client's request was. */
    struct api_request look = *req;
    look.method = "GET";
    look.head = false;
    look.upgrade = false;
    struct fan_opts fo = {
        .url = url, .body = "", .body_set = true, .ctx = nc, .ctx_free = netcreate_free};
    fanout_opts(r, &look, x, network_located, &fo);
}

/* POST /networks/create: "node/name" there; otherwise on the engine with the fewest
 * containers (a local network lives on one engine, and its containers follow it there). */
static void networks_create(struct api_routes *r, const struct api_request *req,
                            struct api_exchange *x)
{
    json_t *cfg = json_loadb(req->body ? req->body : "", req->body_len, 0, NULL);
    const char *name = json_string_value(json_object_get(cfg, "Name"));
    if (!json_is_object(cfg) || name == NULL || name[0] == '\0') {
        json_decref(cfg);
        api_proxy_error(x, 400, "network name is required");
        return;
    }
    const char *rest = NULL;
    struct engine *e = node_prefix(r, name, &rest);
    if (e == NULL) {
        for (size_t i = 0; i < engines_count(r->es); i++) {
            struct engine *c = engines_at(r->es, i);
            if (engine_usable(c) && (e == NULL || json_array_size(c->containers) + c->pending <
                                                      json_array_size(e->containers) + e->pending))
                e = c;
        }
    } else {
        json_object_set_new(cfg, "Name", json_string(rest));
    }
    if (e == NULL || !engine_usable(e)) {
        json_decref(cfg);
        api_proxy_error(x, 500, e ? "swarm: node %s is not connected" : "%s",
                        e ? e->name : "No healthy node available in the cluster");
        return;
    }
    char *body = json_dumps(cfg, JSON_COMPACT);
    json_decref(cfg);
    if (body == NULL) {
        api_proxy_error(x, 500, "swarm: out of memory");
        return;
    }
    struct api_proxy_opts o = {
        .body = body, .body_len = strlen(body), .body_set = true, .done = free, .arg = body};
    api_proxy_start(x, e, req, &o);
}

/* POST /volumes/create: "node/name" there; otherwise on every engine, as classic Swarm did. */
static void volumes_create(struct api_routes *r, const struct api_request *req,
                           struct api_exchange *x)
{
    json_t *cfg = req->body_len ? json_loadb(req->body, req->body_len, 0, NULL) : json_object();
    if (!json_is_object(cfg)) {
        json_decref(cfg);
        api_proxy_error(x, 400, "invalid JSON in the volume config");
        return;
    }
    const char *name = json_string_value(json_object_get(cfg, "Name"));
    const char *rest = NULL;
    struct engine *e = name ? node_prefix(r, name, &rest) : NULL;
    if (e == NULL) {
        json_decref(cfg);
        fanout(r, req, x, combine_first);
        return;
    }
    json_object_set_new(cfg, "Name", json_string(rest));
    char *body = json_dumps(cfg, JSON_COMPACT);
    json_decref(cfg);
    if (body == NULL) {
        api_proxy_error(x, 500, "swarm: out of memory");
        return;
    }
    struct api_proxy_opts o = {
        .body = body, .body_len = strlen(body), .body_set = true, .done = free, .arg = body};
    api_proxy_start(x, e, req, &o);
}

/* /networks/{ref}[/action] and /volumes/{ref}: "node/ref" goes to that engine with the node
 * taken out of the path; anything else to every engine, the first success answering (a
 * delete removes it from every engine that has it). */
static void scoped_call(struct api_routes *r, const struct api_request *req, const char *path,
                        struct api_exchange *x)
{
    const char *kind_end = strchr(path + 1, '/');
    const char *ref = kind_end + 1;
    const char *rest = NULL;
    struct engine *e = node_prefix(r, ref, &rest);
    if (e == NULL) {
        fanout(r, req, x, combine_first);
        return;
    }
    char middle[URL_MAX], url[URL_MAX];
    snprintf(middle, sizeof(middle), "%.*s/%s", (int)(kind_end - path), path, rest);
    if (build_url(url, sizeof(url), req, path, middle) < 0) {
        api_proxy_error(x, 414, "the request's URL is too long");
        return;
    }
    struct api_proxy_opts o = {.url = url};
    api_proxy_start(x, e, req, &o);
}

/* ---- pull: every engine, progress merged ---- */

/* One progress line of engine's pull, its id (or status) prefixed with the engine's name so
 * the CLI shows one line per node and layer. */
static void pull_write_line(struct api_exchange *x, const char *engine, json_t *line)
{
    const char *key = json_is_string(json_object_get(line, "id"))       ? "id"
                      : json_is_string(json_object_get(line, "status")) ? "status"
                      : json_is_string(json_object_get(line, "stream")) ? "stream"
                                                                        : NULL;
    char buf[REF_MAX];
    if (key) {
        snprintf(buf, sizeof(buf), "%s: %s", engine, json_string_value(json_object_get(line, key)));
        json_object_set_new(line, key, json_string(buf));
    }
    char *text = json_dumps(line, JSON_COMPACT);
    size_t tl = text ? strlen(text) : 0;
    char *withnl = text ? realloc(text, tl + 2) : NULL;
    if (withnl == NULL) {
        free(text);
        return;
    }
    withnl[tl] = '\n';
    size_t n = 0;
    char *chunk = api_http_chunk(withnl, tl + 1, &n);
    if (chunk)
        api_exchange_write(x, chunk, n);
    free(chunk);
    free(withnl);
}

/* Every engine's progress (pull, import, load), one engine after the other (each leg is buffered,
 * so lines never interleave mid-object), as one chunked stream of ours; a failed engine's error as
 * a line. */
static void combine_pull(struct fanout *f, struct api_exchange *x)
{
    struct api_http_common common = {.api_version = api_exchange_api_version(x),
                                     .server = api_exchange_server_header(x),
                                     .now = time(NULL)};
    size_t hn = 0;
    char *head = api_http_format_stream_head(200, "application/json", &common, &hn);
    if (head == NULL || api_exchange_write(x, head, hn) < 0) {
        free(head);
        api_exchange_end(x, false);
        return;
    }
    free(head);
    for (size_t i = 0; i < f->n; i++) {
        const struct fan_result *res = &f->res[i];
        if (res->status != 200) {
            const char *msg = json_string_value(json_object_get(res->body, "message"));
            json_t *line = json_pack("{s:s, s:{s:s}}", "error", msg ? msg : "pull failed",
                                     "errorDetail", "message", msg ? msg : "pull failed");
            if (line)
                pull_write_line(x, res->engine, line);
            json_decref(line);
            continue;
        }
        const char *p = res->raw ? res->raw : "", *end = p + res->raw_len;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
            json_t *line = l ? json_loadb(p, l, 0, NULL) : NULL;
            if (json_is_object(line))
                pull_write_line(x, res->engine, line);
            json_decref(line);
            p += l + 1;
        }
    }
    size_t n = 0;
    char *last = api_http_chunk("", 0, &n);
    if (last)
        api_exchange_write(x, last, n);
    free(last);
    api_exchange_end(x, last != NULL);
}

static void images_create(struct api_routes *r, const struct api_request *req,
                          struct api_exchange *x)
{
    char v[REF_MAX];
    if (api_query_get(req->query, "fromImage", v, sizeof(v)) != 1 || v[0] == '\0') {
        /* Import (fromSrc: a URL each engine fetches, or "-" and the body) on every engine, as
         * classic Swarm did: the body is copied to each as it arrives. */
        if (api_query_get(req->query, "fromSrc", v, sizeof(v)) != 1 || v[0] == '\0') {
            api_proxy_error(x, 400, "swarm: POST /images/create needs fromImage or fromSrc");
            return;
        }
        struct fan_opts fo = {.tee_body = true};
        fanout_opts(r, req, x, combine_pull, &fo);
        return;
    }
    fanout(r, req, x, combine_pull);
}

/* ---- save: the images tarball from the engine that has them ---- */

static void images_get(struct api_routes *r, const struct api_request *req, struct api_exchange *x)
{
    char name[REF_MAX];
    if (api_query_get(req->query, "names", name, sizeof(name)) != 1 || name[0] == '\0') {
        api_proxy_error(x, 400, "swarm: GET /images/get needs names");
        return;
    }
    /* The engine with the first name; the others must be there too, or it says which. */
    struct engine *e = engine_with_image(r, name);
    if (e == NULL) {
        api_proxy_error(x, 404, "No such image: %s", name);
        return;
    }
    struct api_proxy_opts o = {0};
    api_proxy_start(x, e, req, &o);
}

/* ---- load: the images tarball to every engine ---- */

static void images_load(struct api_routes *r, const struct api_request *req, struct api_exchange *x)
{
    struct fan_opts fo = {.tee_body = true};
    fanout_opts(r, req, x, combine_pull, &fo);
}

/* ---- build: on one engine the scheduler picks ---- */

/* The build's placement request as a container config: its build args as Env (so
 * `--build-arg constraint:node==h1` and affinities work as in classic Swarm), cpushares and
 * memory as reservations. A new object (caller decrefs), NULL when out of memory. */
static json_t *build_config(const struct api_request *req)
{
    json_t *cfg = json_pack("{s:s, s:[], s:{}}", "Image", "", "Env", "HostConfig");
    if (cfg == NULL)
        return NULL;
    char v[API_HTTP_HEAD_MAX / 4];
    if (api_query_get(req->query, "buildargs", v, sizeof(v)) == 1) {
        json_t *args = json_loads(v, 0, NULL);
        const char *k;
        json_t *val;
        json_object_foreach(args, k, val)
        {
            char env[1024];
            const char *sv = json_string_value(val);
            snprintf(env, sizeof(env), "%s=%s", k, sv ? sv : "");
            json_array_append_new(json_object_get(cfg, "Env"), json_string(env));
        }
        json_decref(args);
    }
    json_t *hc = json_object_get(cfg, "HostConfig");
    if (api_query_get(req->query, "cpushares", v, sizeof(v)) == 1 && v[0])
        json_object_set_new(hc, "CpuShares", json_integer(strtoll(v, NULL, 10)));
    if (api_query_get(req->query, "memory", v, sizeof(v)) == 1 && v[0])
        json_object_set_new(hc, "Memory", json_integer(strtoll(v, NULL, 10)));
    return cfg;
}

static void build(struct api_routes *r, const struct api_request *req, struct api_exchange *x)
{
    json_t *cfg = build_config(req);
    if (cfg == NULL) {
        api_proxy_error(x, 500, "swarm: out of memory");
        return;
    }
    char err[512] = "";
    struct engine *e = api_routes_place(r, cfg, NULL, err, sizeof(err));
    json_decref(cfg);
    if (e == NULL) {
        api_proxy_error(x, 500, "swarm: no engine to build on: %s", err);
        return;
    }
    log_info("api", "build on node %s", e->name);
    struct api_proxy_opts o = {.body_stream = req->body_stream};
    api_proxy_start(x, e, req, &o);
}

/* ---- events ---- */

static bool event_matches(const struct watcher *w, const struct engine *e, json_t *ev)
{
    if (w->filters == NULL)
        return true;
    json_t *actor = json_object_get(ev, "Actor");
    json_t *attrs = json_object_get(actor, "Attributes");
    const char *type = json_str(ev, "Type");
    const char *action = json_str(ev, "Action");
    const char *id = json_str(actor, "ID");
    const char *name = json_str(attrs, "name");
    const char *image = json_str(attrs, "image");
    const char *k;
    json_t *list;
    json_object_foreach(w->filters, k, list)
    {
        bool any = false, known = true, label_miss = false;
        size_t i;
        json_t *v;
        json_t *values = list;
        json_t *keys = NULL;
        if (json_is_object(list)) {
            keys = json_array();
            const char *kk;
            json_t *vv;
            json_object_foreach(list, kk, vv) json_array_append_new(keys, json_string(kk));
            values = keys;
        }
        json_array_foreach(values, i, v)
        {
            const char *want = json_string_value(v);
            if (want == NULL)
                continue;
            if (strcmp(k, "type") == 0)
                any |= strcmp(type, want) == 0;
            else if (strcmp(k, "event") == 0)
                any |= strcmp(action, want) == 0 || strncmp(action, want, strlen(want)) == 0;
            else if (strcmp(k, "container") == 0)
                any |= strcmp(type, "container") == 0 &&
                       (strncmp(id, want, strlen(want)) == 0 || strcmp(name, want) == 0);
            else if (strcmp(k, "image") == 0)
                any |= strcmp(image, want) == 0 || strcmp(id, want) == 0;
            else if (strcmp(k, "label") == 0)
                label_miss |= !match_label_in(attrs, want);
            else if (strcmp(k, "node") == 0)
                any |= e && (strcmp(e->name, want) == 0 || strcmp(e->id, want) == 0);
            else
                known = false;
        }
        json_decref(keys);
        if (strcmp(k, "label") == 0) {
            if (label_miss)
                return false;
            continue;
        }
        if (known && json_array_size(values) > 0 && !any)
            return false;
    }
    return true;
}

static void broadcast(struct api_routes *r, const struct engine *e, json_t *ev)
{
    char *text = NULL;
    size_t tl = 0;
    int64_t now = (int64_t)time(NULL);
    for (struct watcher *w = r->watchers, *next; w; w = next) {
        next = w->next;
        if (w->until && now > w->until) {
            watcher_end(w);
            continue;
        }
        if (!event_matches(w, e, ev))
            continue;
        if (text == NULL) {
            text = json_dumps(ev, JSON_COMPACT);
            if (text == NULL)
                return;
            tl = strlen(text);
            char *t = realloc(text, tl + 2);
            if (t == NULL) {
                free(text);
                return;
            }
            text = t;
            text[tl++] = '\n';
            text[tl] = '\0';
        }
        if (api_exchange_queued(w->x) > EVENTS_BACKLOG_MAX) {
            log_info("api", "an /events client fell %d MiB behind: its stream is ended",
                     EVENTS_BACKLOG_MAX >> 20);
            struct api_exchange *x = w->x;
            watcher_free(w);
            api_exchange_end(x, false);
            continue;
        }
        size_t n = 0;
        char *chunk = api_http_chunk(text, tl, &n);
        if (chunk)
            api_exchange_write(w->x, chunk, n);
        free(chunk);
    }
    free(text);
}

/* The containers an engine event may change the inspect of: the actor of a container event
 * (its "id" too, as older engines sent it), and the "container" attribute of a network
 * (connect, disconnect) or volume (mount, unmount) event. */
static void forget_inspects(struct api_routes *r, const struct engine *e, json_t *event)
{
    if (r->icache == NULL)
        return;
    json_t *actor = json_object_get(event, "Actor");
    const char *type = json_string_value(json_object_get(event, "Type"));
    const char *ids[3] = {
        type && strcmp(type, "container") == 0 ? json_string_value(json_object_get(actor, "ID"))
                                               : NULL,
        json_string_value(json_object_get(event, "id")),
        json_string_value(json_object_get(json_object_get(actor, "Attributes"), "container")),
    };
    bool any = false;
    for (size_t i = 0; i < 3; i++) {
        if (ids[i] && ids[i][0]) {
            icache_drop_id(r->icache, ids[i]);
            any = true;
        }
    }
    /* A container event that names no container: nothing kept for the engine stands. */
    if (!any && type && strcmp(type, "container") == 0)
        icache_clock_bump(e->clock);
}

void api_routes_engine_event(struct api_routes *r, const struct engine *e, json_t *event)
{
    if (!json_is_object(event))
        return;
    forget_inspects(r, e, event);
    settle_event(r, e, event);
    if (r->resched)
        reschedule_event(r->resched, e, event);
    if (r->watchers == NULL)
        return;
    json_t *ev = json_deep_copy(event);
    if (ev == NULL)
        return;
    /* Classic Swarm's tagging: node fields in the attributes and a top-level "node". */
    json_t *actor = json_object_get(ev, "Actor");
    json_t *attrs = json_object_get(actor, "Attributes");
    if (json_is_object(attrs)) {
        json_object_set_new(attrs, "node.name", json_string(e->name));
        json_object_set_new(attrs, "node.id", json_string(e->id));
        json_object_set_new(attrs, "node.addr", json_string(e->addr));
        json_object_set_new(attrs, "node.ip", json_string(e->ip));
    }
    const char *from = json_string_value(json_object_get(ev, "from"));
    if (from) {
        char buf[REF_MAX];
        snprintf(buf, sizeof(buf), "%s node:%s", from, e->name);
        json_object_set_new(ev, "from", json_string(buf));
    }
    json_object_set_new(ev, "node",
                        json_pack("{s:s, s:s, s:s, s:s}", "Name", e->name, "Id", e->id, "Addr",
                                  e->addr, "Ip", e->ip));
    broadcast(r, e, ev);
    json_decref(ev);
}

void api_routes_swarm_event(struct api_routes *r, const struct engine *e, const char *action)
{
    if (r->watchers == NULL)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    json_t *ev = json_pack(
        "{s:s, s:s, s:s, s:{s:s, s:{s:s, s:s, s:s, s:s}}, s:s, s:I, s:I, s:{s:s, s:s, s:s, s:s}}",
        "Type", "swarm", "Action", action, "status", action, "Actor", "ID", e->id, "Attributes",
        "node.name", e->name, "node.id", e->id, "node.addr", e->addr, "node.ip", e->ip, "from",
        "swarm", "time", (json_int_t)ts.tv_sec, "timeNano",
        (json_int_t)ts.tv_sec * 1000000000 + ts.tv_nsec, "node", "Name", e->name, "Id", e->id,
        "Addr", e->addr, "Ip", e->ip);
    if (ev)
        broadcast(r, e, ev);
    json_decref(ev);
}

static void watcher_abort(struct api_exchange *x, void *arg)
{
    (void)x;
    watcher_free(arg);
}

static void events(struct api_routes *r, const struct api_request *req, struct api_exchange *x)
{
    char v[4096];
    struct watcher *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        api_proxy_error(x, 500, "swarm: out of memory");
        return;
    }
    if (api_query_get(req->query, "filters", v, sizeof(v)) == 1 && v[0]) {
        w->filters = json_loads(v, 0, NULL);
        if (!json_is_object(w->filters)) {
            json_decref(w->filters);
            free(w);
            api_proxy_error(x, 400, "invalid filter: expected a JSON object of lists");
            return;
        }
    }
    if (api_query_get(req->query, "until", v, sizeof(v)) == 1 && v[0])
        w->until = strtoll(v, NULL, 10);
    struct api_http_common common = {.api_version = api_exchange_api_version(x),
                                     .server = api_exchange_server_header(x),
                                     .now = time(NULL)};
    size_t hn = 0;
    char *head = api_http_format_stream_head(200, "application/json", &common, &hn);
    if (head == NULL || api_exchange_write(x, head, hn) < 0) {
        free(head);
        json_decref(w->filters);
        free(w);
        return;
    }
    free(head);
    w->r = r;
    w->x = x;
    w->next = r->watchers;
    if (r->watchers)
        r->watchers->prev = w;
    r->watchers = w;
    struct api_exchange_callbacks cb = {.on_abort = watcher_abort};
    api_exchange_set_callbacks(x, &cb, w);
    if (w->until && w->until <= (int64_t)time(NULL))
        watcher_end(w); /* nothing to replay: the stream is over at once */
}

/* ---- the take hook ---- */

static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool ends(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

bool api_routes_streams_body(void *arg, const struct api_request *req, const char *path)
{
    (void)arg;
    const char *m = req->method;
    if (strcmp(m, "PUT") == 0)
        return starts(path, "/containers/") && ends(path, "/archive");
    if (strcmp(m, "POST") != 0)
        return false;
    if (strcmp(path, "/build") == 0 || strcmp(path, "/images/load") == 0)
        return true;
    char v[8];
    return strcmp(path, "/images/create") == 0 &&
           api_query_get(req->query, "fromImage", v, sizeof(v)) == 0;
}

bool api_routes_take(void *arg, const struct api_request *req, const char *path,
                     struct api_exchange *x)
{
    struct api_routes *r = arg;
    const char *m = req->method;
    bool get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
    bool post = strcmp(m, "POST") == 0;
    if (get && strcmp(path, "/containers/json") == 0) {
        containers_json(r, req, x);
        return true;
    }
    if (post && strcmp(path, "/containers/create") == 0) {
        containers_create(r, req, x);
        return true;
    }
    if (strcmp(path, "/containers/prune") == 0)
        return false;
    if (starts(path, "/containers/") && path[strlen("/containers/")]) {
        container_call(r, req, path, x);
        return true;
    }
    if (starts(path, "/exec/") && path[strlen("/exec/")]) {
        exec_call(r, req, path, x);
        return true;
    }
    if (get && strcmp(path, "/images/json") == 0) {
        images_json(r, req, x);
        return true;
    }
    if (post && strcmp(path, "/images/create") == 0) {
        images_create(r, req, x);
        return true;
    }
    if (get && strcmp(path, "/images/get") == 0) {
        images_get(r, req, x);
        return true;
    }
    if (post && strcmp(path, "/images/load") == 0) {
        images_load(r, req, x);
        return true;
    }
    if (post && strcmp(path, "/build") == 0) {
        build(r, req, x);
        return true;
    }
    if (starts(path, "/images/") && path[strlen("/images/")] && !starts(path, "/images/search") &&
        !starts(path, "/images/get") && !starts(path, "/images/load") &&
        !starts(path, "/images/prune")) {
        image_call(r, req, path, x);
        return true;
    }
    if (get && (strcmp(path, "/networks") == 0 || strcmp(path, "/volumes") == 0)) {
        fanout(r, req, x, path[1] == 'n' ? combine_networks : combine_volumes);
        return true;
    }
    if (post && strcmp(path, "/networks/create") == 0) {
        networks_create(r, req, x);
        return true;
    }
    if (post && strcmp(path, "/volumes/create") == 0) {
        volumes_create(r, req, x);
        return true;
    }
    if (strcmp(path, "/networks/prune") == 0 || strcmp(path, "/volumes/prune") == 0)
        return false;
    if ((starts(path, "/networks/") && path[strlen("/networks/")]) ||
        (starts(path, "/volumes/") && path[strlen("/volumes/")])) {
        scoped_call(r, req, path, x);
        return true;
    }
    if (get && starts(path, "/plugins/") && path[strlen("/plugins/")]) {
        fanout(r, req, x, combine_first); /* whichever engine has it */
        return true;
    }
    if (get && strcmp(path, "/events") == 0) {
        events(r, req, x);
        return true;
    }
    return false;
}
