/* relay_link — handshake and sealed frames over one TCP connection; see relay_link.h. */
#include "agent/relay_link.h"

#include "common/log.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GRACEFUL_CLOSE_MS 2000

/* Bytes for the TCP handle: sealed frames (or a handshake message). Frames are sealed one after
 * the other into the link's batch (l->out): small ones share a buffer of WREQ_SMALL bytes, a
 * large one gets a buffer of its own. The batch goes out in one write (writev) when the loop is
 * about to wait for I/O (the prepare handle), or at once when it holds RELAY_LINK_BATCH_FLUSH bytes
 * or RELAY_LINK_OUT_SEGS buffers: frames produced in one loop iteration (many streams' requests,
 * many answers) cost one syscall and one wake-up of the peer. What the socket does not take at once
 * is queued from the same buffers: the first of them carries the write request and the others
 * hang from it (next), all freed when the write completes. One small buffer written in full is
 * kept for the next batch (l->spare). */
struct wreq {
    uv_write_t req;
    struct relay_link *l;
    struct wreq *next; /* the rest of a queued write's buffers */
    size_t len;        /* bytes sealed into data */
    size_t cap;
    size_t queued; /* (the write's first buffer) bytes the write carries, counted in wq_bytes */
    uint8_t data[];
};

#define WREQ_SMALL (16 * 1024)

static uint64_t now_ms(const struct relay_link *l)
{
    return uv_now(l->loop);
}

