/*
 * relay_client — the manager's streams over one relay connection; the API and its lifetimes are
 * in relay_client.h.
 *
 * Callbacks never run from inside an API call: the API only changes state and schedules the
 * connection's kick (an idle handle), which then, in order, seals what the windows allow
 * (streams take turns, one DATA frame each, round robin), hands buffered data and EOFs to
 * readers that are not paused, runs write callbacks, and reports and frees the streams that
 * ended. A stream is freed only there, after its on_close, so marking one ended from any
 * callback is safe. on_data runs straight from the frame reader when the stream is not paused
 * and nothing is buffered ahead of it. STATE chunks are joined in one buffer per connection and
 * each whole message goes to on_state at once, from the frame reader too.
 */
#include "manager/relay_client.h"

#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Queued writes joined into one DATA frame at most. */
#define DATA_PIECES_MAX 16

struct wq_item {
    struct wq_item *next;
    const uint8_t *data;
    size_t len, off;
    relay_write_cb done;
    void *arg;
    int status;
};

struct rx_chunk {
    struct rx_chunk *next;
    size_t len;
    uint8_t data[];
};

struct relay_stream {
    struct relay_conn *c;
    uint32_t id;
    struct relay_stream_callbacks cb;
    void *arg;
    struct relay_stream *next, *prev; /* every stream not yet freed */
    struct relay_stream *sq_next;     /* send queue */
    bool in_sq;
    /* to the engine */
    bool open_sent;
    struct wq_item *wq, *wq_tail; /* waiting to be sealed */
    size_t wq_bytes;
    struct wq_item *done, *done_tail; /* sealed (or cancelled), callback not yet run */
    uint64_t send_credit;
    bool shutdown_requested, close_write_sent;
    /* from the engine */
    uint32_t recv_window; /* bytes the agent may still send */
    uint32_t consumed;    /* handed to on_data, not yet granted back */
    bool paused;
    struct rx_chunk *rx, *rx_tail;
    size_t rx_bytes;
    bool eof_received, eof_delivered;
    /* parked for reuse (relay_stream_park) since parked_ms */
    bool parked;
    uint64_t parked_ms;
    /* the end */
    bool ended;
    int end_code;
    char end_reason[256];
};

struct relay_conn {
    uv_loop_t *loop;
    struct relay_link link;
    uv_idle_t kick;
    bool kick_active, kick_closing;
    struct relay_conn_callbacks cb;
    void *arg;
    bool silent; /* relay_conn_new failed: no callbacks */
    bool closing;
    struct relay_stream *streams, *streams_tail;
    size_t nlive;
    struct relay_stream *sq, *sq_tail;
    uint32_t next_id;
    struct relay_stream *parked[RELAY_PARKED_MAX]; /* oldest first */
    size_t nparked;
    char reason[256];
    /* the state message being joined (state_open: a chunk with more = true came) */
    bool state_open;
    int state_kind;
    uint64_t state_seq;
    char *state_buf; /* state_len bytes + a NUL */
    size_t state_len, state_cap;
};

static void on_kick(uv_idle_t *h);

static void schedule(struct relay_conn *c)
{
    if (c->kick_active || c->kick_closing)
        return;
    c->kick_active = true;
    uv_idle_start(&c->kick, on_kick);
}

static void sq_push(struct relay_stream *s)
{
    struct relay_conn *c = s->c;
    if (!s->in_sq && !s->ended) {
        s->in_sq = true;
        s->sq_next = NULL;
        if (c->sq_tail)
            c->sq_tail->sq_next = s;
        else
            c->sq = s;
        c->sq_tail = s;
    }
    schedule(c);
}

static struct relay_stream *sq_pop(struct relay_conn *c)
{
    struct relay_stream *s = c->sq;
    if (s == NULL)
        return NULL;
    c->sq = s->sq_next;
    if (c->sq == NULL)
        c->sq_tail = NULL;
    s->in_sq = false;
    return s;
}

static void send_close(struct relay_stream *s, enum frame_close_how how, uint32_t code,
                       const char *reason)
{
    struct frame f = {.type = FRAME_CLOSE, .stream = s->id};
    f.u.close.how = how;
    f.u.close.code = code;
    f.u.close.reason = proto_str_c(reason);
    relay_link_send(&s->c->link, &f);
}

