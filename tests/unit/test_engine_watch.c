/*
 * Unit tests for agent/engine_http (the response decoder, byte by byte) and agent/engine_watch
 * (its pure helpers, then the watcher against tests/unit/fake_engine.h on one libuv loop):
 * the snapshot, every kind of delta, events that arrive during a snapshot, coalescing, queue
 * overflow, an engine that is missing, goes away and comes back, one that answers garbage or
 * nothing, and the bounds. Every test ends with every handle closed and uv_loop_close() == 0;
 * the valgrind label runs the same binary for leaks.
 */
#include "agent/engine_http.h"
#include "agent/engine_watch.h"
#include "common/log.h"
#include "tests/unit/check.h"
#include "tests/unit/fake_engine.h"
#include "tests/unit/loop_harness.h"

#include <jansson.h>
#include <signal.h>

#define TIMEOUT_MS 20000

/* ---- the decoder ----------------------------------------------------------------------------- */

struct collect {
    char buf[4096];
    size_t len;
};

static int collect_body(void *arg, const char *p, size_t n)
{
    struct collect *c = arg;
    if (c->len + n > sizeof(c->buf))
        return -1;
    memcpy(c->buf + c->len, p, n);
    c->len += n;
    return 0;
}

/* Feeds text in pieces of `step` bytes (0: all at once), then EOF if eof; returns the last
 * status. */
static int decode(struct engine_http_decoder *d, struct collect *c, const char *text, size_t step,
                  bool eof, size_t body_max)
{
    memset(c, 0, sizeof(*c));
    engine_http_decoder_init(d, body_max, collect_body, c);
    size_t n = strlen(text);
    int rc = ENGINE_HTTP_MORE;
    for (size_t off = 0; off < n && rc == ENGINE_HTTP_MORE;) {
        size_t k = step == 0 || step > n - off ? n - off : step;
        rc = engine_http_decoder_feed(d, text + off, k);
        off += k;
    }
    if (eof && rc == ENGINE_HTTP_MORE)
        rc = engine_http_decoder_feed(d, NULL, 0);
    return rc;
}

static void test_decoder(void)
{
    static const char *const chunked =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n";
    static const char *const length = "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope";
    static const char *const close_delimited = "HTTP/1.1 200 OK\r\n\r\nuntil the end";
    struct engine_http_decoder d;
    struct collect c;
    for (size_t step = 0; step <= 7; step++) {
        CHECK_INT(decode(&d, &c, chunked, step, false, 100), ENGINE_HTTP_DONE);
        CHECK_INT(d.status, 200);
        CHECK(c.len == 12 && memcmp(c.buf, "hello, world", 12) == 0);
        CHECK_INT(decode(&d, &c, length, step, false, 100), ENGINE_HTTP_DONE);
        CHECK_INT(d.status, 404);
        CHECK(c.len == 4 && memcmp(c.buf, "nope", 4) == 0);
        CHECK_INT(decode(&d, &c, close_delimited, step, false, 100), ENGINE_HTTP_MORE);
        CHECK_INT(engine_http_decoder_feed(&d, NULL, 0), ENGINE_HTTP_DONE);
        CHECK(c.len == 13 && memcmp(c.buf, "until the end", 13) == 0);
    }
    /* After the end: more bytes change nothing. */
    CHECK_INT(decode(&d, &c, length, 0, false, 100), ENGINE_HTTP_DONE);
    CHECK_INT(engine_http_decoder_feed(&d, "HTTP/1.1 200 OK\r\n", 17), ENGINE_HTTP_DONE);
    CHECK_INT(c.len, 4);

    /* Cut short, too long, not HTTP, an upgrade, a bad chunk. */
    CHECK_INT(decode(&d, &c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 0, true, 100),
              ENGINE_HTTP_ERROR);
    CHECK(strstr(d.err, "before the end of the response") != NULL);
    CHECK_INT(decode(&d, &c, "", 0, true, 100), ENGINE_HTTP_ERROR);
    CHECK(strstr(d.err, "without a response") != NULL);
    CHECK_INT(decode(&d, &c, length, 1, false, 3), ENGINE_HTTP_ERROR);
    CHECK_STR(d.err, "body longer than 3 bytes");
    CHECK_INT(decode(&d, &c, chunked, 0, false, 11), ENGINE_HTTP_ERROR);
    CHECK_INT(decode(&d, &c, "SSH-2.0-OpenSSH\r\n", 0, false, 100), ENGINE_HTTP_ERROR);
    CHECK(strstr(d.err, "bad HTTP response") != NULL);
    CHECK_INT(decode(&d, &c,
                     "HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nraw", 0,
                     false, 100),
              ENGINE_HTTP_ERROR);
    CHECK(strstr(d.err, "switched protocols") != NULL);
    CHECK_INT(decode(&d, &c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 0,
                     false, 100),
              ENGINE_HTTP_ERROR);
    /* Failing stays failed. */
    CHECK_INT(engine_http_decoder_feed(&d, "x", 1), ENGINE_HTTP_ERROR);
}

