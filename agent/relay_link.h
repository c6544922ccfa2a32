/*
 * relay_link — one relay connection's transport, shared by both ends: the agent's relay server
 * (agent/relay_server.h) and the manager's relay client (manager/relay_client.h). It owns the
 * TCP handle, runs the Noise KK handshake (crypto/handshake.h) as initiator or responder, then
 * turns the byte stream into relay frames and back:
 *
 *   TCP bytes ── frame_peek (bound) ── frame_open (crypto/frame.h) ── frame_decode
 *             (proto/relay_frame.h) ──► ops->frame(), one whole frame at a time
 *   relay_link_send*() ── frame_encode ── frame_seal ── the batch ── uv_try_write / uv_write
 *
 * It answers PING itself and sends one when the link was quiet for ping_ms; everything else
 * (streams, windows, targets) is the owner's. It does not know what a stream is.
 *
 * Bounds (per link):
 *   - a sealed frame larger than RELAY_LINK_FRAME_MAX (the largest relay frame, 66,560 bytes,
 *     plus the 21-byte seal) is refused from its 4 length bytes, before it is buffered; the
 *     read buffer is that size, and frames are opened from it in place;
 *   - the handshake must finish within handshake_ms of the connect or accept;
 *   - nothing received for idle_ms closes the link (the manager pings every ping_ms);
 *   - frames are sealed into the link's batch and written together, in order, with one
 *     uv_try_write (writev) just before the loop next waits for I/O (a uv_prepare handle), or at
 *     once when the batch holds RELAY_LINK_BATCH_FLUSH bytes or RELAY_LINK_OUT_SEGS buffers: the
 *     frames of one loop iteration cost one syscall and one wake-up of the peer, and a lone
 *     frame still leaves in the iteration that made it. Only what the socket does not take at
 *     once is queued, from the buffers the frames were sealed in;
 *   - bytes sealed but not yet written (the batch and the TCP handle's queue): above
 *     RELAY_LINK_WQ_HIGH the link is
 *     congested (producers of DATA must wait for ops->drained, which comes below
 *     RELAY_LINK_WQ_LOW); above RELAY_LINK_WQ_MAX the peer is not reading and the link closes.
 *     Owners always keep reading, so only a stuck or hostile peer gets there.
 *
 * The handshake picks the frame suite: AES-256-GCM when both ends run it and the manager speaks
 * handshake version 2 to this agent, else secretstream (relay_link_offer_suites).
 *
 * Every failure — a handshake that does not authenticate, a frame that does not open
 * (tampered, replayed, reordered: frame_open says which), a frame that does not decode, a write
 * error — closes the link with a one-line reason; ops->closed() reports it. A FINAL frame from
 * the peer is a clean close.
 *
 * Ownership (libuv style): struct relay_link is caller-owned memory, embedded in the owner's
 * struct; relay_link_init() opens its handles, so from then on it must be closed with
 * relay_link_close()/relay_link_close_graceful() (or close itself on an error), and it is
 * finished only when ops->closed() runs. Keys passed in are copied; secrets are wiped when the
 * link closes.
 */
#ifndef SWARM_AGENT_RELAY_LINK_H
#define SWARM_AGENT_RELAY_LINK_H

#include "crypto/frame.h"
#include "crypto/handshake.h"
#include "proto/relay_frame.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Protocol constants both ends share (docs/PROTOCOL.md section 8). */
#define RELAY_TARGET_ENGINE "engine"
/* The receive window of each side of a stream when it opens: the opener states its own in
 * OPEN (swarm uses this value); the side that accepts an OPEN always starts with this one, so
 * the opener may send a request right behind its OPEN. */
#define RELAY_WINDOW (256 * 1024)
/* WINDOW credit is returned once this much of the window has been consumed. */
#define RELAY_WINDOW_UPDATE (RELAY_WINDOW / 4)
/* Streams open at once on one connection. */
#define RELAY_MAX_STREAMS 128

