/*
 * fake_engine — a Docker engine stand-in for unit tests, on the test's libuv loop: a unix
 * socket server that answers the GETs agent/engine_watch makes from a small model (containers,
 * images, /info, /version) and streams /events chunked to every subscriber.
 *
 *   GET /events?...                      200, chunked, kept open; fe_event() writes to it
 *   GET /containers/json?all=1[&filters={"id":["X"]}]   the model's entries (Content-Length)
 *   GET /containers/X/json               the inspect (Content-Length), 404 if X is unknown
 *   GET /images/json                     the images, chunked in two chunks
 *   GET /info                            Content-Length
 *   GET /version                         no length: the body ends with the connection
 *
 * Knobs: hold_inspects (inspects wait until fe_release), silent (accept, never answer),
 * garbage (answer with bytes that are not HTTP). fe_stop closes the listener and every
 * connection (the event stream ends); fe_listen starts again. Header-only: each test includes
 * it once. Everything is freed once the loop has run the close callbacks.
 */
#ifndef SWARM_TESTS_FAKE_ENGINE_H
#define SWARM_TESTS_FAKE_ENGINE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#define FE_MAX_CONTAINERS 2048
/* What a test may call; not every test calls all of it. */
#define FE_API static __attribute__((unused))

struct fe_container {
    char id[65];
    char name[32];
    char state[16];
    long long memory;
    long long nano_cpus;
};

struct fe_conn;

struct fake_engine {
    uv_loop_t *loop;
    uv_pipe_t server;
    bool listening;
    char path[96];
    struct fe_conn *conns;
    int open_conns;
    struct fe_container c[FE_MAX_CONTAINERS];
    int nc;
    char images[4096];
    char info[1024];
    bool hold_inspects, silent, garbage;
    int requests, inspects, lists, filtered_lists, image_lists, infos, subscribers;
    char last_events_path[512];
};

struct fe_conn {
    struct fake_engine *e;
    uv_pipe_t pipe;
    struct fe_conn *next;
    char req[4096];
    size_t reqlen;
    bool got_request, events, held, closing, ending;
    char path[512];
    uv_shutdown_t sd;
};

struct fe_write {
    uv_write_t req;
    size_t len;
    char data[];
};

static void fe_conn_closed(uv_handle_t *h)
{
    struct fe_conn *fc = h->data;
    struct fake_engine *e = fc->e;
    for (struct fe_conn **pp = &e->conns; *pp; pp = &(*pp)->next)
        if (*pp == fc) {
            *pp = fc->next;
            break;
        }
    e->open_conns--;
    free(fc);
}

static void fe_conn_close(struct fe_conn *fc)
{
    if (fc->closing)
        return;
    fc->closing = true;
    if (fc->events)
        fc->e->subscribers--;
    uv_close((uv_handle_t *)&fc->pipe, fe_conn_closed);
}

static void fe_written(uv_write_t *req, int status)
{
    (void)status;
    free(req->data);
}

static void fe_send(struct fe_conn *fc, const char *p, size_t len)
{
    if (fc->closing || len == 0)
        return;
    struct fe_write *w = malloc(sizeof(*w) + len);
    memcpy(w->data, p, len);
    w->len = len;
    w->req.data = w;
    uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
    if (uv_write(&w->req, (uv_stream_t *)&fc->pipe, &b, 1, fe_written) < 0)
        free(w);
}

static void fe_sendf(struct fe_conn *fc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fe_sendf(struct fe_conn *fc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n > 0)
        fe_send(fc, s, (size_t)n);
    free(s);
}

static void fe_shut(uv_shutdown_t *req, int status)
{
    (void)status;
    fe_conn_close(req->data);
}

/* Ends the response: our side shuts down after the writes, then the connection closes. */
static void fe_end(struct fe_conn *fc)
{
    if (fc->closing || fc->ending)
        return;
    fc->ending = true;
    fc->sd.data = fc;
    if (uv_shutdown(&fc->sd, (uv_stream_t *)&fc->pipe, fe_shut) < 0)
        fe_conn_close(fc);
}

