/*
 * relay_client — the manager's end of the relay: one encrypted connection to an agent
 * (relay_conn), carrying many byte streams to that agent's engine socket (relay_stream). What
 * the manager writes on a stream reaches the engine unchanged, and what the engine answers
 * comes back unchanged: the caller speaks HTTP (or a hijacked raw stream) through it. The
 * agent also pushes its engine's state on the connection itself (STATE frames): the client
 * joins each message's chunks and hands the whole message to on_state.
 *
 * Transport, handshake and frames: agent/relay_link.h (Noise KK initiator, sealed frames,
 * a PING every RELAY_PING_INTERVAL_MS, the connection closed after RELAY_IDLE_TIMEOUT_MS with
 * nothing received). The agent's end, and the frame-by-frame protocol: agent/relay_server.h,
 * docs/PROTOCOL.md section 8.
 *
 * Flow control, per stream:
 *   - writes: relay_stream_write queues the caller's buffer (not copied); the client seals it
 *     into DATA frames only as far as the agent's window allows (RELAY_WINDOW at first, more
 *     as the engine takes the bytes) and while the connection is not congested; the write's
 *     done callback then says the buffer may be reused. At most RELAY_STREAM_WRITE_QUEUE_MAX
 *     bytes wait per stream: beyond, relay_stream_write fails with UV_ENOBUFS — wait for a done
 *     callback;
 *   - reads: on_data hands over what the engine sent; the client grants the agent more window
 *     as on_data returns. relay_stream_read_stop pauses: the agent may still send what it has
 *     credit for (at most RELAY_WINDOW bytes), which the client keeps and hands over after
 *     relay_stream_read_start. A paused stream never stalls the others.
 *
 * Bounds: RELAY_MAX_STREAMS streams per connection (relay_stream_open fails beyond; near the
 * limit the agent, which counts a stream until its engine socket is shut down, may still refuse
 * an OPEN with code 3 for a moment); per stream at most RELAY_WINDOW bytes buffered for a
 * paused reader; the connection's frame reader and write queue as in relay_link.h.
 *
 * State messages: one at a time is being joined, at most FRAME_STATE_MAX bytes (4 MiB). A
 * message growing past that, or a STATE chunk whose kind or seq differs from the message it
 * continues, is a protocol error: the connection closes with a reason saying which (on_close).
 * The join buffer is freed after a message larger than one chunk, so an idle connection holds
 * at most one chunk's worth.
 *
 * Callbacks and lifetimes (libuv style). Every callback runs on the loop thread, never from
 * inside the API call that caused it; any API may be called from inside any callback.
 *   - relay_conn_new returns a connection that stays valid until its on_close callback has
 *     returned; the client frees it then. on_close runs exactly once, after every stream's
 *     on_close, whether the connection failed (connect, handshake, the agent, the network) or
 *     the caller closed it.
 *   - relay_stream_open returns a stream that stays valid until its on_close callback has
 *     returned; the client frees it then. on_close runs exactly once:
 *       code RELAY_END_OK        both directions closed cleanly (we called shutdown, the engine
 *                                closed its side and on_eof ran);
 *       code 1..4 (FRAME_CODE_*) the agent reset it (e.g. 2 = engine unreachable), with its
 *                                reason;
 *       code RELAY_END_LOCAL     relay_stream_close was called;
 *       code RELAY_END_CONN      the connection ended (the reason is the connection's).
 *     Every write's done callback runs before on_close (status UV_ECANCELED for the bytes that
 *     never left).
 *   - on_data's data and on_state's json are valid during the call only; copy what you keep.
 *     on_state runs from the frame reader as the last chunk arrives, in the agent's order.
 *   - on_eof: the engine closed its side; no on_data follows. The stream is still writable.
 *   - reason strings passed to callbacks are valid during the call only.
 */
#ifndef SWARM_MANAGER_RELAY_CLIENT_H
#define SWARM_MANAGER_RELAY_CLIENT_H

