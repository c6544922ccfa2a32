/*
 * Unit tests for agent/hollow_engine (the fake engine of `swarm join --hollow-engine`): every
 * endpoint through sessions fed raw bytes (answers parsed back, chunked bodies de-chunked), the
 * bounds, re-entrancy of streams, and then the real thing over its unix socket
 * (hollow_engine_serve_while: the engine on a loop in a helper thread, plain blocking sockets
 * here): chunked /events as they happen, wait's headers before its answer, the connection
 * limit, the socket's mode. Prints bytes per container and a quick requests/s figure.
 */
#include "agent/hollow_engine.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <jansson.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define T0 (1795623600LL * 1000000000LL) /* 2026-11-25T16:20:00Z */

static int64_t fake_now = T0;

static int64_t clock_fn(void)
{
    return fake_now;
}

static const uint8_t seed[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static struct hollow_engine *new_engine(size_t max_containers)
{
    static const char *const labels[] = {"zone=attic", "disk=ssd"};
    struct hollow_engine_config cfg = {
        .name = "h1",
        .ncpu = 8,
        .mem_total = 16LL << 30,
        .labels = labels,
        .nlabels = 2,
        .version = "9.9.9",
        .max_containers = max_containers,
        .now_ns = clock_fn,
        .id_seed = seed,
    };
    fake_now = T0;
    char err[256] = "";
    struct hollow_engine *h = hollow_engine_new(&cfg, err, sizeof(err));
    if (h == NULL)
        printf("# hollow_engine_new: %s\n", err);
    CHECK(h != NULL);
    return h;
}

/* ---- an in-memory client: what the session writes is collected here ---- */

struct cap {
    char *buf;
    size_t len, cap, off; /* off: answers already parsed */
    int closed;
    bool flush;
    bool fail; /* writes fail (a client that does not read) */
};

static int cap_write(void *arg, const void *data, size_t len)
{
    struct cap *c = arg;
    if (c->fail)
        return -1;
    if (c->len + len + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 4096;
        while (cap < c->len + len + 1)
            cap *= 2;
        c->buf = realloc(c->buf, cap);
        c->cap = cap;
    }
    memcpy(c->buf + c->len, data, len);
    c->len += len;
    c->buf[c->len] = '\0';
    return 0;
}

static void cap_close(void *arg, bool flush)
{
    struct cap *c = arg;
    c->closed++;
    c->flush = flush;
}

static const struct hollow_session_io cap_io = {cap_write, cap_close};

struct tc {
    struct hollow_engine *h;
    struct hollow_session *s;
    struct cap out;
};

static void tc_open(struct tc *t, struct hollow_engine *h)
{
    memset(t, 0, sizeof(*t));
    t->h = h;
    t->s = hollow_session_new(h, &cap_io, &t->out);
    CHECK(t->s != NULL);
}

static void tc_close(struct tc *t)
{
    hollow_session_free(t->s);
    free(t->out.buf);
    memset(t, 0, sizeof(*t));
}

/* A parsed answer. */
struct resp {
    int status;
    char head[2048];
    char *body; /* de-chunked, NUL-terminated, malloc'd */
    size_t body_len;
    bool chunked;
    bool complete; /* the whole body is there (a stream may still be open) */
};

static void resp_free(struct resp *r)
{
    free(r->body);
    memset(r, 0, sizeof(*r));
}

static const char *header(const struct resp *r, const char *name, char *out, size_t cap)
{
    char key[128];
    snprintf(key, sizeof(key), "\r\n%s: ", name);
    const char *p = strcasestr(r->head, key);
    if (p == NULL)
        return NULL;
    p += strlen(key);
    size_t n = strcspn(p, "\r");
    snprintf(out, cap, "%.*s", (int)n, p);
    return out;
}

static size_t dechunk(const char *p, size_t n, struct resp *r);

/* Parses one answer from p[0..n); returns the bytes it takes (all of them for a stream still
 * open), 0 if not even the head is there. no_body: the answer to a HEAD. */
static size_t parse_resp(const char *p, size_t n, struct resp *r, bool no_body)
{
    memset(r, 0, sizeof(*r));
    const char *end = memmem(p, n, "\r\n\r\n", 4);
    if (end == NULL)
        return 0;
    size_t hl = (size_t)(end - p) + 4;
    snprintf(r->head, sizeof(r->head), "%.*s", (int)hl, p);
    r->status = atoi(p + 9);
    r->body = calloc(1, n + 1);
    char v[64];
    if (no_body || r->status == 204 || r->status == 304) {
        r->complete = true;
        return hl;
    }
    if (header(r, "Content-Length", v, sizeof(v))) {
        size_t len = strtoul(v, NULL, 10);
        if (n - hl < len)
            return 0;
        memcpy(r->body, p + hl, len);
        r->body_len = len;
        r->complete = true;
        return hl + len;
    }
    r->chunked = true;
    return hl + dechunk(p + hl, n - hl, r);
}

/* De-chunks p[0..n) onto r's body; returns the bytes taken (all of them for an open stream). */
static size_t dechunk(const char *p, size_t n, struct resp *r)
{
    size_t i = 0;
    while (i < n) {
        const char *crlf = memmem(p + i, n - i, "\r\n", 2);
        if (crlf == NULL)
            break;
        size_t len = strtoul(p + i, NULL, 16);
        size_t data = (size_t)(crlf - p) + 2;
        if (len == 0) {
            if (n - data < 2)
                break;
            r->complete = true;
            return data + 2;
        }
        if (n - data < len + 2)
            break;
        memcpy(r->body + r->body_len, p + data, len);
        r->body_len += len;
        i = data + len + 2;
    }
    return n; /* an open stream: everything so far */
}

/* More of a stream whose head was read: the body bytes since, de-chunked. */
static struct resp more(struct tc *t)
{
    struct resp r;
    memset(&r, 0, sizeof(r));
    r.chunked = true;
    r.body = calloc(1, t->out.len - t->out.off + 1);
    t->out.off += dechunk(t->out.buf + t->out.off, t->out.len - t->out.off, &r);
    return r;
}

/* Feeds raw bytes, returns the next answer written since the last one. */
static struct resp feed_raw(struct tc *t, const char *raw, size_t n, bool no_body)
{
    if (n)
        hollow_session_feed(t->s, raw, n);
    struct resp r;
    size_t used = parse_resp(t->out.buf + t->out.off, t->out.len - t->out.off, &r, no_body);
    t->out.off += used;
    return r;
}

static struct resp req(struct tc *t, const char *method, const char *path, const char *body)
{
    char raw[8192];
    int n = snprintf(raw, sizeof(raw),
                     "%s %s HTTP/1.1\r\nHost: api.moby.localhost\r\nUser-Agent: test\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     method, path, body ? strlen(body) : 0, body ? body : "");
    return feed_raw(t, raw, (size_t)n, strcmp(method, "HEAD") == 0);
}

static json_t *resp_json(const struct resp *r)
{
    return json_loadb(r->body ? r->body : "", r->body_len, 0, NULL);
}

/* The message of an error answer (static buffer). */
static const char *message(const struct resp *r)
{
    static char msg[512];
    json_t *j = resp_json(r);
    snprintf(msg, sizeof(msg), "%s", j ? json_string_value(json_object_get(j, "message")) : "");
    json_decref(j);
    return msg;
}

/* Creates a container; its id into id (65 bytes). Returns the status. */
static int create(struct tc *t, const char *name, const char *body, char *id)
{
    char path[256];
    if (name)
        snprintf(path, sizeof(path), "/v1.41/containers/create?name=%s", name);
    else
        snprintf(path, sizeof(path), "/v1.41/containers/create");
    struct resp r = req(t, "POST", path, body);
    json_t *j = resp_json(&r);
    const char *s = json_string_value(json_object_get(j, "Id"));
    if (id)
        snprintf(id, 65, "%s", s ? s : "");
    json_decref(j);
    int status = r.status;
    resp_free(&r);
    return status;
}

static int simple(struct tc *t, const char *method, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int simple(struct tc *t, const char *method, const char *fmt, ...)
{
    char path[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    struct resp r = req(t, method, path, NULL);
    int status = r.status;
    resp_free(&r);
    return status;
}

/* A container's inspect (new reference). */
static json_t *inspect(struct tc *t, const char *ref)
{
    char path[256];
    snprintf(path, sizeof(path), "/v1.41/containers/%s/json", ref);
    struct resp r = req(t, "GET", path, NULL);
    json_t *j = r.status == 200 ? resp_json(&r) : NULL;
    resp_free(&r);
    return j;
}

static const char *state_of(struct tc *t, const char *ref, char *out)
{
    json_t *j = inspect(t, ref);
    snprintf(out, 16, "%s",
             j ? json_string_value(json_object_get(json_object_get(j, "State"), "Status")) : "-");
    json_decref(j);
    return out;
}

#define RUN_BODY(cmd)                                                                              \
    "{\"Image\":\"busybox\",\"Cmd\":" cmd ",\"HostConfig\":{\"NetworkMode\":\"default\"}}"

/* ---- pure tests ---- */

static void test_parse_size(void)
{
    int64_t v = 0;
    CHECK_INT(hollow_parse_size("2147483648", &v), 0);
    CHECK_INT(v, 2147483648LL);
    CHECK_INT(hollow_parse_size("2GiB", &v), 0);
    CHECK_INT(v, 2LL << 30);
    CHECK_INT(hollow_parse_size("512m", &v), 0);
    CHECK_INT(v, 512LL << 20);
    CHECK_INT(hollow_parse_size("1.5G", &v), 0);
    CHECK_INT(v, 3LL << 29);
    CHECK_INT(hollow_parse_size("64KB", &v), 0);
    CHECK_INT(v, 65536);
    CHECK_INT(hollow_parse_size("", &v), -1);
    CHECK_INT(hollow_parse_size("0", &v), -1);
    CHECK_INT(hollow_parse_size("-1g", &v), -1);
    CHECK_INT(hollow_parse_size("2x", &v), -1);
    CHECK_INT(hollow_parse_size("g", &v), -1);
    CHECK_INT(hollow_parse_size("99999999t", &v), -1);
}

static void test_config(void)
{
    char err[256];
    struct hollow_engine_config cfg = {.name = NULL};
    CHECK(hollow_engine_new(&cfg, err, sizeof(err)) == NULL);
    static const char *const bad[] = {"novalue"};
    cfg = (struct hollow_engine_config){.name = "x", .labels = bad, .nlabels = 1};
    CHECK(hollow_engine_new(&cfg, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "KEY=VALUE") != NULL);
    cfg = (struct hollow_engine_config){.name = "x", .socket_path = "relative.sock"};
    CHECK(hollow_engine_new(&cfg, err, sizeof(err)) == NULL);
    hollow_engine_free(NULL);
}

static void test_ping_version_info(void)
{
    struct hollow_engine *h = new_engine(0);
    struct tc t;
    tc_open(&t, h);
    char v[128];
    struct resp r = req(&t, "HEAD", "/_ping", NULL);
    CHECK_INT(r.status, 200);
    CHECK_STR(header(&r, "Api-Version", v, sizeof(v)), "1.41");
    CHECK_STR(header(&r, "Ostype", v, sizeof(v)), "linux");
    CHECK_STR(header(&r, "Content-Length", v, sizeof(v)), "0");
    CHECK_STR(header(&r, "Server", v, sizeof(v)), "Docker/hollow-9.9.9 (linux)");
    CHECK_INT(t.out.len, t.out.off); /* no body after a HEAD answer */
    resp_free(&r);
    r = req(&t, "GET", "/v1.41/_ping", NULL);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "OK");
    CHECK_STR(header(&r, "Cache-Control", v, sizeof(v)), "no-cache, no-store, must-revalidate");
    resp_free(&r);

    r = req(&t, "GET", "/version", NULL);
    json_t *j = resp_json(&r);
    CHECK_STR(json_string_value(json_object_get(j, "ApiVersion")), "1.41");
    CHECK_STR(json_string_value(json_object_get(j, "Version")), "hollow-9.9.9");
    json_decref(j);
    resp_free(&r);

    r = req(&t, "GET", "/v1.41/info", NULL);
    CHECK_INT(r.status, 200);
    j = resp_json(&r);
    CHECK_INT(json_integer_value(json_object_get(j, "NCPU")), 8);
    CHECK_INT(json_integer_value(json_object_get(j, "MemTotal")), 16LL << 30);
    CHECK_STR(json_string_value(json_object_get(j, "Name")), "h1");
    CHECK_STR(json_string_value(json_object_get(j, "OperatingSystem")), "hollow");
    CHECK_STR(json_string_value(json_object_get(j, "OSType")), "linux");
    CHECK_STR(json_string_value(json_object_get(j, "Driver")), "hollow");
    CHECK_STR(json_string_value(json_object_get(j, "ServerVersion")), "hollow-9.9.9");
    CHECK_STR(json_string_value(json_array_get(json_object_get(j, "Labels"), 1)), "disk=ssd");
    const char *id = json_string_value(json_object_get(j, "ID"));
    CHECK(id && strlen(id) == 64);
    /* The ID is derived from the name: the same for the same name, another for another. */
    char want[65], text[] = "swarm-hollow-engine:h1";
    uint8_t d[32];
    crypto_hash_sha256(d, (const uint8_t *)text, strlen(text));
    for (int i = 0; i < 32; i++)
        snprintf(want + 2 * i, 3, "%02x", d[i]);
    CHECK_STR(id, want);
    CHECK(json_string_value(json_object_get(j, "KernelVersion")) != NULL);
    json_decref(j);
    resp_free(&r);

    /* Versions and unknown routes, as dockerd answers them. */
    r = req(&t, "GET", "/v1.50/version", NULL);
    CHECK_INT(r.status, 400);
    CHECK_STR(message(&r), "client version 1.50 is too new. Maximum supported API version is 1.41");
    resp_free(&r);
    r = req(&t, "GET", "/v1.11/version", NULL);
    CHECK_INT(r.status, 400);
    resp_free(&r);
    static const char *const missing[][2] = {{"GET", "/vfoo/version"},
                                             {"GET", "/v1.41/nosuchendpoint"},
                                             {"POST", "/info"},
                                             {"HEAD", "/info"},
                                             {"GET", "/containers/x"},
                                             {"PUT", "/containers/x/json"},
                                             {"GET", "/containers/x/json/more"},
                                             {"POST", "/containers/x/attach"},
                                             {"POST", "/exec/x/start"},
                                             {"GET", "/networks"}};
    for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
        r = req(&t, missing[i][0], missing[i][1], NULL);
        CHECK_INT(r.status, 404);
        if (strcmp(missing[i][0], "HEAD") != 0)
            CHECK_STR(message(&r), "page not found");
        CHECK_STR(header(&r, "Content-Type", v, sizeof(v)), "application/json");
        resp_free(&r);
    }
    CHECK_INT(t.out.closed, 0); /* all on one keep-alive connection */
    tc_close(&t);
    hollow_engine_free(h);
}

static void test_create_list_inspect(void)
{
    struct hollow_engine *h = new_engine(0);
    struct tc t;
    tc_open(&t, h);
    char id[65], id2[65], id3[65], st[16];
    const char *body = "{\"Hostname\":\"\",\"Image\":\"busybox\",\"Cmd\":[\"sleep\",\"100\"],"
                       "\"Env\":[\"A=1\"],\"Labels\":{\"app\":\"web\",\"tier\":\"front\"},"
                       "\"Tty\":false,\"HostConfig\":{\"NetworkMode\":\"default\",\"Memory\":"
                       "67108864,\"Binds\":null,\"Privileged\":false,\"RestartPolicy\":{\"Name\":"
                       "\"no\",\"MaximumRetryCount\":0}}}";
    CHECK_INT(create(&t, "web1", body, id), 201);
    CHECK_INT(strlen(id), 64);
    CHECK_INT(strspn(id, "0123456789abcdef"), 64);
    /* 409 on a name in use (with or without the slash), 400 on a bad one. */
    struct resp r = req(&t, "POST", "/containers/create?name=%2Fweb1", body);
    CHECK_INT(r.status, 409);
    CHECK(strstr(message(&r), "The container name \"/web1\" is already in use by container") !=
          NULL);
    resp_free(&r);
    CHECK_INT(create(&t, "x", body, NULL), 400);
    CHECK_INT(create(&t, "bad%20name", body, NULL), 400);
    CHECK_INT(create(&t, "ok2", "", NULL), 400);
    CHECK_INT(create(&t, "ok2", "{nope", NULL), 400);
    CHECK_INT(create(&t, "ok2", "{\"Cmd\":[\"true\"]}", NULL), 400);
    CHECK_INT(create(&t, "ok2", "{\"Image\":\"busybox\",\"Cmd\":[1]}", NULL), 400);
    CHECK_INT(create(&t, "ok2", "{\"Image\":\"busybox\",\"Labels\":{\"a\":1}}", NULL), 400);
    CHECK_INT(create(&t, "ok2", "{\"Image\":\"busybox\",\"Env\":\"A=1\"}", NULL), 400);
    /* Any image exists; no name: one is made. */
    CHECK_INT(
        create(&t, NULL, "{\"Image\":\"localhost:5000/some/thing:v2\",\"Cmd\":\"true\"}", id2),
        201);
    CHECK_INT(create(&t, "db", RUN_BODY("[\"sleep\",\"1\"]"), id3), 201);

    json_t *j = inspect(&t, id);
    CHECK(j != NULL);
    CHECK_STR(json_string_value(json_object_get(j, "Name")), "/web1");
    CHECK_STR(json_string_value(json_object_get(j, "Path")), "sleep");
    CHECK_STR(json_string_value(json_array_get(json_object_get(j, "Args"), 0)), "100");
    json_t *state = json_object_get(j, "State");
    CHECK_STR(json_string_value(json_object_get(state, "Status")), "created");
    CHECK(json_is_false(json_object_get(state, "Running")));
    CHECK_STR(json_string_value(json_object_get(state, "StartedAt")), "0001-01-01T00:00:00Z");
    CHECK_STR(json_string_value(json_object_get(j, "Created")), "2026-11-25T16:20:00Z");
    json_t *config = json_object_get(j, "Config");
    CHECK_STR(json_string_value(json_object_get(config, "Image")), "busybox");
    CHECK_STR(json_string_value(json_array_get(json_object_get(config, "Cmd"), 1)), "100");
    CHECK_STR(json_string_value(json_array_get(json_object_get(config, "Env"), 0)), "A=1");
    CHECK_STR(json_string_value(json_object_get(json_object_get(config, "Labels"), "app")), "web");
    CHECK(json_is_false(json_object_get(config, "Tty")));
    json_t *hc = json_object_get(j, "HostConfig");
    CHECK_INT(json_integer_value(json_object_get(hc, "Memory")), 67108864);
    CHECK_STR(json_string_value(json_object_get(hc, "NetworkMode")), "default");
    CHECK_STR(json_string_value(json_object_get(json_object_get(hc, "RestartPolicy"), "Name")),
              "no");
    CHECK(json_is_integer(json_object_get(hc, "NanoCpus")));
    CHECK(json_is_object(json_object_get(j, "NetworkSettings")));
    CHECK(strncmp(json_string_value(json_object_get(j, "Image")), "sha256:", 7) == 0);
    json_decref(j);
    /* By 12-char prefix, by name, by /name; unknown: 404 with dockerd's text. */
    char shortid[13];
    snprintf(shortid, sizeof(shortid), "%.12s", id);
    CHECK_STR(state_of(&t, shortid, st), "created");
    CHECK_STR(state_of(&t, "web1", st), "created");
    CHECK_STR(state_of(&t, "%2Fweb1", st), "created");
    r = req(&t, "GET", "/containers/nosuch/json", NULL);
    CHECK_INT(r.status, 404);
    CHECK_STR(message(&r), "No such container: nosuch");
    resp_free(&r);
    j = inspect(&t, id2);
    const char *gen = json_string_value(json_object_get(j, "Name"));
    CHECK(gen && strncmp(gen, "/hollow_", 8) == 0);
    CHECK_STR(json_string_value(json_object_get(j, "Path")), "true"); /* Cmd as a string */
    CHECK_INT(json_array_size(json_object_get(j, "Args")), 0);
    json_decref(j);

    /* Lists: newest first; all=1 or only running; filters in both forms. */
    CHECK_INT(simple(&t, "POST", "/containers/%s/start", "web1"), 204);
    r = req(&t, "GET", "/containers/json", NULL);
    j = resp_json(&r);
    CHECK_INT(json_array_size(j), 1);
    json_t *e = json_array_get(j, 0);
    CHECK_STR(json_string_value(json_object_get(e, "Id")), id);
    CHECK_STR(json_string_value(json_array_get(json_object_get(e, "Names"), 0)), "/web1");
    CHECK_STR(json_string_value(json_object_get(e, "Command")), "sleep 100");
    CHECK_STR(json_string_value(json_object_get(e, "State")), "running");
    CHECK_STR(json_string_value(json_object_get(e, "Status")), "Up Less than a second");
    CHECK_STR(json_string_value(json_object_get(json_object_get(e, "Labels"), "tier")), "front");
    CHECK_STR(json_string_value(json_object_get(json_object_get(e, "HostConfig"), "NetworkMode")),
              "default");
    json_decref(j);
    resp_free(&r);
    r = req(&t, "GET", "/v1.41/containers/json?all=1", NULL);
    j = resp_json(&r);
    CHECK_INT(json_array_size(j), 3);
    CHECK_STR(json_string_value(json_object_get(json_array_get(j, 0), "Id")), id3);
    CHECK_STR(json_string_value(json_object_get(json_array_get(j, 1), "Image")),
              "localhost:5000/some/thing:v2");
    json_decref(j);
    resp_free(&r);
    static const struct {
        const char *query;
        int want;
    } filters[] = {
        {"all=1&filters={\"name\":{\"web\":true}}", 1}, /* map form */
        {"all=1&filters={\"name\":[\"/db\"]}", 1},
        {"all=1&filters={\"label\":[\"app\"]}", 1},
        {"all=1&filters={\"label\":[\"app=web\",\"app=db\"]}", 1}, /* or within a key */
        {"all=1&filters={\"label\":[\"app=db\"]}", 0},
        {"filters={\"status\":[\"created\"]}", 2},                         /* status implies all */
        {"all=1&filters={\"status\":[\"running\"],\"name\":[\"db\"]}", 0}, /* and across keys */
        {"all=1&limit=2", 2},
        {"all=true&filters=%7B%22label%22%3A%20%5B%22tier%3Dfront%22%5D%7D", 1}, /* docker-py */
    };
    for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
        char path[512];
        snprintf(path, sizeof(path), "/containers/json?%s", filters[i].query);
        r = req(&t, "GET", path, NULL);
        CHECK_INT(r.status, 200);
        j = resp_json(&r);
        if ((int)json_array_size(j) != filters[i].want)
            printf("# filter %s: %zu\n", path, json_array_size(j));
        CHECK_INT(json_array_size(j), filters[i].want);
        json_decref(j);
        resp_free(&r);
    }
    char idq[512]; /* {"id":["<12 hex>"]}, encoded as the CLI does */
    snprintf(idq, sizeof(idq),
             "/containers/json?all=1&filters=%%7B%%22id%%22%%3A%%5B%%22%.12s%%22%%5D%%7D", id);
    r = req(&t, "GET", idq, NULL);
    j = resp_json(&r);
    CHECK_INT(json_array_size(j), 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(j, 0), "Id")), id);
    json_decref(j);
    resp_free(&r);
    /* Full ids (looked up, not walked): newest first, each once, the other filters apply. */
    snprintf(idq, sizeof(idq), "/containers/json?all=1&filters={\"id\":[\"%s\",\"%s\",\"%s\"]}", id,
             id3, id);
    r = req(&t, "GET", idq, NULL);
    j = resp_json(&r);
    CHECK_INT(json_array_size(j), 2);
    CHECK_STR(json_string_value(json_object_get(json_array_get(j, 0), "Id")), id3);
    CHECK_STR(json_string_value(json_object_get(json_array_get(j, 1), "Id")), id);
    json_decref(j);
    resp_free(&r);
    snprintf(idq, sizeof(idq), "/containers/json?filters={\"id\":[\"%s\",\"%s\"]}", id, id3);
    r = req(&t, "GET", idq, NULL); /* not all: only the running one */
    j = resp_json(&r);
    CHECK_INT(json_array_size(j), 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(j, 0), "Id")), id);
    json_decref(j);
    resp_free(&r);
    r = req(&t, "GET", "/containers/json?filters={\"ancestor\":[\"busybox\"]}", NULL);
    CHECK_INT(r.status, 400);
    CHECK(strstr(message(&r), "filter 'ancestor' is not supported") != NULL);
    resp_free(&r);
    r = req(&t, "GET", "/containers/json?filters=[1]", NULL);
    CHECK_INT(r.status, 400);
    resp_free(&r);

    /* Images: one per name used, normalized; any ref inspects. */
    r = req(&t, "GET", "/images/json", NULL);
    j = resp_json(&r);
    CHECK_INT(json_array_size(j), 2);
    CHECK_STR(
        json_string_value(json_array_get(json_object_get(json_array_get(j, 1), "RepoTags"), 0)),
        "busybox:latest");
    json_decref(j);
    resp_free(&r);
    r = req(&t, "GET", "/v1.41/images/busybox:local/json", NULL);
    CHECK_INT(r.status, 200);
    j = resp_json(&r);
    CHECK_STR(json_string_value(json_array_get(json_object_get(j, "RepoTags"), 0)),
              "busybox:local");
    json_decref(j);
    resp_free(&r);
    r = req(&t, "GET", "/images/a%20b/json", NULL);
    CHECK_INT(r.status, 404);
    resp_free(&r);
    tc_close(&t);
    hollow_engine_free(h);
}