static void unpark_remove(struct relay_stream *s)
{
    struct relay_conn *c = s->c;
    for (size_t i = 0; i < c->nparked; i++) {
        if (c->parked[i] == s) {
            memmove(&c->parked[i], &c->parked[i + 1], (c->nparked - i - 1) * sizeof(c->parked[0]));
            c->nparked--;
            break;
        }
    }
    s->parked = false;
}

/* Marks the stream ended: queued writes are cancelled, buffered data dropped; the kick runs the
 * callbacks and frees it. */
static void end_stream(struct relay_stream *s, int code, const char *reason)
{
    if (s->ended)
        return;
    if (s->parked)
        unpark_remove(s);
    s->ended = true;
    s->end_code = code;
    snprintf(s->end_reason, sizeof(s->end_reason), "%s", reason);
    s->c->nlive--;
    for (struct wq_item *w = s->wq; w; w = w->next)
        w->status = UV_ECANCELED;
    if (s->wq) {
        if (s->done_tail)
            s->done_tail->next = s->wq;
        else
            s->done = s->wq;
        s->done_tail = s->wq_tail;
    }
    s->wq = s->wq_tail = NULL;
    s->wq_bytes = 0;
    for (struct rx_chunk *r = s->rx, *next; r; r = next) {
        next = r->next;
        free(r);
    }
    s->rx = s->rx_tail = NULL;
    s->rx_bytes = 0;
    schedule(s->c);
}

/* Ends a stream the agent broke the protocol on, telling the agent. */
static void reset_stream(struct relay_stream *s, const char *reason)
{
    if (s->ended)
        return;
    log_warn("relay", "%s stream %u: %s", relay_link_peer(&s->c->link), s->id, reason);
    send_close(s, FRAME_CLOSE_RESET, FRAME_CODE_PROTOCOL, reason);
    end_stream(s, FRAME_CODE_PROTOCOL, reason);
}

/* ---- sending --------------------------------------------------------------------------------- */

static void complete_write(struct relay_stream *s)
{
    struct wq_item *w = s->wq;
    s->wq = w->next;
    if (s->wq == NULL)
        s->wq_tail = NULL;
    w->next = NULL;
    w->status = 0;
    if (s->done_tail)
        s->done_tail->next = w;
    else
        s->done = w;
    s->done_tail = w;
}

/* One turn of a stream: its OPEN, one DATA frame, its CLOSE once the queue is empty. Returns
 * true if it has more to send now. */
static bool send_turn(struct relay_stream *s)
{
    struct relay_link *l = &s->c->link;
    if (!s->open_sent) {
        struct frame f = {.type = FRAME_OPEN, .stream = s->id};
        f.u.open.target = proto_str_c(RELAY_TARGET_ENGINE);
        f.u.open.window = RELAY_WINDOW;
        if (relay_link_send(l, &f) < 0)
            return false;
        s->open_sent = true;
    }
    while (s->wq && s->wq->off == s->wq->len)
        complete_write(s);
    if (s->wq && s->send_credit > 0) {
        /* As many queued writes as one frame takes: a client's small reads (16 KiB) go out in
         * full frames, so the agent and the engine see a quarter of the writes. */
        size_t room = FRAME_DATA_MAX;
        if (room > s->send_credit)
            room = (size_t)s->send_credit;
        uv_buf_t bufs[DATA_PIECES_MAX];
        size_t nb = 0, total = 0;
        for (struct wq_item *w = s->wq; w && nb < DATA_PIECES_MAX && total < room; w = w->next) {
            size_t n = w->len - w->off;
            if (n > room - total)
                n = room - total;
            bufs[nb++] = uv_buf_init((char *)w->data + w->off, (unsigned)n);
            total += n;
        }
        if (relay_link_send_datav(l, s->id, bufs, nb, total) < 0)
            return false;
        s->wq_bytes -= total;
        s->send_credit -= total;
        while (total > 0) {
            struct wq_item *w = s->wq;
            size_t n = w->len - w->off;
            if (n > total)
                n = total;
            w->off += n;
            total -= n;
            if (w->off == w->len)
                complete_write(s);
        }
    }
    if (s->wq == NULL && s->shutdown_requested && !s->close_write_sent) {
        send_close(s, FRAME_CLOSE_WRITE, FRAME_CODE_OK, "");
        s->close_write_sent = true;
    }
    return s->wq != NULL && s->send_credit > 0;
}

static void flush(struct relay_conn *c)
{
    while (c->sq && relay_link_ready(&c->link) && !relay_link_congested(&c->link)) {
        struct relay_stream *s = sq_pop(c);
        if (!s->ended && send_turn(s))
            sq_push(s);
    }
}