/* ---- pure helpers ---------------------------------------------------------------------------- */

struct lines_rec {
    char got[8][64];
    int n;
};

static void rec_line(void *arg, const char *text, size_t len)
{
    struct lines_rec *r = arg;
    if (r->n < 8)
        snprintf(r->got[r->n], sizeof(r->got[0]), "%.*s", (int)len, text);
    r->n++;
}

static void test_lines(void)
{
    struct engine_lines l;
    struct lines_rec r = {0};
    engine_lines_init(&l, 10);
    static const char in[] = "ab\ncd\n\nefghijklmnopq\nrs\nt";
    /* byte by byte */
    for (size_t i = 0; i < sizeof(in) - 1; i++)
        CHECK_INT(engine_lines_feed(&l, in + i, 1, rec_line, &r), 0);
    CHECK_INT(r.n, 4);
    CHECK_STR(r.got[0], "ab");
    CHECK_STR(r.got[1], "cd");
    CHECK_STR(r.got[2], "");
    CHECK_STR(r.got[3], "rs");
    CHECK_INT((int)l.dropped, 1);
    CHECK_INT((int)l.len, 1); /* "t" waits for its newline */
    engine_lines_reset(&l);
    /* all at once, a 10-byte line fits, an 11-byte one does not */
    memset(&r, 0, sizeof(r));
    engine_lines_init(&l, 10);
    static const char in2[] = "0123456789\n0123456789a\nok\n";
    CHECK_INT(engine_lines_feed(&l, in2, sizeof(in2) - 1, rec_line, &r), 0);
    CHECK_INT(r.n, 2);
    CHECK_STR(r.got[0], "0123456789");
    CHECK_STR(r.got[1], "ok");
    CHECK_INT((int)l.dropped, 1);
    engine_lines_reset(&l);
}

struct each_rec {
    char got[256];
    int n, stop_at;
};

static int rec_each(void *arg, json_t *v)
{
    struct each_rec *r = arg;
    char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    size_t n = strlen(r->got);
    snprintf(r->got + n, sizeof(r->got) - n, "%s%s", r->n++ ? "|" : "", t);
    free(t);
    return r->n == r->stop_at ? 7 : 0;
}

static int each(const char *text, struct each_rec *r, int stop_at)
{
    memset(r, 0, sizeof(*r));
    r->stop_at = stop_at;
    return engine_watch_each(text, strlen(text), rec_each, r);
}

static void test_each(void)
{
    struct each_rec r;
    CHECK_INT(each(" [ {\"a\":[1,2]} ,12,\"s\" ,[],null, 3.5 ]\n", &r, 0), 0);
    CHECK_STR(r.got, "{\"a\":[1,2]}|12|\"s\"|[]|null|3.5");
    CHECK_INT(each("[]", &r, 0), 0);
    CHECK_INT(r.n, 0);
    CHECK_INT(each("[1,2,3]", &r, 2), 7); /* fn's answer stops it */
    CHECK_INT(r.n, 2);
    const char *bad[] = {"", "{}", "[", "[1,", "[1 2]", "[1,]", "[1] x", "[{]", "[,1]", "[1]]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = each(bad[i], &r, 0);
        CHECK_INT(rc, -1);
        if (rc != -1)
            printf("# accepted: %s\n", bad[i]);
    }
}