static void test_lifecycle(void)
{
    struct hollow_engine *h = new_engine(0);
    struct tc t;
    tc_open(&t, h);
    char id[65], st[16];
    CHECK_INT(create(&t, "sl", RUN_BODY("[\"sleep\",\"100\"]"), id), 201);
    CHECK_INT(simple(&t, "POST", "/containers/%s/stop", "sl"), 304);
    CHECK_INT(simple(&t, "POST", "/containers/%s/kill", "sl"), 409);
    CHECK_INT(simple(&t, "POST", "/containers/%s/start", "sl"), 204);
    CHECK_INT(simple(&t, "POST", "/containers/%s/start", "sl"), 304);
    CHECK_STR(state_of(&t, "sl", st), "running");
    json_t *j = inspect(&t, "sl");
    CHECK(json_integer_value(json_object_get(json_object_get(j, "State"), "Pid")) > 0);
    json_decref(j);
    CHECK_INT(simple(&t, "DELETE", "/containers/%s", "sl"), 409);
    CHECK_INT(simple(&t, "POST", "/containers/%s/kill?signal=WINCH", "sl"), 204);
    CHECK_STR(state_of(&t, "sl", st), "running");
    CHECK_INT(simple(&t, "POST", "/containers/%s/kill?signal=BOGUS", "sl"), 400);
    fake_now += 5000000000LL;
    CHECK_INT(simple(&t, "POST", "/containers/%s/stop", "sl"), 204);
    j = inspect(&t, "sl");
    json_t *state = json_object_get(j, "State");
    CHECK_STR(json_string_value(json_object_get(state, "Status")), "exited");
    CHECK_INT(json_integer_value(json_object_get(state, "ExitCode")), 0);
    CHECK_STR(json_string_value(json_object_get(state, "FinishedAt")), "2026-11-25T16:20:05Z");
    json_decref(j);
    struct resp r = req(&t, "GET", "/containers/json?all=1", NULL);
    CHECK(strstr(r.body, "\"Exited (0) Less than a second ago\"") != NULL);
    resp_free(&r);
    CHECK_INT(simple(&t, "POST", "/containers/%s/restart", "sl"), 204);
    CHECK_STR(state_of(&t, "sl", st), "running");
    CHECK_INT(simple(&t, "POST", "/containers/%s/kill", "sl"), 204);
    j = inspect(&t, "sl");
    CHECK_INT(json_integer_value(json_object_get(json_object_get(j, "State"), "ExitCode")), 137);
    json_decref(j);
    CHECK_INT(simple(&t, "DELETE", "/containers/%s", "sl"), 204);
    CHECK_INT(simple(&t, "DELETE", "/containers/%s", "sl"), 404);

    /* true and echo exit at once with 0; echo's words are its logs. */
    CHECK_INT(create(&t, "tr", RUN_BODY("[\"/bin/true\"]"), NULL), 201);
    CHECK_INT(simple(&t, "POST", "/containers/%s/start", "tr"), 204);
    CHECK_STR(state_of(&t, "tr", st), "exited");
    CHECK_INT(create(&t, "ec", RUN_BODY("[\"echo\",\"hello\",\"world\"]"), NULL), 201);
    r = req(&t, "GET", "/containers/ec/logs?stdout=1&stderr=1", NULL);
    CHECK_INT(r.status, 200);
    CHECK(r.complete && r.body_len == 0); /* not run yet: nothing said */
    resp_free(&r);
    CHECK_INT(simple(&t, "POST", "/containers/%s/start", "ec"), 204);
    CHECK_STR(state_of(&t, "ec", st), "exited");
    r = req(&t, "GET", "/containers/ec/logs?stdout=1&stderr=1&follow=1", NULL);
    CHECK_INT(r.status, 200);
    CHECK(r.complete);
    CHECK_INT(r.body_len, 8 + 12);
    CHECK(memcmp(r.body, "\x01\0\0\0\0\0\0\x0chello world\n", 20) == 0);
    resp_free(&r);
    r = req(&t, "GET", "/containers/ec/logs?stderr=1&tail=all", NULL);
    CHECK_INT(r.body_len, 0);
    resp_free(&r);
    r = req(&t, "GET", "/containers/ec/logs", NULL);
    CHECK_INT(r.status, 400);
    CHECK_STR(message(&r), "Bad parameters: you must choose at least one stream");
    resp_free(&r);
    CHECK_INT(create(&t, "et",
                     "{\"Image\":\"busybox\",\"Tty\":true,\"Entrypoint\":[\"echo\"],"
                     "\"Cmd\":[\"hi\"]}",
                     NULL),
              201);
    CHECK_INT(simple(&t, "POST", "/containers/%s/start", "et"), 204);
    r = req(&t, "GET", "/containers/et/logs?stdout=1", NULL);
    CHECK_STR(r.body, "hi\n"); /* Tty: raw */
    resp_free(&r);

    /* logs -f on a running container ends when it stops. */
    CHECK_INT(create(&t, "lf", RUN_BODY("[\"sh\"]"), NULL), 201);
    CHECK_INT(simple(&t, "POST", "/containers/%s/start", "lf"), 204);
    r = req(&t, "GET", "/containers/lf/logs?stdout=1&follow=1", NULL);
    CHECK_INT(r.status, 200);
    CHECK(!r.complete);
    resp_free(&r);
    struct tc t2;
    tc_open(&t2, h);
    CHECK_INT(simple(&t2, "POST", "/containers/%s/stop", "lf"), 204);
    CHECK(strstr(t.out.buf + t.out.off, "0\r\n\r\n") != NULL);
    t.out.off = t.out.len;
    /* ... and the first session goes on. */
    CHECK_INT(simple(&t, "GET", "%s", "/_ping"), 200);

    /* AutoRemove: gone once it exits. */
    CHECK_INT(create(&t, "rm1",
                     "{\"Image\":\"busybox\",\"Cmd\":[\"true\"],\"HostConfig\":"
                     "{\"AutoRemove\":true}}",
                     NULL),
              201);
    CHECK_INT(simple(&t, "POST", "/containers/%s/start", "rm1"), 204);
    CHECK_INT(simple(&t, "GET", "/containers/%s/json", "rm1"), 404);
    const struct hollow_engine_stats *stats = hollow_engine_stats(h);
    CHECK_INT(stats->containers, 4);
    CHECK_INT(stats->running, 0);
    tc_close(&t2);
    tc_close(&t);
    hollow_engine_free(h);
}

