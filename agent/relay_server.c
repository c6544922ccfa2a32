/* relay_server — manager streams to the engine's unix socket; the design is in relay_server.h. */
#include "agent/relay_server.h"

#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rs_conn;

/* A write to the engine pipe: the bytes of one DATA frame. Queued on early until the pipe is
 * connected. */
struct pipe_write {
    uv_write_t req;
    struct rs_stream *s;
    struct pipe_write *next;
    size_t len;
    uint8_t data[];
};

struct rs_stream {
    struct rs_conn *c;
    uint32_t id;
    uv_pipe_t pipe;
    uv_connect_t connect;
    uv_shutdown_t shutdown;
    bool connected;
    bool reading;
    bool dead;               /* reset or finished: out of the table, the pipe is closing */
    bool m2a_eof;            /* the manager closed its side (CLOSE write) */
    bool shutdown_done;      /* ... and the pipe's write side is shut down */
    bool a2m_eof;            /* the engine closed its side; we sent CLOSE write */
    uint32_t recv_window;    /* DATA bytes the manager may still send */
    uint32_t credit_pending; /* written to the engine, not yet granted back */
    uint64_t send_credit;    /* DATA bytes we may still send the manager */
    size_t to_engine;        /* bytes in pipe writes not yet completed */
    struct pipe_write *early, *early_tail;
};

/* One STATE message, shared by the connections that still have to send it. */
struct state_msg {
    uint32_t refs;
    enum frame_state_kind kind;
    uint64_t seq;
    size_t len;
    char *data;
};

struct rs_conn {
    struct relay_server *srv;
    struct relay_link link;
    struct rs_conn *prev, *next;
    bool authenticated;
    bool link_closed;
    uint64_t seq;
    /* STATE messages to send, a ring; sq_off bytes of the head are out already */
    struct state_msg *sq[RELAY_STATE_QUEUE_MSGS];
    size_t sq_head, sq_n, sq_off, sq_total;
    bool state_on; /* it was given a snapshot: deltas go to it */
    bool resync;   /* it could not take a delta: a fresh snapshot once the head is out */
    struct rs_stream *streams[RELAY_MAX_STREAMS]; /* live ones */
    size_t nlive;
    size_t nalloc; /* not yet freed (live + closing) */
    uint32_t last_id;
};

struct relay_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    bool listener_closed;
    bool closing;
    void (*on_closed)(void *arg);
    void *on_closed_arg;
    char engine_path[RELAY_ENGINE_PATH_MAX + 1];
    struct keypair self;
    uint8_t managers[HS_MAX_MANAGERS][KEYPAIR_BYTES];
    size_t nmanagers;
    struct relay_link_timing timing;
    uint16_t port;
    struct rs_conn *conns;
    size_t npending, nauth, nrefusing, nstreams;
    uint64_t seq;
    struct relay_state_source state;
    uint64_t state_seq;
    bool too_large_logged;
    struct relay_server_stats st;
    uint8_t pipebuf[FRAME_DATA_MAX]; /* every pipe reads here; each read is sealed at once */
};

static void maybe_server_closed(struct relay_server *srv)
{
    if (srv->closing && srv->listener_closed && srv->conns == NULL && srv->nrefusing == 0 &&
        srv->on_closed) {
        void (*cb)(void *) = srv->on_closed;
        srv->on_closed = NULL;
        cb(srv->on_closed_arg);
    }
}

/* A CLOSE reason is text of at most FRAME_REASON_MAX bytes: keep printable ASCII only. */
static void sanitize(char *s)
{
    size_t n = strlen(s);
    if (n > FRAME_REASON_MAX)
        s[n = FRAME_REASON_MAX] = '\0';
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            s[i] = '?';
}

static void send_close(struct rs_conn *c, uint32_t id, enum frame_close_how how, uint32_t code,
                       const char *reason)
{
    struct frame f = {.type = FRAME_CLOSE, .stream = id};
    f.u.close.how = how;
    f.u.close.code = code;
    f.u.close.reason = proto_str_c(reason);
    relay_link_send(&c->link, &f);
}

/* ---- streams --------------------------------------------------------------------------------- */