static void format_peer(struct relay_link *l)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    char ip[INET6_ADDRSTRLEN] = "?";
    if (uv_tcp_getpeername(&l->tcp, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
        snprintf(l->peer, sizeof(l->peer), "%s:%u", ip, ntohs(s4->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
        snprintf(l->peer, sizeof(l->peer), "[%s]:%u", ip, ntohs(s6->sin6_port));
    }
}

/* ---- closing --------------------------------------------------------------------------------- */

static void on_handle_closed(uv_handle_t *h)
{
    struct relay_link *l = h->data;
    if (--l->handles > 0)
        return;
    hs_close(&l->hs);
    frame_cipher_close(&l->fc);
    if (l->rxplain)
        sodium_memzero(l->rxplain, FRAME_MAX_SIZE);
    if (l->txplain)
        sodium_memzero(l->txplain, FRAME_MAX_SIZE);
    free(l->rbuf);
    free(l->rxplain);
    free(l->txplain);
    free(l->spare);
    for (size_t i = 0; i < l->nout; i++)
        free(l->out[i]);
    l->nout = 0;
    l->rbuf = l->rxplain = l->txplain = NULL;
    l->spare = NULL;
    l->ops->closed(l, l->reason);
}

static void close_handles(struct relay_link *l)
{
    if (!uv_is_closing((uv_handle_t *)&l->tcp))
        uv_close((uv_handle_t *)&l->tcp, on_handle_closed);
    if (!uv_is_closing((uv_handle_t *)&l->timer))
        uv_close((uv_handle_t *)&l->timer, on_handle_closed);
    if (!uv_is_closing((uv_handle_t *)&l->flusher))
        uv_close((uv_handle_t *)&l->flusher, on_handle_closed);
}

static void vfail(struct relay_link *l, bool clean, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* Closing at once: the batch is written as far as the socket takes it now, as each frame was
 * before batching (a CLOSE sealed just before a protocol error still reaches the peer); the
 * rest is dropped, like the queued writes the close cancels. */
static void drop_out(struct relay_link *l)
{
    if (l->nout == 0)
        return;
    uv_buf_t bufs[RELAY_LINK_OUT_SEGS];
    for (size_t i = 0; i < l->nout; i++)
        bufs[i] = uv_buf_init((char *)l->out[i]->data, (unsigned)l->out[i]->len);
    if (l->tcp_queued == 0)
        (void)uv_try_write((uv_stream_t *)&l->tcp, bufs, (unsigned)l->nout);
    for (size_t i = 0; i < l->nout; i++)
        free(l->out[i]);
    l->wq_bytes -= l->out_bytes;
    l->nout = 0;
    l->out_bytes = 0;
}

static void vfail(struct relay_link *l, bool clean, const char *fmt, va_list ap)
{
    if (l->phase == RELAY_LINK_CLOSING)
        return;
    drop_out(l);
    l->phase = RELAY_LINK_CLOSING;
    l->clean = clean;
    vsnprintf(l->reason, sizeof(l->reason), fmt, ap);
    close_handles(l);
}

static void fail(struct relay_link *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct relay_link *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(l, false, fmt, ap);
    va_end(ap);
}

void relay_link_close(struct relay_link *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(l, false, fmt, ap);
    va_end(ap);
}

static void close_clean(struct relay_link *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void close_clean(struct relay_link *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(l, true, fmt, ap);
    va_end(ap);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    struct relay_link *l = req->data;
    if (status < 0)
        close_handles(l);
    /* else our FIN is queued; on_read closes at the peer's (a lingering close: closing with
     * unread bytes would send a RST, and the peer could lose our FINAL frame) */
}

static void on_graceful_timeout(uv_timer_t *t)
{
    close_handles(t->data);
}

static int seal_and_write(struct relay_link *l, const uint8_t *pt, size_t len, int final);
static int flush_out(struct relay_link *l);

void relay_link_close_graceful(struct relay_link *l, const char *reason)
{
    if (l->phase != RELAY_LINK_READY) {
        close_clean(l, "%s", reason);
        return;
    }
    /* The last frame carries FINAL: a PING that answers nothing (pong, nonce 0). */
    struct frame f = {.type = FRAME_PING, .stream = 0, .u.ping = {.nonce = 0, .pong = true}};
    size_t len;
    if (frame_encode(&f, l->txplain, FRAME_MAX_SIZE, &len, NULL) != 0 ||
        seal_and_write(l, l->txplain, len, 1) < 0 || flush_out(l) < 0) {
        close_clean(l, "%s", reason);
        return;
    }
    l->phase = RELAY_LINK_CLOSING;
    l->clean = true;
    l->lingering = true;
    l->rlen = 0;
    snprintf(l->reason, sizeof(l->reason), "%s", reason);
    l->shutdown.data = l;
    if (uv_shutdown(&l->shutdown, (uv_stream_t *)&l->tcp, on_shutdown) != 0) {
        close_handles(l);
        return;
    }
    uv_timer_start(&l->timer, on_graceful_timeout, GRACEFUL_CLOSE_MS, 0);
}

/* ---- writing --------------------------------------------------------------------------------- */

/* A buffer for need bytes: the spare (or a new one of WREQ_SMALL bytes) if it fits, else a
 * new one of that size. */
static struct wreq *wreq_new(struct relay_link *l, size_t need)
{
    struct wreq *w;
    if (need <= WREQ_SMALL && l->spare) {
        w = l->spare;
        l->spare = NULL;
    } else {
        size_t cap = need <= WREQ_SMALL ? WREQ_SMALL : need;
        if ((w = malloc(sizeof(*w) + cap)) == NULL)
            return NULL;
        w->cap = cap;
    }
    w->l = l;
    w->next = NULL;
    w->len = 0;
    w->queued = 0;
    return w;
}

/* A buffer written in full: kept as the spare if it is a small one and there is none. */
static void wreq_done(struct relay_link *l, struct wreq *w)
{
    if (l->spare == NULL && w->cap == WREQ_SMALL)
        l->spare = w;
    else
        free(w);
}

static void on_written(uv_write_t *req, int status)
{
    struct wreq *w = req->data;
    struct relay_link *l = w->l;
    l->wq_bytes -= w->queued;
    l->tcp_queued -= w->queued;
    for (struct wreq *next; w; w = next) {
        next = w->next;
        free(w);
    }
    if (status < 0) {
        if (status != UV_ECANCELED)
            fail(l, "write to %s: %s", l->peer, uv_strerror(status));
        return;
    }
    if (l->congested && l->wq_bytes <= RELAY_LINK_WQ_LOW && l->phase == RELAY_LINK_READY) {
        l->congested = false;
        if (l->ops->drained)
            l->ops->drained(l);
    }
}

/* Writes the batch: what the socket takes at once (one writev), then the rest queued from the
 * same buffers. 0, or -1 after fail(). */
static int flush_out(struct relay_link *l)
{
    size_t n = l->nout, total = l->out_bytes;
    if (n == 0)
        return 0;
    uv_prepare_stop(&l->flusher);
    uv_buf_t bufs[RELAY_LINK_OUT_SEGS];
    for (size_t i = 0; i < n; i++)
        bufs[i] = uv_buf_init((char *)l->out[i]->data, (unsigned)l->out[i]->len);
    l->nout = 0;
    l->out_bytes = 0;
    l->writes++;
    size_t done = 0;
    if (l->tcp_queued == 0) {
        int rc = uv_try_write((uv_stream_t *)&l->tcp, bufs, (unsigned)n);
        if (rc >= 0) {
            done = (size_t)rc;
        } else if (rc != UV_EAGAIN) {
            l->wq_bytes -= total;
            for (size_t i = 0; i < n; i++)
                free(l->out[i]);
            fail(l, "write to %s: %s", l->peer, uv_strerror(rc));
            return -1;
        }
    }
    l->wq_bytes -= done;
    /* The buffers written in full go; the first one left carries the write of the rest. */
    size_t first = 0;
    while (first < n && done >= bufs[first].len) {
        done -= bufs[first].len;
        wreq_done(l, l->out[first]);
        first++;
    }
    if (first == n)
        return 0;
    bufs[first].base += done;
    bufs[first].len -= (unsigned)done;
    struct wreq *head = l->out[first];
    size_t rest = 0;
    for (size_t i = first; i < n; i++) {
        rest += bufs[i].len;
        l->out[i]->next = i + 1 < n ? l->out[i + 1] : NULL;
    }
    head->req.data = head;
    head->queued = rest;
    int rc = uv_write(&head->req, (uv_stream_t *)&l->tcp, bufs + first, (unsigned)(n - first),
                      on_written);
    if (rc < 0) {
        l->wq_bytes -= rest;
        for (struct wreq *w = head, *next; w; w = next) {
            next = w->next;
            free(w);
        }
        fail(l, "write to %s: %s", l->peer, uv_strerror(rc));
        return -1;
    }
    l->tcp_queued += rest;
    if (l->wq_bytes >= RELAY_LINK_WQ_HIGH)
        l->congested = true;
    return 0;
}

static void on_flush(uv_prepare_t *h)
{
    struct relay_link *l = h->data;
    uv_prepare_stop(h);
    if (l->phase != RELAY_LINK_CLOSING)
        flush_out(l);
}

/* Room for need more bytes at the end of the batch: the last buffer if it has it, else a new
 * one (after writing the batch if it has no slot left). NULL after fail(). */
static struct wreq *out_room(struct relay_link *l, size_t need)
{
    if (l->nout > 0) {
        struct wreq *t = l->out[l->nout - 1];
        if (t->cap - t->len >= need)
            return t;
    }
    if (l->nout == RELAY_LINK_OUT_SEGS && flush_out(l) < 0)
        return NULL;
    struct wreq *w = wreq_new(l, need);
    if (w == NULL) {
        fail(l, "out of memory");
        return NULL;
    }
    l->out[l->nout++] = w;
    return w;
}

/* len more bytes are in the batch: written at once past RELAY_LINK_BATCH_FLUSH, else before the
 * loop next waits for I/O. */
static int out_added(struct relay_link *l, size_t len)
{
    l->out_bytes += len;
    l->wq_bytes += len;
    l->last_tx_ms = now_ms(l);
    if (l->out_bytes >= RELAY_LINK_BATCH_FLUSH)
        return flush_out(l);
    if (!uv_is_active((uv_handle_t *)&l->flusher))
        uv_prepare_start(&l->flusher, on_flush);
    return 0;
}

/* A handshake message: written at once. */
static int send_bytes(struct relay_link *l, const uint8_t *p, size_t len)
{
    struct wreq *w = out_room(l, len);
    if (w == NULL)
        return -1;
    memcpy(w->data + w->len, p, len);
    w->len += len;
    l->out_bytes += len;
    l->wq_bytes += len;
    l->last_tx_ms = now_ms(l);
    return flush_out(l);
}

static int seal_and_write(struct relay_link *l, const uint8_t *pt, size_t len, int final)
{
    if (l->wq_bytes + len + FRAME_OVERHEAD > RELAY_LINK_WQ_MAX) {
        fail(l, "peer %s does not read: %zu bytes queued, limit %d", l->peer, l->wq_bytes,
             RELAY_LINK_WQ_MAX);
        return -1;
    }
    struct wreq *w = out_room(l, len + FRAME_OVERHEAD);
    if (w == NULL)
        return -1;
    size_t sealed;
    int rc = frame_seal(&l->fc, pt, len, final, w->data + w->len, w->cap - w->len, &sealed);
    if (rc != FRAME_OK) {
        fail(l, "cannot seal a frame: %s", frame_strerror(rc));
        return -1;
    }
    w->len += sealed;
    return out_added(l, sealed);
}

int relay_link_send(struct relay_link *l, const struct frame *f)
{
    if (l->phase != RELAY_LINK_READY)
        return -1;
    size_t len;
    struct proto_err perr;
    if (frame_encode(f, l->txplain, FRAME_MAX_SIZE, &len, &perr) != 0) {
        /* Our own frame: a bug, not the peer's doing. */
        log_error("relay", "cannot encode a %s frame: %s", frame_type_name(f->type), perr.msg);
        fail(l, "cannot encode a %s frame", frame_type_name(f->type));
        return -1;
    }
    return seal_and_write(l, l->txplain, len, 0);
}

int relay_link_send_datav(struct relay_link *l, uint32_t stream, const uv_buf_t *bufs, size_t nbufs,
                          size_t len)
{
    if (l->phase != RELAY_LINK_READY)
        return -1;
    struct frame f = {.type = FRAME_DATA, .stream = stream, .u.data.payload = {NULL, len}};
    size_t hl;
    if (len > FRAME_DATA_MAX ||
        frame_encode_header(&f, l->txplain, FRAME_HEADER_MAX, &hl, NULL) != 0) {
        fail(l, "cannot encode a DATA frame of %zu bytes", len);
        return -1;
    }
    size_t off = 0;
    for (size_t i = 0; i < nbufs && off < len; i++) {
        size_t n = bufs[i].len < len - off ? bufs[i].len : len - off;
        if (n)
            memcpy(l->txplain + hl + off, bufs[i].base, n);
        off += n;
    }
    if (off != len) {
        fail(l, "a DATA frame of %zu bytes given %zu", len, off);
        return -1;
    }
    return seal_and_write(l, l->txplain, hl + len, 0);
}

int relay_link_send_data(struct relay_link *l, uint32_t stream, const uint8_t *data, size_t len)
{
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    return relay_link_send_datav(l, stream, &b, 1, len);
}

/* ---- timer: handshake deadline, idle peer, pings --------------------------------------------- */

static void on_timer(uv_timer_t *t)
{
    struct relay_link *l = t->data;
    uint64_t now = now_ms(l);
    if (l->phase == RELAY_LINK_CONNECTING || l->phase == RELAY_LINK_HANDSHAKE) {
        fail(l, "handshake with %s not finished within %u ms", l->peer[0] ? l->peer : "peer",
             l->timing.handshake_ms);
        return;
    }
    if (l->phase != RELAY_LINK_READY)
        return;
    if (now - l->last_rx_ms >= l->timing.idle_ms) {
        fail(l, "%s silent for %u ms", l->peer, l->timing.idle_ms);
        return;
    }
    if (l->timing.ping_ms && now - l->last_tx_ms >= l->timing.ping_ms) {
        struct frame f = {.type = FRAME_PING, .u.ping = {.nonce = ++l->ping_nonce}};
        if (relay_link_send(l, &f) < 0)
            return;
    }
    uint64_t next = l->last_rx_ms + l->timing.idle_ms;
    if (l->timing.ping_ms && l->last_tx_ms + l->timing.ping_ms < next)
        next = l->last_tx_ms + l->timing.ping_ms;
    uv_timer_start(&l->timer, on_timer, next > now ? next - now : 1, 0);
}

/* ---- reading --------------------------------------------------------------------------------- */

static void become_ready(struct relay_link *l)
{
    l->rxplain = malloc(FRAME_MAX_SIZE);
    l->txplain = malloc(FRAME_MAX_SIZE);
    if (l->rxplain == NULL || l->txplain == NULL) {
        fail(l, "out of memory");
        return;
    }
    l->phase = RELAY_LINK_READY;
    uv_timer_stop(&l->timer);
    on_timer(&l->timer); /* arms the idle/ping deadline */
    if (l->phase == RELAY_LINK_READY)
        l->ops->ready(l);
}

/* One handshake message at the start of in; returns the bytes used, 0 to wait, -1 closed. */
static size_t handshake_step(struct relay_link *l, const uint8_t *in, size_t avail)
{
    size_t need = hs_expect(&l->hs);
    if (need == 0 || avail < need)
        return 0;
    uint8_t out[HS_MAX_MESSAGE];
    size_t outlen = 0;
    int rc = hs_step(&l->hs, in, need, out, sizeof(out), &outlen);
    if (rc == HS_ERROR) {
        fail(l, "handshake with %s: %s", l->peer, hs_error(&l->hs));
        return (size_t)-1;
    }
    if (outlen && send_bytes(l, out, outlen) < 0)
        return (size_t)-1;
    if (rc == HS_DONE) {
        log_info("relay", "handshake with %s done: version %d, frames %s", l->peer, l->hs.version,
                 frame_suite_name(hs_suite(&l->hs)));
        if (hs_finish(&l->hs, &l->fc, l->peer_pk, NULL) < 0) {
            fail(l, "handshake with %s: not finished", l->peer);
            return (size_t)-1;
        }
        become_ready(l);
    }
    return need;
}

/* One sealed frame at the start of in; returns the bytes used, 0 to wait, -1 closed. */
static size_t frame_step(struct relay_link *l, const uint8_t *in, size_t avail)
{
    size_t total;
    int rc = frame_peek(in, avail, &total);
    if (rc == FRAME_NEED_MORE)
        return 0;
    if (rc != FRAME_OK || total > RELAY_LINK_FRAME_MAX) {
        fail(l, "frame from %s: declared length refused (at most %d bytes)", l->peer,
             RELAY_LINK_FRAME_MAX);
        return (size_t)-1;
    }
    if (avail < total)
        return 0;
    size_t consumed, ptlen;
    int final;
    rc = frame_open(&l->fc, in, total, &consumed, l->rxplain, FRAME_MAX_SIZE, &ptlen, &final);
    if (rc != FRAME_OK) {
        fail(l, "frame from %s does not open: %s", l->peer, frame_strerror(rc));
        return (size_t)-1;
    }
    struct frame f;
    struct proto_err perr;
    rc = frame_decode(l->rxplain, ptlen, &f, &perr);
    if (rc == PROTO_ERR_UNKNOWN_TYPE) {
        log_debug("relay", "%s: skipping a frame of unknown type %d", l->peer, (int)f.type);
    } else if (rc != 0) {
        fail(l, "bad frame from %s: %s", l->peer, perr.msg);
        return (size_t)-1;
    } else if (f.type == FRAME_PING) {
        if (!f.u.ping.pong) {
            struct frame pong = {.type = FRAME_PING, .u.ping = {f.u.ping.nonce, true}};
            if (relay_link_send(l, &pong) < 0)
                return (size_t)-1;
        }
    } else {
        l->ops->frame(l, &f);
    }
    if (final && l->phase == RELAY_LINK_READY)
        close_clean(l, "%s closed the connection", l->peer);
    return consumed;
}

static void process(struct relay_link *l)
{
    size_t off = 0;
    while (l->phase == RELAY_LINK_HANDSHAKE || l->phase == RELAY_LINK_READY) {
        size_t n = l->phase == RELAY_LINK_HANDSHAKE
                       ? handshake_step(l, l->rbuf + off, l->rlen - off)
                       : frame_step(l, l->rbuf + off, l->rlen - off);
        if (n == (size_t)-1)
            return; /* closing; the buffer is freed with the handles */
        if (n == 0)
            break;
        off += n;
    }
    if (l->phase == RELAY_LINK_CLOSING)
        return;
    memmove(l->rbuf, l->rbuf + off, l->rlen - off);
    l->rlen -= off;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct relay_link *l = h->data;
    buf->base = (char *)l->rbuf + l->rlen;
    buf->len = RELAY_LINK_FRAME_MAX - l->rlen;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct relay_link *l = s->data;
    if (l->phase == RELAY_LINK_CLOSING) {
        /* Lingering after our FINAL: drop what still comes, close at the peer's end. */
        if (nread < 0 && l->lingering)
            close_handles(l);
        return;
    }
    if (nread == 0)
        return;
    if (nread < 0) {
        if (nread == UV_EOF)
            fail(l, "%s closed the connection %s", l->peer,
                 l->phase == RELAY_LINK_READY ? "without a FINAL frame" : "during the handshake");
        else
            fail(l, "read from %s: %s", l->peer, uv_strerror((int)nread));
        return;
    }
    l->rlen += (size_t)nread;
    l->last_rx_ms = now_ms(l);
    process(l);
}

/* ---- opening --------------------------------------------------------------------------------- */

void relay_link_init(struct relay_link *l, uv_loop_t *loop, const struct relay_link_ops *ops,
                     const struct relay_link_timing *timing)
{
    void *data = l->data;
    memset(l, 0, sizeof(*l));
    l->data = data;
    l->loop = loop;
    l->ops = ops;
    if (timing)
        l->timing = *timing;
    if (l->timing.handshake_ms == 0)
        l->timing.handshake_ms = RELAY_HANDSHAKE_TIMEOUT_MS;
    if (l->timing.idle_ms == 0)
        l->timing.idle_ms = RELAY_IDLE_TIMEOUT_MS;
    uv_tcp_init(loop, &l->tcp);
    uv_timer_init(loop, &l->timer);
    uv_prepare_init(loop, &l->flusher);
    l->tcp.data = l;
    l->timer.data = l;
    l->flusher.data = l;
    l->handles = 3;
    l->phase = RELAY_LINK_NEW;
}

static int start_common(struct relay_link *l, char *err, size_t errlen)
{
    l->rbuf = malloc(RELAY_LINK_FRAME_MAX);
    if (l->rbuf == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    l->started_ms = l->last_rx_ms = l->last_tx_ms = now_ms(l);
    uv_timer_start(&l->timer, on_timer, l->timing.handshake_ms, 0);
    return 0;
}

static int start_reading(struct relay_link *l)
{
    uv_tcp_nodelay(&l->tcp, 1);
    uv_tcp_keepalive(&l->tcp, 1, 30);
    int rc = uv_read_start((uv_stream_t *)&l->tcp, on_alloc, on_read);
    if (rc < 0)
        fail(l, "read from %s: %s", l->peer, uv_strerror(rc));
    return rc;
}

int relay_link_accept(struct relay_link *l, uv_stream_t *server, const struct keypair *self,
                      const uint8_t (*managers)[KEYPAIR_BYTES], size_t nmanagers, char *err,
                      size_t errlen)
{
    int rc = uv_accept(server, (uv_stream_t *)&l->tcp);
    if (rc < 0) {
        snprintf(err, errlen, "accept: %s", uv_strerror(rc));
        return -1;
    }
    format_peer(l);
    if (hs_responder_init(&l->hs, self, managers, nmanagers) < 0) {
        snprintf(err, errlen, "bad number of manager keys: %zu", nmanagers);
        return -1;
    }
    hs_use_suites(&l->hs, relay_link_suites());
    if (start_common(l, err, errlen) < 0)
        return -1;
    l->phase = RELAY_LINK_HANDSHAKE;
    start_reading(l);
    return 0;
}

static void on_connect(uv_connect_t *req, int status)
{
    struct relay_link *l = req->data;
    if (status == UV_ECANCELED || l->phase == RELAY_LINK_CLOSING)
        return;
    if (status < 0) {
        fail(l, "connect to %s: %s", l->peer, uv_strerror(status));
        return;
    }
    l->phase = RELAY_LINK_HANDSHAKE;
    if (start_reading(l) < 0)
        return;
    uint8_t out[HS_MAX_MESSAGE];
    size_t outlen = 0;
    if (hs_step(&l->hs, NULL, 0, out, sizeof(out), &outlen) != HS_CONTINUE) {
        fail(l, "handshake with %s: %s", l->peer, hs_error(&l->hs));
        return;
    }
    send_bytes(l, out, outlen);
}

int relay_link_connect(struct relay_link *l, const struct sockaddr *addr,
                       const struct keypair *self, const uint8_t agent_pk[KEYPAIR_BYTES], char *err,
                       size_t errlen)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)addr;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
        snprintf(l->peer, sizeof(l->peer), "%s:%u", ip, ntohs(s4->sin_port));
    } else if (addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)addr;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
        snprintf(l->peer, sizeof(l->peer), "[%s]:%u", ip, ntohs(s6->sin6_port));
    }
    hs_initiator_init(&l->hs, self, agent_pk);
    if (start_common(l, err, errlen) < 0)
        return -1;
    l->connect.data = l;
    int rc = uv_tcp_connect(&l->connect, &l->tcp, addr, on_connect);
    if (rc < 0) {
        snprintf(err, errlen, "connect to %s: %s", l->peer, uv_strerror(rc));
        return -1;
    }
    l->phase = RELAY_LINK_CONNECTING;
    return 0;
}

unsigned relay_link_suites(void)
{
    return frame_suites_usable(getenv("SWARM_RELAY_CIPHER"));
}

int relay_link_offer_suites(struct relay_link *l)
{
    return hs_use_suites(&l->hs, relay_link_suites());
}

/* ---- accessors ------------------------------------------------------------------------------- */

unsigned relay_link_suite(const struct relay_link *l)
{
    return l->phase == RELAY_LINK_READY ? l->fc.suite : 0;
}

bool relay_link_congested(const struct relay_link *l)
{
    return l->congested;
}

bool relay_link_ready(const struct relay_link *l)
{
    return l->phase == RELAY_LINK_READY;
}

bool relay_link_closing(const struct relay_link *l)
{
    return l->phase == RELAY_LINK_CLOSING;
}

const uint8_t *relay_link_peer_pk(const struct relay_link *l)
{
    return l->peer_pk;
}

const char *relay_link_peer(const struct relay_link *l)
{
    return l->peer;
}

size_t relay_link_queued(const struct relay_link *l)
{
    return l->wq_bytes;
}

uint64_t relay_link_writes(const struct relay_link *l)
{
    return l->writes;
}