static void test_wait(void)
{
    struct hollow_engine *h = new_engine(0);
    struct tc a, b;
    tc_open(&a, h);
    tc_open(&b, h);
    char id[65];
    /* docker run -d: create, wait next-exit (headers at once), start on another connection. */
    CHECK_INT(create(&a, "w1", RUN_BODY("[\"true\"]"), id), 201);
    struct resp r = req(&a, "POST", "/v1.41/containers/w1/wait?condition=next-exit", NULL);
    CHECK_INT(r.status, 200);
    CHECK(r.chunked && !r.complete && r.body_len == 0);
    char v[64];
    CHECK_STR(header(&r, "Content-Type", v, sizeof(v)), "application/json");
    resp_free(&r);
    CHECK_INT(simple(&b, "POST", "/containers/%s/start", id), 204);
    r = more(&a);
    CHECK_STR(r.body, "{\"StatusCode\":0,\"Error\":null}\n");
    resp_free(&r);
    /* a's connection reads requests again. */
    CHECK_INT(simple(&a, "GET", "%s", "/_ping"), 200);
    /* Not running: at once. */
    r = req(&a, "POST", "/containers/w1/wait", NULL);
    CHECK(r.complete);
    CHECK_STR(r.body, "{\"StatusCode\":0,\"Error\":null}\n");
    resp_free(&r);
    /* A running one: when it stops (kill: 137). */
    CHECK_INT(create(&a, "w2", RUN_BODY("[\"sleep\",\"9\"]"), NULL), 201);
    CHECK_INT(simple(&a, "POST", "/containers/%s/start", "w2"), 204);
    r = req(&a, "POST", "/containers/w2/wait?condition=not-running", NULL);
    CHECK(!r.complete);
    resp_free(&r);
    CHECK_INT(simple(&b, "POST", "/containers/%s/kill", "w2"), 204);
    r = more(&a);
    CHECK_STR(r.body, "{\"StatusCode\":137,\"Error\":null}\n");
    resp_free(&r);
    /* removed: only when it is gone. */
    r = req(&a, "POST", "/containers/w2/wait?condition=removed", NULL);
    CHECK(!r.complete);
    resp_free(&r);
    CHECK_INT(simple(&b, "POST", "/containers/%s/start", "w2"), 204);
    CHECK_INT(simple(&b, "POST", "/containers/%s/stop", "w2"), 204);
    CHECK_INT(a.out.len, a.out.off); /* still waiting */
    CHECK_INT(simple(&b, "DELETE", "/containers/%s", "w2"), 204);
    r = more(&a);
    CHECK(r.complete);
    resp_free(&r);
    CHECK_INT(simple(&a, "POST", "/containers/%s/wait?condition=bogus", "w1"), 400);
    CHECK_INT(simple(&a, "POST", "/containers/%s/wait", "nosuch"), 404);

    /* A waiter whose client leaves: closed at once, nothing more written. */
    CHECK_INT(create(&a, "w3", RUN_BODY("[\"sleep\",\"9\"]"), NULL), 201);
    CHECK_INT(simple(&a, "POST", "/containers/%s/start", "w3"), 204);
    r = req(&a, "POST", "/containers/w3/wait", NULL);
    resp_free(&r);
    hollow_session_feed(a.s, NULL, 0);
    CHECK_INT(a.out.closed, 1);
    CHECK(!a.out.flush);
    size_t len = a.out.len;
    CHECK_INT(simple(&b, "POST", "/containers/%s/stop", "w3"), 204);
    CHECK_INT(a.out.len, len);
    tc_close(&a);
    tc_close(&b);
    hollow_engine_free(h);
}