static struct rs_stream *stream_find(struct rs_conn *c, uint32_t id)
{
    for (size_t i = 0; i < c->nlive; i++)
        if (c->streams[i]->id == id)
            return c->streams[i];
    return NULL;
}

static void maybe_free_conn(struct rs_conn *c)
{
    if (!c->link_closed || c->nalloc > 0)
        return;
    struct relay_server *srv = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c);
    maybe_server_closed(srv);
}

static void on_pipe_closed(uv_handle_t *h)
{
    struct rs_stream *s = h->data;
    struct rs_conn *c = s->c;
    free(s);
    c->nalloc--;
    maybe_free_conn(c);
}

/* Takes the stream out of the table and closes its pipe; frames for its id are ignored from
 * now on. Pending pipe writes complete with UV_ECANCELED before the close callback. */
static void stream_close(struct rs_stream *s)
{
    if (s->dead)
        return;
    struct rs_conn *c = s->c;
    s->dead = true;
    for (size_t i = 0; i < c->nlive; i++) {
        if (c->streams[i] == s) {
            c->streams[i] = c->streams[--c->nlive];
            break;
        }
    }
    c->srv->nstreams--;
    for (struct pipe_write *w = s->early, *next; w; w = next) {
        next = w->next;
        free(w);
    }
    s->early = s->early_tail = NULL;
    uv_close((uv_handle_t *)&s->pipe, on_pipe_closed);
}

/* Ends the stream both ways with a CLOSE reset the manager sees. */
static void stream_reset(struct rs_stream *s, uint32_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void stream_reset(struct rs_stream *s, uint32_t code, const char *fmt, ...)
{
    if (s->dead)
        return;
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    sanitize(reason);
    log_debug("relay", "%s stream %u reset: %s", relay_link_peer(&s->c->link), s->id, reason);
    if (code != FRAME_CODE_UNREACHABLE)
        s->c->srv->st.streams_reset++;
    send_close(s->c, s->id, FRAME_CLOSE_RESET, code, reason);
    stream_close(s);
}

static void maybe_finish(struct rs_stream *s)
{
    if (!s->dead && s->a2m_eof && s->m2a_eof && s->shutdown_done && s->to_engine == 0)
        stream_close(s);
}

static void on_pipe_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct rs_stream *s = h->data;
    size_t n = sizeof(s->c->srv->pipebuf);
    if (s->send_credit < n)
        n = (size_t)s->send_credit;
    buf->base = (char *)s->c->srv->pipebuf;
    buf->len = n;
}

static void on_pipe_read(uv_stream_t *p, ssize_t nread, const uv_buf_t *buf);

/* Reads the engine only while the manager has credit for it and the connection keeps up. */
static void update_reading(struct rs_stream *s)
{
    bool want = !s->dead && s->connected && !s->a2m_eof && s->send_credit > 0 &&
                relay_link_ready(&s->c->link) && !relay_link_congested(&s->c->link);
    if (want == s->reading)
        return;
    s->reading = want;
    if (want)
        uv_read_start((uv_stream_t *)&s->pipe, on_pipe_alloc, on_pipe_read);
    else
        uv_read_stop((uv_stream_t *)&s->pipe);
}

static void update_reading_all(struct rs_conn *c)
{
    for (size_t i = 0; i < c->nlive; i++)
        update_reading(c->streams[i]);
}

static void on_pipe_read(uv_stream_t *p, ssize_t nread, const uv_buf_t *buf)
{
    struct rs_stream *s = p->data;
    struct rs_conn *c = s->c;
    if (s->dead || nread == 0)
        return;
    if (nread == UV_EOF) {
        s->a2m_eof = true;
        update_reading(s);
        send_close(c, s->id, FRAME_CLOSE_WRITE, FRAME_CODE_OK, "");
        maybe_finish(s);
        return;
    }
    if (nread < 0) {
        stream_reset(s, FRAME_CODE_ERROR, "engine read: %s", uv_strerror((int)nread));
        return;
    }
    size_t n = (size_t)nread;
    if (relay_link_send_data(&c->link, s->id, (const uint8_t *)buf->base, n) < 0)
        return; /* the link is closing; so are the streams */
    s->send_credit -= n;
    c->srv->st.bytes_from_engine += n;
    if (relay_link_congested(&c->link))
        update_reading_all(c);
    else
        update_reading(s);
}