/* ---- receiving ------------------------------------------------------------------------------- */

/* The caller took len bytes: grant the window back once enough has accumulated. */
static void consumed(struct relay_stream *s, size_t len)
{
    if (s->ended || s->eof_received)
        return;
    s->consumed += (uint32_t)len;
    if (s->consumed < RELAY_WINDOW_UPDATE)
        return;
    struct frame f = {.type = FRAME_WINDOW, .stream = s->id};
    f.u.window.credit = s->consumed;
    s->recv_window += s->consumed;
    s->consumed = 0;
    relay_link_send(&s->c->link, &f);
}

static struct relay_stream *find(struct relay_conn *c, const struct frame *f)
{
    for (struct relay_stream *s = c->streams; s; s = s->next)
        if (s->id == f->stream)
            return s->ended ? NULL : s;
    /* Ids are never reused: an id below next_id is a stream that ended (frames may cross our
     * CLOSE); one at or above it was never opened. */
    if (f->stream >= c->next_id)
        relay_link_close(&c->link, "protocol error from %s: %s for stream %u, never opened",
                         relay_link_peer(&c->link), frame_type_name(f->type), f->stream);
    return NULL;
}

static void on_data_frame(struct relay_conn *c, const struct frame *f)
{
    struct relay_stream *s = find(c, f);
    if (s == NULL)
        return;
    size_t len = f->u.data.payload.len;
    if (!s->open_sent) {
        relay_link_close(&c->link, "protocol error from %s: DATA for stream %u before its OPEN",
                         relay_link_peer(&c->link), s->id);
        return;
    }
    if (s->eof_received) {
        reset_stream(s, "DATA after the agent closed its side");
        return;
    }
    if (len > s->recv_window) {
        reset_stream(s, "DATA beyond the window");
        return;
    }
    s->recv_window -= (uint32_t)len;
    if (len == 0)
        return;
    if (s->parked) {
        /* An idle engine connection does not talk: it cannot carry another request. */
        relay_stream_close(s);
        return;
    }
    if (!s->paused && s->rx == NULL) {
        s->cb.on_data(s, f->u.data.payload.ptr, len, s->arg);
        consumed(s, len);
        return;
    }
    struct rx_chunk *r = malloc(sizeof(*r) + len);
    if (r == NULL) {
        send_close(s, FRAME_CLOSE_RESET, FRAME_CODE_ERROR, "manager out of memory");
        end_stream(s, FRAME_CODE_ERROR, "out of memory");
        return;
    }
    r->next = NULL;
    r->len = len;
    memcpy(r->data, f->u.data.payload.ptr, len);
    if (s->rx_tail)
        s->rx_tail->next = r;
    else
        s->rx = r;
    s->rx_tail = r;
    s->rx_bytes += len;
    if (!s->paused)
        schedule(c);
}

static void on_close_frame(struct relay_conn *c, const struct frame *f)
{
    struct relay_stream *s = find(c, f);
    if (s == NULL)
        return;
    if (f->u.close.how == FRAME_CLOSE_RESET) {
        uint32_t code = f->u.close.code <= FRAME_CODE_PROTOCOL ? f->u.close.code : FRAME_CODE_ERROR;
        char reason[FRAME_REASON_MAX + 1];
        snprintf(reason, sizeof(reason), "%.*s", (int)f->u.close.reason.len,
                 f->u.close.reason.ptr ? f->u.close.reason.ptr : "");
        end_stream(s, (int)code, reason[0] ? reason : "reset by the agent");
        return;
    }
    s->eof_received = true;
    if (s->parked)
        relay_stream_close(s); /* the engine closed an idle connection */
    schedule(c);
}

static void on_window_frame(struct relay_conn *c, const struct frame *f)
{
    struct relay_stream *s = find(c, f);
    if (s == NULL)
        return;
    if (s->send_credit + f->u.window.credit > UINT32_MAX) {
        reset_stream(s, "WINDOW credit above 2^32-1");
        return;
    }
    s->send_credit += f->u.window.credit;
    if (s->wq)
        sq_push(s);
}

