/* bench_docker — the Docker API calls of `swarm bench` over libcurl. See bench_docker.h. */
#include "manager/bench_docker.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define API_PREFIX "/v1.41"

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct bench_client *c = userdata;
    size_t n = size * nmemb;
    if (c->sink != NULL) {
        c->sink(c->sink_arg, ptr, n);
        return n;
    }
    if (c->len + n > BENCH_BODY_MAX)
        return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
    if (c->len + n + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 4096;
        while (cap < c->len + n + 1)
            cap *= 2;
        char *grown = realloc(c->body, cap);
        if (grown == NULL)
            return 0;
        c->body = grown;
        c->cap = cap;
    }
    memcpy(c->body + c->len, ptr, n);
    c->len += n;
    c->body[c->len] = '\0';
    return n;
}

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    const struct bench_client *c = userdata;
    return c->abort_flag != NULL && *c->abort_flag; /* nonzero aborts the transfer */
}

int bench_client_init(struct bench_client *c, const struct bench_endpoint *ep,
                      const volatile sig_atomic_t *abort_flag, long timeout_ms)
{
    memset(c, 0, sizeof(*c));
    c->ep = ep;
    c->abort_flag = abort_flag;
    c->curl = curl_easy_init();
    if (c->curl == NULL)
        return -1;
    c->json_headers = curl_slist_append(NULL, "Content-Type: application/json");
    struct curl_slist *h = c->json_headers ? curl_slist_append(c->json_headers, "Expect:") : NULL;
    if (h == NULL) {
        bench_client_close(c);
        return -1;
    }
    c->json_headers = h;
    if (ep->unix_path[0] != '\0')
        curl_easy_setopt(c->curl, CURLOPT_UNIX_SOCKET_PATH, ep->unix_path);
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "swarm-bench");
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c->curl, CURLOPT_XFERINFODATA, c);
    return 0;
}

int bench_client_no_cache(struct bench_client *c)
{
    if (c->get_headers == NULL)
        c->get_headers = curl_slist_append(NULL, "Cache-Control: no-cache");
    return c->get_headers ? 0 : -1;
}

void bench_client_close(struct bench_client *c)
{
    if (c->curl)
        curl_easy_cleanup(c->curl);
    curl_slist_free_all(c->json_headers);
    curl_slist_free_all(c->get_headers);
    free(c->body);
    memset(c, 0, sizeof(*c));
}

int bench_request(struct bench_client *c, const char *method, const char *path, const char *json,
                  char *kind, size_t kindlen)
{
    char url[1024];
    int n = snprintf(url, sizeof(url), "%s%s%s", c->ep->base,
                     strcmp(path, "/_ping") == 0 ? "" : API_PREFIX, path);
    if (n < 0 || (size_t)n >= sizeof(url)) {
        snprintf(kind, kindlen, "request path too long");
        return BENCH_FAIL;
    }
    c->len = 0;
    c->status = 0;
    if (c->body)
        c->body[0] = '\0';
    CURL *h = c->curl;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L); /* resets what the last POST set */
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, strcmp(method, "GET") == 0 ? c->get_headers : NULL);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, json ? json : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)(json ? strlen(json) : 0));
        if (json)
            curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->json_headers);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_ABORTED_BY_CALLBACK)
        return BENCH_ABORTED;
    if (rc != CURLE_OK) {
        snprintf(kind, kindlen, "transport: %s", curl_easy_strerror(rc));
        return BENCH_FAIL;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->status);
    if (c->body == NULL) { /* an empty answer still reads as "" */
        c->body = calloc(1, 1);
        c->cap = c->body ? 1 : 0;
    }
    return BENCH_OK;
}

int bench_call(struct bench_client *c, const char *method, const char *path, const char *json,
               long want, long want2, char *kind, size_t kindlen)
{
    int rc = bench_request(c, method, path, json, kind, kindlen);
    if (rc != BENCH_OK)
        return rc;
    if (c->status != want && c->status != want2) {
        snprintf(kind, kindlen, "HTTP %ld", c->status);
        return BENCH_FAIL;
    }
    return BENCH_OK;
}

int bench_container_create(struct bench_client *c, const char *body, char *id, char *kind,
                           size_t kindlen)
{
    int rc = bench_call(c, "POST", "/containers/create", body, 201, 201, kind, kindlen);
    if (rc != BENCH_OK)
        return rc;
    json_t *j = json_loads(c->body ? c->body : "", 0, NULL);
    const char *s = json_string_value(json_object_get(j, "Id"));
    if (s == NULL || strlen(s) == 0 || strlen(s) > 64 ||
        strspn(s, "0123456789abcdef") != strlen(s)) {
        json_decref(j);
        snprintf(kind, kindlen, "create: no Id in the answer");
        return BENCH_FAIL;
    }
    memcpy(id, s, strlen(s) + 1);
    json_decref(j);
    return BENCH_OK;
}