/* A waiter with pipelined requests behind it resumes after the request that ended its wait,
 * even when its next request removes the container that request is still working on. */
static void test_reentrancy(void)
{
    struct hollow_engine *h = new_engine(0);
    struct tc a, b, c;
    tc_open(&a, h);
    tc_open(&b, h);
    tc_open(&c, h);
    CHECK_INT(create(&b, "re",
                     "{\"Image\":\"busybox\",\"Cmd\":[\"sleep\"],\"HostConfig\":"
                     "{\"AutoRemove\":false}}",
                     NULL),
              201);
    CHECK_INT(simple(&b, "POST", "/containers/%s/start", "re"), 204);
    static const char two[] = "POST /containers/re/wait HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
                              "DELETE /containers/re?force=1 HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
                              "GET /containers/re/json HTTP/1.1\r\n\r\n";
    struct resp r = feed_raw(&a, two, sizeof(two) - 1, false);
    CHECK_INT(r.status, 200);
    resp_free(&r);
    /* c waits for its removal too. */
    r = req(&c, "POST", "/containers/re/wait?condition=removed", NULL);
    resp_free(&r);
    CHECK_INT(simple(&b, "DELETE", "/containers/%s?force=1", "re"), 204);
    /* a: its wait answer, then 404 for its DELETE (b removed it first), then 404. */
    CHECK(strstr(a.out.buf, "{\"StatusCode\":137,\"Error\":null}") != NULL);
    CHECK(strstr(a.out.buf, "No such container: re") != NULL);
    CHECK_INT(hollow_engine_stats(h)->containers, 0);
    CHECK(strstr(c.out.buf, "0\r\n\r\n") != NULL);
    tc_close(&a);
    tc_close(&b);
    tc_close(&c);
    hollow_engine_free(h);
}