/* Joins STATE chunks into one message; the last one hands it to on_state. */
static void on_state_frame(struct relay_conn *c, const struct frame *f)
{
    struct relay_link *l = &c->link;
    int kind = (int)f->u.state.kind;
    uint64_t seq = f->u.state.seq;
    size_t len = f->u.state.payload.len;
    if (c->state_open && (kind != c->state_kind || seq != c->state_seq)) {
        relay_link_close(l,
                         "protocol error from %s: STATE chunk of kind %d seq %llu inside the "
                         "message of kind %d seq %llu",
                         relay_link_peer(l), kind, (unsigned long long)seq, c->state_kind,
                         (unsigned long long)c->state_seq);
        return;
    }
    if (!c->state_open)
        c->state_len = 0;
    if (len > FRAME_STATE_MAX - c->state_len) {
        relay_link_close(l, "protocol error from %s: state message seq %llu over %d bytes",
                         relay_link_peer(l), (unsigned long long)seq, FRAME_STATE_MAX);
        return;
    }
    size_t need = c->state_len + len + 1;
    if (need > c->state_cap) {
        size_t cap = c->state_cap ? c->state_cap : FRAME_STATE_CHUNK_MAX + 1;
        while (cap < need)
            cap *= 2;
        if (cap > FRAME_STATE_MAX + 1)
            cap = FRAME_STATE_MAX + 1;
        char *buf = realloc(c->state_buf, cap);
        if (buf == NULL) {
            relay_link_close(l, "out of memory for a state message from %s", relay_link_peer(l));
            return;
        }
        c->state_buf = buf;
        c->state_cap = cap;
    }
    if (len)
        memcpy(c->state_buf + c->state_len, f->u.state.payload.ptr, len);
    c->state_len += len;
    c->state_buf[c->state_len] = '\0';
    c->state_kind = kind;
    c->state_seq = seq;
    c->state_open = f->u.state.more;
    if (c->state_open)
        return;
    if (c->cb.on_state && !c->closing)
        c->cb.on_state(c, kind, seq, c->state_buf, c->state_len, c->arg);
    c->state_len = 0;
    if (c->state_cap > FRAME_STATE_CHUNK_MAX + 1) {
        free(c->state_buf);
        c->state_buf = NULL;
        c->state_cap = 0;
    }
}

static void link_frame(struct relay_link *l, const struct frame *f)
{
    struct relay_conn *c = l->data;
    switch (f->type) {
    case FRAME_DATA:
        on_data_frame(c, f);
        break;
    case FRAME_CLOSE:
        on_close_frame(c, f);
        break;
    case FRAME_WINDOW:
        on_window_frame(c, f);
        break;
    case FRAME_STATE:
        on_state_frame(c, f);
        break;
    case FRAME_OPEN:
    case FRAME_PING:
        relay_link_close(l, "protocol error from %s: the agent sent %s", relay_link_peer(l),
                         frame_type_name(f->type));
        break;
    }
}

/* ---- the kick: deferred callbacks ------------------------------------------------------------ */

static void run_done(struct relay_stream *s)
{
    while (s->done) {
        struct wq_item *w = s->done;
        s->done = w->next;
        if (s->done == NULL)
            s->done_tail = NULL;
        if (w->done)
            w->done(s, w->status, w->arg);
        free(w);
    }
}

static void deliver(struct relay_stream *s)
{
    struct relay_conn *c = s->c;
    run_done(s);
    while (!s->ended && !s->paused && s->rx && !c->closing) {
        struct rx_chunk *r = s->rx;
        s->rx = r->next;
        if (s->rx == NULL)
            s->rx_tail = NULL;
        s->rx_bytes -= r->len;
        s->cb.on_data(s, r->data, r->len, s->arg);
        consumed(s, r->len);
        free(r);
    }
    if (s->ended || s->paused || s->rx || c->closing)
        return;
    if (s->eof_received && !s->eof_delivered) {
        s->eof_delivered = true;
        if (s->cb.on_eof)
            s->cb.on_eof(s, s->arg);
    }
    if (!s->ended && s->eof_delivered && s->close_write_sent)
        end_stream(s, RELAY_END_OK, "");
}

/* Runs the callbacks of the streams that ended, and frees them. */
static void reap(struct relay_conn *c)
{
    for (struct relay_stream *s = c->streams, *next; s; s = next) {
        if (!s->ended) {
            next = s->next;
            continue;
        }
        run_done(s);
        s->cb.on_close(s, s->end_code, s->end_reason, s->arg);
        run_done(s); /* writes queued from inside on_close were refused; nothing is left */
        next = s->next;
        if (s->prev)
            s->prev->next = s->next;
        else
            c->streams = s->next;
        if (s->next)
            s->next->prev = s->prev;
        else
            c->streams_tail = s->prev;
        if (s->in_sq) {
            struct relay_stream **p = &c->sq;
            while (*p != s)
                p = &(*p)->sq_next;
            *p = s->sq_next;
            if (c->sq_tail == s) {
                c->sq_tail = NULL;
                for (struct relay_stream *t = c->sq; t; t = t->sq_next)
                    c->sq_tail = t;
            }
        }
        free(s);
    }
}