static void grant(struct rs_stream *s)
{
    if (s->credit_pending < RELAY_WINDOW_UPDATE || s->m2a_eof)
        return;
    struct frame f = {.type = FRAME_WINDOW, .stream = s->id};
    f.u.window.credit = s->credit_pending;
    s->recv_window += s->credit_pending;
    s->credit_pending = 0;
    relay_link_send(&s->c->link, &f);
}

static void on_pipe_written(uv_write_t *req, int status)
{
    struct pipe_write *w = req->data;
    struct rs_stream *s = w->s;
    size_t len = w->len;
    free(w);
    s->to_engine -= len;
    if (s->dead)
        return;
    if (status < 0) {
        stream_reset(s, FRAME_CODE_ERROR, "engine write: %s", uv_strerror(status));
        return;
    }
    s->c->srv->st.bytes_to_engine += len;
    s->credit_pending += (uint32_t)len;
    grant(s);
    maybe_finish(s);
}

static int pipe_write(struct rs_stream *s, struct pipe_write *w)
{
    uv_buf_t buf = uv_buf_init((char *)w->data, (unsigned)w->len);
    w->req.data = w;
    int rc = uv_write(&w->req, (uv_stream_t *)&s->pipe, &buf, 1, on_pipe_written);
    if (rc < 0) {
        s->to_engine -= w->len;
        free(w);
        stream_reset(s, FRAME_CODE_ERROR, "engine write: %s", uv_strerror(rc));
        return -1;
    }
    return 0;
}

static void on_pipe_shutdown(uv_shutdown_t *req, int status)
{
    struct rs_stream *s = req->data;
    if (status < 0 && status != UV_ECANCELED)
        log_debug("relay", "stream %u: engine shutdown: %s", s->id, uv_strerror(status));
    s->shutdown_done = true;
    maybe_finish(s);
}

static void start_shutdown(struct rs_stream *s)
{
    s->shutdown.data = s;
    if (uv_shutdown(&s->shutdown, (uv_stream_t *)&s->pipe, on_pipe_shutdown) < 0) {
        s->shutdown_done = true;
        maybe_finish(s);
    }
}

static void on_pipe_connect(uv_connect_t *req, int status)
{
    struct rs_stream *s = req->data;
    struct relay_server *srv = s->c->srv;
    if (s->dead)
        return;
    if (status < 0) {
        srv->st.streams_unreachable++;
        stream_reset(s, FRAME_CODE_UNREACHABLE, "engine unix://%s: %s", srv->engine_path,
                     uv_strerror(status));
        return;
    }
    s->connected = true;
    while (s->early) {
        struct pipe_write *w = s->early;
        s->early = w->next;
        if (pipe_write(s, w) < 0)
            return;
    }
    s->early_tail = NULL;
    if (s->m2a_eof)
        start_shutdown(s);
    update_reading(s);
}

/* ---- frames from the manager ----------------------------------------------------------------- */

static void on_open(struct rs_conn *c, const struct frame *f)
{
    struct relay_server *srv = c->srv;
    if (f->stream <= c->last_id) {
        relay_link_close(&c->link, "protocol error from %s: OPEN for stream %u, not above %u",
                         relay_link_peer(&c->link), f->stream, c->last_id);
        return;
    }
    c->last_id = f->stream;
    struct proto_str t = f->u.open.target;
    if (t.len != strlen(RELAY_TARGET_ENGINE) || memcmp(t.ptr, RELAY_TARGET_ENGINE, t.len) != 0) {
        srv->st.streams_refused++;
        send_close(c, f->stream, FRAME_CLOSE_RESET, FRAME_CODE_REFUSED,
                   "unknown target (this agent serves \"engine\")");
        return;
    }
    if (c->nlive >= RELAY_MAX_STREAMS) {
        srv->st.streams_refused++;
        char reason[64];
        snprintf(reason, sizeof(reason), "too many streams (at most %d per connection)",
                 RELAY_MAX_STREAMS);
        send_close(c, f->stream, FRAME_CLOSE_RESET, FRAME_CODE_REFUSED, reason);
        return;
    }
    struct rs_stream *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        send_close(c, f->stream, FRAME_CLOSE_RESET, FRAME_CODE_ERROR, "out of memory");
        return;
    }
    s->c = c;
    s->id = f->stream;
    s->send_credit = f->u.open.window;
    s->recv_window = RELAY_WINDOW;
    uv_pipe_init(srv->loop, &s->pipe, 0);
    s->pipe.data = s;
    s->connect.data = s;
    c->streams[c->nlive++] = s;
    c->nalloc++;
    srv->nstreams++;
    srv->st.streams_opened++;
    uv_pipe_connect(&s->connect, &s->pipe, srv->engine_path, on_pipe_connect);
}