static void test_events(void)
{
    struct hollow_engine *h = new_engine(0);
    struct tc ev, all, flt, act;
    tc_open(&ev, h);
    tc_open(&all, h);
    tc_open(&flt, h);
    tc_open(&act, h);
    struct resp r = req(&ev, "GET", "/v1.41/events", NULL);
    CHECK_INT(r.status, 200);
    CHECK(r.chunked && !r.complete);
    resp_free(&r);
    r = req(&flt, "GET",
            "/events?filters=%7B%22type%22%3A%7B%22container%22%3Atrue%7D%2C%22event%22%3A%5B%22"
            "destroy%22%5D%7D",
            NULL); /* {"type":{"container":true},"event":["destroy"]} */
    CHECK_INT(r.status, 200);
    resp_free(&r);
    char id[65];
    CHECK_INT(create(&act, "evc",
                     "{\"Image\":\"busybox\",\"Cmd\":[\"true\"],\"Labels\":"
                     "{\"com.docker.compose.service\":\"web\"}}",
                     id),
              201);
    CHECK_INT(simple(&act, "POST", "/containers/%s/start", "evc"), 204);
    CHECK_INT(simple(&act, "DELETE", "/containers/%s", "evc"), 204);
    r = more(&ev);
    /* One JSON object and a newline per chunk. */
    char *save = NULL, *line = strtok_r(r.body, "\n", &save);
    const char *want[] = {"create", "start", "die", "destroy"};
    int n = 0;
    for (; line; line = strtok_r(NULL, "\n", &save), n++) {
        json_t *e = json_loads(line, 0, NULL);
        CHECK(e != NULL);
        if (n < 4)
            CHECK_STR(json_string_value(json_object_get(e, "Action")), want[n]);
        CHECK_STR(json_string_value(json_object_get(e, "Type")), "container");
        json_t *actor = json_object_get(e, "Actor");
        CHECK_STR(json_string_value(json_object_get(actor, "ID")), id);
        json_t *attrs = json_object_get(actor, "Attributes");
        CHECK_STR(json_string_value(json_object_get(attrs, "name")), "evc");
        CHECK_STR(json_string_value(json_object_get(attrs, "image")), "busybox");
        CHECK_STR(json_string_value(json_object_get(attrs, "com.docker.compose.service")), "web");
        CHECK(json_integer_value(json_object_get(e, "timeNano")) / 1000000000LL ==
              json_integer_value(json_object_get(e, "time")));
        if (n == 2)
            CHECK_STR(json_string_value(json_object_get(attrs, "exitCode")), "0");
        json_decref(e);
    }
    CHECK_INT(n, 4);
    resp_free(&r);
    r = more(&flt);
    CHECK(r.body && strstr(r.body, "\"destroy\"") && !strstr(r.body, "\"create\""));
    resp_free(&r);
    /* since replays, until (past) ends the stream; the connection goes on. */
    fake_now = T0 + 2000000000LL;
    r = req(&all, "GET", "/events?since=1795623599.5&until=1795623601", NULL);
    CHECK(r.complete);
    CHECK(strstr(r.body, "\"create\"") && strstr(r.body, "\"destroy\""));
    resp_free(&r);
    r = req(&all, "GET",
            "/events?since=1795623599&until=1795623601&filters={\"container\":[\"evc\"],"
            "\"event\":[\"start\"]}",
            NULL);
    CHECK(r.complete && strstr(r.body, "\"start\"") && !strstr(r.body, "\"die\""));
    resp_free(&r);
    r = req(&all, "GET", "/events?since=1795623599&until=1795623601&filters={\"label\":[\"x\"]}",
            NULL);
    CHECK(r.complete && r.body_len == 0);
    resp_free(&r);
    r = req(&all, "GET", "/events?since=yesterday", NULL);
    CHECK_INT(r.status, 400);
    resp_free(&r);
    r = req(&all, "GET", "/events?filters={\"scope\":[\"local\"]}", NULL);
    CHECK_INT(r.status, 400);
    resp_free(&r);
    /* until in the future: the tick ends it once passed. */
    r = req(&all, "GET", "/events?until=1795623700", NULL);
    CHECK(!r.complete);
    resp_free(&r);
    hollow_engine_tick(h);
    CHECK(strstr(all.out.buf + all.out.off, "0\r\n\r\n") == NULL);
    fake_now = 1795623701LL * 1000000000LL;
    hollow_engine_tick(h);
    CHECK(strstr(all.out.buf + all.out.off, "0\r\n\r\n") != NULL);
    all.out.off = all.out.len;
    /* A pull: progress lines, an image event. */
    r = req(&act, "POST", "/images/create?fromImage=docker.io%2Flibrary%2Falpine&tag=3.19", NULL);
    CHECK_INT(r.status, 200);
    CHECK(strstr(r.body, "Status: Downloaded newer image for alpine:3.19") != NULL);
    resp_free(&r);
    r = req(&act, "POST", "/images/create?fromImage=alpine&tag=3.19", NULL);
    CHECK(strstr(r.body, "Image is up to date for alpine:3.19") != NULL);
    resp_free(&r);
    r = req(&act, "POST", "/images/create?fromSrc=-", NULL);
    CHECK_INT(r.status, 400);
    resp_free(&r);
    r = more(&ev);
    CHECK(r.body && strstr(r.body, "\"Type\":\"image\",\"Action\":\"pull\""));
    resp_free(&r);
    /* A subscriber that does not read is dropped. */
    ev.out.fail = true;
    CHECK_INT(simple(&act, "POST", "/containers/create?name=%s", "zz"), 400); /* no body */
    CHECK_INT(create(&act, "zz", RUN_BODY("null"), NULL), 201);
    CHECK_INT(ev.out.closed, 1);
    const struct hollow_engine_stats *st = hollow_engine_stats(h);
    CHECK_INT(st->dropped_subscribers, 1);
    CHECK_INT(st->subscribers, 1); /* flt */
    fake_now = T0;
    tc_close(&ev);
    tc_close(&all);
    tc_close(&flt);
    tc_close(&act);
    hollow_engine_free(h);
}

