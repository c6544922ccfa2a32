#include "agent/control.h"

#include "common/log.h"
#include "common/unixsock.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct control_client {
    uv_pipe_t pipe;
    uv_timer_t idle;
    uv_write_t write;
    struct control_server *server;
    struct control_client *next;
    char request[CONTROL_REQUEST_MAX];
    size_t len;
    char *answer;
    int handles_open; /* pipe + timer; freed when both are closed */
    int answered;
};

static int socket_path(const char *state_dir, char *out, size_t cap, char *err, size_t errlen)
{
    int n = snprintf(out, cap, "%s/%s", state_dir, CONTROL_SOCKET_NAME);
    if (n < 0 || (size_t)n >= cap) {
        snprintf(err, errlen, "state dir path too long for a unix socket (%s/%s, max %zu bytes)",
                 state_dir, CONTROL_SOCKET_NAME, cap - 1);
        return -1;
    }
    return 0;
}

/* The server is closed once its listener and every client connection are. */
static void maybe_closed(struct control_server *s)
{
    if (s->closing && s->listener_closed && s->nclients == 0 && s->on_closed != NULL)
        s->on_closed(s);
}

static void client_handle_closed(uv_handle_t *h)
{
    struct control_client *c = h->data;
    if (--c->handles_open > 0)
        return;
    struct control_server *s = c->server;
    for (struct control_client **p = &s->clients; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    s->nclients--;
    free(c->answer);
    free(c);
    maybe_closed(s);
}

static void client_close(struct control_client *c)
{
    if (!uv_is_closing((uv_handle_t *)&c->pipe))
        uv_close((uv_handle_t *)&c->pipe, client_handle_closed);
    if (!uv_is_closing((uv_handle_t *)&c->idle))
        uv_close((uv_handle_t *)&c->idle, client_handle_closed);
}

static void on_written(uv_write_t *w, int status)
{
    (void)status; /* a client that went away early is not our problem */
    client_close(w->data);
}

static void answer(struct control_client *c)
{
    c->answered = 1;
    uv_read_stop((uv_stream_t *)&c->pipe);
    uv_timer_stop(&c->idle);
    c->answer = c->server->handler(c->request, c->server->arg);
    if (c->answer == NULL)
        c->answer = strdup("{\"error\":\"internal error\"}\n");
    if (c->answer == NULL) {
        client_close(c);
        return;
    }
    uv_buf_t buf = uv_buf_init(c->answer, (unsigned)strlen(c->answer));
    c->write.data = c;
    if (uv_write(&c->write, (uv_stream_t *)&c->pipe, &buf, 1, on_written) < 0)
        client_close(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct control_client *c = h->data;
    buf->base = c->request + c->len;
    buf->len = sizeof(c->request) - 1 - c->len;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct control_client *c = st->data;
    if (nread < 0) {
        client_close(c);
        return;
    }
    c->len += (size_t)nread;
    c->request[c->len] = '\0';
    char *nl = memchr(c->request, '\n', c->len);
    if (nl != NULL) {
        *nl = '\0';
        answer(c);
    } else if (c->len >= sizeof(c->request) - 1) {
        log_warn("control", "request longer than %d bytes dropped", CONTROL_REQUEST_MAX - 1);
        client_close(c);
    }
}

static void on_idle(uv_timer_t *t)
{
    client_close(t->data);
}

static void on_connection(uv_stream_t *listener, int status)
{
    struct control_server *s = listener->data;
    if (status < 0 || s->closing)
        return;
    struct control_client *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return;
    c->server = s;
    uv_pipe_init(listener->loop, &c->pipe, 0);
    uv_timer_init(listener->loop, &c->idle);
    c->pipe.data = c;
    c->idle.data = c;
    c->handles_open = 2;
    c->next = s->clients;
    s->clients = c;
    s->nclients++;
    if (uv_accept(listener, (uv_stream_t *)&c->pipe) < 0 || s->nclients > CONTROL_CLIENTS_MAX) {
        client_close(c);
        return;
    }
    uv_timer_start(&c->idle, on_idle, CONTROL_IDLE_MS, 0);
    uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
}

int control_server_start(uv_loop_t *loop, struct control_server *s, const char *state_dir,
                         control_handler_fn handler, void *arg, char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    s->handler = handler;
    s->arg = arg;
    if (socket_path(state_dir, s->path, sizeof(s->path), err, errlen) < 0)
        return -1;
    if (unixsock_listening(s->path)) {
        snprintf(err, errlen,
                 "another swarm daemon is running with state dir %s (its control socket %s "
                 "answers); give each daemon its own --state-dir",
                 state_dir, s->path);
        return -1;
    }
    unlink(s->path); /* stale, from a daemon that did not exit cleanly */
    uv_pipe_init(loop, &s->pipe, 0);
    s->pipe.data = s;
    /* Created owner-only from the start: no window in which others could connect. */
    mode_t old = umask(0077);
    int rc = uv_pipe_bind(&s->pipe, s->path);
    umask(old);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->pipe, 16, on_connection);
    if (rc < 0) {
        snprintf(err, errlen, "control socket %s: %s", s->path, uv_strerror(rc));
        uv_close((uv_handle_t *)&s->pipe, NULL);
        return -1;
    }
    return 0;
}

static void listener_closed(uv_handle_t *h)
{
    struct control_server *s = h->data;
    s->listener_closed = 1;
    maybe_closed(s);
}

void control_server_close(struct control_server *s, void (*on_closed)(struct control_server *))
{
    s->closing = 1;
    s->on_closed = on_closed;
    for (struct control_client *c = s->clients; c; c = c->next)
        client_close(c);
    unlink(s->path);
    uv_close((uv_handle_t *)&s->pipe, listener_closed);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int control_request(const char *state_dir, const char *request, long timeout_ms, char **answer,
                    char *err, size_t errlen)
{
    *answer = NULL;
    char path[108];
    if (socket_path(state_dir, path, sizeof(path), err, errlen) < 0)
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        if (e == ENOENT || e == ECONNREFUSED)
            snprintf(err, errlen,
                     "no swarm daemon is running with state dir %s (nothing answers on %s)",
                     state_dir, path);
        else
            snprintf(err, errlen, "cannot reach the daemon on %s: %s", path, strerror(e));
        return -1;
    }
    char line[CONTROL_REQUEST_MAX];
    int n = snprintf(line, sizeof(line), "%s\n", request);
    if (n < 0 || (size_t)n >= sizeof(line) || write(fd, line, (size_t)n) != n) {
        snprintf(err, errlen, "cannot send the request to %s", path);
        close(fd);
        return -1;
    }
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    long deadline = now_ms() + timeout_ms;
    for (;;) {
        if (buf == NULL) {
            snprintf(err, errlen, "out of memory");
            close(fd);
            return -1;
        }
        long left = deadline - now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
            snprintf(err, errlen, "the daemon on %s did not answer within %ld ms", path,
                     timeout_ms);
            break;
        }
        ssize_t r = read(fd, buf + len, cap - len - 1);
        if (r == 0) {
            buf[len] = '\0';
            close(fd);
            *answer = buf;
            return 0;
        }
        if (r < 0) {
            snprintf(err, errlen, "reading the answer from %s: %s", path, strerror(errno));
            break;
        }
        len += (size_t)r;
        if (len + 1 == cap) {
            if (cap >= CONTROL_ANSWER_MAX) {
                snprintf(err, errlen, "the answer from %s is larger than %d bytes", path,
                         CONTROL_ANSWER_MAX);
                break;
            }
            cap *= 2;
            char *grown = realloc(buf, cap);
            if (grown == NULL)
                free(buf);
            buf = grown;
        }
    }
    free(buf);
    close(fd);
    return -1;
}