/* The stream a frame names, or NULL (after closing the connection if the id was never
 * opened; a stream that already ended is simply not there any more). */
static struct rs_stream *frame_stream(struct rs_conn *c, const struct frame *f)
{
    struct rs_stream *s = stream_find(c, f->stream);
    if (s == NULL && f->stream > c->last_id)
        relay_link_close(&c->link, "protocol error from %s: %s for stream %u, never opened",
                         relay_link_peer(&c->link), frame_type_name(f->type), f->stream);
    return s;
}

static void on_data(struct rs_conn *c, const struct frame *f)
{
    struct rs_stream *s = frame_stream(c, f);
    if (s == NULL)
        return;
    size_t len = f->u.data.payload.len;
    if (s->m2a_eof) {
        stream_reset(s, FRAME_CODE_PROTOCOL, "DATA after the manager closed its side");
        return;
    }
    if (len > s->recv_window) {
        stream_reset(s, FRAME_CODE_PROTOCOL, "DATA beyond the window (%zu bytes, %u allowed)", len,
                     s->recv_window);
        return;
    }
    if (len == 0)
        return;
    s->recv_window -= (uint32_t)len;
    const uint8_t *data = f->u.data.payload.ptr;
    if (s->connected && s->to_engine == 0) {
        /* Straight from the frame when the socket takes it: no copy, no queued write. */
        uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
        int n = uv_try_write((uv_stream_t *)&s->pipe, &b, 1);
        if (n < 0 && n != UV_EAGAIN) {
            stream_reset(s, FRAME_CODE_ERROR, "engine write: %s", uv_strerror(n));
            return;
        }
        if (n > 0) {
            c->srv->st.bytes_to_engine += (size_t)n;
            s->credit_pending += (uint32_t)n;
            grant(s);
            data += n;
            len -= (size_t)n;
        }
        if (len == 0)
            return;
    }
    struct pipe_write *w = malloc(sizeof(*w) + len);
    if (w == NULL) {
        stream_reset(s, FRAME_CODE_ERROR, "out of memory");
        return;
    }
    w->s = s;
    w->next = NULL;
    w->len = len;
    memcpy(w->data, data, len);
    s->to_engine += len;
    if (s->connected) {
        pipe_write(s, w);
    } else {
        if (s->early_tail)
            s->early_tail->next = w;
        else
            s->early = w;
        s->early_tail = w;
    }
}

static void on_close_frame(struct rs_conn *c, const struct frame *f)
{
    struct rs_stream *s = frame_stream(c, f);
    if (s == NULL)
        return;
    if (f->u.close.how == FRAME_CLOSE_RESET) {
        log_debug("relay", "%s stream %u reset by the manager (code %u)", relay_link_peer(&c->link),
                  s->id, f->u.close.code);
        stream_close(s);
        return;
    }
    if (s->m2a_eof)
        return;
    s->m2a_eof = true;
    if (s->connected)
        start_shutdown(s);
}

static void on_window(struct rs_conn *c, const struct frame *f)
{
    struct rs_stream *s = frame_stream(c, f);
    if (s == NULL)
        return;
    if (s->send_credit + f->u.window.credit > UINT32_MAX) {
        stream_reset(s, FRAME_CODE_PROTOCOL, "WINDOW credit above 2^32-1");
        return;
    }
    s->send_credit += f->u.window.credit;
    update_reading(s);
}

