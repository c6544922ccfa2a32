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
};

/* Starts forwarding req to e. Returns 0; or -1 when nothing could start (then x has been
 * answered with the error, and done has run).
 *
 * x may be NULL with on_response set: a call the manager makes on its own (one leg of a
 * fan-out, say) with the client's request as its model. on_response then runs exactly once with
 * x NULL, failures included (status 502/503 and a {"message"} body), before done. */
int api_proxy_start(struct api_exchange *x, struct engine *e, const struct api_request *req,
                    const struct api_proxy_opts *opts);

/* Answers x with a body as the engine gave it (status, content type). */
void api_proxy_respond(struct api_exchange *x, int status, const char *content_type,
                       const char *body, size_t len);

/* Answers x with a Docker-style JSON error. */
void api_proxy_error(struct api_exchange *x, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
