#include "agent/engine_info.h"

#include "agent/engine_http.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

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
    struct engine_http *h; /* NULL once done (or never started) */
    char *body;
    size_t len;
    int status;
    char err[200];
    bool done;
};

static const char *const paths[2] = {"/info", "/version"};

struct engine_info_fetch {
    engine_info_cb cb;
    void *arg;
    char sock[4096];
    struct fetch f[2]; /* /info, /version */
    int pending;       /* requests not done yet */
    uv_timer_t *fail;  /* a request that could not start: reported from this timer */
};

/* A message into err, cut at errlen if it must be (a socket path may take up to 4 KiB). */
__attribute__((format(printf, 3, 4))) static void say(char *err, size_t errlen, const char *fmt,
                                                      ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* The outcome of one finished GET: 0, or -1 with the message in err. */
static int outcome(const char *sock, const char *path, const struct fetch *f, char *err,
                   size_t errlen)
{
    if (f->err[0] != '\0' || !f->done) {
        say(err, errlen,
            "the Docker engine at unix://%s did not answer GET %s: %s (is dockerd running? "
            "point --engine at its socket)",
            sock, path, f->err[0] ? f->err : "no answer");
        return -1;
    }
    if (f->status != 200) {
        say(err, errlen, "the Docker engine at unix://%s answered GET %s with HTTP %d", sock, path,
            f->status);
        return -1;
    }
    return 0;
}

static void fetch_free(struct engine_info_fetch *ef)
{
    for (int i = 0; i < 2; i++)
        free(ef->f[i].body);
    free(ef);
}

/* Both answers are in (or failed): parse, report, free. */
static void finish(struct engine_info_fetch *ef)
{
    char err[600] = "";
    struct engine_info *info = malloc(sizeof(*info));
    int rc = -1;
    if (info == NULL)
        snprintf(err, sizeof(err), "out of memory");
    else if (outcome(ef->sock, paths[0], &ef->f[0], err, sizeof(err)) == 0 &&
             outcome(ef->sock, paths[1], &ef->f[1], err, sizeof(err)) == 0)
        rc = engine_info_parse(ef->f[0].body, ef->f[0].len, ef->f[1].body, ef->f[1].len, info, err,
                               sizeof(err));
    ef->cb(ef->arg, rc == 0 ? info : NULL, rc == 0 ? NULL : err);
    free(info);
    fetch_free(ef);
}

static void on_done(struct engine_http *h, int status, const char *body, size_t len,
                    const char *err, void *arg)
{
    struct engine_info_fetch *ef = arg;
    struct fetch *f = h == ef->f[0].h ? &ef->f[0] : &ef->f[1];
    f->h = NULL;
    f->done = true;
    f->status = status;
    if (err)
        snprintf(f->err, sizeof(f->err), "%s", err);
    else if ((f->body = malloc(len + 1)) == NULL)
        snprintf(f->err, sizeof(f->err), "out of memory");
    else {
        memcpy(f->body, body, len);
        f->body[len] = '\0';
        f->len = len;
    }
    if (--ef->pending == 0 && ef->fail == NULL)
        finish(ef);
}

static void on_fail_closed(uv_handle_t *t)
{
    free(t);
}

static void on_fail_timer(uv_timer_t *t)
{
    struct engine_info_fetch *ef = t->data;
    uv_close((uv_handle_t *)t, on_fail_closed);
    ef->fail = NULL;
    if (ef->pending == 0)
        finish(ef);
}

struct engine_info_fetch *engine_info_fetch_start(uv_loop_t *loop, const char *url,
                                                  uint32_t timeout_ms, engine_info_cb cb, void *arg,
                                                  char *err, size_t errlen)
{
    static const struct engine_http_callbacks http_cb = {.done = on_done};
    const char *sock = engine_socket_path(url);
    if (sock == NULL) {
        snprintf(err, errlen, "engine %s: expected unix:///path/to/docker.sock", url);
        return NULL;
    }
    struct engine_info_fetch *ef = calloc(1, sizeof(*ef));
    if (ef == NULL || strlen(sock) >= sizeof(ef->sock)) {
        snprintf(err, errlen, ef ? "engine %s: socket path too long" : "out of memory", url);
        free(ef);
        return NULL;
    }
    ef->cb = cb;
    ef->arg = arg;
    memcpy(ef->sock, sock, strlen(sock) + 1);
    for (int i = 0; i < 2; i++) {
        struct engine_http_request rq = {
            .path = paths[i], .body_max = ENGINE_BODY_MAX, .timeout_ms = timeout_ms};
        ef->f[i].h = engine_http_get(loop, sock, &rq, &http_cb, ef);
        if (ef->f[i].h == NULL) {
            /* Reported like any other failure, from the loop (never from inside this call). */
            snprintf(ef->f[i].err, sizeof(ef->f[i].err), "cannot start the request");
            ef->f[i].done = true;
            if (ef->fail == NULL && (ef->fail = malloc(sizeof(*ef->fail))) != NULL) {
                uv_timer_init(loop, ef->fail);
                ef->fail->data = ef;
                uv_timer_start(ef->fail, on_fail_timer, 0, 0);
            }
        } else {
            ef->pending++;
        }
    }
    if (ef->pending == 0 && ef->fail == NULL) {
        snprintf(err, errlen, "out of memory");
        fetch_free(ef);
        return NULL;
    }
    return ef;
}

void engine_info_fetch_cancel(struct engine_info_fetch *ef)
{
    if (ef == NULL)
        return;
    for (int i = 0; i < 2; i++)
        engine_http_cancel(ef->f[i].h);
    if (ef->fail)
        uv_close((uv_handle_t *)ef->fail, on_fail_closed);
    fetch_free(ef);
}

int engine_info_probe(const char *url, char *err, size_t errlen)
{
    const char *sock = engine_socket_path(url);
    if (sock == NULL) {
        snprintf(err, errlen, "engine %s: expected unix:///path/to/docker.sock", url);
        return -1;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(sock) >= sizeof(sa.sun_path)) {
        snprintf(err, errlen, "engine %s: socket path too long", url);
        return -1;
    }
    memcpy(sa.sun_path, sock, strlen(sock) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    /* A full backlog (EAGAIN) is an engine that is there but busy: it gets its chance. */
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EAGAIN ? 0 : -errno;
    close(fd);
    if (rc < 0) {
        snprintf(err, errlen,
                 "the Docker engine at unix://%s did not answer GET %s: connect: %s (is dockerd "
                 "running? point --engine at its socket)",
                 sock, paths[0], strerror(-rc));
        return -1;
    }
    return 0;
}

/* engine_info_fetch's result, from the callback. */
struct blocking {
    struct engine_info *out;
    char *err;
    size_t errlen;
    int rc;
};

static void on_blocking_done(void *arg, const struct engine_info *info, const char *err)
{
    struct blocking *b = arg;
    if (info) {
        *b->out = *info;
        b->rc = 0;
    } else {
        snprintf(b->err, b->errlen, "%s", err);
    }
}

int engine_info_fetch(const char *url, long timeout_ms, struct engine_info *out, char *err,
                      size_t errlen)
{
    uv_loop_t loop;
    int rc = uv_loop_init(&loop);
    if (rc < 0) {
        snprintf(err, errlen, "event loop: %s", uv_strerror(rc));
        return -1;
    }
    struct blocking b = {out, err, errlen, -1};
    uint32_t t = timeout_ms > 0 && timeout_ms < UINT32_MAX ? (uint32_t)timeout_ms : 0;
    if (engine_info_fetch_start(&loop, url, t, on_blocking_done, &b, err, errlen) != NULL)
        uv_run(&loop, UV_RUN_DEFAULT); /* returns once both requests' handles are closed */
    uv_loop_close(&loop);
    return b.rc;
}
