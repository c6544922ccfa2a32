/* reschedule — containers marked on-node-failure follow a failed host. See reschedule.h. */
#include "manager/reschedule.h"

#include "common/log.h"
#include "manager/api_proxy.h"
#include "manager/api_routes.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SID_MAX 72

struct record {
    struct record *next;
    char sid[SID_MAX];
    char name[256];
    char engine[ENGINES_NAME_MAX + 1];
    char id[SID_MAX];
    char *body;   /* the create config, JSON text */
    bool busy;    /* a create or start for it is in flight */
    bool pending; /* its engine failed: to be recreated */
};

struct reschedule {
    uv_loop_t *loop;
    struct engines *es;
    struct api_routes *routes;
    char dir[4096];
    struct record *records;
    uv_timer_t timer; /* retries pending records */
    bool timer_armed;
    struct ref *ref; /* what calls in flight hold */
};

/* Calls in flight outlive the reschedule if it is freed first: they hold this, and find rs
 * NULL then; the last one frees it. */
struct ref {
    struct reschedule *rs;
    int calls;
};

/* ---- records on disk ---- */

static void record_path(const struct reschedule *rs, const char *sid, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s.json", rs->dir, sid);
}

/* Writes the record atomically (temp file, fsync, rename). */
static void record_save(const struct reschedule *rs, const struct record *rec)
{
    json_t *body = json_loads(rec->body, 0, NULL);
    json_t *v =
        json_pack("{s:s, s:s, s:s, s:s, s:o}", "swarm_id", rec->sid, "name", rec->name, "engine",
                  rec->engine, "id", rec->id, "body", body ? body : json_object());
    char path[4200], tmp[4210];
    record_path(rs, rec->sid, path, sizeof(path));
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    int fd = text ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600) : -1;
    size_t n = text ? strlen(text) : 0;
    if (fd < 0 || write(fd, text, n) != (ssize_t)n || fsync(fd) < 0 || close(fd) < 0 ||
        rename(tmp, path) < 0) {
        log_error("reschedule", "cannot save %s: %s: the container will not be rescheduled", path,
                  strerror(errno));
        if (fd >= 0)
            close(fd);
        unlink(tmp);
    }
    free(text);
}

static const char *jstr(json_t *obj, const char *key)
{
    const char *v = json_string_value(json_object_get(obj, key));
    return v ? v : "";
}

static void record_free(struct record *rec)
{
    free(rec->body);
    free(rec);
}

static struct record *record_find(struct reschedule *rs, const char *sid)
{
    for (struct record *r = rs->records; r; r = r->next)
        if (strcmp(r->sid, sid) == 0)
            return r;
    return NULL;
}

static void record_drop(struct reschedule *rs, struct record *rec)
{
    char path[4200];
    record_path(rs, rec->sid, path, sizeof(path));
    unlink(path);
    for (struct record **p = &rs->records; *p; p = &(*p)->next) {
        if (*p == rec) {
            *p = rec->next;
            break;
        }
    }
    record_free(rec);
}

static bool valid_sid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= SID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static void load_records(struct reschedule *rs)
{
    DIR *d = opendir(rs->dir);
    if (d == NULL)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
            continue;
        char path[4400];
        snprintf(path, sizeof(path), "%s/%s", rs->dir, de->d_name);
        json_error_t jerr;
        json_t *v = json_load_file(path, 0, &jerr);
        const char *sid = json_string_value(json_object_get(v, "swarm_id"));
        json_t *body = json_object_get(v, "body");
        struct record *rec = calloc(1, sizeof(*rec));
        char *text = json_is_object(body) ? json_dumps(body, JSON_COMPACT) : NULL;
        if (!json_is_object(v) || sid == NULL || !valid_sid(sid) || text == NULL || rec == NULL) {
            log_warn("reschedule", "ignoring %s: not a reschedule record (%s)", path,
                     v ? "fields missing" : jerr.text);
            free(text);
            free(rec);
            json_decref(v);
            continue;
        }
        snprintf(rec->sid, sizeof(rec->sid), "%s", sid);
        snprintf(rec->name, sizeof(rec->name), "%s", jstr(v, "name"));
        snprintf(rec->engine, sizeof(rec->engine), "%s", jstr(v, "engine"));
        snprintf(rec->id, sizeof(rec->id), "%s", jstr(v, "id"));
        rec->body = text;
        rec->next = rs->records;
        rs->records = rec;
        json_decref(v);
    }
    closedir(d);
}

/* ---- the view ---- */

