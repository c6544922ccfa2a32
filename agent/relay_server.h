/*
 * relay_server — the agent's end of the relay: a TCP port that accepts connections only from
 * the managers the join token names, and turns each stream the manager opens into a byte pipe
 * to the local engine's unix socket.
 *
 *   manager ══ TCP, Noise KK, sealed frames (agent/relay_link.h) ══► relay_server
 *     OPEN(id, "engine", window)  → uv_pipe_connect(engine socket)
 *     DATA(id, bytes)             → uv_write(pipe, bytes)          unchanged, in order
 *     pipe read bytes             → DATA(id, bytes)                unchanged, in order
 *     CLOSE(id, write)            → uv_shutdown(pipe) after the pending writes
 *     pipe EOF                    → CLOSE(id, write, ok)
 *     pipe error / connect error  → CLOSE(id, reset, code, reason)
 *     CLOSE(id, reset)            → the pipe is closed
 *     WINDOW(id, n)               → n more bytes may be read from the pipe for the manager
 *     bytes written to the pipe   → WINDOW(id, n) back, once RELAY_WINDOW_UPDATE accumulated
 *
 * The relay never parses HTTP: requests, responses, chunked bodies and hijacked (101) streams
 * are all just bytes. A stream is finished when both directions are closed, or reset.
 *
 * Flow control, per stream, both ways: the engine pipe is read only while the manager has
 * granted credit (its OPEN window, then WINDOW frames) and the TCP connection is not congested;
 * the manager may send RELAY_WINDOW bytes before the agent grants more, and the agent grants
 * more only as the engine takes them. So a slow stream (a `logs -f` nobody reads) holds only
 * its own window and never stalls the others.
 *
 * Bounds, whatever the peer does:
 *   - RELAY_SERVER_MAX_PENDING connections in the handshake at once (more are closed at
 *     accept), each with RELAY_HANDSHAKE_TIMEOUT_MS to finish it;
 *   - RELAY_SERVER_MAX_CONNS authenticated connections (one more evicts the oldest);
 *   - RELAY_MAX_STREAMS streams per connection (an OPEN beyond is refused, code 3);
 *   - per stream, bytes on their way to the engine <= RELAY_WINDOW (DATA beyond the window
 *     resets the stream, code 4); bytes on their way to the manager <= one read (64 KiB)
 *     while the connection is congested;
 *   - per connection, the frame reader holds one frame (RELAY_LINK_FRAME_MAX) and the TCP write
 *     queue at most RELAY_LINK_WQ_MAX (agent/relay_link.h);
 *   - per connection, STATE messages: the one being sent plus RELAY_STATE_QUEUE_MSGS /
 *     RELAY_STATE_QUEUE_BYTES behind it (shared with the other connections, not copied).
 *   So one connection holds at most RELAY_MAX_STREAMS x RELAY_WINDOW = 32 MiB of the
 *   manager's data, plus about 2.3 MiB of its own and up to 8 MiB of engine state.
 *
 * Errors: a handshake that fails, a frame that does not open (tampered, replayed, reordered),
 * does not decode, or breaks the protocol (an OPEN for an id not above the last, DATA for a
 * stream never opened, STATE or OPEN sent to the agent...) closes that connection with one
 * logged line; the server and every other connection go on. Frames for a stream that already
 * ended are ignored (they may cross our CLOSE).
 *
 * Engine state (docs/PROTOCOL.md section 8.1): the server also pushes the engine's state to
 * every authenticated manager as STATE messages on stream 0, from a state source (in swarm
 * join, agent/engine_watch):
 *
 *   connection authenticated      → the source's current snapshot (or, if it has none yet,
 *                                   the next one relay_server_state_snapshot announces)
 *   relay_server_state_snapshot() → the new snapshot to every connection; what was queued for
 *                                   a connection and not yet begun is dropped (it is covered)
 *   relay_server_state_delta()    → the delta to every connection that has a snapshot, after
 *                                   what is queued for it
 *   each message: seq = the server's counter + 1, cut into STATE frames of at most 64 KiB
 *   (more = true on all but the last), sent only while the connection is not congested, so a
 *   large snapshot never holds more than RELAY_LINK_WQ_HIGH in the TCP queue and DATA frames
 *   of the streams go out between its chunks.
 *
 * Nothing is dropped silently: a connection whose queue cannot take a delta (more than
 * RELAY_STATE_QUEUE_MSGS messages or RELAY_STATE_QUEUE_BYTES bytes behind the one being sent)
 * drops what it had not begun and gets a fresh snapshot as soon as the message under way is
 * out; a message over FRAME_STATE_MAX (4 MiB) cannot be sent: a delta that large is replaced
 * by a fresh snapshot, and a snapshot that large by an error snapshot
 * ({"containers":[],...,"error":"state too large: N bytes"}), logged once. So each manager
 * sees a snapshot, then deltas in the order they happened, or a newer snapshot; seq grows on
 * every connection but may skip values (messages for other connections).
 *
 * Ownership: relay_server_start() allocates the server; the caller closes it with
 * relay_server_close() (its on_closed runs once every handle is closed) and then frees it with
 * relay_server_free(). Keys and the engine path are copied; the state source's arg must outlive
 * the server.
 */