static void on_kick(uv_idle_t *h)
{
    struct relay_conn *c = h->data;
    c->kick_active = false;
    flush(c);
    for (struct relay_stream *s = c->streams; s; s = s->next)
        if (!s->ended)
            deliver(s);
    reap(c);
    if (!c->kick_active)
        uv_idle_stop(&c->kick);
}

/* ---- the connection -------------------------------------------------------------------------- */

static void link_ready(struct relay_link *l)
{
    struct relay_conn *c = l->data;
    log_debug("relay", "connected to the agent at %s", relay_link_peer(l));
    schedule(c);
    if (c->cb.on_ready)
        c->cb.on_ready(c, c->arg);
}

static void link_drained(struct relay_link *l)
{
    schedule(l->data);
}

static void on_kick_closed(uv_handle_t *h)
{
    struct relay_conn *c = h->data;
    if (!c->silent)
        c->cb.on_close(c, c->reason, c->arg);
    free(c->state_buf);
    free(c);
}

static void link_closed(struct relay_link *l, const char *reason)
{
    struct relay_conn *c = l->data;
    c->closing = true;
    snprintf(c->reason, sizeof(c->reason), "%s", reason);
    /* The owner hears the reason in on_close and logs it (engines.c, once per connection). */
    if (!c->silent && !l->clean)
        log_debug("relay", "connection to the agent at %s closed: %s", relay_link_peer(l), reason);
    for (struct relay_stream *s = c->streams; s; s = s->next)
        end_stream(s, RELAY_END_CONN, reason);
    reap(c);
    c->kick_closing = true;
    uv_close((uv_handle_t *)&c->kick, on_kick_closed);
}

static const struct relay_link_ops client_ops = {
    .ready = link_ready,
    .frame = link_frame,
    .drained = link_drained,
    .closed = link_closed,
};

struct relay_conn *relay_conn_new(uv_loop_t *loop, const struct sockaddr *addr,
                                  const uint8_t agent_pk[KEYPAIR_BYTES], const struct keypair *self,
                                  const struct relay_link_timing *timing,
                                  const struct relay_conn_callbacks *cb, void *arg, char *err,
                                  size_t errlen)
{
    struct relay_conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->loop = loop;
    c->cb = *cb;
    c->arg = arg;
    c->next_id = 1;
    struct relay_link_timing t = {.ping_ms = RELAY_PING_INTERVAL_MS};
    if (timing)
        t = *timing;
    c->link.data = c;
    relay_link_init(&c->link, loop, &client_ops, &t);
    uv_idle_init(loop, &c->kick);
    c->kick.data = c;
    if (relay_link_connect(&c->link, addr, self, agent_pk, err, errlen) < 0) {
        c->silent = true;
        relay_link_close(&c->link, "%s", err);
        return NULL;
    }
    return c;
}

unsigned relay_conn_suite(const struct relay_conn *c)
{
    return relay_link_suite(&c->link);
}

void relay_conn_offer_suites(struct relay_conn *c)
{
    relay_link_offer_suites(&c->link);
}

void relay_conn_close(struct relay_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    for (struct relay_stream *s = c->streams; s; s = s->next)
        end_stream(s, RELAY_END_CONN, "connection closed");
    relay_link_close_graceful(&c->link, "closed");
}

bool relay_conn_ready(const struct relay_conn *c)
{
    return !c->closing && relay_link_ready(&c->link);
}

size_t relay_conn_nstreams(const struct relay_conn *c)
{
    return c->nlive;
}

const char *relay_conn_peer(const struct relay_conn *c)
{
    return relay_link_peer(&c->link);
}

/* ---- streams --------------------------------------------------------------------------------- */

struct relay_stream *relay_stream_open(struct relay_conn *c,
                                       const struct relay_stream_callbacks *cb, void *arg)
{
    if (!c->closing && c->nlive >= RELAY_MAX_STREAMS && c->nparked > 0)
        relay_stream_close(c->parked[0]); /* an idle one makes room */
    if (c->closing || c->nlive >= RELAY_MAX_STREAMS || c->next_id == 0)
        return NULL;
    struct relay_stream *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->c = c;
    s->id = c->next_id++;
    s->cb = *cb;
    s->arg = arg;
    s->send_credit = RELAY_WINDOW;
    s->recv_window = RELAY_WINDOW;
    s->prev = c->streams_tail;
    if (c->streams_tail)
        c->streams_tail->next = s;
    else
        c->streams = s;
    c->streams_tail = s;
    c->nlive++;
    sq_push(s);
    return s;
}