static void test_classify_and_entry(void)
{
    char id[ENGINE_WATCH_ID_MAX + 1];
    struct {
        const char *json;
        enum engine_watch_action want;
        const char *id;
    } cases[] = {
        {"{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":\"abc123\"}}",
         ENGINE_WATCH_CONTAINER, "abc123"},
        {"{\"Type\":\"container\",\"Action\":\"destroy\",\"Actor\":{\"ID\":\"abc123\"}}",
         ENGINE_WATCH_REMOVED, "abc123"},
        {"{\"Type\":\"container\",\"Action\":\"health_status: healthy\",\"Actor\":{\"ID\":\"f0\"}}",
         ENGINE_WATCH_CONTAINER, "f0"},
        {"{\"Type\":\"container\",\"Action\":\"exec_create: sh -c x\",\"Actor\":{\"ID\":\"f0\"}}",
         ENGINE_WATCH_PASS, NULL},
        {"{\"Type\":\"container\",\"Action\":\"commit\",\"Actor\":{\"ID\":\"f0\"}}",
         ENGINE_WATCH_IMAGES, NULL},
        {"{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":\"../x\"}}",
         ENGINE_WATCH_PASS, NULL},
        {"{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":\"\"}}", ENGINE_WATCH_PASS,
         NULL},
        {"{\"Type\":\"container\",\"Action\":\"start\",\"id\":\"old1\"}", ENGINE_WATCH_CONTAINER,
         "old1"},
        {"{\"Type\":\"image\",\"Action\":\"tag\",\"Actor\":{\"ID\":\"sha256:1\"}}",
         ENGINE_WATCH_IMAGES, NULL},
        {"{\"Type\":\"daemon\",\"Action\":\"reload\"}", ENGINE_WATCH_INFO, NULL},
        {"{\"Type\":\"network\",\"Action\":\"connect\"}", ENGINE_WATCH_PASS, NULL},
        {"{\"status\":\"start\",\"id\":\"abc\"}", ENGINE_WATCH_PASS, NULL},
        {"[1,2]", ENGINE_WATCH_PASS, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *ev = json_loads(cases[i].json, 0, NULL);
        id[0] = '\0';
        enum engine_watch_action a = engine_watch_classify(ev, id);
        CHECK_INT(a, cases[i].want);
        if (a != cases[i].want)
            printf("# case %zu: %s\n", i, cases[i].json);
        if (cases[i].id)
            CHECK_STR(id, cases[i].id);
        json_decref(ev);
    }

    json_t *entry =
        json_loads("{\"Id\":\"c1\",\"Names\":[\"/web\"],\"Env\":[\"X=1\"],"
                   "\"HostConfig\":{\"NetworkMode\":\"default\"},\"State\":\"running\"}",
                   0, NULL);
    json_t *inspect = json_loads("{\"Id\":\"c1\",\"HostConfig\":{\"Memory\":67108864,\"NanoCpus\":"
                                 "500000000,\"CpuShares\":512,\"CpusetCpus\":\"0\","
                                 "\"PortBindings\":{},\"RestartPolicy\":{\"Name\":\"always\"},"
                                 "\"Privileged\":true},\"Config\":{\"Env\":[\"S=1\"]}}",
                                 0, NULL);
    size_t len = 0;
    char *e = engine_watch_entry(entry, inspect, id, &len);
    CHECK(e != NULL);
    CHECK_STR(id, "c1");
    CHECK_STR(e, "{\"Id\":\"c1\",\"Names\":[\"/web\"],\"HostConfig\":{\"NetworkMode\":\"default\","
                 "\"Memory\":67108864,\"NanoCpus\":500000000,\"CpuShares\":512,\"CpusetCpus\":"
                 "\"0\",\"PortBindings\":{},\"RestartPolicy\":{\"Name\":\"always\"}},\"State\":"
                 "\"running\"}");
    CHECK_INT(len, e ? strlen(e) : 0);
    /* the caller's entry is unchanged */
    CHECK(json_object_get(entry, "Env") != NULL);
    CHECK_INT(json_object_size(json_object_get(entry, "HostConfig")), 1);
    free(e);
    /* without an inspect, and without a HostConfig */
    json_object_del(entry, "HostConfig");
    e = engine_watch_entry(entry, NULL, id, &len);
    CHECK(e != NULL && strstr(e, "\"HostConfig\":{}") != NULL);
    free(e);
    json_object_set_new(entry, "Id", json_integer(5));
    CHECK(engine_watch_entry(entry, inspect, id, &len) == NULL);
    json_decref(entry);
    json_decref(inspect);
}

/* ---- the watcher against the fake engine ----------------------------------------------------- */

struct world {
    uv_loop_t loop;
    uv_timer_t deadline;
    bool timed_out;
    struct fake_engine fe;
    struct engine_watch *w;
    bool w_closed;
    int snapshots;
    json_t *snap;   /* the last snapshot */
    json_t *deltas; /* every delta, in order */
    json_t *log;    /* "S" or "D" per callback, in order */
};

static void on_snapshot(void *arg)
{
    struct world *w = arg;
    size_t len = 0;
    char *text = engine_watch_snapshot(w->w, &len);
    CHECK(text != NULL);
    if (text == NULL)
        return;
    CHECK_INT(strlen(text), len);
    json_decref(w->snap);
    json_error_t jerr;
    w->snap = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    CHECK(w->snap != NULL);
    free(text);
    w->snapshots++;
    json_array_append_new(w->log, json_string("S"));
}

static void on_delta(void *arg, const char *json, size_t len)
{
    struct world *w = arg;
    CHECK_INT(strlen(json), len);
    json_error_t jerr;
    json_t *d = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    CHECK(json_is_object(d));
    CHECK(json_is_object(json_object_get(d, "event")));
    json_array_append_new(w->deltas, d ? d : json_null());
    json_array_append_new(w->log, json_string("D"));
}

static const struct engine_watch_callbacks watch_cb = {on_snapshot, on_delta};

static void world_init(struct world *w)
{
    memset(w, 0, sizeof(*w));
    LOOP_HARNESS_INIT(w);
    fe_init(&w->fe, &w->loop);
    w->deltas = json_array();
    w->log = json_array();
}

static void world_watch(struct world *w, struct engine_watch_config *cfg)
{
    struct engine_watch_config dflt = {0};
    if (cfg == NULL)
        cfg = &dflt;
    cfg->engine_path = w->fe.path;
    char err[256] = "";
    w->w = engine_watch_start(&w->loop, cfg, &watch_cb, w, err, sizeof(err));
    CHECK(w->w != NULL);
}

static void w_closed_cb(void *arg)
{
    ((struct world *)arg)->w_closed = true;
}

/* Closes the watcher, waits for it, starts another with cfg (the records go on). */
static void world_rewatch(struct world *w, struct engine_watch_config *cfg)
{
    w->w_closed = false;
    engine_watch_close(w->w, w_closed_cb, w);
    RUN_UNTIL(w, w->w_closed, TIMEOUT_MS);
    engine_watch_free(w->w);
    world_watch(w, cfg);
}

static void world_finish(struct world *w)
{
    engine_watch_close(w->w, w_closed_cb, w);
    engine_watch_close(w->w, w_closed_cb, w); /* twice is harmless */
    int before = (int)json_array_size(w->log);
    RUN_UNTIL(w, w->w_closed, TIMEOUT_MS);
    fe_stop(&w->fe);
    LOOP_HARNESS_DRAIN(w);
    CHECK_INT((int)json_array_size(w->log), before); /* nothing after close */
    engine_watch_free(w->w);
    CHECK_LOOP_CLOSED(w);
    json_decref(w->snap);
    json_decref(w->deltas);
    json_decref(w->log);
}

static json_t *delta_at(struct world *w, size_t i)
{
    return json_array_get(w->deltas, i);
}

static const char *snap_error(struct world *w)
{
    return json_string_value(json_object_get(w->snap, "error"));
}

static json_t *snap_container(struct world *w, const char *id)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(w->snap, "containers"), i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "Id")), id) == 0)
            return c;
    }
    return NULL;
}

