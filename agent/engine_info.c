#include "agent/engine_info.h"

#include "agent/engine_http.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bodies larger than this are not an engine's /info. */
#define ENGINE_BODY_MAX (1024 * 1024)

static int copy_str(json_t *obj, const char *key, const char *what, char *dst, size_t cap,
                    int required, char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v)) {
        if (!required) {
            dst[0] = '\0';
            return 0;
        }
        snprintf(err, errlen, "%s.%s: missing", what, key);
        return -1;
    }
    if (!json_is_string(v)) {
        snprintf(err, errlen, "%s.%s: expected a string", what, key);
        return -1;
    }
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    if (len >= cap || strlen(s) != len) {
        snprintf(err, errlen, "%s.%s: %s (%zu bytes, at most %zu)", what, key,
                 strlen(s) != len ? "contains a NUL byte" : "too long", len, cap - 1);
        return -1;
    }
    memcpy(dst, s, len + 1);
    return 0;
}

static int parse_info(json_t *info, struct engine_info *out, char *err, size_t errlen)
{
    if (!json_is_object(info)) {
        snprintf(err, errlen, "info: expected a JSON object");
        return -1;
    }
    if (copy_str(info, "ID", "info", out->id, sizeof(out->id), 1, err, errlen) < 0 ||
        copy_str(info, "Name", "info", out->name, sizeof(out->name), 1, err, errlen) < 0 ||
        copy_str(info, "OperatingSystem", "info", out->os, sizeof(out->os), 0, err, errlen) < 0 ||
        copy_str(info, "OSType", "info", out->ostype, sizeof(out->ostype), 0, err, errlen) < 0 ||
        copy_str(info, "Architecture", "info", out->arch, sizeof(out->arch), 0, err, errlen) < 0 ||
        copy_str(info, "KernelVersion", "info", out->kernel, sizeof(out->kernel), 0, err, errlen) <
            0 ||
        copy_str(info, "Driver", "info", out->storage_driver, sizeof(out->storage_driver), 0, err,
                 errlen) < 0 ||
        copy_str(info, "ServerVersion", "info", out->server_version, sizeof(out->server_version), 0,
                 err, errlen) < 0)
        return -1;
    if (out->id[0] == '\0' || out->name[0] == '\0') {
        snprintf(err, errlen, "info.%s: empty", out->id[0] == '\0' ? "ID" : "Name");
        return -1;
    }

    json_t *ncpu = json_object_get(info, "NCPU");
    json_t *mem = json_object_get(info, "MemTotal");
    if (!json_is_integer(ncpu) || json_integer_value(ncpu) < 1 ||
        json_integer_value(ncpu) > 1 << 20) {
        snprintf(err, errlen, "info.NCPU: expected a positive integer");
        return -1;
    }
    if (!json_is_integer(mem) || json_integer_value(mem) < 0) {
        snprintf(err, errlen, "info.MemTotal: expected a non-negative integer");
        return -1;
    }
    out->ncpu = (int)json_integer_value(ncpu);
    out->mem_total = (int64_t)json_integer_value(mem);

    json_t *labels = json_object_get(info, "Labels");
    out->nlabels = 0;
    if (labels != NULL && !json_is_null(labels)) {
        if (!json_is_array(labels)) {
            snprintf(err, errlen, "info.Labels: expected an array");
            return -1;
        }
        size_t i;
        json_t *l;
        json_array_foreach(labels, i, l)
        {
            if (i >= ENGINE_LABELS_MAX) {
                snprintf(err, errlen, "info.Labels: more than %d labels", ENGINE_LABELS_MAX);
                return -1;
            }
            const char *s = json_string_value(l);
            if (s == NULL || strlen(s) != json_string_length(l) ||
                json_string_length(l) >= sizeof(out->labels[0]) || strchr(s, '=') == NULL) {
                snprintf(err, errlen, "info.Labels[%zu]: expected \"key=value\" under %zu bytes", i,
                         sizeof(out->labels[0]));
                return -1;
            }
            memcpy(out->labels[i], s, strlen(s) + 1);
            out->nlabels = (int)i + 1;
        }
    }
    return 0;
}