static void test_framing_and_bounds(void)
{
    struct hollow_engine *h = new_engine(3);
    struct tc t;
    /* Byte at a time, two pipelined requests. */
    tc_open(&t, h);
    static const char two[] = "GET /_ping HTTP/1.1\r\nHost: x\r\n\r\nGET /version HTTP/1.1\r\n\r\n";
    for (size_t i = 0; i < sizeof(two) - 1; i++)
        hollow_session_feed(t.s, two + i, 1);
    struct resp r = feed_raw(&t, NULL, 0, false);
    CHECK_STR(r.body, "OK");
    resp_free(&r);
    r = feed_raw(&t, NULL, 0, false);
    CHECK(r.body && strstr(r.body, "\"ApiVersion\":\"1.41\""));
    resp_free(&r);
    /* A chunked request body. */
    static const char chunked[] =
        "POST /containers/create?name=ch HTTP/1.1\r\nTransfer-Encoding: "
        "chunked\r\n\r\n5\r\n{\"Ima\r\n10\r\nge\":\"busybox\"}  \r\n0\r\n\r\n";
    r = feed_raw(&t, chunked, sizeof(chunked) - 1, false);
    CHECK_INT(r.status, 201);
    resp_free(&r);
    /* The container limit. */
    CHECK_INT(create(&t, "c2", RUN_BODY("null"), NULL), 201);
    CHECK_INT(create(&t, "c3", RUN_BODY("null"), NULL), 201);
    r = req(&t, "POST", "/containers/create?name=c4", RUN_BODY("null"));
    CHECK_INT(r.status, 500);
    CHECK_STR(message(&r), "hollow engine: the container limit (3) is reached");
    resp_free(&r);
    CHECK_INT(t.out.closed, 0);
    /* Connection: close and HTTP/1.0 close after the answer (flushed). */
    static const char closing[] = "GET /_ping HTTP/1.1\r\nConnection: close\r\n\r\n";
    r = feed_raw(&t, closing, sizeof(closing) - 1, false);
    CHECK_INT(r.status, 200);
    char v[64];
    CHECK_STR(header(&r, "Connection", v, sizeof(v)), "close");
    CHECK_INT(t.out.closed, 1);
    CHECK(t.out.flush);
    resp_free(&r);
    tc_close(&t);
    tc_open(&t, h);
    r = feed_raw(&t, "GET /_ping HTTP/1.0\r\n\r\n", 23, false);
    CHECK_INT(r.status, 200);
    CHECK_INT(t.out.closed, 1);
    resp_free(&r);
    tc_close(&t);
    /* Malformed: 400 and close. */
    tc_open(&t, h);
    r = feed_raw(&t, "HELLO\r\n\r\n", 9, false);
    CHECK_INT(r.status, 400);
    CHECK(strstr(message(&r), "malformed HTTP request") != NULL);
    CHECK_INT(t.out.closed, 1);
    resp_free(&r);
    tc_close(&t);
    /* A head over HOLLOW_HEAD_MAX: 431. */
    tc_open(&t, h);
    char *big = malloc(HOLLOW_HEAD_MAX + 100);
    int n = snprintf(big, 64, "GET /_ping HTTP/1.1\r\nX-Big: ");
    memset(big + n, 'a', HOLLOW_HEAD_MAX);
    memcpy(big + n + HOLLOW_HEAD_MAX, "\r\n\r\n", 4);
    r = feed_raw(&t, big, (size_t)n + HOLLOW_HEAD_MAX + 4, false);
    CHECK_INT(r.status, 431);
    CHECK_INT(t.out.closed, 1);
    resp_free(&r);
    free(big);
    tc_close(&t);
    /* Too many header lines: 431. */
    tc_open(&t, h);
    char many[8192];
    n = snprintf(many, sizeof(many), "GET /_ping HTTP/1.1\r\n");
    for (int i = 0; i <= HOLLOW_HEADERS_MAX; i++)
        n += snprintf(many + n, sizeof(many) - (size_t)n, "X-%d: 1\r\n", i);
    n += snprintf(many + n, sizeof(many) - (size_t)n, "\r\n");
    r = feed_raw(&t, many, (size_t)n, false);
    CHECK_INT(r.status, 431);
    resp_free(&r);
    tc_close(&t);
    /* A body over HOLLOW_BODY_MAX: 413 from its Content-Length, before any body byte. */
    tc_open(&t, h);
    char cl[128];
    n = snprintf(cl, sizeof(cl), "POST /containers/create HTTP/1.1\r\nContent-Length: %d\r\n\r\n",
                 HOLLOW_BODY_MAX + 1);
    r = feed_raw(&t, cl, (size_t)n, false);
    CHECK_INT(r.status, 413);
    CHECK_INT(t.out.closed, 1);
    resp_free(&r);
    tc_close(&t);
    /* HTTP/2 preface: not HTTP/1. */
    tc_open(&t, h);
    r = feed_raw(&t, "GET / HTTP/2.0\r\n\r\n", 18, false);
    CHECK(r.status == 505 || r.status == 400);
    resp_free(&r);
    tc_close(&t);
    /* An upgrade (attach hijack): 404, then closed. */
    tc_open(&t, h);
    static const char up[] = "POST /v1.41/containers/ch/attach?stream=1 HTTP/1.1\r\n"
                             "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\nraw";
    r = feed_raw(&t, up, sizeof(up) - 1, false);
    CHECK_INT(r.status, 404);
    CHECK_INT(t.out.closed, 1);
    resp_free(&r);
    tc_close(&t);
    /* Input past HOLLOW_INPUT_MAX while a stream is open: closed at once. */
    tc_open(&t, h);
    r = req(&t, "GET", "/events", NULL);
    resp_free(&r);
    char *junk = calloc(1, HOLLOW_INPUT_MAX / 2 + 1);
    memset(junk, 'x', HOLLOW_INPUT_MAX / 2 + 1);
    hollow_session_feed(t.s, junk, HOLLOW_INPUT_MAX / 2 + 1);
    CHECK_INT(t.out.closed, 0);
    hollow_session_feed(t.s, junk, HOLLOW_INPUT_MAX / 2 + 1);
    CHECK_INT(t.out.closed, 1);
    free(junk);
    tc_close(&t);
    /* A client that half-closes after its request still gets the answer. */
    tc_open(&t, h);
    hollow_session_feed(t.s, "GET /_ping HTTP/1.1\r\n\r\n", 23);
    hollow_session_feed(t.s, NULL, 0);
    CHECK(strstr(t.out.buf, "\r\n\r\nOK") != NULL);
    CHECK_INT(t.out.closed, 1);
    CHECK(t.out.flush);
    tc_close(&t);
    hollow_engine_free(h);
}