static void link_frame(struct relay_link *l, const struct frame *f)
{
    struct rs_conn *c = l->data;
    switch (f->type) {
    case FRAME_OPEN:
        on_open(c, f);
        break;
    case FRAME_DATA:
        on_data(c, f);
        break;
    case FRAME_CLOSE:
        on_close_frame(c, f);
        break;
    case FRAME_WINDOW:
        on_window(c, f);
        break;
    case FRAME_STATE:
    case FRAME_PING: /* answered by the link; never here */
        relay_link_close(l, "protocol error from %s: %s is the agent's to send", relay_link_peer(l),
                         frame_type_name(f->type));
        break;
    }
}

/* ---- engine state ---------------------------------------------------------------------------- */

static struct state_msg *msg_new(struct relay_server *srv, enum frame_state_kind kind, char *data,
                                 size_t len)
{
    struct state_msg *m = malloc(sizeof(*m));
    if (m == NULL) {
        free(data);
        return NULL;
    }
    m->refs = 1;
    m->kind = kind;
    m->seq = ++srv->state_seq;
    m->len = len;
    m->data = data;
    return m;
}

static void msg_unref(struct state_msg *m)
{
    if (m && --m->refs == 0) {
        free(m->data);
        free(m);
    }
}

static void log_too_large(struct relay_server *srv, const char *what, size_t len)
{
    srv->st.state_too_large++;
    if (srv->too_large_logged)
        return;
    srv->too_large_logged = true;
    log_warn("relay",
             "engine state %s too large to send: %zu bytes (at most %d); the managers get "
             "%s",
             what, len, FRAME_STATE_MAX,
             strcmp(what, "snapshot") == 0 ? "an error snapshot" : "a fresh snapshot instead");
}

/* The source's current snapshot as a message (an error snapshot if it is too large); NULL if
 * there is none. */
static struct state_msg *make_snapshot(struct relay_server *srv)
{
    if (srv->state.snapshot == NULL)
        return NULL;
    size_t len = 0;
    char *text = srv->state.snapshot(srv->state.arg, &len);
    if (text == NULL)
        return NULL;
    if (len <= FRAME_STATE_MAX) {
        srv->too_large_logged = false;
        return msg_new(srv, FRAME_STATE_SNAPSHOT, text, len);
    }
    log_too_large(srv, "snapshot", len);
    free(text);
    char *err = NULL;
    int n =
        asprintf(&err,
                 "{\"containers\":[],\"images\":[],\"info\":{},\"version\":{},\"error\":\"state "
                 "too large: %zu bytes\"}",
                 len);
    if (n < 0)
        return NULL;
    return msg_new(srv, FRAME_STATE_SNAPSHOT, err, (size_t)n);
}

/* Queues m (one more reference) unless the queue behind the head is full. */
static bool conn_push(struct rs_conn *c, struct state_msg *m)
{
    size_t behind = c->sq_n ? c->sq_total - c->sq[c->sq_head]->len : 0;
    if (c->sq_n == RELAY_STATE_QUEUE_MSGS ||
        (c->sq_n > 0 && behind + m->len > RELAY_STATE_QUEUE_BYTES))
        return false;
    c->sq[(c->sq_head + c->sq_n) % RELAY_STATE_QUEUE_MSGS] = m;
    c->sq_n++;
    c->sq_total += m->len;
    m->refs++;
    return true;
}

static void conn_pop(struct rs_conn *c)
{
    struct state_msg *m = c->sq[c->sq_head];
    c->sq_head = (c->sq_head + 1) % RELAY_STATE_QUEUE_MSGS;
    c->sq_n--;
    c->sq_total -= m->len;
    c->sq_off = 0;
    msg_unref(m);
}

/* Drops the queued messages not begun (a message partly sent must be finished: the manager is
 * in the middle of it). */