int engine_info_parse(const char *info_json, size_t info_len, const char *version_json,
                      size_t version_len, struct engine_info *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    json_error_t jerr;
    json_t *info = json_loadb(info_json, info_len, JSON_REJECT_DUPLICATES, &jerr);
    if (info == NULL) {
        snprintf(err, errlen, "info: invalid JSON at line %d: %s", jerr.line, jerr.text);
        return -1;
    }
    int rc = parse_info(info, out, err, errlen);
    json_decref(info);
    if (rc < 0)
        return -1;

    json_t *ver = json_loadb(version_json, version_len, JSON_REJECT_DUPLICATES, &jerr);
    if (ver == NULL) {
        snprintf(err, errlen, "version: invalid JSON at line %d: %s", jerr.line, jerr.text);
        return -1;
    }
    rc = json_is_object(ver) ? copy_str(ver, "ApiVersion", "version", out->api_version,
                                        sizeof(out->api_version), 1, err, errlen)
                             : (snprintf(err, errlen, "version: expected a JSON object"), -1);
    json_decref(ver);
    return rc;
}

const char *engine_socket_path(const char *url)
{
    if (strncmp(url, "unix://", 7) == 0)
        url += 7;
    return url[0] == '/' ? url : NULL;
}

/* One GET's result: engine_http is the same client the watcher uses. */
struct fetch {
    char *body;
    size_t len;
    int status;
    char err[200];
    bool done;
};

static void on_done(struct engine_http *h, int status, const char *body, size_t len,
                    const char *err, void *arg)
{
    (void)h;
    struct fetch *f = arg;
    f->done = true;
    f->status = status;
    if (err) {
        snprintf(f->err, sizeof(f->err), "%s", err);
        return;
    }
    f->body = malloc(len + 1);
    if (f->body == NULL) {
        snprintf(f->err, sizeof(f->err), "out of memory");
        return;
    }
    memcpy(f->body, body, len);
    f->body[len] = '\0';
    f->len = len;
}

/* The outcome of one finished GET: 0, or -1 with the message in err. */
static int outcome(const char *sock, const char *path, const struct fetch *f, char *err,
                   size_t errlen)
{
    if (f->err[0] != '\0' || !f->done) {
        snprintf(err, errlen,
                 "the Docker engine at unix://%s did not answer GET %s: %s (is dockerd running? "
                 "point --engine at its socket)",
                 sock, path, f->err[0] ? f->err : "no answer");
        return -1;
    }
    if (f->status != 200) {
        snprintf(err, errlen, "the Docker engine at unix://%s answered GET %s with HTTP %d", sock,
                 path, f->status);
        return -1;
    }
    return 0;
}

/* Both GETs at once on a private loop, run until both are done (the engine answers /info in
 * 10-20 ms, so the agent starts that much sooner than asking one after the other). */
static int get_both(const char *sock, long timeout_ms, struct fetch *info, struct fetch *version,
                    char *err, size_t errlen)
{
    static const struct engine_http_callbacks cb = {.done = on_done};
    static const char *const paths[2] = {"/info", "/version"};
    struct fetch *f[2] = {info, version};
    uv_loop_t loop;
    int rc = uv_loop_init(&loop);
    if (rc < 0) {
        snprintf(err, errlen, "event loop: %s", uv_strerror(rc));
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        struct engine_http_request rq = {
            .path = paths[i],
            .body_max = ENGINE_BODY_MAX,
            .timeout_ms = timeout_ms > 0 && timeout_ms < UINT32_MAX ? (uint32_t)timeout_ms : 0,
        };
        if (engine_http_get(&loop, sock, &rq, &cb, f[i]) == NULL)
            snprintf(f[i]->err, sizeof(f[i]->err), "cannot start the request");
    }
    uv_run(&loop, UV_RUN_DEFAULT); /* returns once both requests' handles are closed */
    uv_loop_close(&loop);
    return outcome(sock, paths[0], info, err, errlen) == 0 &&
                   outcome(sock, paths[1], version, err, errlen) == 0
               ? 0
               : -1;
}

int engine_info_fetch(const char *url, long timeout_ms, struct engine_info *out, char *err,
                      size_t errlen)
{
    const char *sock = engine_socket_path(url);
    if (sock == NULL) {
        snprintf(err, errlen, "engine %s: expected unix:///path/to/docker.sock", url);
        return -1;
    }
    struct fetch info = {0}, version = {0};
    int rc = -1;
    if (get_both(sock, timeout_ms, &info, &version, err, errlen) == 0)
        rc = engine_info_parse(info.body, info.len, version.body, version.len, out, err, errlen);
    free(info.body);
    free(version.body);
    return rc;
}