/* Bytes per container, the engine's own count and malloc's (0 under valgrind). */
static void test_memory(void)
{
    struct hollow_engine *h = new_engine(0);
    struct tc t;
    tc_open(&t, h);
    /* What `docker run -d --name NAME busybox sleep 100` sends (CLI 28, trimmed of nothing
     * that matters: the HostConfig is the CLI's, with its null and zero members). */
    static const char body[] =
        "{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":false,"
        "\"AttachStdout\":false,\"AttachStderr\":false,\"Tty\":false,\"OpenStdin\":false,"
        "\"StdinOnce\":false,\"Env\":null,\"Cmd\":[\"sleep\",\"100\"],\"Image\":\"busybox\","
        "\"Volumes\":{},\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":{},"
        "\"HostConfig\":{\"Binds\":null,\"ContainerIDFile\":\"\",\"LogConfig\":{\"Type\":\"\","
        "\"Config\":{}},\"NetworkMode\":\"default\",\"PortBindings\":{},\"RestartPolicy\":{"
        "\"Name\":\"no\",\"MaximumRetryCount\":0},\"AutoRemove\":false,\"VolumeDriver\":\"\","
        "\"VolumesFrom\":null,\"ConsoleSize\":[0,0],\"CapAdd\":null,\"CapDrop\":null,"
        "\"CgroupnsMode\":\"\",\"Dns\":[],\"DnsOptions\":[],\"DnsSearch\":[],\"ExtraHosts\":null,"
        "\"GroupAdd\":null,\"IpcMode\":\"\",\"Cgroup\":\"\",\"Links\":null,\"OomScoreAdj\":0,"
        "\"PidMode\":\"\",\"Privileged\":false,\"PublishAllPorts\":false,\"ReadonlyRootfs\":false,"
        "\"SecurityOpt\":null,\"UTSMode\":\"\",\"UsernsMode\":\"\",\"ShmSize\":0,\"Isolation\":"
        "\"\","
        "\"CpuShares\":0,\"Memory\":0,\"NanoCpus\":0,\"CgroupParent\":\"\",\"BlkioWeight\":0,"
        "\"CpuPeriod\":0,\"CpuQuota\":0,\"CpusetCpus\":\"\",\"CpusetMems\":\"\",\"Devices\":[],"
        "\"MemoryReservation\":0,\"MemorySwap\":0,\"PidsLimit\":null,\"Ulimits\":[],"
        "\"MaskedPaths\":null,\"ReadonlyPaths\":null},\"NetworkingConfig\":{\"EndpointsConfig\":"
        "{\"default\":{\"IPAMConfig\":null,\"Links\":null,\"Aliases\":null}}}}";
    enum { N = 2000 };
    size_t before_bytes = hollow_engine_stats(h)->container_bytes;
    struct mallinfo2 m0 = mallinfo2();
    int ok = 0;
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof(name), "bench_%06d", i);
        ok += create(&t, name, body, NULL) == 201;
        t.out.len = t.out.off = 0;
    }
    struct mallinfo2 m1 = mallinfo2();
    CHECK_INT(ok, N);
    size_t own = hollow_engine_stats(h)->container_bytes - before_bytes;
    printf("# memory per hollow container (docker run -d body): %zu bytes counted, %zu bytes by "
           "malloc\n",
           own / N, m1.uordblks > m0.uordblks ? (m1.uordblks - m0.uordblks) / N : 0);
    CHECK(own / N < 1024);
    json_t *j = inspect(&t, "bench_000001");
    CHECK_STR(json_string_value(json_object_get(json_object_get(j, "HostConfig"), "NetworkMode")),
              "default");
    json_decref(j);
    tc_close(&t);
    hollow_engine_free(h);
}

/* ---- over the socket ---- */

static char dir[64], sock_path[108];

static int cl_connect(void)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void cl_send(int fd, const char *text)
{
    size_t n = strlen(text);
    CHECK((size_t)write(fd, text, n) == n);
}