static const char *label_of(json_t *c, const char *key)
{
    return json_string_value(json_object_get(json_object_get(c, "Labels"), key));
}

/* A healthy engine's container carrying swarm id sid; NULL if none. */
static struct engine *holder_of(struct reschedule *rs, const char *sid, json_t **container)
{
    for (size_t i = 0; i < engines_count(rs->es); i++) {
        struct engine *e = engines_at(rs->es, i);
        if (!e->healthy || !e->ready)
            continue;
        size_t k;
        json_t *c;
        json_array_foreach(e->containers, k, c)
        {
            const char *v = label_of(c, "com.docker.swarm.id");
            if (v && strcmp(v, sid) == 0) {
                if (container)
                    *container = c;
                return e;
            }
        }
    }
    return NULL;
}

/* True when every engine gossip says is alive has sent its state: only then can "no copy
 * exists" be trusted. */
static bool view_complete(struct reschedule *rs)
{
    for (size_t i = 0; i < engines_count(rs->es); i++) {
        const struct engine *e = engines_at(rs->es, i);
        if (e->healthy && !e->ready)
            return false;
    }
    return true;
}

/* ---- calls to engines ---- */

struct call {
    struct ref *ref;
    char sid[SID_MAX];
    char engine[ENGINES_NAME_MAX + 1];
    char url[600];
    char *body;
};

static void call_done(void *arg)
{
    struct call *c = arg;
    if (--c->ref->calls == 0 && c->ref->rs == NULL)
        free(c->ref);
    free(c->body);
    free(c);
}

/* A request the manager makes on its own, modelled as a client's. */
static void engine_call(struct reschedule *rs, struct engine *e, const char *method,
                        const char *url, const char *body,
                        void (*answered)(void *, struct api_exchange *, const char *, int,
                                         const char *, const char *, size_t),
                        struct call *c)
{
    struct api_request req;
    memset(&req, 0, sizeof(req));
    req.method = method;
    req.url = url;
    req.path = url;
    req.query = "";
    req.http_major = req.http_minor = 1;
    req.headers[0] = (struct api_header){"Host", "swarm"};
    req.headers[1] = (struct api_header){"Content-Type", "application/json"};
    req.nheaders = 2;
    req.keep_alive = true;
    c->ref = rs->ref;
    rs->ref->calls++;
    snprintf(c->engine, sizeof(c->engine), "%s", e->name);
    struct api_proxy_opts o = {.url = url,
                               .body = body ? body : "",
                               .body_len = body ? strlen(body) : 0,
                               .body_set = true,
                               .on_response = answered,
                               .done = call_done,
                               .arg = c};
    api_proxy_start(NULL, e, &req, &o);
}

static void arm_retry(struct reschedule *rs);

static void started(void *arg, struct api_exchange *x, const char *engine, int status,
                    const char *ctype, const char *body, size_t len)
{
    (void)x;
    (void)ctype;
    struct call *c = arg;
    struct reschedule *rs = c->ref->rs;
    if (rs == NULL)
        return;
    struct record *rec = record_find(rs, c->sid);
    if (rec)
        rec->busy = false;
    if (status / 100 == 2)
        log_info("reschedule", "container %s started on %s", rec ? rec->name : c->sid, engine);
    else
        log_warn("reschedule", "container %s created on %s but not started: %d %.*s",
                 rec ? rec->name : c->sid, engine, status, (int)len, body);
}

static void created(void *arg, struct api_exchange *x, const char *engine, int status,
                    const char *ctype, const char *body, size_t len)
{
    (void)x;
    (void)ctype;
    struct call *c = arg;
    struct reschedule *rs = c->ref->rs;
    if (rs == NULL)
        return;
    struct record *rec = record_find(rs, c->sid);
    json_t *v = json_loadb(body, len, 0, NULL);
    const char *id = json_string_value(json_object_get(v, "Id"));
    struct engine *e = engines_find(rs->es, engine);
    if (rec == NULL || status != 201 || id == NULL || e == NULL) {
        log_warn("reschedule", "recreating %s on %s failed: %d %.*s (retrying)",
                 rec ? rec->name : c->sid, engine, status, (int)len, body);
        if (rec)
            rec->busy = false;
        json_decref(v);
        arm_retry(rs);
        return;
    }
    log_info("reschedule", "container %s recreated on %s as %.12s (was on %s)", rec->name, engine,
             id, rec->engine);
    snprintf(rec->engine, sizeof(rec->engine), "%s", engine);
    snprintf(rec->id, sizeof(rec->id), "%s", id);
    rec->pending = false;
    record_save(rs, rec);
    engines_note_container(rs->es, e, id, rec->name);
    struct call *s = calloc(1, sizeof(*s));
    if (s) {
        snprintf(s->sid, sizeof(s->sid), "%s", rec->sid);
        snprintf(s->url, sizeof(s->url), "/containers/%s/start", id);
        engine_call(rs, e, "POST", s->url, NULL, started, s);
    } else {
        rec->busy = false;
    }
    json_decref(v);
}