int relay_stream_write(struct relay_stream *s, const uint8_t *data, size_t len, relay_write_cb done,
                       void *arg)
{
    if (s->ended || s->shutdown_requested)
        return UV_EPIPE;
    if (s->wq_bytes >= RELAY_STREAM_WRITE_QUEUE_MAX)
        return UV_ENOBUFS;
    struct wq_item *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return UV_ENOMEM;
    w->data = data;
    w->len = len;
    w->done = done;
    w->arg = arg;
    if (s->wq_tail)
        s->wq_tail->next = w;
    else
        s->wq = w;
    s->wq_tail = w;
    s->wq_bytes += len;
    sq_push(s);
    return 0;
}

int relay_stream_shutdown(struct relay_stream *s)
{
    if (s->ended || s->shutdown_requested)
        return UV_EPIPE;
    s->shutdown_requested = true;
    sq_push(s);
    return 0;
}

void relay_stream_read_stop(struct relay_stream *s)
{
    s->paused = true;
}

void relay_stream_read_start(struct relay_stream *s)
{
    if (!s->paused)
        return;
    s->paused = false;
    if (s->rx || s->eof_received)
        schedule(s->c);
}

void relay_stream_close(struct relay_stream *s)
{
    if (s->ended)
        return;
    if (s->open_sent && !(s->close_write_sent && s->eof_received))
        send_close(s, FRAME_CLOSE_RESET, FRAME_CODE_OK, "closed by the manager");
    end_stream(s, RELAY_END_LOCAL, "closed");
}

void relay_stream_set_callbacks(struct relay_stream *s, const struct relay_stream_callbacks *cb,
                                void *arg)
{
    s->cb = *cb;
    s->arg = arg;
}

/* A parked stream's callbacks: nothing reaches them (data, end-of-file and resets close it
 * first), and its end is the client's own business. */
static void parked_data(struct relay_stream *s, const uint8_t *data, size_t len, void *arg)
{
    (void)s;
    (void)data;
    (void)len;
    (void)arg;
}

static void parked_close(struct relay_stream *s, int code, const char *reason, void *arg)
{
    (void)s;
    (void)code;
    (void)reason;
    (void)arg;
}

static const struct relay_stream_callbacks parked_cb = {parked_data, NULL, parked_close};

bool relay_stream_park(struct relay_stream *s)
{
    struct relay_conn *c = s->c;
    if (s->ended || s->parked || c->closing || !s->open_sent || s->wq || s->done || s->rx ||
        s->eof_received || s->shutdown_requested)
        return false;
    if (c->nparked == RELAY_PARKED_MAX)
        relay_stream_close(c->parked[0]); /* takes it out of the list */
    s->cb = parked_cb;
    s->arg = NULL;
    s->paused = false; /* whatever comes must be seen, to close it */
    s->parked = true;
    s->parked_ms = uv_now(c->loop);
    c->parked[c->nparked++] = s;
    return true;
}

struct relay_stream *relay_conn_unpark(struct relay_conn *c,
                                       const struct relay_stream_callbacks *cb, void *arg)
{
    if (c->closing || !relay_link_ready(&c->link))
        return NULL;
    uint64_t now = uv_now(c->loop);
    /* The oldest are first: any too old is closed, the newest is handed out. */
    while (c->nparked > 0 && now - c->parked[0]->parked_ms >= RELAY_PARKED_IDLE_MS)
        relay_stream_close(c->parked[0]);
    if (c->nparked == 0)
        return NULL;
    struct relay_stream *s = c->parked[--c->nparked];
    s->parked = false;
    s->cb = *cb;
    s->arg = arg;
    return s;
}

size_t relay_conn_nparked(const struct relay_conn *c)
{
    return c->nparked;
}

size_t relay_stream_write_queue_size(const struct relay_stream *s)
{
    return s->wq_bytes;
}

size_t relay_stream_buffered(const struct relay_stream *s)
{
    return s->rx_bytes;
}

uint32_t relay_stream_id(const struct relay_stream *s)
{
    return s->id;
}

struct relay_conn *relay_stream_conn(const struct relay_stream *s)
{
    return s->c;
}