/* Largest sealed frame on the wire that a link accepts (a full DATA frame). */
#define RELAY_LINK_FRAME_MAX (FRAME_MAX_SIZE + FRAME_OVERHEAD)
#define RELAY_LINK_WQ_HIGH (1024 * 1024)
#define RELAY_LINK_WQ_LOW (256 * 1024)
#define RELAY_LINK_WQ_MAX (RELAY_LINK_WQ_HIGH + 1024 * 1024)
/* The batch of sealed frames written together: at most this many buffers, and written at once
 * when it holds RELAY_LINK_BATCH_FLUSH bytes. */
#define RELAY_LINK_OUT_SEGS 16
#define RELAY_LINK_BATCH_FLUSH (64 * 1024)

#define RELAY_HANDSHAKE_TIMEOUT_MS 5000
#define RELAY_PING_INTERVAL_MS 15000
#define RELAY_IDLE_TIMEOUT_MS 60000

struct relay_link;

/*
 * The owner's callbacks, all on the loop thread. ready, frame and drained run only while the
 * link is open and stop as soon as it starts closing; any of them may close the link.
 */
struct relay_link_ops {
    /* The handshake completed: the peer holds the key we expected (relay_link_peer_pk). */
    void (*ready)(struct relay_link *l);
    /* One decoded frame other than PING. f and its payload views are valid during the call. */
    void (*frame)(struct relay_link *l, const struct frame *f);
    /* The write queue fell below RELAY_LINK_WQ_LOW after the link was congested. */
    void (*drained)(struct relay_link *l);
    /* Every handle is closed; reason says why (l->clean: a close we or the peer asked for).
     * The owner may free the memory holding the link during or after this call. */
    void (*closed)(struct relay_link *l, const char *reason);
};

struct relay_link_timing {
    uint32_t handshake_ms; /* 0: RELAY_HANDSHAKE_TIMEOUT_MS */
    uint32_t idle_ms;      /* 0: RELAY_IDLE_TIMEOUT_MS */
    uint32_t ping_ms;      /* 0: never ping (the agent only answers) */
};

enum relay_link_phase {
    RELAY_LINK_NEW = 0,
    RELAY_LINK_CONNECTING,
    RELAY_LINK_HANDSHAKE,
    RELAY_LINK_READY,
    RELAY_LINK_CLOSING,
};

/* Embedded by the owner; the fields are private except data and clean. */
struct relay_link {
    void *data; /* the owner's */
    bool clean; /* after closed(): the close was asked for (ours or the peer's FINAL) */

    uv_loop_t *loop;
    const struct relay_link_ops *ops;
    struct relay_link_timing timing;
    enum relay_link_phase phase;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_prepare_t flusher; /* writes the batch before the loop waits for I/O */
    uv_connect_t connect;
    uv_shutdown_t shutdown;
    int handles;
    struct hs hs;
    struct frame_cipher fc;
    uint8_t peer_pk[KEYPAIR_BYTES];
    uint8_t *rbuf; /* RELAY_LINK_FRAME_MAX */
    size_t rlen;
    uint8_t *rxplain, *txplain; /* FRAME_MAX_SIZE each, from the handshake's end */
    size_t wq_bytes;   /* sealed, not yet written: in the batch or queued on the TCP handle */
    size_t tcp_queued; /* ... of which queued on the TCP handle */
    struct wreq *out[RELAY_LINK_OUT_SEGS]; /* the batch: sealed frames not yet written, in order */
    size_t nout, out_bytes;
    uint64_t writes;    /* batches written (each one uv_try_write or uv_write) */
    struct wreq *spare; /* a small buffer to seal frames in, kept for the next batch */
    bool congested;
    bool lingering; /* our FINAL and FIN are out; waiting for the peer's FIN */
    uint64_t started_ms, last_rx_ms, last_tx_ms;
    uint64_t ping_nonce;
    char peer[64];    /* "ip:port" for logs */
    char reason[256]; /* why it closed */
};