static long long hc_int(json_t *c, const char *field)
{
    return json_integer_value(json_object_get(json_object_get(c, "HostConfig"), field));
}

/* Snapshot: every container with its reservations, no Env, images, info, version. */
static void test_snapshot(void)
{
    struct world w;
    world_init(&w);
    fe_add(&w.fe, "web", "running", 64 << 20)->nano_cpus = 500000000;
    fe_add(&w.fe, "db", "exited", 0);
    fe_add(&w.fe, "cache", "created", 128 << 20);
    CHECK_INT(fe_listen(&w.fe), 0);
    world_watch(&w, NULL);
    RUN_UNTIL(&w, w.snapshots == 1, TIMEOUT_MS);
    CHECK(snap_error(&w) == NULL);
    CHECK(engine_watch_healthy(w.w));
    CHECK_INT(json_array_size(json_object_get(w.snap, "containers")), 3);
    json_t *web = snap_container(&w, w.fe.c[0].id);
    CHECK(web != NULL);
    CHECK_INT(hc_int(web, "Memory"), 64 << 20);
    CHECK_INT(hc_int(web, "NanoCpus"), 500000000);
    CHECK_STR(json_string_value(json_object_get(json_object_get(web, "HostConfig"), "NetworkMode")),
              "default");
    CHECK(json_object_get(json_object_get(web, "HostConfig"), "RestartPolicy") != NULL);
    CHECK(json_object_get(json_object_get(web, "HostConfig"), "PortBindings") != NULL);
    CHECK(json_object_get(json_object_get(web, "HostConfig"), "Privileged") == NULL);
    CHECK(json_object_get(web, "Config") == NULL);
    CHECK_STR(json_string_value(json_object_get(web, "State")), "running");
    CHECK_INT(hc_int(snap_container(&w, w.fe.c[2].id), "Memory"), 128 << 20);
    CHECK_STR(json_string_value(
                  json_object_get(json_array_get(json_object_get(w.snap, "images"), 0), "Id")),
              "sha256:1111");
    CHECK_STR(json_string_value(json_object_get(json_object_get(w.snap, "info"), "ID")),
              "FAKE:ENGINE");
    CHECK_STR(json_string_value(json_object_get(json_object_get(w.snap, "version"), "ApiVersion")),
              "1.41");
    /* the stream asked for replay from the time of the request */
    CHECK(strncmp(w.fe.last_events_path, "/events?since=", 14) == 0);
    CHECK(strchr(w.fe.last_events_path, '.') != NULL);
    const struct engine_watch_stats *st = engine_watch_stats(w.w);
    CHECK_INT(st->snapshots, 1);
    CHECK_INT(st->containers, 3);
    CHECK_INT(w.fe.inspects, 3);
    size_t slen = 0;
    char *stext = engine_watch_snapshot(w.w, &slen);
    free(stext);
    CHECK_INT(st->last_snapshot_bytes, slen);
    CHECK_INT(json_array_size(w.deltas), 0);
    world_finish(&w);
}

