/*
 * Unit tests for the manager's Docker API: api_http (framing, limits), api_router and
 * api_handlers (answers, exact bytes), api_cluster (the engine records), api_server (real unix
 * sockets on a libuv loop in this thread, driven by blocking raw-socket clients in a second
 * thread). Every server is closed and every loop must end empty.
 */
#include "manager/api_cluster.h"
#include "manager/api_handlers.h"
#include "manager/api_http.h"
#include "manager/api_router.h"
#include "manager/api_server.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static char dir[64];
static char sock_path[100];

/* ---- a fake cluster: three engines, one of them failed ---- */

#define UPDATED_AT 1795623600 /* 2026-11-25T16:20:00Z */

static const char *cluster_api = NULL; /* what the api_version callback answers */

static void fake_meta(struct meta *m, const char *id, const char *name, uint32_t cpus, uint64_t mem,
                      const char *api)
{
    memset(m, 0, sizeof(*m));
    m->role = META_ROLE_AGENT;
    m->engine_id = proto_str_c(id);
    m->engine_name = proto_str_c(name);
    m->cpus = cpus;
    m->memory = mem;
    m->os = proto_str_c("Debian GNU/Linux 12 (bookworm)");
    m->kernel = proto_str_c("6.1.0-13-amd64");
    m->api_version = proto_str_c(api);
}

static int fake_snapshot(void *arg, struct api_cluster *out)
{
    (void)arg;
    struct meta m;
    fake_meta(&m, "ID10", "h10", 4, 2201170739ULL, "1.41");
    m.nlabels = 2;
    m.labels[0] = (struct meta_label){proto_str_c("zone"), proto_str_c("attic")};
    m.labels[1] = (struct meta_label){proto_str_c("disk"), proto_str_c("ssd")};
    /* h10's state came over the relay: counts, reservations, its engine's version. */
    struct api_member_in in = {.member = "agent-10",
                               .addr = "10.0.0.10:7946",
                               .healthy = true,
                               .updated_at = UPDATED_AT,
                               .meta = &m,
                               .containers = 5,
                               .running = 3,
                               .paused = 1,
                               .stopped = 1,
                               .images = 2,
                               .reserved_mcpus = 1500,
                               .reserved_memory = 512 * 1024 * 1024,
                               .server_version = "20.10.24+dfsg1"};
    if (api_cluster_add(out, &in) < 0)
        return -1;
    fake_meta(&m, "ID2", "h2", 2, 1073741824ULL, "1.40");
    in = (struct api_member_in){.member = "agent-2",
                                .addr = "10.0.0.2:7946",
                                .updated_at = UPDATED_AT + 60,
                                .meta = &m,
                                .containers = 7}; /* unhealthy: not in the sums */
    if (api_cluster_add(out, &in) < 0)
        return -1;
    fake_meta(&m, "ID1", "", 8, 8 * 1073741824ULL, "1.41");
    in = (struct api_member_in){.member = "h1",
                                .addr = "10.0.0.1:7946",
                                .healthy = true,
                                .updated_at = UPDATED_AT,
                                .meta = &m};
    return api_cluster_add(out, &in);
}

static const char *fake_api_version(void *arg)
{
    (void)arg;
    return cluster_api;
}

static const struct api_context ctx = {
    .version = "9.9.9",
    .git_commit = "abc123",
    .host = {.name = "mgr",
             .id = "MGRID",
             .os = "Debian GNU/Linux 12 (bookworm)",
             .kernel = "6.1.0-13-amd64",
             .arch = "x86_64",
             .goarch = "amd64"},
    .strategy = "spread",
    .filters = "health, port",
    .snapshot = fake_snapshot,
    .api_version = fake_api_version,
};

/* ---- pure parts ---- */

static void test_http_pieces(void)
{
    static const char req[] = "POST /v1.41/containers/create?name=xx HTTP/1.1\r\n"
                              "Host: api.moby.localhost\r\n"
                              "X-Empty:\r\n"
                              "Content-Type: application/json\r\n"
                              "Content-Length: 7\r\n"
                              "\r\n"
                              "{\"a\":1}";
    /* One byte at a time: every data callback comes in pieces. */
    struct api_http h;
    api_http_init(&h);
    enum api_http_result r = API_HTTP_MORE;
    size_t i = 0, used = 0;
    for (; i < sizeof(req) - 1 && r == API_HTTP_MORE; i++)
        r = api_http_feed(&h, req + i, 1, &used);
    CHECK_INT(r, API_HTTP_REQUEST);
    CHECK_INT(i, sizeof(req) - 1);
    const struct api_request *q = api_http_request(&h);
    CHECK(q != NULL);
    if (q) {
        CHECK_STR(q->method, "POST");
        CHECK_STR(q->url, "/v1.41/containers/create?name=xx");
        CHECK_STR(q->path, "/v1.41/containers/create");
        CHECK_STR(q->query, "name=xx");
        CHECK_INT(q->nheaders, 4);
        CHECK_STR(api_request_header(q, "host"), "api.moby.localhost");
        CHECK_STR(api_request_header(q, "x-empty"), "");
        CHECK_STR(api_request_header(q, "CONTENT-TYPE"), "application/json");
        CHECK(api_request_header(q, "Nope") == NULL);
        CHECK_INT(q->body_len, 7);
        CHECK(q->body && memcmp(q->body, "{\"a\":1}", 7) == 0);
        CHECK(q->keep_alive);
        CHECK(!q->head && !q->upgrade);
    }
    api_http_free(&h);

    /* Pipelined: the second request waits in the caller's buffer. */
    static const char two[] =
        "GET /a HTTP/1.1\r\n\r\nHEAD /b?x HTTP/1.1\r\nConnection: close\r\n\r\n";
    api_http_init(&h);
    r = api_http_feed(&h, two, sizeof(two) - 1, &used);
    CHECK_INT(r, API_HTTP_REQUEST);
    CHECK_INT(used, 19);
    CHECK_STR(api_http_request(&h)->path, "/a");
    /* Not answered yet: feeding more changes nothing. */
    size_t again;
    CHECK_INT(api_http_feed(&h, two + used, sizeof(two) - 1 - used, &again), API_HTTP_REQUEST);
    CHECK_INT(again, 0);
    api_http_next(&h);
    r = api_http_feed(&h, two + used, sizeof(two) - 1 - used, &again);
    CHECK_INT(r, API_HTTP_REQUEST);
    CHECK_INT(used + again, sizeof(two) - 1);
    CHECK_STR(api_http_request(&h)->path, "/b");
    CHECK_STR(api_http_request(&h)->query, "x");
    CHECK(api_http_request(&h)->head);
    CHECK(!api_http_request(&h)->keep_alive);
    api_http_free(&h);

    /* Chunked body, de-chunked. */
    static const char chunked[] = "PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                                  "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    api_http_init(&h);
    CHECK_INT(api_http_feed(&h, chunked, sizeof(chunked) - 1, &used), API_HTTP_REQUEST);
    CHECK_INT(api_http_request(&h)->body_len, 5);
    CHECK(memcmp(api_http_request(&h)->body, "abcde", 5) == 0);
    api_http_free(&h);
}

/* ---- streamed request bodies (head stop) ---- */

struct sink_buf {
    char *data;
    size_t len, cap, calls;
};