#include "agent/relay_link.h"
#include "crypto/keypair.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define RELAY_STREAM_WRITE_QUEUE_MAX (1024 * 1024)
/* Idle streams kept per connection for reuse (relay_stream_park), and how long one is kept:
 * enough for a few dozen clients calling one engine at once to find their engine connections
 * again (with fewer, each call beyond them connects anew to the engine and closes after). */
#define RELAY_PARKED_MAX 32
#define RELAY_PARKED_IDLE_MS 30000

/* How a stream ended (its on_close code). 1..4 are the agent's CLOSE codes (FRAME_CODE_*). */
enum relay_end {
    RELAY_END_OK = 0,
    RELAY_END_LOCAL = 100,
    RELAY_END_CONN = 101,
};

struct relay_conn;
struct relay_stream;

struct relay_conn_callbacks {
    /* The handshake completed: the agent holds the key we expected. May be NULL. Streams opened
     * earlier start now. */
    void (*on_ready)(struct relay_conn *c, void *arg);
    /* The connection ended; reason says why ("closed" when relay_conn_close asked for it).
     * Required. The client logs it at debug level only: logging it is the owner's call. */
    void (*on_close)(struct relay_conn *c, const char *reason, void *arg);
    /* One whole state message from the agent (docs/PROTOCOL.md section 8): kind
     * FRAME_STATE_SNAPSHOT or FRAME_STATE_DELTA, its seq, and the chunks' payloads joined,
     * json[0..len) (NUL-terminated at json[len]; the agent means it as JSON, unchecked here).
     * Valid during the call only. May be NULL: messages are then reassembled, checked and
     * dropped. */
    void (*on_state)(struct relay_conn *c, int kind, uint64_t seq, const char *json, size_t len,
                     void *arg);
};

struct relay_stream_callbacks {
    void (*on_data)(struct relay_stream *s, const uint8_t *data, size_t len, void *arg);
    void (*on_eof)(struct relay_stream *s, void *arg); /* may be NULL */
    void (*on_close)(struct relay_stream *s, int code, const char *reason, void *arg);
};

/* status 0: the bytes are sealed into frames (the buffer may be reused); UV_ECANCELED: the
 * stream ended first. */
typedef void (*relay_write_cb)(struct relay_stream *s, int status, void *arg);

/*
 * Connects to the agent's relay at addr and runs the handshake as the manager (self: the
 * manager's keypair; agent_pk: the agent's key from its gossip metadata). Both are copied.
 * timing may be NULL: the defaults, with a PING every RELAY_PING_INTERVAL_MS. cb is copied;
 * arg is passed to its callbacks. Returns NULL with err only if the connection cannot even
 * start (then no callback runs).
 */
struct relay_conn *relay_conn_new(uv_loop_t *loop, const struct sockaddr *addr,
                                  const uint8_t agent_pk[KEYPAIR_BYTES], const struct keypair *self,
                                  const struct relay_link_timing *timing,
                                  const struct relay_conn_callbacks *cb, void *arg, char *err,
                                  size_t errlen);

/* Right after relay_conn_new, for an agent that accepts relay handshake version 2 (its metadata's
 * relay_hs): negotiate the frame suite (relay_link_offer_suites). */
void relay_conn_offer_suites(struct relay_conn *c);

/* Ends the connection: every stream ends (RELAY_END_CONN), then on_close("closed"). If the
 * handshake is done the agent is told with a FINAL frame. Safe to call more than once, and
 * from any callback, until on_close returned. */
void relay_conn_close(struct relay_conn *c);

bool relay_conn_ready(const struct relay_conn *c);
/* The frame suite the handshake chose (crypto/frame.h FRAME_SUITE_*); 0 before it is ready. */
unsigned relay_conn_suite(const struct relay_conn *c);
/* Streams opened and not yet ended. */
size_t relay_conn_nstreams(const struct relay_conn *c);
/* "ip:port" of the agent. */
const char *relay_conn_peer(const struct relay_conn *c);