static const char *delta_event_action(json_t *d)
{
    return json_string_value(json_object_get(json_object_get(d, "event"), "Action"));
}

/* Every kind of delta, in order. */
static void test_deltas(void)
{
    struct world w;
    world_init(&w);
    struct fe_container *web = fe_add(&w.fe, "web", "running", 0);
    char web_id[65];
    snprintf(web_id, sizeof(web_id), "%s", web->id);
    CHECK_INT(fe_listen(&w.fe), 0);
    world_watch(&w, NULL);
    RUN_UNTIL(&w, w.snapshots == 1 && w.fe.subscribers == 1, TIMEOUT_MS);

    /* create: the entry, with its reservation */
    struct fe_container *job = fe_add(&w.fe, "job", "created", 32 << 20);
    char job_id[65];
    snprintf(job_id, sizeof(job_id), "%s", job->id);
    fe_event(&w.fe, "container", "create", job_id);
    RUN_UNTIL(&w, json_array_size(w.deltas) == 1, TIMEOUT_MS);
    json_t *d = delta_at(&w, 0);
    CHECK_STR(delta_event_action(d), "create");
    json_t *c = json_object_get(d, "container");
    CHECK_STR(json_string_value(json_object_get(c, "Id")), job_id);
    CHECK_INT(hc_int(c, "Memory"), 32 << 20);
    CHECK(json_object_get(d, "removed") == NULL);

    /* start: the new state; an exec: just the event; an image tag: the list; a network
     * event: just the event; a daemon reload: /info */
    snprintf(fe_find(&w.fe, job_id)->state, sizeof(job->state), "running");
    fe_event(&w.fe, "container", "start", job_id);
    fe_event(&w.fe, "container", "exec_create: sh -c true", job_id);
    snprintf(w.fe.images, sizeof(w.fe.images),
             "[{\"Id\":\"sha256:1111\",\"RepoTags\":[\"busybox:local\",\"busybox:v2\"]}]");
    fe_event(&w.fe, "image", "tag", "sha256:1111");
    fe_event(&w.fe, "network", "connect", "net1");
    snprintf(w.fe.info, sizeof(w.fe.info), "{\"ID\":\"FAKE:ENGINE\",\"Name\":\"renamed\"}");
    fe_event(&w.fe, "daemon", "reload", "FAKE:ENGINE");
    RUN_UNTIL(&w, json_array_size(w.deltas) == 6, TIMEOUT_MS);
    d = delta_at(&w, 1);
    CHECK_STR(delta_event_action(d), "start");
    CHECK_STR(json_string_value(json_object_get(json_object_get(d, "container"), "State")),
              "running");
    d = delta_at(&w, 2);
    CHECK_STR(delta_event_action(d), "exec_create: sh -c true");
    CHECK_INT(json_object_size(d), 1);
    d = delta_at(&w, 3);
    CHECK_STR(delta_event_action(d), "tag");
    CHECK_INT(json_array_size(
                  json_object_get(json_array_get(json_object_get(d, "images"), 0), "RepoTags")),
              2);
    d = delta_at(&w, 4);
    CHECK_STR(delta_event_action(d), "connect");
    CHECK_INT(json_object_size(d), 1);
    d = delta_at(&w, 5);
    CHECK_STR(json_string_value(json_object_get(json_object_get(d, "info"), "Name")), "renamed");

    /* kill, die, stop in one burst: one re-fetch, for the last; destroy: removed */
    snprintf(fe_find(&w.fe, web_id)->state, sizeof(web->state), "exited");
    int filtered = w.fe.filtered_lists;
    char burst[4096];
    size_t blen = 0;
    const char *const actions[] = {"kill", "die", "stop"};
    for (int i = 0; i < 3; i++) {
        char ev[512];
        int n = snprintf(ev, sizeof(ev),
                         "{\"Type\":\"container\",\"Action\":\"%s\",\"Actor\":{\"ID\":\"%s\"}}\n",
                         actions[i], web_id);
        blen += (size_t)snprintf(burst + blen, sizeof(burst) - blen, "%x\r\n%s\r\n", n, ev);
    }
    fe_events_raw(&w.fe, burst, blen);
    RUN_UNTIL(&w, json_array_size(w.deltas) == 9, TIMEOUT_MS);
    CHECK_INT(json_object_size(delta_at(&w, 6)), 1);
    CHECK_INT(json_object_size(delta_at(&w, 7)), 1);
    d = delta_at(&w, 8);
    CHECK_STR(delta_event_action(d), "stop");
    CHECK_STR(json_string_value(json_object_get(json_object_get(d, "container"), "State")),
              "exited");
    CHECK_INT(w.fe.filtered_lists - filtered, 1);
    CHECK_INT(engine_watch_stats(w.w)->coalesced, 2);

    fe_remove(&w.fe, web_id);
    fe_event(&w.fe, "container", "destroy", web_id);
    /* an event for a container the engine does not know: removed after the re-fetch */
    fe_event(&w.fe, "container", "die",
             "0000000000000000000000000000000000000000000000000000000000000000");
    /* two events in one chunk, one split over two chunks */
    static const char two[] = "{\"Type\":\"volume\",\"Action\":\"create\"}\n"
                              "{\"Type\":\"volume\",\"Action\":\"mount\"}\n";
    char chunk[256];
    int m = snprintf(chunk, sizeof(chunk), "%zx\r\n%s\r\n", sizeof(two) - 1, two);
    fe_events_raw(&w.fe, chunk, (size_t)m);
    fe_events_raw(&w.fe, "5\r\n{\"Typ\r\n", 10);
    RUN_FOR(&w, 50);
    static const char rest[] = "e\":\"plugin\",\"Action\":\"x\"}\n";
    m = snprintf(chunk, sizeof(chunk), "%zx\r\n%s\r\n", sizeof(rest) - 1, rest);
    fe_events_raw(&w.fe, chunk, (size_t)m);
    RUN_UNTIL(&w, json_array_size(w.deltas) == 13, TIMEOUT_MS);
    CHECK_STR(json_string_value(json_object_get(delta_at(&w, 9), "removed")), web_id);
    CHECK_STR(json_string_value(json_object_get(delta_at(&w, 10), "removed")),
              "0000000000000000000000000000000000000000000000000000000000000000");
    CHECK_STR(delta_event_action(delta_at(&w, 11)), "create");
    CHECK_STR(delta_event_action(delta_at(&w, 12)), "mount");
    RUN_UNTIL(&w, json_array_size(w.deltas) == 14, TIMEOUT_MS);
    CHECK_STR(delta_event_action(delta_at(&w, 13)), "x");

    /* the watcher's own state followed: a new snapshot shows job running, web gone */
    size_t len;
    char *text = engine_watch_snapshot(w.w, &len);
    json_t *s = json_loadb(text, len, 0, NULL);
    free(text);
    CHECK_INT(json_array_size(json_object_get(s, "containers")), 1);
    json_t *only = json_array_get(json_object_get(s, "containers"), 0);
    CHECK_STR(json_string_value(json_object_get(only, "Id")), job_id);
    CHECK_STR(json_string_value(json_object_get(only, "State")), "running");
    CHECK_STR(json_string_value(json_object_get(json_object_get(s, "info"), "Name")), "renamed");
    json_decref(s);
    CHECK_INT(w.snapshots, 1);
    world_finish(&w);
}