static void conn_drop_unstarted(struct rs_conn *c)
{
    size_t keep = c->sq_n && c->sq_off > 0 ? 1 : 0;
    while (c->sq_n > keep) {
        size_t last = (c->sq_head + c->sq_n - 1) % RELAY_STATE_QUEUE_MSGS;
        struct state_msg *m = c->sq[last];
        c->sq_n--;
        c->sq_total -= m->len;
        msg_unref(m);
    }
}

static void conn_state_clear(struct rs_conn *c)
{
    while (c->sq_n)
        conn_pop(c);
}

/* Sends chunks while the connection keeps up; then ops->drained calls it again. */
static void state_pump(struct rs_conn *c)
{
    struct relay_server *srv = c->srv;
    while (relay_link_ready(&c->link) && !relay_link_congested(&c->link)) {
        if (c->sq_n == 0) {
            if (!c->resync)
                return;
            struct state_msg *fresh = make_snapshot(srv);
            if (fresh == NULL)
                return;
            c->resync = false;
            conn_push(c, fresh);
            msg_unref(fresh);
        }
        struct state_msg *m = c->sq[c->sq_head];
        size_t n = m->len - c->sq_off;
        if (n > FRAME_STATE_CHUNK_MAX)
            n = FRAME_STATE_CHUNK_MAX;
        struct frame f = {.type = FRAME_STATE, .stream = 0};
        f.u.state.kind = m->kind;
        f.u.state.seq = m->seq;
        f.u.state.more = c->sq_off + n < m->len;
        f.u.state.payload = (struct proto_bytes){(const uint8_t *)m->data + c->sq_off, n};
        if (relay_link_send(&c->link, &f) < 0)
            return; /* closing */
        srv->st.state_bytes += n;
        c->sq_off += n;
        if (!f.u.state.more) {
            srv->st.state_messages++;
            conn_pop(c);
        }
    }
}

/* The connection could not take a delta (its queue is full, or the delta is too large to
 * send): a fresh snapshot replaces what it had not begun. */
static void conn_resync(struct rs_conn *c, bool queue_full)
{
    if (!c->resync)
        c->srv->st.state_resyncs++;
    if (!c->resync && queue_full)
        log_warn("relay",
                 "%s: too much engine state queued (%zu messages, %zu bytes): sending a "
                 "fresh snapshot instead",
                 relay_link_peer(&c->link), c->sq_n, c->sq_total);
    conn_drop_unstarted(c);
    c->resync = true;
    state_pump(c);
}

static bool conn_takes_state(const struct rs_conn *c)
{
    return c->authenticated && relay_link_ready(&c->link);
}

void relay_server_state_snapshot(struct relay_server *srv)
{
    if (srv->closing)
        return;
    struct state_msg *m = NULL;
    for (struct rs_conn *c = srv->conns; c; c = c->next) {
        if (!conn_takes_state(c))
            continue;
        if (m == NULL && (m = make_snapshot(srv)) == NULL)
            return;
        conn_drop_unstarted(c);
        c->resync = !conn_push(c, m); /* cannot fail: at most the head is left */
        c->state_on = true;
        state_pump(c);
    }
    msg_unref(m);
}

void relay_server_state_delta(struct relay_server *srv, const char *json, size_t len)
{
    if (srv->closing)
        return;
    bool any = false;
    for (struct rs_conn *c = srv->conns; c && !any; c = c->next)
        any = conn_takes_state(c) && c->state_on;
    if (!any)
        return;
    struct state_msg *m = NULL;
    if (len > FRAME_STATE_MAX) {
        log_too_large(srv, "delta", len);
    } else {
        char *copy = malloc(len ? len : 1);
        if (copy)
            memcpy(copy, json, len);
        m = copy ? msg_new(srv, FRAME_STATE_DELTA, copy, len) : NULL;
    }
    for (struct rs_conn *c = srv->conns; c; c = c->next) {
        if (!conn_takes_state(c) || !c->state_on)
            continue;
        if (c->resync)
            state_pump(c); /* its fresh snapshot, taken now or once drained, covers the delta */
        else if (m && conn_push(c, m))
            state_pump(c);
        else
            conn_resync(c, m != NULL); /* its queue is full; or too large, out of memory */
    }
    msg_unref(m);
}

/* ---- connections ----------------------------------------------------------------------------- */