static void sink_append(void *arg, const char *data, size_t len)
{
    struct sink_buf *b = arg;
    if (b->len + len > b->cap) {
        b->cap = (b->len + len) * 2;
        b->data = realloc(b->data, b->cap);
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->calls++;
}

static void test_http_stream(void)
{
    struct api_http h;
    size_t used;
    /* Without a body, head stop changes nothing. */
    api_http_init(&h);
    api_http_set_head_stop(&h, true);
    CHECK_INT(api_http_feed(&h, "GET /a HTTP/1.1\r\n\r\n", 19, &used), API_HTTP_REQUEST);
    api_http_free(&h);

    /* Content-Length over the buffered limit: a head, streamed byte by byte, the pipelined
     * request behind it left alone. */
    size_t big = 3 * API_HTTP_BODY_MAX + 7;
    char head[128];
    int hl = snprintf(head, sizeof(head),
                      "PUT /containers/c/archive?path=%%2F HTTP/1.1\r\nContent-Length: %zu\r\n\r\n",
                      big);
    size_t total = (size_t)hl + big + 19;
    char *wire = malloc(total);
    memcpy(wire, head, (size_t)hl);
    for (size_t i = 0; i < big; i++)
        wire[hl + i] = (char)(i * 7 + 1);
    memcpy(wire + hl + big, "GET /b HTTP/1.1\r\n\r\n", 19);
    api_http_init(&h);
    api_http_set_head_stop(&h, true);
    size_t off = 0;
    enum api_http_result r = API_HTTP_MORE;
    while (r == API_HTTP_MORE && off < total) {
        r = api_http_feed(&h, wire + off, 10, &used);
        off += used;
    }
    CHECK_INT(r, API_HTTP_HEAD);
    const struct api_request *q = api_http_request(&h);
    CHECK(q != NULL && q->body == NULL && !q->chunked && q->content_length == big);
    CHECK_STR(q->path, "/containers/c/archive");
    CHECK_INT(api_http_feed(&h, wire + off, 4, &used), API_HTTP_HEAD); /* until chosen */
    CHECK_INT(used, 0);
    struct sink_buf b = {0};
    api_http_body_stream(&h, sink_append, &b);
    CHECK(api_http_request(&h)->body_stream);
    size_t pieces[] = {1, 2, 16384, 65536, 3};
    for (size_t k = 0; r != API_HTTP_BODY_END && off < total; k++) {
        size_t n = pieces[k % 5] < total - off ? pieces[k % 5] : total - off;
        r = api_http_feed(&h, wire + off, n, &used);
        off += used;
        CHECK(r == API_HTTP_MORE || r == API_HTTP_BODY_END);
    }
    CHECK_INT(r, API_HTTP_BODY_END);
    CHECK_INT(off, (size_t)hl + big);
    CHECK(b.len == big && memcmp(b.data, wire + hl, big) == 0);
    api_http_next(&h);
    CHECK_INT(api_http_feed(&h, wire + off, total - off, &used), API_HTTP_REQUEST);
    CHECK_STR(api_http_request(&h)->path, "/b");
    api_http_free(&h);
    free(b.data);
    b = (struct sink_buf){0};

    /* Chunked, with extensions and trailers, all at once: decoded, then the next request. */
    static const char chunked[] =
        "POST /build HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
        "Expect: 100-continue\r\n\r\n"
        "3;x=y\r\nabc\r\n1\r\nd\r\n0\r\nX-T: 1\r\n\r\nGET /c HTTP/1.1\r\n\r\n";
    api_http_init(&h);
    api_http_set_head_stop(&h, true);
    CHECK_INT(api_http_feed(&h, chunked, sizeof(chunked) - 1, &used), API_HTTP_HEAD);
    CHECK(api_http_request(&h)->chunked);
    api_http_body_stream(&h, sink_append, &b);
    off = used;
    CHECK_INT(api_http_feed(&h, chunked + off, sizeof(chunked) - 1 - off, &used),
              API_HTTP_BODY_END);
    off += used;
    CHECK(b.len == 4 && memcmp(b.data, "abcd", 4) == 0);
    CHECK_STR(chunked + off, "GET /c HTTP/1.1\r\n\r\n");
    api_http_free(&h);
    free(b.data);
    b = (struct sink_buf){0};

    /* Buffered after a head: the limit still holds, and small bodies are whole. */
    static const char small[] = "POST /containers/create HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}";
    api_http_init(&h);
    api_http_set_head_stop(&h, true);
    CHECK_INT(api_http_feed(&h, small, sizeof(small) - 1, &used), API_HTTP_HEAD);
    api_http_body_buffer(&h);
    off = used;
    CHECK_INT(api_http_feed(&h, small + off, sizeof(small) - 1 - off, &used), API_HTTP_REQUEST);
    CHECK(api_http_request(&h)->body_len == 2 && !api_http_request(&h)->body_stream);
    api_http_free(&h);
    api_http_init(&h);
    api_http_set_head_stop(&h, true);
    CHECK_INT(api_http_feed(&h, wire, (size_t)hl, &used), API_HTTP_HEAD);
    api_http_body_buffer(&h);
    CHECK_INT(api_http_feed(&h, wire + used, 10, &used), API_HTTP_ERROR);
    CHECK_INT(api_http_error_status(&h), 413);
    api_http_free(&h);

    /* A malformed chunk while streaming: 400. */
    static const char bad[] =
        "PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\nzz\r\n";
    api_http_init(&h);
    api_http_set_head_stop(&h, true);
    CHECK_INT(api_http_feed(&h, bad, sizeof(bad) - 1, &used), API_HTTP_HEAD);
    api_http_body_stream(&h, sink_append, &b);
    off = used;
    CHECK_INT(api_http_feed(&h, bad + off, sizeof(bad) - 1 - off, &used), API_HTTP_ERROR);
    CHECK_INT(api_http_error_status(&h), 400);
    api_http_free(&h);
    free(b.data);
    free(wire);
}

static void expect_http_error(const char *raw, size_t len, int status, const char *msg)
{
    struct api_http h;
    api_http_init(&h);
    size_t used;
    CHECK_INT(api_http_feed(&h, raw, len, &used), API_HTTP_ERROR);
    CHECK_INT(api_http_error_status(&h), status);
    CHECK_STR(api_http_error_message(&h), msg);
    /* An error sticks. */
    CHECK_INT(api_http_feed(&h, "GET / HTTP/1.1\r\n\r\n", 18, &used), API_HTTP_ERROR);
    api_http_free(&h);
}

static void test_http_limits(void)
{
    static const char bad[] = "GARBAGE\r\n\r\n";
    expect_http_error(bad, sizeof(bad) - 1, 400, "malformed HTTP request: invalid HTTP method");
    static const char big_cl[] = "POST /x HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n";
    expect_http_error(big_cl, sizeof(big_cl) - 1, 413,
                      "request body too large (limit 1048576 bytes)");
    static const char v2[] = "GET / HTTP/2.0\r\n\r\n";
    expect_http_error(v2, sizeof(v2) - 1, 505, "HTTP/2.0 is not supported: use HTTP/1.1");

    /* Header bytes: just under the limit passes, over it is 431. */
    size_t cap = API_HTTP_HEAD_MAX + 256;
    char *big = malloc(cap);
    int n = snprintf(big, cap, "GET /_ping HTTP/1.1\r\nX-Big: ");
    size_t fill = API_HTTP_HEAD_MAX - 16 - 6 - 4 - 5 - 10; /* line, "X-Big", ": \r\n" */
    memset(big + n, 'a', fill);
    memcpy(big + n + fill, "\r\n\r\n", 4);
    struct api_http h;
    api_http_init(&h);
    size_t used;
    CHECK_INT(api_http_feed(&h, big, (size_t)n + fill + 4, &used), API_HTTP_REQUEST);
    api_http_free(&h);
    memset(big + n, 'a', fill + 100);
    memcpy(big + n + fill + 100, "\r\n\r\n", 4);
    expect_http_error(big, (size_t)n + fill + 104, 431,
                      "request header too large (limit 65536 bytes, 100 header lines)");
    free(big);

    /* Too many header lines. */
    char lines[4096];
    size_t off = (size_t)snprintf(lines, sizeof(lines), "GET / HTTP/1.1\r\n");
    for (int i = 0; i <= API_HTTP_HEADERS_MAX; i++)
        off += (size_t)snprintf(lines + off, sizeof(lines) - off, "H%d: v\r\n", i);
    off += (size_t)snprintf(lines + off, sizeof(lines) - off, "\r\n");
    expect_http_error(lines, off, 431,
                      "request header too large (limit 65536 bytes, 100 header lines)");

    /* A chunked body over the limit, counted as it arrives. */
    api_http_init(&h);
    static const char head[] = "PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    CHECK_INT(api_http_feed(&h, head, sizeof(head) - 1, &used), API_HTTP_MORE);
    CHECK(api_http_in_request(&h));
    char chunk[65536 + 16];
    int hl = snprintf(chunk, sizeof(chunk), "10000\r\n");
    memset(chunk + hl, 'x', 65536);
    memcpy(chunk + hl + 65536, "\r\n", 2);
    enum api_http_result r = API_HTTP_MORE;
    for (int i = 0; i < 17 && r == API_HTTP_MORE; i++)
        r = api_http_feed(&h, chunk, (size_t)hl + 65538, &used);
    CHECK_INT(r, API_HTTP_ERROR);
    CHECK_INT(api_http_error_status(&h), 413);
    api_http_free(&h);
}

static void test_endpoints(void)
{
    struct api_endpoint ep;
    char err[512];
    CHECK_INT(api_endpoint_parse("unix:///run/swarm.sock", &ep, err, sizeof(err)), 0);
    CHECK_INT(ep.kind, API_ENDPOINT_UNIX);
    CHECK_STR(ep.path, "/run/swarm.sock");
    CHECK_INT(api_endpoint_parse("tcp://127.0.0.1:2380", &ep, err, sizeof(err)), 0);
    CHECK_INT(ep.kind, API_ENDPOINT_TCP);
    CHECK_INT(ntohs(((struct sockaddr_in *)&ep.addr)->sin_port), 2380);
    CHECK_INT(api_endpoint_parse("tcp://localhost", &ep, err, sizeof(err)), 0);
    CHECK_INT(ntohs(((struct sockaddr_in *)&ep.addr)->sin_port), 2375);
    CHECK_INT(api_endpoint_parse("tcp://[::1]:2376", &ep, err, sizeof(err)), 0);
    CHECK_INT(api_endpoint_parse("tcp://127.8.9.10:1", &ep, err, sizeof(err)), 0);

    CHECK_INT(api_endpoint_parse("tcp://0.0.0.0:2375", &ep, err, sizeof(err)), -1);
    CHECK_STR(err, "-H tcp://0.0.0.0:2375: serving the Docker API on a non-loopback TCP address "
                   "needs TLS, which swarm does not have yet; use unix://PATH, or "
                   "tcp://127.0.0.1:PORT with an SSH tunnel");
    CHECK_INT(api_endpoint_parse("tcp://10.1.2.3:2375", &ep, err, sizeof(err)), -1);
    CHECK(strstr(err, "needs TLS") != NULL);
    CHECK_INT(api_endpoint_parse("tcp://[::]:2375", &ep, err, sizeof(err)), -1);
    CHECK(strstr(err, "needs TLS") != NULL);
    CHECK_INT(api_endpoint_parse("tcp://example.com:2375", &ep, err, sizeof(err)), -1);
    CHECK_STR(err, "-H tcp://example.com:2375: expected tcp://ADDR:PORT with a numeric "
                   "loopback address");
    CHECK_INT(api_endpoint_parse("tcp://127.0.0.1:0", &ep, err, sizeof(err)), -1);
    CHECK_INT(api_endpoint_parse("tcp://127.0.0.1:", &ep, err, sizeof(err)), -1);
    CHECK_INT(api_endpoint_parse("unix://relative.sock", &ep, err, sizeof(err)), -1);
    CHECK_STR(err, "-H unix://relative.sock: the socket path must be absolute "
                   "(unix:///run/x.sock)");
    CHECK_INT(api_endpoint_parse("/run/swarm.sock", &ep, err, sizeof(err)), -1);
    CHECK_STR(err, "-H /run/swarm.sock: expected unix://PATH or tcp://ADDR:PORT");
    char longp[200] = "unix:///";
    memset(longp + 8, 'p', 120);
    longp[128] = '\0';
    CHECK_INT(api_endpoint_parse(longp, &ep, err, sizeof(err)), -1);
    CHECK(strstr(err, "longer than 107 bytes") != NULL);
}

static void test_cluster(void)
{
    CHECK(api_version_valid("1.41"));
    CHECK(api_version_valid("1.4.1.0"));
    CHECK(!api_version_valid("1..2"));
    CHECK(!api_version_valid(""));
    CHECK(!api_version_valid("1.41a"));
    CHECK(!api_version_valid("1.123456"));
    CHECK(!api_version_valid("1.2.3.4.5"));
    CHECK(api_version_cmp("1.41", "1.9") > 0);
    CHECK(api_version_cmp("1.41", "1.41") == 0);
    CHECK(api_version_cmp("1.41", "1.41.1") < 0);
    CHECK(api_version_cmp("2", "1.50") > 0);
    CHECK(api_natural_cmp("h2", "h10") < 0);
    CHECK(api_natural_cmp("h10", "h2") > 0);
    CHECK(api_natural_cmp("h02", "h2") == 0);
    CHECK(api_natural_cmp("a", "b") < 0);
    CHECK(api_natural_cmp("h1", "h1a") < 0);

    char buf[32];
    api_bytes_size(0, buf, sizeof(buf));
    CHECK_STR(buf, "0 B");
    api_bytes_size(1023, buf, sizeof(buf));
    CHECK_STR(buf, "1023 B");
    api_bytes_size(1536, buf, sizeof(buf));
    CHECK_STR(buf, "1.5 KiB");
    api_bytes_size(2201170739ULL, buf, sizeof(buf));
    CHECK_STR(buf, "2.05 GiB");
    api_bytes_size(16739487744ULL, buf, sizeof(buf));
    CHECK_STR(buf, "15.59 GiB");

    struct api_cluster c;
    api_cluster_init(&c);
    CHECK_STR(api_cluster_api_version(&c, "1.41"), "1.41");
    CHECK_INT(fake_snapshot(NULL, &c), 0);
    api_cluster_sort(&c);
    CHECK_INT(c.n, 3);
    CHECK_STR(c.nodes[0].name, "h1"); /* no engine name: the member name */
    CHECK_STR(c.nodes[1].name, "h2");
    CHECK_STR(c.nodes[2].name, "h10");
    CHECK_STR(c.nodes[2].labels, "disk=ssd, kernelversion=6.1.0-13-amd64, "
                                 "operatingsystem=Debian GNU/Linux 12 (bookworm), zone=attic");
    CHECK_STR(api_cluster_api_version(&c, "1.41"), "1.40");
    api_cluster_free(&c);
}

/* Routes a request given as text and returns the formatted response (Date blanked). */
static char *route_text(const char *raw)
{
    struct api_http h;
    api_http_init(&h);
    size_t used;
    char *out = NULL;
    if (api_http_feed(&h, raw, strlen(raw), &used) == API_HTTP_REQUEST) {
        const struct api_request *req = api_http_request(&h);
        struct api_response resp = {0};
        const char *v = NULL;
        api_route(&ctx, req, NULL, &resp, &v);
        struct api_http_common common = {
            .api_version = v, .server = "swarm/9.9.9", .head = req->head, .now = 0};
        size_t len;
        out = api_http_format(&resp, &common, &len);
        api_response_free(&resp);
    }
    api_http_free(&h);
    return out;
}

#define HEAD_COMMON(ver) "Api-Version: " ver "\r\n"
#define HEAD_TAIL                                                                                  \
    "Docker-Experimental: false\r\nOstype: linux\r\nServer: swarm/9.9.9\r\n"                       \
    "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
#define JSON_ERROR(status, ver, len)                                                               \
    "HTTP/1.1 " status "\r\n" HEAD_COMMON(ver) "Content-Type: application/json\r\n" HEAD_TAIL      \
                                               "Content-Length: " len "\r\n\r\n"

static void expect_route(const char *raw, const char *want)
{
    char *got = route_text(raw);
    CHECK_STR(got, want);
    free(got);
}

static void test_router(void)
{
    cluster_api = NULL;
    expect_route("GET /_ping HTTP/1.1\r\n\r\n",
                 "HTTP/1.1 200 OK\r\n" HEAD_COMMON(
                     "1.41") "Content-Type: text/plain; "
                             "charset=utf-8\r\n" HEAD_TAIL "Cache-Control: no-cache, no-store, "
                             "must-revalidate\r\nPragma: no-cache\r\nContent-Length: 2\r\n\r\nOK");
    expect_route("HEAD /_ping HTTP/1.1\r\n\r\n",
                 "HTTP/1.1 200 OK\r\n" HEAD_COMMON(
                     "1.41") "Content-Type: text/plain; "
                             "charset=utf-8\r\n" HEAD_TAIL "Cache-Control: no-cache, no-store, "
                             "must-revalidate\r\nPragma: no-cache\r\nContent-Length: 0\r\n\r\n");
    static const char version_body[] =
        "{\"Platform\":{\"Name\":\"swarm\"},\"Version\":\"swarm/9.9.9\",\"ApiVersion\":\"1.41\","
        "\"MinAPIVersion\":\"1.12\",\"GitCommit\":\"abc123\",\"GoVersion\":\"n/a\",\"Os\":"
        "\"linux\",\"Arch\":\"amd64\",\"KernelVersion\":\"6.1.0-13-amd64\",\"Experimental\":"
        "false}\n";
    char want[1024];
    snprintf(
        want, sizeof(want),
        "HTTP/1.1 200 OK\r\n" HEAD_COMMON("1.41") "Content-Type: application/json\r\n" HEAD_TAIL
                                                  "Content-Length: %zu\r\n\r\n%s",
        sizeof(version_body) - 1, version_body);
    expect_route("GET /version HTTP/1.1\r\n\r\n", want);
    expect_route("GET /v1.41/version HTTP/1.1\r\n\r\n", want);
    expect_route("GET /v1.24/version?x=1 HTTP/1.1\r\n\r\n", want);
    expect_route("GET /v1.50/version HTTP/1.1\r\n\r\n",
                 JSON_ERROR("400 Bad Request", "1.41",
                            "84") "{\"message\":\"client version 1.50 "
                                  "is too new. Maximum supported API version is 1.41\"}\n");
    /* The cluster's version is its oldest engine's. */
    cluster_api = "1.40";
    expect_route("GET /v1.41/info HTTP/1.1\r\n\r\n",
                 JSON_ERROR("400 Bad Request", "1.40",
                            "84") "{\"message\":\"client version 1.41 "
                                  "is too new. Maximum supported API version is 1.40\"}\n");
    cluster_api = "garbage";
    expect_route("GET /v1.42/_ping HTTP/1.1\r\n\r\n",
                 JSON_ERROR("400 Bad Request", "1.41",
                            "84") "{\"message\":\"client version 1.42 "
                                  "is too new. Maximum supported API version is 1.41\"}\n");
    cluster_api = NULL;
    expect_route(
        "GET /v1.11/version HTTP/1.1\r\n\r\n",
        JSON_ERROR(
            "400 Bad Request", "1.41",
            "131") "{\"message\":\"client version 1.11 "
                   "is too old. Minimum supported API version is 1.12, please upgrade your client "
                   "to a newer version\"}\n");
    expect_route("GET /v1..2/version HTTP/1.1\r\n\r\n",
                 JSON_ERROR("400 Bad Request", "1.41", "61") "{\"message\":\"client version 1..2 "
                                                             "is not a valid API version\"}\n");
    expect_route("GET /nosuch HTTP/1.1\r\n\r\n",
                 JSON_ERROR("404 Not Found", "1.41", "42") "{\"message\":\"page not found: GET "
                                                           "/nosuch\"}\n");
    expect_route("GET /vfoo/version HTTP/1.1\r\n\r\n",
                 JSON_ERROR("404 Not Found", "1.41", "48") "{\"message\":\"page not found: GET "
                                                           "/vfoo/version\"}\n");
    expect_route("POST /v1.41/version HTTP/1.1\r\n\r\n",
                 JSON_ERROR("404 Not Found", "1.41", "44") "{\"message\":\"page not found: POST "
                                                           "/version\"}\n");
    /* /volumes is not a version prefix. */
    expect_route(
        "GET /volumes HTTP/1.1\r\n\r\n",
        JSON_ERROR("501 Not Implemented", "1.41", "57") "{\"message\":\"swarm: GET "
                                                        "/volumes is not implemented yet\"}\n");
    expect_route("GET /v1.41/containers/json?all=1 HTTP/1.1\r\n\r\n",
                 JSON_ERROR("501 Not Implemented", "1.41",
                            "65") "{\"message\":\"swarm: GET "
                                  "/containers/json is not implemented yet\"}\n");
    /* HEAD: the length of what GET would say, and no body. */
    expect_route("HEAD /containers/xx/archive?path=%2Ftmp HTTP/1.1\r\n\r\n",
                 JSON_ERROR("501 Not Implemented", "1.41", "72"));
    /* A path with bytes that are not ASCII: still valid JSON. */
    expect_route("GET /containers/\xff\xfe HTTP/1.1\r\n\r\n",
                 JSON_ERROR("501 Not Implemented", "1.41",
                            "63") "{\"message\":\"swarm: GET "
                                  "/containers/?? is not implemented yet\"}\n");
}

static void test_info(void)
{
    cluster_api = NULL;
    char *got = route_text("GET /v1.41/info HTTP/1.1\r\n\r\n");
    CHECK(got != NULL);
    const char *body = got ? strstr(got, "\r\n\r\n") : NULL;
    json_error_t jerr;
    json_t *info = body ? json_loads(body + 4, 0, &jerr) : NULL;
    CHECK(info != NULL);
    if (info) {
        CHECK_INT(json_integer_value(json_object_get(info, "NCPU")), 12); /* healthy only */
        CHECK_INT(json_integer_value(json_object_get(info, "MemTotal")),
                  2201170739LL + 8 * 1073741824LL);
        CHECK_STR(json_string_value(json_object_get(info, "Name")), "mgr");
        CHECK_STR(json_string_value(json_object_get(info, "ID")), "MGRID");
        CHECK_STR(json_string_value(json_object_get(info, "ServerVersion")), "swarm/9.9.9");
        CHECK_STR(json_string_value(json_object_get(info, "OperatingSystem")),
                  "Debian GNU/Linux 12 (bookworm)");
        CHECK_STR(json_string_value(json_object_get(info, "OSType")), "linux");
        CHECK_STR(json_string_value(json_object_get(info, "Architecture")), "x86_64");
        CHECK_STR(json_string_value(json_object_get(info, "KernelVersion")), "6.1.0-13-amd64");
        CHECK_INT(json_integer_value(json_object_get(info, "Containers")), 5);
        CHECK_INT(json_integer_value(json_object_get(info, "ContainersRunning")), 3);
        CHECK_INT(json_integer_value(json_object_get(info, "ContainersPaused")), 1);
        CHECK_INT(json_integer_value(json_object_get(info, "ContainersStopped")), 1);
        CHECK_INT(json_integer_value(json_object_get(info, "Images")), 2);
        CHECK_STR(
            json_string_value(json_object_get(json_object_get(info, "Swarm"), "LocalNodeState")),
            "inactive");
        char *status = json_dumps(json_object_get(info, "SystemStatus"), JSON_COMPACT);
        CHECK_STR(status,
                  "[[\"Role\",\"primary\"],[\"Strategy\",\"spread\"],[\"Filters\",\"health, "
                  "port\"],[\"Nodes\",\"3\"],"
                  "[\" h1\",\"10.0.0.1:7946\"],[\"  └ ID\",\"ID1\"],[\"  └ Status\",\"Healthy\"],"
                  "[\"  └ Containers\",\"0 (0 Running, 0 Paused, 0 Stopped)\"],"
                  "[\"  └ Reserved CPUs\",\"0 / 8\"],[\"  └ Reserved Memory\",\"0 B / 8 GiB\"],"
                  "[\"  └ Labels\",\"kernelversion=6.1.0-13-amd64, operatingsystem=Debian "
                  "GNU/Linux 12 (bookworm)\"],[\"  └ UpdatedAt\",\"2026-11-25T16:20:00Z\"],"
                  "[\"  └ ServerVersion\",\"1.41\"],"
                  "[\" h2\",\"10.0.0.2:7946\"],[\"  └ ID\",\"ID2\"],[\"  └ Status\","
                  "\"Unhealthy\"],[\"  └ Containers\",\"7\"],[\"  └ Reserved CPUs\",\"0 / 2\"],"
                  "[\"  └ Reserved Memory\",\"0 B / 1 GiB\"],"
                  "[\"  └ Labels\",\"kernelversion=6.1.0-13-amd64, operatingsystem=Debian "
                  "GNU/Linux 12 (bookworm)\"],[\"  └ UpdatedAt\",\"2026-11-25T16:21:00Z\"],"
                  "[\"  └ ServerVersion\",\"1.40\"],"
                  "[\" h10\",\"10.0.0.10:7946\"],[\"  └ ID\",\"ID10\"],[\"  └ Status\","
                  "\"Healthy\"],[\"  └ Containers\",\"5 (3 Running, 1 Paused, 1 Stopped)\"],"
                  "[\"  └ Reserved CPUs\",\"1.50 / 4\"],"
                  "[\"  └ Reserved Memory\",\"512 MiB / 2.05 GiB\"],"
                  "[\"  └ Labels\",\"disk=ssd, kernelversion=6.1.0-13-amd64, "
                  "operatingsystem=Debian GNU/Linux 12 (bookworm), zone=attic\"],"
                  "[\"  └ UpdatedAt\",\"2026-11-25T16:20:00Z\"],"
                  "[\"  └ ServerVersion\",\"20.10.24+dfsg1\"]]");
        free(status);
        json_decref(info);
    }
    free(got);
}

/* /info with a generation: built once per generation, the same bytes answered meanwhile. */
static int cache_builds;
static bool cache_drop_last; /* the cluster "changed": h1 is gone */
static uint64_t cache_gen;

static int counting_snapshot(void *arg, struct api_cluster *out)
{
    cache_builds++;
    int rc = fake_snapshot(arg, out);
    if (rc == 0 && cache_drop_last && out->n > 0) {
        out->n--;
        free(out->nodes[out->n].name);
        free(out->nodes[out->n].member);
        free(out->nodes[out->n].id);
        free(out->nodes[out->n].addr);
        free(out->nodes[out->n].labels);
        free(out->nodes[out->n].api_version);
        free(out->nodes[out->n].server_version);
    }
    return rc;
}

static uint64_t cache_generation(void *arg)
{
    (void)arg;
    return cache_gen;
}

static char *info_body(const struct api_context *c, size_t *len)
{
    struct api_response resp = {0};
    api_handle_info(c, NULL, &resp);
    CHECK_INT(resp.status, 200);
    char *body = resp.body;
    *len = resp.body_len;
    resp.body = NULL;
    api_response_free(&resp);
    return body;
}

static void test_info_cache(void)
{
    struct api_info_cache cache = {0};
    struct api_context c = ctx;
    c.snapshot = counting_snapshot;
    c.generation = cache_generation;
    c.info_cache = &cache;
    cache_builds = 0;
    cache_drop_last = false;
    cache_gen = 7;
    size_t l1, l2, l3, l4;
    char *b1 = info_body(&c, &l1);
    char *b2 = info_body(&c, &l2);
    CHECK_INT(cache_builds, 1);
    CHECK(b1 && b2 && b1 != b2 && l1 == l2 && memcmp(b1, b2, l1) == 0);
    CHECK(b2 && strstr(b2, "[\"Nodes\",\"3\"]") != NULL);
    /* The cluster changes: without a new generation the old answer stays (that is the
     * contract: the caller's number must change), with one it is built again. */
    cache_drop_last = true;
    char *b3 = info_body(&c, &l3);
    CHECK_INT(cache_builds, 1);
    cache_gen = 8;
    char *b4 = info_body(&c, &l4);
    CHECK_INT(cache_builds, 2);
    CHECK(b3 && strstr(b3, "[\"Nodes\",\"3\"]") != NULL);
    CHECK(b4 && strstr(b4, "[\"Nodes\",\"2\"]") != NULL);
    free(info_body(&c, &l4));
    CHECK_INT(cache_builds, 2);
    /* Without a generation (or a cache), every request builds. */
    c.generation = NULL;
    free(info_body(&c, &l4));
    free(info_body(&c, &l4));
    CHECK_INT(cache_builds, 4);
    api_info_cache_free(&cache);
    CHECK(cache.body == NULL && !cache.valid);
    free(b1);
    free(b2);
    free(b3);
    free(b4);
}

/* ---- the server on real sockets ---- */

struct client {
    int fd;
    char buf[1 << 18];
    size_t len;
};

struct reply {
    int status;
    char head[4096]; /* with Date blanked */
    char body[8192];
    size_t body_len;
};

static int cl_open(struct client *c)
{
    c->len = 0;
    c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    return 0;
}

static void cl_close(struct client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

static int cl_send(struct client *c, const char *data, size_t len)
{
    while (len) {
        ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static int cl_sends(struct client *c, const char *text)
{
    return cl_send(c, text, strlen(text));
}

/* Reads more into the buffer; 0 on EOF, -1 on error or timeout. */
static ssize_t cl_fill(struct client *c)
{
    if (c->len == sizeof(c->buf))
        return -1;
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
    if (n > 0)
        c->len += (size_t)n;
    return n;
}

static void consume(struct client *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

/* Reads one response; head_only for answers to HEAD. Returns 0 or -1. */
static int cl_reply(struct client *c, bool head_only, struct reply *r)
{
    memset(r, 0, sizeof(*r));
    char *end;
    while ((end = memmem(c->buf, c->len, "\r\n\r\n", 4)) == NULL) {
        if (cl_fill(c) <= 0)
            return -1;
    }
    size_t hlen = (size_t)(end - c->buf) + 4;
    if (hlen >= sizeof(r->head))
        return -1;
    memcpy(r->head, c->buf, hlen);
    r->head[hlen] = '\0';
    consume(c, hlen);
    r->status = atoi(r->head + 9);
    char *date = strstr(r->head, "\r\nDate: ");
    if (date) {
        char *eol = strstr(date + 2, "\r\n");
        memmove(date + 9, eol, strlen(eol) + 1);
        date[8] = 'X';
    }
    char *cl = strstr(r->head, "Content-Length: ");
    size_t blen = cl && !head_only ? strtoul(cl + 16, NULL, 10) : 0;
    if (blen >= sizeof(r->body))
        return -1;
    while (c->len < blen) {
        if (cl_fill(c) <= 0)
            return -1;
    }
    memcpy(r->body, c->buf, blen);
    r->body[blen] = '\0';
    r->body_len = blen;
    consume(c, blen);
    return 0;
}

/* 1 if the server closed the connection (EOF or reset) with nothing more to read. */
static int cl_eof(struct client *c)
{
    if (c->len)
        return 0;
    ssize_t n = recv(c->fd, c->buf, sizeof(c->buf), 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
}

#define SERVER_HEAD(status, ctype)                                                                 \
    "HTTP/1.1 " status "\r\nApi-Version: 1.41\r\nContent-Type: " ctype                             \
    "\r\nDocker-Experimental: false\r\nOstype: linux\r\nServer: swarm/9.9.9\r\nDate: X\r\n"

static const char ping_head[] =
    SERVER_HEAD("200 OK", "text/plain; charset=utf-8") "Cache-Control: no-cache, no-store, "
                                                       "must-revalidate\r\nPragma: no-cache\r\n"
                                                       "Content-Length: 2\r\n\r\n";

static void client_basic(void)
{
    struct client *c = calloc(1, sizeof(*c));
    struct reply *r = calloc(1, sizeof(*r));
    /* Keep-alive: ping, HEAD ping, version, 501, HEAD 501, then the connection still works. */
    CHECK_INT(cl_open(c), 0);
    CHECK_INT(cl_sends(c, "GET /_ping HTTP/1.1\r\nHost: api.moby.localhost\r\n\r\n"), 0);
    CHECK_INT(cl_reply(c, false, r), 0);
    CHECK_STR(r->head, ping_head);
    CHECK_STR(r->body, "OK");
    CHECK_INT(cl_sends(c, "HEAD /_ping HTTP/1.1\r\n\r\n"), 0);
    CHECK_INT(cl_reply(c, true, r), 0);
    CHECK_STR(
        r->head,
        SERVER_HEAD("200 OK", "text/plain; charset=utf-8") "Cache-Control: no-cache, no-store, "
                                                           "must-revalidate\r\nPragma: no-cache\r\n"
                                                           "Content-Length: 0\r\n\r\n");
    CHECK_INT(cl_sends(c, "GET /v1.41/version HTTP/1.1\r\n\r\n"), 0);
    CHECK_INT(cl_reply(c, false, r), 0);
    CHECK_INT(r->status, 200);
    CHECK(strstr(r->body, "\"Version\":\"swarm/9.9.9\"") != NULL);
    CHECK_INT(cl_sends(c, "HEAD /v1.41/containers/xx/archive?path=%2Ftmp HTTP/1.1\r\n\r\n"), 0);
    CHECK_INT(cl_reply(c, true, r), 0);
    CHECK_STR(r->head,
              SERVER_HEAD("501 Not Implemented", "application/json") "Content-Length: 72\r\n\r\n");
    CHECK_INT(cl_sends(c, "GET /v1.41/containers/json HTTP/1.1\r\n\r\n"), 0);
    CHECK_INT(cl_reply(c, false, r), 0);
    CHECK_STR(r->head,
              SERVER_HEAD("501 Not Implemented", "application/json") "Content-Length: 65\r\n\r\n");
    CHECK_STR(r->body, "{\"message\":\"swarm: GET /containers/json is not implemented yet\"}\n");
    CHECK_INT(cl_sends(c, "GET /nosuch HTTP/1.1\r\n\r\n"), 0);
    CHECK_INT(cl_reply(c, false, r), 0);
    CHECK_INT(r->status, 404);
    CHECK_STR(r->body, "{\"message\":\"page not found: GET /nosuch\"}\n");
    CHECK_INT(cl_sends(c, "GET /v1.99/version HTTP/1.1\r\n\r\n"), 0);
    CHECK_INT(cl_reply(c, false, r), 0);
    CHECK_INT(r->status, 400);
    CHECK_STR(r->body, "{\"message\":\"client version 1.99 is too new. Maximum supported API "
                       "version is 1.41\"}\n");

    /* Pipelined: three requests in one write, three answers in order. */
    CHECK_INT(cl_sends(c, "GET /_ping HTTP/1.1\r\n\r\nGET /nosuch HTTP/1.1\r\n\r\n"
                          "GET /v1.41/_ping HTTP/1.1\r\n\r\n"),
              0);
    CHECK_INT(cl_reply(c, false, r), 0);
    CHECK_STR(r->body, "OK");
    CHECK_INT(cl_reply(c, false, r), 0);
    CHECK_INT(r->status, 404);
    CHECK_INT(cl_reply(c, false, r), 0);
    CHECK_STR(r->body, "OK");

    /* A body in two writes, then the connection goes on. */
    CHECK_INT(cl_sends(c, "POST /containers/create HTTP/1.1\r\nContent-Length: 1000\r\n\r\n"), 0);
    char body[1000];
    memset(body, '{', sizeof(body));
    CHECK_INT(cl_send(c, body, 400), 0);
    usleep(20000);
    CHECK_INT(cl_send(c, body + 400, 600), 0);
    CHECK_INT(cl_reply(c, false, r), 0);
    CHECK_INT(r->status, 501);
    CHECK_INT(cl_sends(c, "GET /_ping HTTP/1.1\r\n\r\n"), 0);
    CHECK_INT(cl_reply(c, false, r), 0);
    CHECK_STR(r->body, "OK");

    /* The client ends the connection: Connection: close, then EOF. */
    CHECK_INT(cl_sends(c, "GET /_ping HTTP/1.1\r\nConnection: close\r\n\r\n"), 0);
    CHECK_INT(cl_reply(c, false, r), 0);
    CHECK_STR(
        r->head,
        SERVER_HEAD("200 OK",
                    "text/plain; charset=utf-8") "Cache-Control: no-cache, no-store, "
                                                 "must-revalidate\r\nPragma: no-cache\r\n"
                                                 "Content-Length: 2\r\nConnection: close\r\n\r\n");
    CHECK(cl_eof(c));
    cl_close(c);

    /* HTTP/1.0 without keep-alive: closed after the answer. */
    CHECK_INT(cl_open(c), 0);
    CHECK_INT(cl_sends(c, "GET /_ping HTTP/1.0\r\n\r\n"), 0);
    CHECK_INT(cl_reply(c, false, r), 0);
    CHECK(strstr(r->head, "Connection: close\r\n") != NULL);
    CHECK(cl_eof(c));
    cl_close(c);

    /* An upgrade (attach hijack) is not built: 501, then closed. */
    CHECK_INT(cl_open(c), 0);
    CHECK_INT(cl_sends(c, "POST /v1.41/containers/xx/attach?stream=1 HTTP/1.1\r\n"
                          "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n"),
              0);
    CHECK_INT(cl_reply(c, false, r), 0);
    CHECK_STR(r->head,
              SERVER_HEAD("501 Not Implemented",
                          "application/json") "Content-Length: 71\r\nConnection: close\r\n\r\n");
    CHECK_STR(r->body,
              "{\"message\":\"swarm: POST /containers/xx/attach is not implemented yet\"}\n");
    CHECK(cl_eof(c));
    cl_close(c);
    free(c);
    free(r);
}

static void client_errors(void)
{
    struct client *c = calloc(1, sizeof(*c));
    struct reply *r = calloc(1, sizeof(*r));
    /* Malformed request line. */
    CHECK_INT(cl_open(c), 0);
    CHECK_INT(cl_sends(c, "GARBAGE\r\n\r\n"), 0);
    CHECK_INT(cl_reply(c, false, r), 0);
    CHECK_STR(r->head,
              SERVER_HEAD("400 Bad Request",
                          "application/json") "Content-Length: 58\r\nConnection: close\r\n\r\n");
    CHECK_STR(r->body, "{\"message\":\"malformed HTTP request: invalid HTTP method\"}\n");
    CHECK(cl_eof(c));
    cl_close(c);

    /* An oversized header: 431 even while the client is still sending. */
    size_t big = 70000;
    char *h = malloc(big + 64);
    int n = snprintf(h, big + 64, "GET /_ping HTTP/1.1\r\nX-Big: ");
    memset(h + n, 'a', big);
    memcpy(h + n + big, "\r\n\r\n", 4);
    CHECK_INT(cl_open(c), 0);
    CHECK_INT(cl_send(c, h, (size_t)n + big + 4), 0);
    CHECK_INT(cl_reply(c, false, r), 0);
    CHECK_STR(r->head,
              SERVER_HEAD("431 Request Header Fields Too Large",
                          "application/json") "Content-Length: 77\r\nConnection: close\r\n\r\n");
    CHECK_STR(r->body,
              "{\"message\":\"request header too large (limit 65536 bytes, 100 header lines)\"}\n");
    CHECK(cl_eof(c));
    cl_close(c);
    free(h);

    /* A declared body over the limit: refused before any body byte. */
    CHECK_INT(cl_open(c), 0);
    CHECK_INT(cl_sends(c, "POST /containers/create HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n"),
              0);
    CHECK_INT(cl_reply(c, false, r), 0);
    CHECK_STR(r->head,
              SERVER_HEAD("413 Request Entity Too Large",
                          "application/json") "Content-Length: 59\r\nConnection: close\r\n\r\n");
    CHECK_STR(r->body, "{\"message\":\"request body too large (limit 1048576 bytes)\"}\n");
    CHECK(cl_eof(c));
    cl_close(c);

    /* A chunked body that grows over the limit: 413 once it does; the rest is drained. */
    CHECK_INT(cl_open(c), 0);
    CHECK_INT(cl_sends(c, "PUT /containers/xx/archive?path=%2F HTTP/1.1\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n"),
              0);
    char *chunk = malloc(65536 + 16);
    int hl = snprintf(chunk, 16, "10000\r\n");
    memset(chunk + hl, 'x', 65536);
    memcpy(chunk + hl + 65536, "\r\n", 2);
    int sent_ok = 0;
    for (int i = 0; i < 18; i++)
        sent_ok += cl_send(c, chunk, (size_t)hl + 65538) == 0;
    CHECK(sent_ok >= 17);
    CHECK_INT(cl_reply(c, false, r), 0);
    CHECK_INT(r->status, 413);
    CHECK(cl_eof(c));
    cl_close(c);
    free(chunk);

    /* Clients that leave mid-request: in the head, and in the body. */
    CHECK_INT(cl_open(c), 0);
    CHECK_INT(cl_sends(c, "GET /v1.41/info HTTP/1.1\r\nHost: x\r\n"), 0);
    usleep(20000);
    cl_close(c);
    CHECK_INT(cl_open(c), 0);
    CHECK_INT(cl_sends(c, "POST /containers/create HTTP/1.1\r\nContent-Length: 100\r\n\r\n{"), 0);
    usleep(20000);
    cl_close(c);
    /* Connect and leave at once. */
    CHECK_INT(cl_open(c), 0);
    cl_close(c);
    free(c);
    free(r);
}

static void client_limits(void)
{
    struct client *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    struct client *c = calloc(1, sizeof(*c));
    struct reply *r = calloc(1, sizeof(*r));
    /* max_conns 2: a third connection is told 503 and closed. */
    CHECK_INT(cl_open(a), 0);
    CHECK_INT(cl_open(b), 0);
    usleep(50000);
    CHECK_INT(cl_open(c), 0);
    CHECK_INT(cl_sends(c, "GET /_ping HTTP/1.1\r\n\r\n"), 0);
    CHECK_INT(cl_reply(c, false, r), 0);
    CHECK_STR(r->head,
              SERVER_HEAD("503 Service Unavailable",
                          "application/json") "Content-Length: 69\r\nConnection: close\r\n\r\n");
    CHECK_STR(r->body,
              "{\"message\":\"swarm: too many connections (limit 2); try again later\"}\n");
    CHECK(cl_eof(c));
    cl_close(c);
    /* The two admitted ones still work. */
    CHECK_INT(cl_sends(a, "GET /_ping HTTP/1.1\r\n\r\n"), 0);
    CHECK_INT(cl_reply(a, false, r), 0);
    CHECK_STR(r->body, "OK");
    /* A request that never completes: 408 after request_ms. */
    CHECK_INT(cl_sends(b, "GET /_ping HTTP/1.1\r\nHost: x\r\n"), 0);
    CHECK_INT(cl_reply(b, false, r), 0);
    CHECK_STR(r->head,
              SERVER_HEAD("408 Request Timeout",
                          "application/json") "Content-Length: 44\r\nConnection: close\r\n\r\n");
    CHECK_STR(r->body, "{\"message\":\"timed out reading the request\"}\n");
    CHECK(cl_eof(b));
    cl_close(b);
    /* An idle keep-alive connection is closed after idle_ms, silently. */
    CHECK(cl_eof(a));
    cl_close(a);
    free(a);
    free(b);
    free(c);
    free(r);
}

/* Runs a server in this thread and client() in another until it is done and the server has
 * seen every connection go; then closes the server and checks the loop ends empty. */
static void (*client_fn)(void);
static struct api_server *server;
static uv_loop_t *cur_loop;
static uv_async_t client_done;
static uv_timer_t drain_timer;
static int drain_ticks, server_closed;
static struct api_server_stats final_stats;
static size_t final_conns;

static void *client_thread(void *arg)
{
    (void)arg;
    client_fn();
    uv_async_send(&client_done);
    return NULL;
}

static void on_server_closed(void *arg)
{
    (void)arg;
    server_closed++;
}

static void on_drain(uv_timer_t *t)
{
    if (api_server_connections(server) > 0 && ++drain_ticks < 300)
        return;
    final_stats = *api_server_stats(server);
    final_conns = api_server_connections(server);
    uv_close((uv_handle_t *)t, NULL);
    api_server_close(server, on_server_closed, NULL);
    server = NULL;
}

static void on_client_done(uv_async_t *a)
{
    uv_close((uv_handle_t *)a, NULL);
    drain_ticks = 0;
    uv_timer_init(a->loop, &drain_timer);
    uv_timer_start(&drain_timer, on_drain, 0, 10);
}

static void run_server(const struct api_server_config *cfg, void (*fn)(void))
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    char err[512];
    server_closed = 0;
    cur_loop = &loop;
    server = api_server_start(&loop, cfg, err, sizeof(err));
    CHECK(server != NULL);
    if (server == NULL) {
        printf("# %s\n", err);
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
        return;
    }
    struct stat st;
    CHECK_INT(stat(sock_path, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0660);
    client_fn = fn;
    uv_async_init(&loop, &client_done, on_client_done);
    pthread_t t;
    pthread_create(&t, NULL, client_thread, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    pthread_join(t, NULL);
    CHECK_INT(server_closed, 1);
    CHECK_INT(final_conns, 0); /* every connection was freed */
    CHECK_INT(uv_loop_close(&loop), 0);
    CHECK(access(sock_path, F_OK) != 0); /* the socket file is gone */
}

static struct api_endpoint endpoint;

static void test_server(void)
{
    char err[256];
    char url[160];
    snprintf(url, sizeof(url), "unix://%s", sock_path);
    CHECK_INT(api_endpoint_parse(url, &endpoint, err, sizeof(err)), 0);
    struct api_server_config cfg = {.endpoints = &endpoint, .nendpoints = 1, .ctx = &ctx};
    cluster_api = NULL;
    run_server(&cfg, client_basic);
    CHECK_INT(final_stats.accepted, 3);
    CHECK_INT(final_stats.bad, 0);

    run_server(&cfg, client_errors);
    CHECK_INT(final_stats.accepted, 7);
    CHECK_INT(final_stats.bad, 4);
    CHECK_INT(final_stats.abandoned, 2);
    CHECK_INT(final_stats.requests, 0);

    cfg.max_conns = 2;
    cfg.request_ms = 300;
    cfg.idle_ms = 600;
    run_server(&cfg, client_limits);
    CHECK_INT(final_stats.accepted, 2);
    CHECK_INT(final_stats.rejected, 1);
    CHECK_INT(final_stats.timeouts, 2);
}

/* The socket file: stale replaced, live refused, anything else left alone. */
static void test_socket_file(void)
{
    char url[160], err[512];
    snprintf(url, sizeof(url), "unix://%s", sock_path);
    CHECK_INT(api_endpoint_parse(url, &endpoint, err, sizeof(err)), 0);
    struct api_server_config cfg = {.endpoints = &endpoint, .nendpoints = 1, .ctx = &ctx};

    /* Stale: a socket bound and closed without unlinking. */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
    CHECK_INT(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct api_server *a = api_server_start(&loop, &cfg, err, sizeof(err));
    CHECK(a != NULL);

    /* Live: a second server on the same path is refused; the first keeps its socket. */
    struct api_server *b = api_server_start(&loop, &cfg, err, sizeof(err));
    CHECK(b == NULL);
    char want[512];
    snprintf(want, sizeof(want), "-H %s: another process already serves on %s", url, sock_path);
    CHECK_STR(err, want);
    CHECK_INT(access(sock_path, F_OK), 0);

    /* Two endpoints, the second bad: the first is closed again and its file removed. */
    struct api_endpoint two[2];
    char other[160];
    snprintf(other, sizeof(other), "unix://%s/other.sock", dir);
    CHECK_INT(api_endpoint_parse(other, &two[0], err, sizeof(err)), 0);
    two[1] = endpoint;
    struct api_server_config cfg2 = {.endpoints = two, .nendpoints = 2, .ctx = &ctx};
    CHECK(api_server_start(&loop, &cfg2, err, sizeof(err)) == NULL);
    CHECK(access(two[0].path, F_OK) != 0);

    if (a)
        api_server_close(a, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(uv_loop_close(&loop), 0);
    CHECK(access(sock_path, F_OK) != 0);

    /* Not a socket: refused and left alone. */
    FILE *fp = fopen(sock_path, "w");
    CHECK(fp != NULL);
    if (fp)
        fclose(fp);
    uv_loop_init(&loop);
    CHECK(api_server_start(&loop, &cfg, err, sizeof(err)) == NULL);
    snprintf(want, sizeof(want), "-H %s: %s exists and is not a socket; not replacing it", url,
             sock_path);
    CHECK_STR(err, want);
    CHECK_INT(access(sock_path, F_OK), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(uv_loop_close(&loop), 0);
    unlink(sock_path);

    /* TCP on loopback, port taken: the message says so. */
    struct api_endpoint tcp;
    CHECK_INT(api_endpoint_parse("tcp://127.0.0.1:1", &tcp, err, sizeof(err)), 0);
    cfg.endpoints = &tcp;
    uv_loop_init(&loop);
    struct api_server *t = api_server_start(&loop, &cfg, err, sizeof(err));
    if (t == NULL) /* port 1 needs root: either way, no crash and a message */
        CHECK(strstr(err, "cannot listen") != NULL);
    else
        api_server_close(t, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(uv_loop_close(&loop), 0);
}

/* ---- exchanges: answers given later, streams, hijacks (api_server.h) ---- */

static int ex_aborted, ex_client_eof;
static uv_timer_t ex_timer;
static struct api_exchange *ex_later;

static void ex_later_fire(uv_timer_t *t)
{
    (void)t;
    char *body = strdup("later");
    struct api_response resp = {0};
    api_response_set(&resp, 200, "text/plain", body, 5);
    api_exchange_respond(ex_later, &resp);
    api_response_free(&resp);
    ex_later = NULL;
    uv_close((uv_handle_t *)&ex_timer, NULL);
}

static void ex_abort(struct api_exchange *x, void *arg)
{
    (void)x;
    (void)arg;
    ex_aborted++;
}

static void ex_echo(struct api_exchange *x, const char *data, size_t len, void *arg)
{
    (void)arg;
    api_exchange_write(x, data, len);
}

static void ex_eof(struct api_exchange *x, void *arg)
{
    (void)arg;
    ex_client_eof++;
    api_exchange_write(x, "bye", 3);
    api_exchange_shutdown(x);
    api_exchange_end(x, false);
}

static bool ex_take(void *arg, const struct api_request *req, const char *path,
                    struct api_exchange *x)
{
    (void)arg;
    static const struct api_exchange_callbacks cb = {
        .on_client_data = ex_echo, .on_client_eof = ex_eof, .on_abort = ex_abort};
    api_exchange_set_callbacks(x, &cb, NULL);
    if (strcmp(path, "/containers/later") == 0) {
        /* Answered on a later loop turn. */
        ex_later = x;
        uv_timer_init(cur_loop, &ex_timer);
        uv_timer_start(&ex_timer, ex_later_fire, 20, 0);
        return true;
    }
    if (strcmp(path, "/containers/stream") == 0) {
        struct api_http_common common = {.api_version = api_exchange_api_version(x),
                                         .server = api_exchange_server_header(x)};
        size_t n = 0;
        char *head = api_http_format_stream_head(200, "application/json", &common, &n);
        api_exchange_write(x, head, n);
        free(head);
        const char *parts[] = {"{\"a\":1}\n", "{\"b\":2}\n", ""};
        for (size_t i = 0; i < 3; i++) {
            char *chunk = api_http_chunk(parts[i], strlen(parts[i]), &n);
            api_exchange_write(x, chunk, n);
            free(chunk);
        }
        api_exchange_end(x, true);
        return true;
    }
    if (strcmp(path, "/containers/forever") == 0) {
        const char *head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        api_exchange_write(x, head, strlen(head));
        return true; /* never ends: the client leaving aborts it */
    }
    if (strcmp(path, "/containers/hijack/attach") == 0 && req->upgrade) {
        const char *up = "HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n";
        api_exchange_write(x, up, strlen(up));
        api_exchange_hijack(x);
        return true;
    }
    return false;
}

static void client_exchanges(void)
{
    struct client *c = calloc(1, sizeof(*c));
    struct reply *r = calloc(1, sizeof(*r));
    CHECK_INT(cl_open(c), 0);
    /* A streamed answer ending with keep-alive: the connection serves the next request. */
    CHECK_INT(cl_sends(c, "GET /containers/stream HTTP/1.1\r\n\r\n"), 0);
    const char *want = "8\r\n{\"a\":1}\n\r\n8\r\n{\"b\":2}\n\r\n0\r\n\r\n";
    char *end;
    while ((end = memmem(c->buf, c->len, "0\r\n\r\n", 5)) == NULL && cl_fill(c) > 0)
        ;
    CHECK(end != NULL);
    CHECK(memmem(c->buf, c->len, "Transfer-Encoding: chunked\r\n", 28) != NULL);
    char *body = memmem(c->buf, c->len, "\r\n\r\n", 4);
    CHECK(body != NULL && end != NULL && (size_t)(end + 5 - (body + 4)) == strlen(want) &&
          memcmp(body + 4, want, strlen(want)) == 0);
    c->len = 0;
    CHECK_INT(cl_sends(c, "GET /_ping HTTP/1.1\r\n\r\n"), 0);
    CHECK_INT(cl_reply(c, false, r), 0);
    CHECK_STR(r->body, "OK");
    /* Answered on a later loop turn, then keep-alive again. */
    CHECK_INT(cl_sends(c, "GET /containers/later HTTP/1.1\r\n\r\n"), 0);
    CHECK_INT(cl_reply(c, false, r), 0);
    CHECK_INT(r->status, 200);
    CHECK_STR(r->body, "later");
    CHECK_INT(cl_sends(c, "GET /_ping HTTP/1.1\r\n\r\n"), 0);
    CHECK_INT(cl_reply(c, false, r), 0);
    CHECK_STR(r->body, "OK");
    cl_close(c);

    /* A hijacked stream: bytes sent behind the head and after it are echoed; a half-close
     * reaches the handler, which says bye and closes. */
    CHECK_INT(cl_open(c), 0);
    CHECK_INT(cl_sends(c, "POST /containers/hijack/attach HTTP/1.1\r\nConnection: Upgrade\r\n"
                          "Upgrade: tcp\r\nContent-Length: 0\r\n\r\nearly"),
              0);
    while (memmem(c->buf, c->len, "early", 5) == NULL && cl_fill(c) > 0)
        ;
    CHECK(memmem(c->buf, c->len, "HTTP/1.1 101 UPGRADED\r\n", 23) == c->buf);
    CHECK(memmem(c->buf, c->len, "\r\n\r\nearly", 9) != NULL);
    c->len = 0;
    CHECK_INT(cl_sends(c, "late"), 0);
    while (c->len < 4 && cl_fill(c) > 0)
        ;
    CHECK(c->len == 4 && memcmp(c->buf, "late", 4) == 0);
    c->len = 0;
    shutdown(c->fd, SHUT_WR);
    while (cl_fill(c) > 0)
        ;
    CHECK(c->len == 3 && memcmp(c->buf, "bye", 3) == 0);
    cl_close(c);

    /* A client that leaves a stream that never ends: the handler hears of it. */
    CHECK_INT(cl_open(c), 0);
    CHECK_INT(cl_sends(c, "GET /containers/forever HTTP/1.1\r\n\r\n"), 0);
    while (memmem(c->buf, c->len, "\r\n\r\n", 4) == NULL && cl_fill(c) > 0)
        ;
    cl_close(c);
    free(c);
    free(r);
}

static void test_exchanges(void)
{
    char err[256];
    char url[160];
    snprintf(url, sizeof(url), "unix://%s", sock_path);
    CHECK_INT(api_endpoint_parse(url, &endpoint, err, sizeof(err)), 0);
    struct api_context ectx = ctx;
    ectx.take = ex_take;
    struct api_server_config cfg = {.endpoints = &endpoint, .nendpoints = 1, .ctx = &ectx};
    ex_aborted = ex_client_eof = 0;
    run_server(&cfg, client_exchanges);
    CHECK_INT(ex_client_eof, 1);
    CHECK_INT(ex_aborted, 1);
    CHECK_INT(final_stats.accepted, 3);
}

/* ---- streamed request bodies through the server ---- */

#define BS_BODY (5 * 1024 * 1024 + 13)

static struct {
    struct api_exchange *x;
    uint64_t len, sum;     /* bytes received, and a checksum of them */
    uint64_t since_resume; /* bytes since reading last resumed */
    uint64_t while_paused; /* bytes handed over while paused (at most one read's worth) */
    uint64_t max_while_paused;
    bool paused;
    int pauses, ends, aborts;
} bs;

static uint64_t bs_hash(uint64_t h, const char *data, size_t len)
{
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)data[i]) * 1099511628211ULL;
    return h;
}

static void bs_timer_closed(uv_handle_t *h)
{
    free(h);
}

static void bs_resume(uv_timer_t *t)
{
    uv_close((uv_handle_t *)t, bs_timer_closed);
    bs.paused = false;
    bs.since_resume = bs.while_paused = 0;
    if (bs.x)
        api_exchange_read_start(bs.x);
}

static void bs_data(struct api_exchange *x, const char *data, size_t len, void *arg)
{
    (void)arg;
    bs.len += len;
    bs.sum = bs_hash(bs.sum, data, len);
    if (bs.paused) {
        bs.while_paused += len;
        if (bs.while_paused > bs.max_while_paused)
            bs.max_while_paused = bs.while_paused;
        return;
    }
    bs.since_resume += len;
    if (bs.since_resume >= 256 * 1024) {
        /* A slow engine: stop the client for a moment. */
        bs.paused = true;
        bs.pauses++;
        api_exchange_read_stop(x);
        uv_timer_t *t = malloc(sizeof(*t));
        uv_timer_init(cur_loop, t);
        uv_timer_start(t, bs_resume, 2, 0);
    }
}

static void bs_end(struct api_exchange *x, void *arg)
{
    (void)arg;
    bs.ends++;
    bs.x = NULL;
    char text[64];
    int n = snprintf(text, sizeof(text), "%llu %016llx", (unsigned long long)bs.len,
                     (unsigned long long)bs.sum);
    struct api_response resp = {0};
    api_response_set(&resp, 200, "text/plain", strndup(text, (size_t)n), (size_t)n);
    api_exchange_respond(x, &resp);
    api_response_free(&resp);
}

static void bs_abort(struct api_exchange *x, void *arg)
{
    (void)x;
    (void)arg;
    bs.aborts++;
    bs.x = NULL;
}

static bool bs_streams(void *arg, const struct api_request *req, const char *path)
{
    (void)arg;
    (void)req;
    return strstr(path, "/archive") != NULL;
}

static bool bs_take(void *arg, const struct api_request *req, const char *path,
                    struct api_exchange *x)
{
    (void)arg;
    if (strcmp(path, "/containers/early/archive") == 0) {
        /* Answered before the body is read: the connection closes after the answer. */
        CHECK(req->body_stream);
        struct api_response resp = {0};
        api_response_error(&resp, 404, "No such container: early");
        api_exchange_respond(x, &resp);
        api_response_free(&resp);
        return true;
    }
    if (strcmp(path, "/containers/up/archive") != 0)
        return false;
    CHECK(req->body_stream);
    static const struct api_exchange_callbacks cb = {
        .on_client_data = bs_data, .on_body_end = bs_end, .on_abort = bs_abort};
    api_exchange_set_callbacks(x, &cb, NULL);
    bs.x = x;
    bs.len = bs.since_resume = bs.while_paused = 0;
    bs.sum = 14695981039346656037ULL;
    bs.paused = false;
    return true;
}

static void client_body_streams(void)
{
    struct client *c = calloc(1, sizeof(*c));
    struct reply *r = calloc(1, sizeof(*r));
    char *body = malloc(BS_BODY);
    for (size_t i = 0; i < BS_BODY; i++)
        body[i] = (char)((i * 2654435761u) >> 13);
    uint64_t want = bs_hash(14695981039346656037ULL, body, BS_BODY);
    char expect[64];
    snprintf(expect, sizeof(expect), "%llu %016llx", (unsigned long long)BS_BODY,
             (unsigned long long)want);

    /* Chunked, in chunks of 1 byte to 40 KB, with a ping pipelined behind it. */
    CHECK_INT(cl_open(c), 0);
    CHECK_INT(cl_sends(c, "PUT /v1.41/containers/up/archive?path=%2F HTTP/1.1\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n"),
              0);
    size_t off = 0, k = 0;
    while (off < BS_BODY) {
        size_t n = k % 7 == 0 ? 1 : (k * 7919) % 40000 + 1;
        k++;
        if (n > BS_BODY - off)
            n = BS_BODY - off;
        char h[16];
        snprintf(h, sizeof(h), "%zx\r\n", n);
        CHECK_INT(cl_sends(c, h), 0);
        CHECK_INT(cl_send(c, body + off, n), 0);
        CHECK_INT(cl_sends(c, "\r\n"), 0);
        off += n;
    }
    CHECK_INT(cl_sends(c, "0\r\n\r\nGET /_ping HTTP/1.1\r\n\r\n"), 0);
    CHECK_INT(cl_reply(c, false, r), 0);
    CHECK_INT(r->status, 200);
    CHECK_STR(r->body, expect);
    CHECK_INT(cl_reply(c, false, r), 0);
    CHECK_STR(r->body, "OK");

    /* Content-Length, one write, then the connection goes on. */
    char head[160];
    snprintf(head, sizeof(head),
             "PUT /containers/up/archive HTTP/1.1\r\nContent-Length: %d\r\n"
             "Expect: 100-continue\r\n\r\n",
             BS_BODY);
    CHECK_INT(cl_sends(c, head), 0);
    while (memmem(c->buf, c->len, "\r\n\r\n", 4) == NULL && cl_fill(c) > 0)
        ;
    CHECK(c->len == 25 && memcmp(c->buf, "HTTP/1.1 100 Continue\r\n\r\n", 25) == 0);
    c->len = 0;
    CHECK_INT(cl_send(c, body, BS_BODY), 0);
    CHECK_INT(cl_reply(c, false, r), 0);
    CHECK_STR(r->body, expect);
    CHECK_INT(cl_sends(c, "GET /_ping HTTP/1.1\r\n\r\n"), 0);
    CHECK_INT(cl_reply(c, false, r), 0);
    CHECK_STR(r->body, "OK");
    cl_close(c);

    /* Answered before its body: the answer, then the connection closes. */
    CHECK_INT(cl_open(c), 0);
    snprintf(head, sizeof(head),
             "PUT /containers/early/archive HTTP/1.1\r\nContent-Length: %d\r\n\r\n", BS_BODY);
    CHECK_INT(cl_sends(c, head), 0);
    CHECK_INT(cl_send(c, body, 64 * 1024), 0);
    CHECK_INT(cl_reply(c, false, r), 0);
    CHECK_INT(r->status, 404);
    CHECK(strstr(r->head, "Connection: close\r\n") != NULL);
    CHECK(cl_eof(c));
    cl_close(c);

    /* A body the route does not stream keeps the limit. */
    CHECK_INT(cl_open(c), 0);
    CHECK_INT(cl_sends(c, "POST /containers/create HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n"),
              0);
    CHECK_INT(cl_reply(c, false, r), 0);
    CHECK_INT(r->status, 413);
    cl_close(c);

    /* A client that leaves mid-body: the handler hears of it. */
    CHECK_INT(cl_open(c), 0);
    CHECK_INT(cl_sends(c, "PUT /containers/up/archive HTTP/1.1\r\nContent-Length: 100000\r\n\r\n"),
              0);
    CHECK_INT(cl_send(c, body, 1000), 0);
    usleep(50000);
    cl_close(c);
    free(body);
    free(c);
    free(r);
}

static void test_body_streams(void)
{
    char err[256];
    char url[160];
    snprintf(url, sizeof(url), "unix://%s", sock_path);
    CHECK_INT(api_endpoint_parse(url, &endpoint, err, sizeof(err)), 0);
    struct api_context bctx = ctx;
    bctx.take = bs_take;
    bctx.streams_body = bs_streams;
    struct api_server_config cfg = {.endpoints = &endpoint, .nendpoints = 1, .ctx = &bctx};
    memset(&bs, 0, sizeof(bs));
    run_server(&cfg, client_body_streams);
    CHECK_INT(bs.ends, 2);
    CHECK_INT(bs.aborts, 1);
    CHECK(bs.pauses >= 20);
    /* While paused, at most what one read had brought in reached the handler. */
    CHECK(bs.max_while_paused <= API_SERVER_READ_BUF);
}

static void test_query(void)
{
    char v[32];
    CHECK_INT(api_query_get("all=1&name=a%2Fb+c&flag&x=", "name", v, sizeof(v)), 1);
    CHECK_STR(v, "a/b c");
    CHECK_INT(api_query_get("all=1&name=a%2Fb+c&flag&x=", "flag", v, sizeof(v)), 1);
    CHECK_STR(v, "");
    CHECK_INT(api_query_get("all=1&name=a%2Fb+c&flag&x=", "x", v, sizeof(v)), 1);
    CHECK_STR(v, "");
    CHECK_INT(api_query_get("all=1", "al", v, sizeof(v)), 0);
    CHECK_INT(api_query_get("", "all", v, sizeof(v)), 0);
    CHECK_INT(api_query_get("a=%zz", "a", v, sizeof(v)), -1);
    CHECK_INT(api_query_get("a=%4", "a", v, sizeof(v)), -1);
    CHECK_INT(api_query_get("a=0123456789", "a", v, 5), -1);
    size_t n = 0;
    char *chunk = api_http_chunk("hello", 5, &n);
    CHECK(n == 10 && memcmp(chunk, "5\r\nhello\r\n", 10) == 0);
    free(chunk);
    chunk = api_http_chunk("", 0, &n);
    CHECK(n == 5 && memcmp(chunk, "0\r\n\r\n", 5) == 0);
    free(chunk);
}

int main(void)
{
    snprintf(dir, sizeof(dir), "/tmp/swapi.XXXXXX");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(sock_path, sizeof(sock_path), "%s/api.sock", dir);
    RUN(test_http_pieces);
    RUN(test_http_limits);
    RUN(test_http_stream);
    RUN(test_endpoints);
    RUN(test_cluster);
    RUN(test_router);
    RUN(test_info);
    RUN(test_info_cache);
    RUN(test_server);
    RUN(test_socket_file);
    RUN(test_exchanges);
    RUN(test_body_streams);
    RUN(test_query);
    unlink(sock_path);
    rmdir(dir);
    return check_done();
}