/* One pending record: adopt a copy that exists, or make one. */
static void act(struct reschedule *rs, struct record *rec)
{
    json_t *c = NULL;
    struct engine *holder = holder_of(rs, rec->sid, &c);
    if (holder && strcmp(holder->name, rec->engine) != 0) {
        log_info("reschedule", "container %s already runs on %s: adopted", rec->name, holder->name);
        snprintf(rec->engine, sizeof(rec->engine), "%s", holder->name);
        snprintf(rec->id, sizeof(rec->id), "%s", jstr(c, "Id"));
        rec->pending = false;
        record_save(rs, rec);
        return;
    }
    json_t *body = json_loads(rec->body, 0, NULL);
    char err[512];
    struct engine *e =
        body ? api_routes_place(rs->routes, body, rec->name, err, sizeof(err)) : NULL;
    if (e == NULL) {
        log_warn("reschedule", "cannot recreate %s yet: %s (retrying)", rec->name,
                 body ? err : "its record holds no config");
        json_decref(body);
        arm_retry(rs);
        return;
    }
    struct call *call = calloc(1, sizeof(*call));
    if (call)
        call->body = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (call == NULL || call->body == NULL) {
        if (call)
            free(call);
        arm_retry(rs);
        return;
    }
    snprintf(call->sid, sizeof(call->sid), "%s", rec->sid);
    /* The name is free there: the old copy lives on the failed engine. */
    snprintf(call->url, sizeof(call->url), "/containers/create%s%s", rec->name[0] ? "?name=" : "",
             rec->name);
    rec->busy = true;
    engine_call(rs, e, "POST", call->url, call->body, created, call);
}

static void sweep(struct reschedule *rs)
{
    if (!view_complete(rs)) {
        arm_retry(rs);
        return;
    }
    for (struct record *rec = rs->records; rec; rec = rec->next) {
        if (!rec->pending || rec->busy)
            continue;
        const struct engine *on = engines_find(rs->es, rec->engine);
        if (on && on->healthy) {
            rec->pending = false; /* it came back first */
            continue;
        }
        act(rs, rec);
    }
}

static void on_retry(uv_timer_t *t)
{
    struct reschedule *rs = t->data;
    rs->timer_armed = false;
    sweep(rs);
}

static void arm_retry(struct reschedule *rs)
{
    if (rs->timer_armed)
        return;
    rs->timer_armed = true;
    uv_timer_start(&rs->timer, on_retry, RESCHEDULE_RETRY_MS, 0);
}

/* ---- the API ---- */

struct reschedule *reschedule_new(uv_loop_t *loop, struct engines *es, struct api_routes *routes,
                                  const char *state_dir)
{
    struct reschedule *rs = calloc(1, sizeof(*rs));
    struct ref *ref = calloc(1, sizeof(*ref));
    if (rs == NULL || ref == NULL) {
        free(rs);
        free(ref);
        return NULL;
    }
    ref->rs = rs;
    rs->ref = ref;
    rs->loop = loop;
    rs->es = es;
    rs->routes = routes;
    snprintf(rs->dir, sizeof(rs->dir), "%s/reschedule", state_dir);
    if (mkdir(rs->dir, 0700) < 0 && errno != EEXIST)
        log_warn("reschedule", "cannot create %s: %s", rs->dir, strerror(errno));
    uv_timer_init(loop, &rs->timer);
    rs->timer.data = rs;
    load_records(rs);
    size_t n = 0;
    for (struct record *r = rs->records; r; r = r->next)
        n++;
    if (n)
        log_info("reschedule", "%zu container(s) marked reschedule:on-node-failure", n);
    return rs;
}

static void timer_closed(uv_handle_t *h)
{
    free(h->data);
}

void reschedule_free(struct reschedule *rs)
{
    if (rs == NULL)
        return;
    while (rs->records) {
        struct record *r = rs->records;
        rs->records = r->next;
        record_free(r);
    }
    rs->ref->rs = NULL;
    if (rs->ref->calls == 0)
        free(rs->ref);
    rs->timer.data = rs;
    uv_close((uv_handle_t *)&rs->timer, timer_closed);
}