/*
 * Opens a stream to the agent's engine. It may be called before the handshake is done: the
 * OPEN (and any bytes written) go out once it is. Returns NULL if the connection is closing or
 * already carries RELAY_MAX_STREAMS streams. cb is copied; arg is passed to its callbacks.
 * Reading starts at once (on_data may run as soon as the engine answers).
 */
struct relay_stream *relay_stream_open(struct relay_conn *c,
                                       const struct relay_stream_callbacks *cb, void *arg);

/* Queues data[0..len) for the engine; the buffer must stay valid until done runs (done may be
 * NULL). 0, or UV_EPIPE (the stream was shut down or ended), UV_ENOBUFS (the queue holds
 * RELAY_STREAM_WRITE_QUEUE_MAX bytes already), UV_ENOMEM. */
int relay_stream_write(struct relay_stream *s, const uint8_t *data, size_t len, relay_write_cb done,
                       void *arg);

/* Half-close: once every queued byte is sent, the engine sees end-of-file on its socket (it can
 * still answer). 0, or UV_EPIPE if already shut down or ended. */
int relay_stream_shutdown(struct relay_stream *s);

/* Pause / resume on_data (and on_eof, which waits behind the data). Idempotent. */
void relay_stream_read_stop(struct relay_stream *s);
void relay_stream_read_start(struct relay_stream *s);

/* Ends the stream both ways (the agent closes the engine socket): on_close(RELAY_END_LOCAL)
 * follows, unless the stream already ended. Safe until on_close returned. */
void relay_stream_close(struct relay_stream *s);

/* Replaces the stream's callbacks and their arg (cb is copied); from now on only these run,
 * write done callbacks excepted (each keeps its own). */
void relay_stream_set_callbacks(struct relay_stream *s, const struct relay_stream_callbacks *cb,
                                void *arg);

/*
 * Reuse. An owner whose exchange on a stream is over while the engine connection behind it may
 * carry another (an HTTP answer read in full that keeps the connection alive) parks the stream
 * instead of closing it: saved per request are the OPEN and CLOSE frames, the agent's connect
 * to the engine socket and the engine's accept. The relay itself never knows why a stream is
 * reusable; the owner does.
 *
 * relay_stream_park: true if the stream is parked; the client owns it from then on and none of
 * the caller's callbacks runs again for it (write done callbacks included: a stream with a
 * write not yet done is not parked). false (nothing changed: close it as usual) if it ended,
 * has bytes queued either way, was shut down, or its agent side ended. While parked, anything
 * from the agent on it (DATA, end-of-file, a reset) means the engine connection cannot carry
 * another request: the stream is closed. At most RELAY_PARKED_MAX per connection (parking one
 * more closes the oldest).
 *
 * relay_conn_unpark: the most recently parked stream, with cb and arg as its callbacks, ready
 * for writes; NULL if there is none. Streams parked longer than RELAY_PARKED_IDLE_MS are
 * closed instead. A reused stream may still find the engine connection gone (closed by the
 * engine as it was handed out): the owner sees an end-of-file or a reset before any byte and
 * may retry on a new stream.
 */
bool relay_stream_park(struct relay_stream *s);
struct relay_stream *relay_conn_unpark(struct relay_conn *c,
                                       const struct relay_stream_callbacks *cb, void *arg);
/* Streams parked on the connection now. */
size_t relay_conn_nparked(const struct relay_conn *c);

/* Bytes queued by relay_stream_write and not yet sealed. */
size_t relay_stream_write_queue_size(const struct relay_stream *s);
/* Bytes received while paused, waiting for relay_stream_read_start. */
size_t relay_stream_buffered(const struct relay_stream *s);
uint32_t relay_stream_id(const struct relay_stream *s);
struct relay_conn *relay_stream_conn(const struct relay_stream *s);

#endif