/* Events during the snapshot wait, and come after it, in order. */
static void test_events_during_snapshot(void)
{
    struct world w;
    world_init(&w);
    fe_add(&w.fe, "a", "running", 0);
    fe_add(&w.fe, "b", "running", 0);
    w.fe.hold_inspects = true;
    CHECK_INT(fe_listen(&w.fe), 0);
    world_watch(&w, NULL);
    RUN_UNTIL(&w, w.fe.inspects == 2, TIMEOUT_MS);
    struct fe_container *c = fe_add(&w.fe, "late", "running", 0);
    fe_event(&w.fe, "container", "create", c->id);
    fe_event(&w.fe, "network", "create", "n1");
    RUN_FOR(&w, 100);
    CHECK_INT(w.snapshots, 0);
    CHECK_INT(json_array_size(w.deltas), 0);
    fe_release(&w.fe);
    RUN_UNTIL(&w, json_array_size(w.deltas) == 2, TIMEOUT_MS);
    CHECK_INT(w.snapshots, 1);
    CHECK_STR(json_string_value(json_array_get(w.log, 0)), "S");
    CHECK_INT(json_array_size(json_object_get(w.snap, "containers")), 2);
    CHECK_STR(
        json_string_value(json_object_get(json_object_get(delta_at(&w, 0), "container"), "Id")),
        c->id);
    CHECK_STR(delta_event_action(delta_at(&w, 1)), "create");
    world_finish(&w);
}