int bench_container_start(struct bench_client *c, const char *id, char *kind, size_t kindlen)
{
    char path[128];
    snprintf(path, sizeof(path), "/containers/%s/start", id);
    return bench_call(c, "POST", path, NULL, 204, 304, kind, kindlen);
}

int bench_container_wait(struct bench_client *c, const char *id, char *kind, size_t kindlen)
{
    char path[128];
    snprintf(path, sizeof(path), "/containers/%s/wait", id);
    int rc = bench_call(c, "POST", path, NULL, 200, 200, kind, kindlen);
    if (rc != BENCH_OK)
        return rc;
    json_t *j = json_loads(c->body ? c->body : "", 0, NULL);
    json_t *code = json_object_get(j, "StatusCode");
    rc = BENCH_OK;
    if (!json_is_integer(code)) {
        snprintf(kind, kindlen, "wait: no StatusCode in the answer");
        rc = BENCH_FAIL;
    } else if (json_integer_value(code) != 0) {
        snprintf(kind, kindlen, "exit status %lld", (long long)json_integer_value(code));
        rc = BENCH_FAIL;
    }
    json_decref(j);
    return rc;
}

int bench_container_remove(struct bench_client *c, const char *id, char *kind, size_t kindlen)
{
    char path[128];
    snprintf(path, sizeof(path), "/containers/%s?force=1&v=1", id);
    return bench_call(c, "DELETE", path, NULL, 204, 404, kind, kindlen);
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

struct logs_sink {
    struct bench_logs *out;
    double t0;
};

static void logs_sink(void *arg, const char *p, size_t n)
{
    struct logs_sink *s = arg;
    struct bench_mux *m = &s->out->mux;
    uint64_t before = m->bytes[0] + m->bytes[1] + m->bytes[2] + m->bytes[3];
    bench_mux_feed(m, p, n); /* an error is sticky; the rest of the answer is read, not decoded */
    if (before == 0 && m->bytes[0] + m->bytes[1] + m->bytes[2] + m->bytes[3] > 0)
        s->out->ttfb_ms = now_ms() - s->t0;
}

int bench_container_logs(struct bench_client *c, const char *id, struct bench_logs *out, char *kind,
                         size_t kindlen)
{
    char path[160];
    snprintf(path, sizeof(path), "/containers/%s/logs?stdout=1&stderr=1&follow=1", id);
    bench_mux_init(&out->mux);
    out->ttfb_ms = -1;
    out->ms = 0;
    struct logs_sink s = {.out = out, .t0 = now_ms()};
    c->sink = logs_sink;
    c->sink_arg = &s;
    int rc = bench_call(c, "GET", path, NULL, 200, 200, kind, kindlen);
    c->sink = NULL;
    c->sink_arg = NULL;
    out->ms = now_ms() - s.t0;
    if (rc != BENCH_OK)
        return rc;
    if (bench_mux_finish(&out->mux) < 0) {
        snprintf(kind, kindlen, "logs: %s", bench_mux_strerror(out->mux.error));
        return BENCH_FAIL;
    }
    return BENCH_OK;
}

/* The container's labels hold key=value (the engine's filter is trusted, but not blindly). */
static int has_label(json_t *ctr, const char *key, const char *value)
{
    const char *v = json_string_value(json_object_get(json_object_get(ctr, "Labels"), key));
    return v != NULL && strcmp(v, value) == 0;
}

int bench_cleanup(struct bench_client *c, const char *key, const char *value, int *removed,
                  char *err, size_t errlen)
{
    *removed = 0;
    char filter[256], kind[128];
    snprintf(filter, sizeof(filter), "{\"label\":[\"%s=%s\"]}", key, value);
    char *esc = curl_easy_escape(c->curl, filter, 0);
    if (esc == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char path[512];
    snprintf(path, sizeof(path), "/containers/json?all=1&filters=%s", esc);
    curl_free(esc);
    if (bench_call(c, "GET", path, NULL, 200, 200, kind, sizeof(kind)) != BENCH_OK) {
        snprintf(err, errlen, "listing containers labelled %s=%s at %s: %s", key, value, c->ep->url,
                 kind);
        return -1;
    }
    json_t *list = json_loads(c->body, 0, NULL);
    if (!json_is_array(list)) {
        json_decref(list);
        snprintf(err, errlen, "listing containers at %s: the answer is not a JSON array",
                 c->ep->url);
        return -1;
    }
    int rc = 0;
    size_t i;
    json_t *ctr;
    json_array_foreach(list, i, ctr)
    {
        const char *id = json_string_value(json_object_get(ctr, "Id"));
        if (id == NULL || strlen(id) > 64 || !has_label(ctr, key, value))
            continue;
        char idcopy[65];
        memcpy(idcopy, id, strlen(id) + 1);
        if (bench_container_remove(c, idcopy, kind, sizeof(kind)) != BENCH_OK) {
            snprintf(err, errlen, "removing container %.12s at %s: %s", idcopy, c->ep->url, kind);
            rc = -1;
            continue;
        }
        ++*removed;
    }
    json_decref(list);
    return rc;
}