void reschedule_record(struct reschedule *rs, const char *swarm_id, const char *name,
                       const char *engine, const char *id, const char *body)
{
    if (!valid_sid(swarm_id))
        return;
    struct record *rec = record_find(rs, swarm_id);
    if (rec == NULL) {
        rec = calloc(1, sizeof(*rec));
        if (rec == NULL)
            return;
        snprintf(rec->sid, sizeof(rec->sid), "%s", swarm_id);
        rec->next = rs->records;
        rs->records = rec;
    }
    free(rec->body);
    rec->body = strdup(body);
    snprintf(rec->name, sizeof(rec->name), "%s", name);
    snprintf(rec->engine, sizeof(rec->engine), "%s", engine);
    snprintf(rec->id, sizeof(rec->id), "%s", id);
    if (rec->body)
        record_save(rs, rec);
}

void reschedule_node_failed(struct reschedule *rs, const char *node)
{
    const struct engine *e = engines_find(rs->es, node);
    const char *name = e ? e->name : node;
    size_t n = 0;
    for (struct record *rec = rs->records; rec; rec = rec->next) {
        if (strcmp(rec->engine, name) == 0) {
            rec->pending = true;
            n++;
        }
    }
    if (n == 0)
        return;
    log_info("reschedule", "engine %s failed: rescheduling %zu container(s)", name, n);
    sweep(rs);
}

void reschedule_node_alive(struct reschedule *rs, const char *node)
{
    const struct engine *e = engines_find(rs->es, node);
    const char *name = e ? e->name : node;
    for (struct record *rec = rs->records; rec; rec = rec->next)
        if (strcmp(rec->engine, name) == 0 && !rec->busy)
            rec->pending = false;
}

static void removed(void *arg, struct api_exchange *x, const char *engine, int status,
                    const char *ctype, const char *body, size_t len)
{
    (void)x;
    (void)ctype;
    struct call *c = arg;
    if (status / 100 == 2)
        log_info("reschedule", "stale copy %.12s removed from %s", c->url + 12, engine);
    else
        log_warn("reschedule", "removing the stale copy %.12s from %s: %d %.*s", c->url + 12,
                 engine, status, (int)len, body);
}

void reschedule_engine_up(struct reschedule *rs, struct engine *e)
{
    size_t k;
    json_t *c;
    json_array_foreach(e->containers, k, c)
    {
        const char *sid = label_of(c, "com.docker.swarm.id");
        struct record *rec = sid ? record_find(rs, sid) : NULL;
        if (rec == NULL || strcmp(rec->engine, e->name) == 0)
            continue;
        /* Rescheduled meanwhile: the copy here is stale if the record's engine holds one. */
        struct engine *holder = holder_of(rs, sid, NULL);
        if (holder == NULL || holder == e)
            continue;
        struct call *call = calloc(1, sizeof(*call));
        if (call == NULL)
            continue;
        const char *id = json_string_value(json_object_get(c, "Id"));
        snprintf(call->sid, sizeof(call->sid), "%s", sid);
        snprintf(call->url, sizeof(call->url), "/containers/%s?force=1", id ? id : "");
        log_info("reschedule", "engine %s is back: removing its stale copy of %s (now on %s)",
                 e->name, rec->name, holder->name);
        engine_call(rs, e, "DELETE", call->url, NULL, removed, call);
    }
    sweep(rs);
}

void reschedule_event(struct reschedule *rs, const struct engine *e, json_t *event)
{
    if (rs->records == NULL)
        return;
    const char *type = json_string_value(json_object_get(event, "Type"));
    const char *action = json_string_value(json_object_get(event, "Action"));
    if (type == NULL || action == NULL || strcmp(type, "container") != 0 ||
        strcmp(action, "destroy") != 0)
        return;
    json_t *actor = json_object_get(event, "Actor");
    const char *id = json_string_value(json_object_get(actor, "ID"));
    const char *sid = json_string_value(
        json_object_get(json_object_get(actor, "Attributes"), "com.docker.swarm.id"));
    struct record *rec = sid ? record_find(rs, sid) : NULL;
    /* Removed where the record says it lives (docker rm): no longer ours to keep alive. */
    if (rec && !rec->busy && id && strcmp(rec->engine, e->name) == 0 && strcmp(rec->id, id) == 0) {
        log_info("reschedule", "container %s removed: it is no longer rescheduled", rec->name);
        record_drop(rs, rec);
    }
}