/* Too many events while a snapshot is under way: dropped, and a fresh snapshot instead. */
static void test_overflow(void)
{
    struct world w;
    world_init(&w);
    fe_add(&w.fe, "a", "running", 0);
    w.fe.hold_inspects = true;
    CHECK_INT(fe_listen(&w.fe), 0);
    struct engine_watch_config cfg = {.queue_max = 4};
    world_watch(&w, &cfg);
    RUN_UNTIL(&w, w.fe.inspects == 1, TIMEOUT_MS);
    for (int i = 0; i < 6; i++)
        fe_event(&w.fe, "network", "create", "n1");
    RUN_UNTIL(&w, engine_watch_stats(w.w)->overflows == 1, TIMEOUT_MS);
    RUN_UNTIL(&w, w.fe.inspects == 2, TIMEOUT_MS); /* the fresh snapshot inspects again */
    fe_release(&w.fe);
    RUN_UNTIL(&w, w.snapshots == 1, TIMEOUT_MS);
    RUN_FOR(&w, 100);
    /* what came after the overflow is applied after the snapshot */
    CHECK((int)json_array_size(w.deltas) <= 2);
    CHECK_INT(w.snapshots, 1);
    CHECK(snap_error(&w) == NULL);
    /* an event line over the bound: skipped, fresh snapshot */
    char big[300];
    memset(big, 'x', sizeof(big));
    char chunk[400];
    int n =
        snprintf(chunk, sizeof(chunk), "%zx\r\n%.*s\n\r\n", sizeof(big) + 1, (int)sizeof(big), big);
    struct engine_watch_config small = {.event_max = 200};
    world_rewatch(&w, &small);
    RUN_UNTIL(&w, w.snapshots == 2, TIMEOUT_MS);
    fe_events_raw(&w.fe, chunk, (size_t)n);
    fe_event(&w.fe, "network", "create", "n2");
    RUN_UNTIL(&w, w.snapshots == 3, TIMEOUT_MS);
    RUN_UNTIL(&w, json_array_size(w.deltas) >= 1, TIMEOUT_MS);
    CHECK_STR(delta_event_action(json_array_get(w.deltas, json_array_size(w.deltas) - 1)),
              "create");
    CHECK_INT(engine_watch_stats(w.w)->overflows, 1);
    /* a line that is not a JSON object: the same */
    static const char junk[] = "6\r\n[1,2]\n\r\n";
    fe_events_raw(&w.fe, junk, sizeof(junk) - 1);
    RUN_UNTIL(&w, w.snapshots == 4, TIMEOUT_MS);
    world_finish(&w);
}

/* No engine, then an engine, then it goes away and comes back. */
static void test_engine_down_and_back(void)
{
    struct world w;
    world_init(&w);
    struct engine_watch_config cfg = {.backoff_min_ms = 50, .backoff_max_ms = 200};
    world_watch(&w, &cfg);
    RUN_UNTIL(&w, w.snapshots == 1, TIMEOUT_MS);
    CHECK(snap_error(&w) != NULL);
    CHECK(snap_error(&w) && strstr(snap_error(&w), w.fe.path) != NULL);
    CHECK(snap_error(&w) && strstr(snap_error(&w), "no such file or directory") != NULL);
    CHECK(!engine_watch_healthy(w.w));
    CHECK_INT(json_array_size(json_object_get(w.snap, "containers")), 0);
    CHECK(json_is_object(json_object_get(w.snap, "info")));
    CHECK(json_is_object(json_object_get(w.snap, "version")));
    CHECK(json_is_array(json_object_get(w.snap, "images")));
    /* retries with the same error emit nothing new */
    RUN_FOR(&w, 500);
    CHECK_INT(w.snapshots, 1);
    CHECK(engine_watch_stats(w.w)->engine_errors >= 3);

    fe_add(&w.fe, "a", "running", 0);
    CHECK_INT(fe_listen(&w.fe), 0);
    RUN_UNTIL(&w, w.snapshots == 2, TIMEOUT_MS);
    CHECK(snap_error(&w) == NULL);
    CHECK_INT(json_array_size(json_object_get(w.snap, "containers")), 1);

    /* the engine goes away: the stream ends */
    fe_stop(&w.fe);
    RUN_UNTIL(&w, w.snapshots == 3, TIMEOUT_MS);
    CHECK(snap_error(&w) != NULL);
    CHECK_INT(json_array_size(json_object_get(w.snap, "containers")), 0);
    /* ... and comes back with another container */
    fe_add(&w.fe, "b", "running", 0);
    CHECK_INT(fe_listen(&w.fe), 0);
    RUN_UNTIL(&w, w.snapshots == 4, TIMEOUT_MS);
    CHECK(snap_error(&w) == NULL);
    CHECK_INT(json_array_size(json_object_get(w.snap, "containers")), 2);
    CHECK_INT(json_array_size(w.deltas), 0);
    world_finish(&w);
}