/* Opens the handles (TCP and a timer) on loop. ops must outlive the link. */
void relay_link_init(struct relay_link *l, uv_loop_t *loop, const struct relay_link_ops *ops,
                     const struct relay_link_timing *timing);

/* Agent side: accepts a pending connection from server and waits for message 1 from one of
 * the nmanagers (1..HS_MAX_MANAGERS) keys. -1 with err if the accept fails; the link is then
 * still to be closed. */
int relay_link_accept(struct relay_link *l, uv_stream_t *server, const struct keypair *self,
                      const uint8_t (*managers)[KEYPAIR_BYTES], size_t nmanagers, char *err,
                      size_t errlen);

/* Manager side: connects to addr and runs the handshake with agent_pk. -1 with err if the
 * connect cannot start; the link is then still to be closed. */
int relay_link_connect(struct relay_link *l, const struct sockaddr *addr,
                       const struct keypair *self, const uint8_t agent_pk[KEYPAIR_BYTES], char *err,
                       size_t errlen);

/* The frame suites this process runs (crypto/frame.h): AES-256-GCM where libsodium has it,
 * unless the environment variable SWARM_RELAY_CIPHER is "secretstream"; secretstream always.
 * The agent side chooses among these. */
unsigned relay_link_suites(void);

/* Manager side, right after relay_link_connect (before the connection is up): run handshake
 * version 2 and offer relay_link_suites(), for an agent whose metadata says it accepts version
 * 2. Without it the handshake is version 1, which every agent speaks (secretstream). 0, or -1
 * if the handshake already started. */
int relay_link_offer_suites(struct relay_link *l);

/* Seals and queues one frame. 0, or -1 if the link is not ready or closing (after a failure
 * here the link is closing, with the reason set). */
int relay_link_send(struct relay_link *l, const struct frame *f);

/* As relay_link_send for a DATA frame of data[0..len), len <= FRAME_DATA_MAX; data is copied
 * before it returns. */
int relay_link_send_data(struct relay_link *l, uint32_t stream, const uint8_t *data, size_t len);

/* As relay_link_send_data for the bytes of bufs[0..nbufs) joined, len in all (<= FRAME_DATA_MAX):
 * one frame for several pieces, copied before it returns. */
int relay_link_send_datav(struct relay_link *l, uint32_t stream, const uv_buf_t *bufs, size_t nbufs,
                          size_t len);

/* Above the high-water mark: producers of DATA hold off until ops->drained. */
bool relay_link_congested(const struct relay_link *l);
bool relay_link_ready(const struct relay_link *l);
bool relay_link_closing(const struct relay_link *l);
/* The peer's static key; valid once ready. */
const uint8_t *relay_link_peer_pk(const struct relay_link *l);
/* "ip:port" of the peer, "" before connect/accept. */
const char *relay_link_peer(const struct relay_link *l);
/* The frame suite the handshake chose (FRAME_SUITE_*); 0 before the link is ready. */
unsigned relay_link_suite(const struct relay_link *l);
/* Bytes sealed and not yet written: in the batch or queued on the TCP handle. */
size_t relay_link_queued(const struct relay_link *l);
/* Writes begun so far: one per batch of frames (a frame alone is a batch of one). */
uint64_t relay_link_writes(const struct relay_link *l);

/* Closes at once, as for an error (l->clean stays false): pending writes are dropped. The
 * reason is copied (printf format). No-op if the link is already closing. */
void relay_link_close(struct relay_link *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Closes cleanly: if ready, seals a last frame with the FINAL tag, shuts down the sending side
 * once the queue is written, drops whatever still arrives, and closes when the peer closes
 * too (at most 2 s later); otherwise it closes at once. Frames stop at once either way. */
void relay_link_close_graceful(struct relay_link *l, const char *reason);

#endif
