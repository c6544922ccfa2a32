/*
 * Fuzz target for the manager's Docker API without sockets: any bytes as what a client sends on
 * one connection, framed by api_http, answered by api_router (and the handlers) and serialized,
 * as api_server.c does. The first byte picks how the stream is cut into reads (1..64 bytes, or
 * all at once) and the cluster's API version, so split headers, pipelining and version checks
 * are all reached. Head stop is on, as in the server: a request with a body stops after its
 * head, and its body is streamed (paths with "archive" or "build", as the routes choose) or
 * kept whole; a streamed body must come out whole and in order, never more bytes than went in.
 * Must never crash, leak or over-read, and every answer must be well formed:
 * a status line, a head ending in a blank line, and a body as long as Content-Length says.
 */
#include "manager/api_http.h"
#include "manager/api_router.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *api_version;

static const char *version_cb(void *arg)
{
    (void)arg;
    return api_version;
}

static int snapshot_cb(void *arg, struct api_cluster *out)
{
    (void)arg;
    struct meta m = {
        .role = META_ROLE_AGENT,
        .engine_id = proto_str_c("ID1"),
        .engine_name = proto_str_c("h1"),
        .cpus = 4,
        .memory = 1 << 30,
        .os = proto_str_c("Debian"),
        .kernel = proto_str_c("6.1"),
        .api_version = proto_str_c("1.41"),
        .nlabels = 1,
        .labels = {{proto_str_c("zone"), proto_str_c("a")}},
    };
    struct api_member_in in = {
        .member = "h1", .addr = "10.0.0.1:7946", .healthy = true, .meta = &m};
    if (api_cluster_add(out, &in) < 0)
        return -1;
    in.healthy = false;
    in.member = "h2";
    return api_cluster_add(out, &in);
}

static bool streams_cb(void *arg, const struct api_request *req, const char *path)
{
    (void)arg;
    (void)req;
    return strstr(path, "archive") != NULL || strstr(path, "build") != NULL;
}

static size_t streamed;

static void sink(void *arg, const char *data, size_t len)
{
    (void)arg;
    (void)data;
    streamed += len;
}

static const struct api_context ctx = {
    .streams_body = streams_cb,
    .version = "0.0.0",
    .git_commit = "fuzz",
    .host = {"mgr", "ID", "Linux", "6.1", "x86_64", "amd64"},
    .strategy = "spread",
    .filters = "health",
    .snapshot = snapshot_cb,
    .api_version = version_cb,
};

static void check_answer(const struct api_response *resp, const char *v, bool head, bool close)
{
    struct api_http_common common = {
        .api_version = v, .server = "swarm/0.0.0", .head = head, .close = close, .now = 0};
    size_t len = 0;
    char *out = api_http_format(resp, &common, &len);
    if (out == NULL)
        return;
    if (len < 12 || memcmp(out, "HTTP/1.1 ", 9) != 0)
        abort();
    char *end = strstr(out, "\r\n\r\n");
    if (end == NULL)
        abort();
    size_t body = len - (size_t)(end + 4 - out);
    char *cl = strstr(out, "\r\nContent-Length: ");
    bool bodiless = resp->status < 200 || resp->status == 204 || resp->status == 304;
    if (bodiless ? cl != NULL || body != 0
                 : cl == NULL || cl > end || strtoul(cl + 18, NULL, 10) != resp->body_len ||
                       body != (head ? 0 : resp->body_len))
        abort();
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    static const char *const versions[] = {NULL, "1.41", "1.40", "1.12", "bad", "1.50"};
    size_t piece = data[0] & 63 ? (size_t)(data[0] & 63) : size;
    api_version = versions[(data[0] >> 6) % (sizeof(versions) / sizeof(versions[0]))];
    const char *p = (const char *)data + 1;
    size_t left = size - 1;

    struct api_http h;
    api_http_init(&h);
    api_http_set_head_stop(&h, true);
    streamed = 0;
    size_t fed = 0;
    for (int requests = 0; requests < 64;) {
        size_t n = left < piece ? left : piece, used = 0;
        enum api_http_result r = api_http_feed(&h, p, n, &used);
        if (used > n)
            abort();
        p += used;
        left -= used;
        fed += used;
        if (streamed > fed)
            abort();
        if (r == API_HTTP_HEAD) {
            const struct api_request *req = api_http_request(&h);
            if (req == NULL || req->body != NULL || (!req->chunked && req->content_length == 0))
                abort();
            if (api_route_streams_body(&ctx, req))
                api_http_body_stream(&h, sink, NULL);
            else
                api_http_body_buffer(&h);
            continue;
        }
        if (r == API_HTTP_BODY_END) {
            const struct api_request *req = api_http_request(&h);
            if (req == NULL || !req->body_stream ||
                (!req->chunked && streamed != req->content_length))
                abort();
            streamed = 0;
            fed = 0;
            requests++;
            if (!req->keep_alive || req->upgrade)
                break;
            api_http_next(&h);
            continue;
        }
        if (r == API_HTTP_ERROR) {
            struct api_response resp = {0};
            api_response_error(&resp, api_http_error_status(&h), "%s", api_http_error_message(&h));
            check_answer(&resp, "1.41", false, true);
            api_response_free(&resp);
            break;
        }
        if (r == API_HTTP_REQUEST) {
            const struct api_request *req = api_http_request(&h);
            if (req == NULL || req->path == NULL || req->query == NULL || req->method == NULL)
                abort();
            struct api_response resp = {0};
            const char *v = NULL;
            api_route(&ctx, req, NULL, &resp, &v);
            bool close = !req->keep_alive || req->upgrade;
            check_answer(&resp, v, req->head, close);
            api_response_free(&resp);
            requests++;
            if (close)
                break;
            api_http_next(&h);
            streamed = fed = 0;
            continue;
        }
        if (left == 0)
            break;
    }
    api_http_free(&h);
    return 0;
}