#ifndef SWARM_AGENT_RELAY_SERVER_H
#define SWARM_AGENT_RELAY_SERVER_H

#include "agent/relay_link.h"
#include "crypto/keypair.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define RELAY_SERVER_DEFAULT_PORT 7948
#define RELAY_SERVER_MAX_PENDING 16
#define RELAY_SERVER_MAX_CONNS 8
#define RELAY_ENGINE_PATH_MAX 107 /* sun_path less its NUL */
/* STATE messages queued for one connection behind the one being sent. */
#define RELAY_STATE_QUEUE_MSGS 256
#define RELAY_STATE_QUEUE_BYTES (4 * 1024 * 1024)

/* Where the engine state comes from (agent/engine_watch in swarm join). */
struct relay_state_source {
    /* The current snapshot, compact JSON, malloc'd (the server frees it), *len its length; NULL
     * if there is none yet. Called when a connection needs one: at authentication, after a
     * queue overflow, and from relay_server_state_snapshot. */
    char *(*snapshot)(void *arg, size_t *len);
    void *arg;
};

struct relay_server_config {
    const char *host;        /* numeric IPv4 or IPv6 address to bind, e.g. "0.0.0.0" */
    uint16_t port;           /* 0: any free port (tests; see relay_server_port) */
    const char *engine_path; /* the engine's unix socket, e.g. "/var/run/docker.sock" */
    const struct keypair *self;
    const uint8_t (*managers)[KEYPAIR_BYTES]; /* the manager keys accepted (1..HS_MAX_MANAGERS) */
    size_t nmanagers;
    struct relay_link_timing timing; /* zeros: the defaults */
    struct relay_state_source state; /* zeros: no STATE messages */
};

/* Counters, for tests and `swarm members --stats` later. */
struct relay_server_stats {
    uint64_t accepted;            /* TCP connections accepted */
    uint64_t refused_busy;        /* closed at once: RELAY_SERVER_MAX_PENDING in the handshake */
    uint64_t handshake_failed;    /* closed before the handshake finished (timeout included) */
    uint64_t authenticated;       /* handshakes completed */
    uint64_t evicted;             /* authenticated connections closed for a newer one */
    uint64_t conn_errors;         /* authenticated connections closed on an error */
    uint64_t streams_opened;      /* OPENs accepted */
    uint64_t streams_refused;     /* OPENs refused: unknown target, too many streams */
    uint64_t streams_unreachable; /* engine socket did not answer */
    uint64_t streams_reset;       /* streams we reset on an error or protocol violation */
    uint64_t bytes_to_engine, bytes_from_engine;
    uint64_t state_messages;  /* STATE messages sent whole, counted per connection */
    uint64_t state_bytes;     /* their payload bytes, all chunks, per connection */
    uint64_t state_resyncs;   /* fresh snapshots instead of deltas a connection could not take */
    uint64_t state_too_large; /* messages over FRAME_STATE_MAX that could not be sent */
};

/* Binds host:port and listens. NULL with err (bad address, port in use, bad config) and nothing
 * left open. */
struct relay_server *relay_server_start(uv_loop_t *loop, const struct relay_server_config *cfg,
                                        char *err, size_t errlen);

/* The port bound (the one chosen, for port 0). */
uint16_t relay_server_port(const struct relay_server *s);

const struct relay_server_stats *relay_server_stats(const struct relay_server *s);
/* Connections (pending + authenticated) and streams alive right now. */
size_t relay_server_nconns(const struct relay_server *s);
size_t relay_server_nstreams(const struct relay_server *s);

/* The source has a new snapshot (the engine answered again, or failed: an error snapshot):
 * every authenticated connection gets it. */
void relay_server_state_snapshot(struct relay_server *s);

/* A delta, json[0..len) (copied): every connection that has a snapshot gets it, in order. */
void relay_server_state_delta(struct relay_server *s, const char *json, size_t len);

/* Stops listening, ends every connection (a clean FINAL where the handshake is done) and
 * every stream; on_closed (may be NULL) runs once the last handle is closed. Safe to call
 * twice. */
void relay_server_close(struct relay_server *s, void (*on_closed)(void *arg), void *arg);

/* Frees the server; only after on_closed ran (or the loop ended), or on NULL. */
void relay_server_free(struct relay_server *s);

#endif