static void link_ready(struct relay_link *l)
{
    struct rs_conn *c = l->data;
    struct relay_server *srv = c->srv;
    c->authenticated = true;
    srv->npending--;
    srv->nauth++;
    srv->st.authenticated++;
    const uint8_t *pk = relay_link_peer_pk(l);
    log_info("relay", "manager connected from %s key=%02x%02x%02x%02x...", relay_link_peer(l),
             pk[0], pk[1], pk[2], pk[3]);
    /* The engine state: the snapshot now if there is one, else the first one announced. */
    struct state_msg *m = make_snapshot(srv);
    if (m) {
        conn_push(c, m);
        msg_unref(m);
        c->state_on = true;
        state_pump(c);
    }
    if (srv->nauth <= RELAY_SERVER_MAX_CONNS)
        return;
    struct rs_conn *oldest = NULL;
    for (struct rs_conn *o = srv->conns; o; o = o->next)
        if (o != c && o->authenticated && !relay_link_closing(&o->link) &&
            (oldest == NULL || o->seq < oldest->seq))
            oldest = o;
    if (oldest) {
        srv->st.evicted++;
        log_warn("relay", "%d manager connections: closing the oldest, from %s",
                 RELAY_SERVER_MAX_CONNS + 1, relay_link_peer(&oldest->link));
        relay_link_close_graceful(&oldest->link, "replaced by a newer manager connection");
    }
}

static void link_drained(struct relay_link *l)
{
    struct rs_conn *c = l->data;
    state_pump(c);
    if (relay_link_ready(l))
        update_reading_all(c);
}

static void link_closed(struct relay_link *l, const char *reason)
{
    struct rs_conn *c = l->data;
    struct relay_server *srv = c->srv;
    if (c->authenticated) {
        srv->nauth--;
        if (!l->clean)
            srv->st.conn_errors++;
        if (l->clean)
            log_info("relay", "manager connection from %s closed: %s", relay_link_peer(l), reason);
        else
            log_warn("relay", "manager connection from %s closed: %s", relay_link_peer(l), reason);
    } else {
        srv->npending--;
        if (!l->clean) {
            srv->st.handshake_failed++;
            log_warn("relay", "refused a connection from %s: %s", relay_link_peer(l), reason);
        }
    }
    while (c->nlive > 0)
        stream_close(c->streams[0]);
    conn_state_clear(c);
    c->link_closed = true;
    maybe_free_conn(c);
}

static const struct relay_link_ops server_ops = {
    .ready = link_ready,
    .frame = link_frame,
    .drained = link_drained,
    .closed = link_closed,
};

static void on_refused_closed(uv_handle_t *h)
{
    struct relay_server *srv = h->data;
    free(h);
    srv->nrefusing--;
    maybe_server_closed(srv);
}

/* Accepts and closes at once: the backlog must not fill with connections we will not serve. */
static void refuse(struct relay_server *srv)
{
    uv_tcp_t *t = malloc(sizeof(*t));
    if (t == NULL)
        return;
    uv_tcp_init(srv->loop, t);
    t->data = srv;
    uv_accept((uv_stream_t *)&srv->listener, (uv_stream_t *)t);
    srv->nrefusing++;
    uv_close((uv_handle_t *)t, on_refused_closed);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct relay_server *srv = server->data;
    if (status < 0) {
        log_warn("relay", "accept: %s", uv_strerror(status));
        return;
    }
    if (srv->closing)
        return;
    srv->st.accepted++;
    struct rs_conn *c = NULL;
    if (srv->npending >= RELAY_SERVER_MAX_PENDING || (c = calloc(1, sizeof(*c))) == NULL) {
        srv->st.refused_busy++;
        if (srv->st.refused_busy == 1 || srv->st.refused_busy % 1000 == 0)
            log_warn("relay", "%zu handshakes under way: refusing connections (%llu so far)",
                     srv->npending, (unsigned long long)srv->st.refused_busy);
        refuse(srv);
        return;
    }
    c->srv = srv;
    c->seq = ++srv->seq;
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->npending++;
    c->link.data = c;
    relay_link_init(&c->link, srv->loop, &server_ops, &srv->timing);
    char err[128];
    if (relay_link_accept(&c->link, server, &srv->self,
                          (const uint8_t(*)[KEYPAIR_BYTES])srv->managers, srv->nmanagers, err,
                          sizeof(err)) < 0)
        relay_link_close(&c->link, "%s", err);
}