/* Reads until the text holds want (or EOF/timeout); the bytes read so far into buf. */
static size_t cl_read_until(int fd, char *buf, size_t cap, size_t have, const char *want)
{
    buf[have] = '\0';
    while (strstr(buf, want) == NULL && have + 1 < cap) {
        ssize_t n = read(fd, buf + have, cap - 1 - have);
        if (n <= 0)
            break;
        have += (size_t)n;
        buf[have] = '\0';
    }
    return have;
}

/* True if nothing arrives on fd within ms. */
static bool quiet(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) == 0;
}

static int socket_tests(void *arg)
{
    (void)arg;
    char buf[16384];
    struct stat st;
    CHECK_INT(stat(sock_path, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    CHECK(S_ISSOCK(st.st_mode));

    int ev = cl_connect(), a = cl_connect(), b = cl_connect();
    CHECK(ev >= 0 && a >= 0 && b >= 0);
    /* /events: headers now, chunked lines as things happen. */
    cl_send(ev, "GET /v1.41/events HTTP/1.1\r\nHost: x\r\n\r\n");
    size_t n = cl_read_until(ev, buf, sizeof(buf), 0, "\r\n\r\n");
    CHECK(strstr(buf, "HTTP/1.1 200 OK\r\n") == buf);
    CHECK(strstr(buf, "Transfer-Encoding: chunked\r\n") != NULL);
    static const char body[] = "{\"Image\":\"busybox\",\"Cmd\":[\"true\"]}";
    char rq[512];
    snprintf(rq, sizeof(rq),
             "POST /v1.41/containers/create?name=sock1 HTTP/1.1\r\nContent-Type: "
             "application/json\r\nContent-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    cl_send(a, rq);
    n = cl_read_until(a, buf, sizeof(buf), 0, "\"Warnings\":[]}\n");
    CHECK(strstr(buf, "HTTP/1.1 201 Created") == buf);
    char *idp = strstr(buf, "{\"Id\":\"");
    char id[65] = "";
    if (idp)
        snprintf(id, sizeof(id), "%.64s", idp + 7);
    n = cl_read_until(ev, buf, sizeof(buf), 0, "\r\n");
    n = cl_read_until(ev, buf, sizeof(buf), n, "}\n\r\n");
    CHECK(strstr(buf, "\"Action\":\"create\"") != NULL);
    /* wait: its headers before the container has even started, then the answer. */
    snprintf(rq, sizeof(rq),
             "POST /v1.41/containers/%s/wait?condition=next-exit HTTP/1.1\r\nContent-Length: "
             "0\r\n\r\n",
             id);
    cl_send(a, rq);
    n = cl_read_until(a, buf, sizeof(buf), 0, "\r\n\r\n");
    CHECK(strstr(buf, "HTTP/1.1 200 OK") == buf);
    CHECK(quiet(a, 100)); /* no body yet */
    snprintf(rq, sizeof(rq),
             "POST /v1.41/containers/%s/start HTTP/1.1\r\nContent-Length: 0\r\n\r\n", id);
    cl_send(b, rq);
    n = cl_read_until(b, buf, sizeof(buf), 0, "\r\n\r\n");
    CHECK(strstr(buf, "HTTP/1.1 204 No Content") == buf);
    n = cl_read_until(a, buf, sizeof(buf), 0, "0\r\n\r\n");
    CHECK(strstr(buf, "{\"StatusCode\":0,\"Error\":null}\n") != NULL);
    n = cl_read_until(ev, buf, sizeof(buf), 0, "\"die\"");
    CHECK(strstr(buf, "\"die\"") != NULL);
    close(ev);
    close(a);

    /* A quick rate: keep-alive pings and inspects on one connection. */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    enum { REQS = 2000 };
    int okays = 0;
    for (int i = 0; i < REQS; i++) {
        if (i % 2)
            snprintf(rq, sizeof(rq), "GET /v1.41/containers/%s/json HTTP/1.1\r\n\r\n", id);
        else
            snprintf(rq, sizeof(rq), "GET /_ping HTTP/1.1\r\n\r\n");
        cl_send(b, rq);
        n = cl_read_until(b, buf, sizeof(buf), 0, i % 2 ? "}}\n" : "\r\n\r\nOK");
        okays += strstr(buf, "HTTP/1.1 200 OK") == buf;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK_INT(okays, REQS);
    printf("# %d sequential requests on one connection (ping + inspect): %.0f requests/s\n", REQS,
           REQS / secs);
    close(b);

    /* The connection limit: the one over it is closed at once. */
    static int fds[HOLLOW_CONNS_MAX + 1];
    int opened = 0;
    for (int i = 0; i < HOLLOW_CONNS_MAX + 1; i++)
        opened += (fds[i] = cl_connect()) >= 0;
    CHECK_INT(opened, HOLLOW_CONNS_MAX + 1);
    /* Each of the first ones answers; the last one reads end-of-file. */
    cl_send(fds[0], "GET /_ping HTTP/1.1\r\n\r\n");
    n = cl_read_until(fds[0], buf, sizeof(buf), 0, "OK");
    CHECK(strstr(buf, "OK") != NULL);
    int last = fds[HOLLOW_CONNS_MAX];
    (void)!write(last, "GET /_ping HTTP/1.1\r\n\r\n", 23);
    CHECK(read(last, buf, sizeof(buf)) <= 0);
    for (int i = 0; i < HOLLOW_CONNS_MAX + 1; i++)
        close(fds[i]);
    return 42;
}

static void test_socket(void)
{
    snprintf(dir, sizeof(dir), "/tmp/swarm-hollow-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(sock_path, sizeof(sock_path), "%s/" HOLLOW_SOCKET_NAME, dir);
    struct hollow_engine_config cfg = {
        .socket_path = sock_path, .name = "sock", .version = "9.9.9"};
    char err[256];
    struct hollow_engine *h = hollow_engine_new(&cfg, err, sizeof(err));
    CHECK(h != NULL);
    /* A stale socket file is replaced. */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
    CHECK_INT(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
    CHECK_INT(hollow_engine_serve_while(h, socket_tests, NULL, err, sizeof(err)), 42);
    CHECK(access(sock_path, F_OK) < 0); /* removed when it stopped */
    const struct hollow_engine_stats *st = hollow_engine_stats(h);
    CHECK(st->refused >= 1);
    CHECK_INT(st->sessions, 0);
    CHECK_INT(st->containers, 1);

    /* One that answers is another agent's: listen refuses; the first keeps serving. */
    uv_loop_t loop;
    uv_loop_init(&loop);
    CHECK_INT(hollow_engine_listen(h, &loop, err, sizeof(err)), 0);
    struct hollow_engine *other = hollow_engine_new(&cfg, err, sizeof(err));
    CHECK_INT(hollow_engine_listen(other, &loop, err, sizeof(err)), -1);
    CHECK(strstr(err, "answers: another agent uses this state dir") != NULL);
    CHECK_INT(hollow_engine_listen(h, &loop, err, sizeof(err)), -1); /* already */
    hollow_engine_close(h, NULL, NULL);
    hollow_engine_close(other, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(uv_loop_close(&loop), 0);
    hollow_engine_free(other);
    hollow_engine_free(h);
    /* A socket path that cannot be bound. */
    cfg.socket_path = "/nonexistent-dir/hollow.sock";
    h = hollow_engine_new(&cfg, err, sizeof(err));
    CHECK_INT(hollow_engine_serve_while(h, socket_tests, NULL, err, sizeof(err)), -1);
    CHECK(strstr(err, "/nonexistent-dir/hollow.sock") != NULL);
    hollow_engine_free(h);
    rmdir(dir);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (sodium_init() < 0)
        return 1;
    RUN(test_parse_size);
    RUN(test_config);
    RUN(test_ping_version_info);
    RUN(test_create_list_inspect);
    RUN(test_lifecycle);
    RUN(test_wait);
    RUN(test_reentrancy);
    RUN(test_events);
    RUN(test_framing_and_bounds);
    RUN(test_memory);
    RUN(test_socket);
    return check_done();
}
