/*
 * api_proxy — one client request forwarded to one engine over its agent's relay connection
 * (relay_client.h), and the engine's answer brought back.
 *
 *   client ──api_server──► api_proxy ──relay stream──► agent ──► engine socket
 *          ◄── bytes, unchanged ──────◄──────────────────────────
 *
 * on_response gets the engine's name, not its record: records may go while the engine answers.
 *
 * Two ways to answer:
 *   - pass-through (no on_response): the engine's bytes reach the client as they come,
 *     unbuffered and unchanged (chunked `logs -f`, `wait`, `stats`, `events` of one engine);
 *     http-parser reads the response only to know where it ends, so the client's connection can
 *     serve its next request. A 101 answer (attach, exec start with Upgrade) turns the
 *     exchange into a raw two-way pipe with half-close honoured both ways, until both sides
 *     have closed. The client's pace sets the engine's: past API_EXCHANGE_HIGH_WATER bytes
 *     queued toward the client the stream is paused (the relay's window then holds the agent
 *     back), and toward the engine the client is no longer read.
 *   - buffered (on_response set): the whole response (de-chunked, at most
 *     API_PROXY_BUFFER_MAX bytes) is handed to on_response, which answers the client — to add
 *     the Node object to an inspect, or learn the id a create returned.
 *
 * The request goes out as the client sent it (method, target, headers), with its body (or the
 * replacement given) sent with a Content-Length; Transfer-Encoding and Expect are dropped
 * since the body is already whole.
 *
 * Engine connections are kept: an answer read in full that keeps its connection alive (and
 * had nothing after it, no upgrade, no body still going) leaves its relay stream parked on
 * the engine's relay connection (relay_stream_park), and the next request to that engine takes
 * it instead of opening a stream — no OPEN, no connect on the agent, no CLOSE. Only a GET or
 * HEAD takes a kept connection: one that finds it gone (an end-of-file or reset before the
 * first byte of the answer) is sent once more on a new stream, which is safe for those only.
 * Every other request opens a new stream (and may leave it kept for the next).
 *
 * Failures before any byte reached the client are answered as Docker-style errors: 502 when
 * the engine's relay is not connected or the stream is reset ("swarm: node NAME: REASON"), 502
 * when the engine's answer is not HTTP. After bytes went out, the client's connection is
 * closed (the only signal left).
 *
 * Ownership: api_proxy_start copies what it needs from req and opts (url, body) at once;
 * arg is the caller's, and opts->done(arg) runs exactly once when the proxy is finished
 * (answered, failed or abandoned by the client), so the caller can free it there.
 */
#ifndef SWARM_MANAGER_API_PROXY_H
#define SWARM_MANAGER_API_PROXY_H

#include "manager/api_http.h"
#include "manager/api_server.h"
#include "manager/engines.h"

#include <stdbool.h>
#include <stddef.h>

#define API_PROXY_BUFFER_MAX (16 * 1024 * 1024)
/* Bytes of a streamed request body queued toward one engine past which the source pauses. */
#define API_PROXY_BODY_HIGH (512 * 1024)

struct api_proxy; /* one request in flight */

struct api_proxy_opts {
    const char *url;  /* request target to send instead of the client's (NULL: the client's) */
    const char *body; /* replaces the client's body when body_set */
    size_t body_len;
    bool body_set;
    /* Buffered mode: answer x from the engine's response. status is the engine's, body is
     * de-chunked (NUL-terminated, not counted), content_type "" when absent. */
    void (*on_response)(void *arg, struct api_exchange *x, const char *engine, int status,
                        const char *content_type, const char *body, size_t len);
    void (*done)(void *arg); /* may be NULL */
    void *arg;
    /* The request's body streams (req->body_stream): the head goes out at once, framed as the
     * client framed it (Content-Length, or chunked: each piece re-sent as a chunk), and the
     * body follows — with x, from the exchange as the client sends it (the client is not read
     * while API_PROXY_BODY_HIGH bytes wait for the engine); detached, from the caller through
     * api_proxy_body_write / api_proxy_body_end on *handle. */
    bool body_stream;
    /* (detached, body_stream) the queue toward the engine fell back below a quarter of
     * API_PROXY_BODY_HIGH after it had passed it. May be NULL. */
    void (*on_body_drain)(void *arg);
    /* If set, receives the request in flight when api_proxy_start returns 0; valid until done
     * runs. */
    struct api_proxy **handle;
    /* The call changes nothing on the engine (an inspect). Any other call moves the engine's
     * icache clock (manager/icache.h) when its answer is over, before the client can read the
     * end of it, and again when it is finished: inspect answers kept before are stale then. */
    bool read_only;
};

/* Starts forwarding req to e. Returns 0; or -1 when nothing could start (then x has been
 * answered with the error, and done has run).
 *
 * x may be NULL with on_response set: a call the manager makes on its own (one leg of a
 * fan-out, say) with the client's request as its model. on_response then runs exactly once with
 * x NULL, failures included (status 502/503 and a {"message"} body), before done. */
int api_proxy_start(struct api_exchange *x, struct engine *e, const struct api_request *req,
                    const struct api_proxy_opts *opts);

/* A detached leg's streamed body (opts.body_stream): data is copied. 0, or -1 when the leg
 * no longer takes it (failed, answered, or ended; its on_response/done run or ran). */
int api_proxy_body_write(struct api_proxy *p, const void *data, size_t len);
/* The body is complete. */
void api_proxy_body_end(struct api_proxy *p);
/* Bytes waiting to be sent to the engine. */
size_t api_proxy_body_queued(const struct api_proxy *p);
/* Ends the request: a detached leg's on_response gets a 502 naming reason, then done. */
void api_proxy_cancel(struct api_proxy *p, const char *reason);

/* Answers x with a body as the engine gave it (status, content type). */
void api_proxy_respond(struct api_exchange *x, int status, const char *content_type,
                       const char *body, size_t len);

/* Answers x with a Docker-style JSON error. */
void api_proxy_error(struct api_exchange *x, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