/* ---- the server ------------------------------------------------------------------------------ */

static void free_on_close(uv_handle_t *h)
{
    relay_server_free(h->data);
}

struct relay_server *relay_server_start(uv_loop_t *loop, const struct relay_server_config *cfg,
                                        char *err, size_t errlen)
{
    if (cfg->nmanagers < 1 || cfg->nmanagers > HS_MAX_MANAGERS) {
        snprintf(err, errlen, "relay: %zu manager keys (1..%d)", cfg->nmanagers, HS_MAX_MANAGERS);
        return NULL;
    }
    if (cfg->engine_path == NULL || cfg->engine_path[0] != '/' ||
        strlen(cfg->engine_path) > RELAY_ENGINE_PATH_MAX) {
        snprintf(err, errlen, "relay: engine socket path must be absolute and at most %d bytes",
                 RELAY_ENGINE_PATH_MAX);
        return NULL;
    }
    struct sockaddr_storage ss;
    if (uv_ip4_addr(cfg->host, cfg->port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(cfg->host, cfg->port, (struct sockaddr_in6 *)&ss) != 0) {
        snprintf(err, errlen, "relay: bad address \"%s\": expected a numeric IPv4 or IPv6 address",
                 cfg->host);
        return NULL;
    }
    struct relay_server *srv = calloc(1, sizeof(*srv));
    if (srv == NULL) {
        snprintf(err, errlen, "relay: out of memory");
        return NULL;
    }
    srv->loop = loop;
    snprintf(srv->engine_path, sizeof(srv->engine_path), "%s", cfg->engine_path);
    srv->self = *cfg->self;
    memcpy(srv->managers, cfg->managers, cfg->nmanagers * KEYPAIR_BYTES);
    srv->nmanagers = cfg->nmanagers;
    srv->timing = cfg->timing;
    srv->state = cfg->state;
    uv_tcp_init(loop, &srv->listener);
    srv->listener.data = srv;
    int rc = uv_tcp_bind(&srv->listener, (const struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&srv->listener, 128, on_connection);
    if (rc != 0) {
        snprintf(err, errlen, "relay: cannot listen on %s port %u: %s", cfg->host, cfg->port,
                 uv_strerror(rc));
        /* Nothing was accepted; the listener's close callback frees the rest. */
        uv_close((uv_handle_t *)&srv->listener, free_on_close);
        return NULL;
    }
    struct sockaddr_storage bound;
    int blen = sizeof(bound);
    uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&bound, &blen);
    srv->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                  : ((struct sockaddr_in *)&bound)->sin_port);
    log_info("relay", "listening on %s port %u, engine unix://%s", cfg->host, srv->port,
             srv->engine_path);
    return srv;
}

uint16_t relay_server_port(const struct relay_server *s)
{
    return s->port;
}

const struct relay_server_stats *relay_server_stats(const struct relay_server *s)
{
    return &s->st;
}

size_t relay_server_nconns(const struct relay_server *s)
{
    return s->npending + s->nauth;
}

size_t relay_server_nstreams(const struct relay_server *s)
{
    return s->nstreams;
}

static void on_listener_closed(uv_handle_t *h)
{
    struct relay_server *srv = h->data;
    srv->listener_closed = true;
    maybe_server_closed(srv);
}

void relay_server_close(struct relay_server *srv, void (*on_closed)(void *arg), void *arg)
{
    if (srv == NULL || srv->closing)
        return;
    srv->closing = true;
    srv->on_closed = on_closed;
    srv->on_closed_arg = arg;
    uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
    for (struct rs_conn *c = srv->conns; c; c = c->next)
        relay_link_close_graceful(&c->link, "the agent is stopping");
}

void relay_server_free(struct relay_server *srv)
{
    if (srv == NULL)
        return;
    keypair_wipe(&srv->self);
    free(srv);
}