/* A growable string for bodies. */
struct fe_buf {
    char *p;
    size_t len, cap;
};

static void fe_buf_addf(struct fe_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fe_buf_addf(struct fe_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (b->len + (size_t)n + 1 > b->cap) {
        b->cap = (b->len + (size_t)n + 1) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, (size_t)n + 1);
    b->len += (size_t)n;
    free(s);
}

static void fe_entry(struct fe_buf *b, const struct fe_container *c)
{
    fe_buf_addf(
        b,
        "{\"Id\":\"%s\",\"Names\":[\"/%s\"],\"Image\":\"busybox:local\",\"ImageID\":"
        "\"sha256:1111\",\"Command\":\"sleep 1000\",\"Created\":1700000000,\"Ports\":[],"
        "\"Labels\":{\"app\":\"test\"},\"State\":\"%s\",\"Status\":\"%s\",\"HostConfig\":"
        "{\"NetworkMode\":\"default\"},\"NetworkSettings\":{\"Networks\":{}},\"Mounts\":[]}",
        c->id, c->name, c->state, c->state);
}

static struct fe_container *fe_find(struct fake_engine *e, const char *id)
{
    for (int i = 0; i < e->nc; i++)
        if (strcmp(e->c[i].id, id) == 0)
            return &e->c[i];
    return NULL;
}

static void fe_reply(struct fe_conn *fc, int status, const char *body, size_t len)
{
    fe_sendf(fc, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
             status, status == 200 ? "OK" : "Not Found", len);
    fe_send(fc, body, len);
    fe_end(fc);
}

static void fe_inspect(struct fe_conn *fc, const char *id)
{
    struct fake_engine *e = fc->e;
    struct fe_container *c = fe_find(e, id);
    if (c == NULL) {
        static const char nf[] = "{\"message\":\"No such container\"}";
        fe_reply(fc, 404, nf, sizeof(nf) - 1);
        return;
    }
    struct fe_buf b = {0};
    fe_buf_addf(
        &b,
        "{\"Id\":\"%s\",\"Name\":\"/%s\",\"HostConfig\":{\"Memory\":%lld,\"NanoCpus\":%lld,"
        "\"CpuShares\":0,\"CpusetCpus\":\"\",\"PortBindings\":{\"80/tcp\":[{\"HostIp\":\"\","
        "\"HostPort\":\"8080\"}]},\"RestartPolicy\":{\"Name\":\"no\",\"MaximumRetryCount\":0},"
        "\"Privileged\":false},\"Config\":{\"Env\":[\"SECRET=hunter2\"]}}",
        c->id, c->name, c->memory, c->nano_cpus);
    fe_reply(fc, 200, b.p, b.len);
    free(b.p);
}

/* Serves what the request asks, or holds it (inspects while hold_inspects). */
static void fe_serve(struct fe_conn *fc)
{
    struct fake_engine *e = fc->e;
    const char *path = fc->path;
    e->requests++;
    if (e->garbage) {
        fe_sendf(fc, "SSH-2.0-OpenSSH\r\n\r\n");
        fe_end(fc);
        return;
    }
    if (strncmp(path, "/events", 7) == 0) {
        fc->events = true;
        e->subscribers++;
        snprintf(e->last_events_path, sizeof(e->last_events_path), "%s", path);
        fe_sendf(fc, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n");
        return;
    }
    const char *filt = strstr(path, "filters=%7B%22id%22%3A%5B%22");
    if (strncmp(path, "/containers/json?all=1", 22) == 0) {
        struct fe_buf b = {0};
        fe_buf_addf(&b, "[");
        int n = 0;
        char want[65] = "";
        if (filt) {
            e->filtered_lists++;
            sscanf(filt + strlen("filters=%7B%22id%22%3A%5B%22"), "%64[0-9a-zA-Z]", want);
        } else {
            e->lists++;
        }
        for (int i = 0; i < e->nc; i++) {
            if (filt && strcmp(e->c[i].id, want) != 0)
                continue;
            if (n++)
                fe_buf_addf(&b, ",");
            fe_entry(&b, &e->c[i]);
        }
        fe_buf_addf(&b, "]");
        fe_reply(fc, 200, b.p, b.len);
        free(b.p);
        return;
    }
    char id[80];
    if (sscanf(path, "/containers/%70[^/]/json", id) == 1) {
        e->inspects++;
        if (e->hold_inspects) {
            fc->held = true;
            return;
        }
        fe_inspect(fc, id);
        return;
    }
    if (strcmp(path, "/images/json") == 0) {
        e->image_lists++;
        size_t n = strlen(e->images), half = n / 2;
        fe_sendf(fc, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n");
        fe_sendf(fc, "%zx\r\n%.*s\r\n", half, (int)half, e->images);
        fe_sendf(fc, "%zx\r\n%s\r\n0\r\n\r\n", n - half, e->images + half);
        fe_end(fc);
        return;
    }
    if (strcmp(path, "/info") == 0) {
        e->infos++;
        fe_reply(fc, 200, e->info, strlen(e->info));
        return;
    }
    if (strcmp(path, "/version") == 0) {
        fe_sendf(fc, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n"
                     "{\"ApiVersion\":\"1.41\",\"Version\":\"20.10.24\"}");
        fe_end(fc);
        return;
    }
    static const char nf[] = "{\"message\":\"page not found\"}";
    fe_reply(fc, 404, nf, sizeof(nf) - 1);
}

static void fe_alloc(uv_handle_t *h, size_t sugg, uv_buf_t *buf)
{
    (void)sugg;
    struct fe_conn *fc = h->data;
    buf->base = fc->req + fc->reqlen;
    buf->len = sizeof(fc->req) - 1 - fc->reqlen;
}

static void fe_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct fe_conn *fc = s->data;
    if (nread < 0) {
        if (!fc->ending)
            fe_conn_close(fc);
        return;
    }
    fc->reqlen += (size_t)nread;
    fc->req[fc->reqlen] = '\0';
    if (fc->got_request || strstr(fc->req, "\r\n\r\n") == NULL) {
        if (fc->reqlen >= sizeof(fc->req) - 1)
            fe_conn_close(fc);
        return;
    }
    fc->got_request = true;
    if (sscanf(fc->req, "GET %511s HTTP/1.1", fc->path) != 1) {
        fe_conn_close(fc);
        return;
    }
    if (fc->e->silent)
        return;
    fe_serve(fc);
}

static void fe_on_conn(uv_stream_t *server, int status)
{
    struct fake_engine *e = server->data;
    if (status < 0)
        return;
    struct fe_conn *fc = calloc(1, sizeof(*fc));
    fc->e = e;
    uv_pipe_init(e->loop, &fc->pipe, 0);
    fc->pipe.data = fc;
    fc->next = e->conns;
    e->conns = fc;
    e->open_conns++;
    if (uv_accept(server, (uv_stream_t *)&fc->pipe) < 0) {
        fe_conn_close(fc);
        return;
    }
    uv_read_start((uv_stream_t *)&fc->pipe, fe_alloc, fe_read);
}

static int fe_counter;

/* Sets up the model and a socket path (nothing listens until fe_listen). */
FE_API void fe_init(struct fake_engine *e, uv_loop_t *loop)
{
    memset(e, 0, sizeof(*e));
    e->loop = loop;
    snprintf(e->path, sizeof(e->path), "/tmp/swfe-%d-%d.sock", (int)getpid(), fe_counter++);
    unlink(e->path);
    snprintf(e->images, sizeof(e->images),
             "[{\"Id\":\"sha256:1111\",\"RepoTags\":[\"busybox:local\"],\"Size\":1234,"
             "\"Created\":1700000000,\"Labels\":null}]");
    snprintf(e->info, sizeof(e->info),
             "{\"ID\":\"FAKE:ENGINE\",\"Name\":\"fake1\",\"NCPU\":2,\"MemTotal\":2147483648,"
             "\"Containers\":0,\"Labels\":[]}");
}

FE_API int fe_listen(struct fake_engine *e)
{
    if (e->listening)
        return 0;
    unlink(e->path);
    uv_pipe_init(e->loop, &e->server, 0);
    e->server.data = e;
    int rc = uv_pipe_bind(&e->server, e->path);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&e->server, 128, fe_on_conn);
    e->listening = rc == 0;
    if (rc != 0)
        uv_close((uv_handle_t *)&e->server, NULL);
    return rc;
}

/* Stops listening and drops every connection (event streams end without their last chunk). */
FE_API void fe_stop(struct fake_engine *e)
{
    if (e->listening) {
        uv_close((uv_handle_t *)&e->server, NULL);
        e->listening = false;
        unlink(e->path);
    }
    for (struct fe_conn *fc = e->conns; fc; fc = fc->next)
        fe_conn_close(fc);
}

/* Answers every held inspect with the model as it is now. */
FE_API void fe_release(struct fake_engine *e)
{
    e->hold_inspects = false;
    for (struct fe_conn *fc = e->conns; fc; fc = fc->next) {
        if (fc->held && !fc->closing) {
            fc->held = false;
            char id[80];
            if (sscanf(fc->path, "/containers/%70[^/]/json", id) == 1)
                fe_inspect(fc, id);
        }
    }
}

/* Writes raw bytes to every event subscriber. */
FE_API void fe_events_raw(struct fake_engine *e, const char *p, size_t n)
{
    for (struct fe_conn *fc = e->conns; fc; fc = fc->next)
        if (fc->events && !fc->closing)
            fe_send(fc, p, n);
}

/* One event, one chunk: {"Type":type,"Action":action,"Actor":{"ID":id},...} and "\n". */
FE_API void fe_event(struct fake_engine *e, const char *type, const char *action, const char *id)
{
    char ev[1024];
    int n = snprintf(ev, sizeof(ev),
                     "{\"status\":\"%s\",\"id\":\"%s\",\"Type\":\"%s\",\"Action\":\"%s\",\"Actor\":"
                     "{\"ID\":\"%s\",\"Attributes\":{\"name\":\"x\"}},\"scope\":\"local\","
                     "\"time\":1700000001,\"timeNano\":1700000001000000000}\n",
                     action, id, type, action, id);
    char chunk[1100];
    int m = snprintf(chunk, sizeof(chunk), "%x\r\n%s\r\n", n, ev);
    fe_events_raw(e, chunk, (size_t)m);
}

FE_API struct fe_container *fe_add(struct fake_engine *e, const char *name, const char *state,
                                   long long memory)
{
    struct fe_container *c = &e->c[e->nc++];
    memset(c, 0, sizeof(*c));
    for (int i = 0; i < 64; i++)
        c->id[i] = "0123456789abcdef"[(unsigned)(e->nc * 7919 + i * 31 + (int)strlen(name)) % 16];
    c->id[0] = "abcdef"[e->nc % 6];
    snprintf(c->id + 58, 7, "%06d", e->nc); /* unique */
    snprintf(c->name, sizeof(c->name), "%s", name);
    snprintf(c->state, sizeof(c->state), "%s", state);
    c->memory = memory;
    return c;
}

FE_API void fe_remove(struct fake_engine *e, const char *id)
{
    for (int i = 0; i < e->nc; i++)
        if (strcmp(e->c[i].id, id) == 0) {
            e->c[i] = e->c[--e->nc];
            return;
        }
}

#endif