/* An engine that answers garbage, one that answers nothing, a list over the bound. */
static void test_bad_engines(void)
{
    struct world w;
    world_init(&w);
    w.fe.garbage = true;
    CHECK_INT(fe_listen(&w.fe), 0);
    struct engine_watch_config cfg = {.timeout_ms = 300, .backoff_min_ms = 50};
    world_watch(&w, &cfg);
    RUN_UNTIL(&w, w.snapshots == 1, TIMEOUT_MS);
    CHECK(snap_error(&w) && strstr(snap_error(&w), "bad HTTP response") != NULL);

    w.fe.garbage = false;
    w.fe.silent = true;
    RUN_UNTIL(&w, w.snapshots == 2, TIMEOUT_MS);
    CHECK(snap_error(&w) && strstr(snap_error(&w), "no answer within 300 ms") != NULL);
    if (snap_error(&w))
        printf("# %s\n", snap_error(&w));

    w.fe.silent = false;
    for (int i = 0; i < 40; i++)
        fe_add(&w.fe, "c", "running", 0);
    struct engine_watch_config small = {.list_max = 4096, .backoff_min_ms = 50};
    world_rewatch(&w, &small);
    RUN_UNTIL(&w, w.snapshots == 3, TIMEOUT_MS);
    CHECK(snap_error(&w) && strstr(snap_error(&w), "body longer than 4096 bytes") != NULL);
    world_finish(&w);
}

/* Closing with requests under way: nothing runs after, nothing leaks. */
static void test_close_busy(void)
{
    struct world w;
    world_init(&w);
    for (int i = 0; i < 10; i++)
        fe_add(&w.fe, "c", "running", 0);
    w.fe.hold_inspects = true;
    CHECK_INT(fe_listen(&w.fe), 0);
    world_watch(&w, NULL);
    RUN_UNTIL(&w, w.fe.inspects == ENGINE_WATCH_PARALLEL, TIMEOUT_MS);
    fe_event(&w.fe, "network", "create", "n1");
    RUN_FOR(&w, 20);
    world_finish(&w);
}

/* A thousand containers: the time and size of the snapshot. */
static void test_many_containers(void)
{
    enum { N = 1000 };
    struct world w;
    world_init(&w);
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof(name), "c%d", i);
        fe_add(&w.fe, name, i % 2 ? "running" : "exited", (long long)i << 20);
    }
    CHECK_INT(fe_listen(&w.fe), 0);
    world_watch(&w, NULL);
    /* A thousand inspects take seconds under valgrind on a loaded machine: a long bound. */
    RUN_UNTIL(&w, w.snapshots == 1, 6 * TIMEOUT_MS);
    CHECK_INT(json_array_size(json_object_get(w.snap, "containers")), N);
    const struct engine_watch_stats *st = engine_watch_stats(w.w);
    printf("# snapshot of %d containers: %llu ms, %llu bytes, %llu requests\n", N,
           (unsigned long long)st->last_snapshot_ms, (unsigned long long)st->last_snapshot_bytes,
           (unsigned long long)st->requests);
    world_finish(&w);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (getenv("WATCH_TEST_LOG") == NULL)
        log_set_level(LOG_ERROR);
    RUN(test_decoder);
    RUN(test_lines);
    RUN(test_each);
    RUN(test_classify_and_entry);
    RUN(test_snapshot);
    RUN(test_deltas);
    RUN(test_events_during_snapshot);
    RUN(test_overflow);
    RUN(test_engine_down_and_back);
    RUN(test_bad_engines);
    RUN(test_close_busy);
    RUN(test_many_containers);
    return check_done();
}
