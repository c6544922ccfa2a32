/*
 * api_server — the manager's Docker API listeners and connections on libuv: unix sockets and
 * loopback TCP, HTTP/1.1 with keep-alive, one request at a time per connection (pipelined
 * requests wait in the connection's buffer; reading stops until the answer is written).
 * Framing is api_http.c, answers are api_router.c; this file owns only sockets, buffers and
 * timers.
 *
 * Limits (defaults; api_server_config may lower them, for tests):
 *   API_SERVER_MAX_CONNS    open connections; one more is answered 503 and closed, and past
 *                           API_SERVER_MAX_CONNS + API_SERVER_REJECT_SLACK it is closed unanswered
 *   API_SERVER_READ_BUF     bytes read per connection before they are framed
 *   API_SERVER_IDLE_MS      a connection with no request in progress is closed after this
 *   API_SERVER_REQUEST_MS   from a request's first byte to its last (or for writing an
 *                           answer): 408 and close after this
 *   request head and body   see api_http.h (431, 413)
 * An error that leaves the stream unframed (400, 408, 413, 431, 505, 503) is answered with
 * `Connection: close`; then the server shuts down its side and drains what the client still
 * sends for up to API_SERVER_LINGER_MS, so the answer is not lost to a TCP reset. A client that
 * disconnects at any point has its connection and everything it held freed at once.
 *
 * Unix sockets are created with mode 0660 (group may connect: the docker group's role); a stale
 * socket file (nobody answers on it) is replaced, a live one is refused, anything else at the
 * path is left alone and refused. The file is removed when the server closes. TCP listeners are
 * allowed on loopback only: a remote listener needs TLS, which is not built yet.
 *
 * Ownership: the caller owns the loop, the endpoints array and the api_context (which must
 * outlive the server). api_server_start allocates the server; api_server_close closes every
 * handle and frees it, then calls on_closed. All calls and callbacks run on the loop thread.
 */
#ifndef SWARM_MANAGER_API_SERVER_H
#define SWARM_MANAGER_API_SERVER_H

#include "manager/api_router.h"

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#define API_SERVER_MAX_LISTENERS 8
#define API_SERVER_MAX_CONNS 256
#define API_SERVER_REJECT_SLACK 16
#define API_SERVER_READ_BUF (16 * 1024)
#define API_SERVER_IDLE_MS (120 * 1000)
#define API_SERVER_REQUEST_MS (60 * 1000)
#define API_SERVER_LINGER_MS 2000
#define API_SERVER_UNIX_MODE 0660
#define API_SERVER_TCP_DEFAULT_PORT 2375

enum api_endpoint_kind { API_ENDPOINT_UNIX, API_ENDPOINT_TCP };

struct api_endpoint {
    enum api_endpoint_kind kind;
    char path[108];               /* unix: the socket path (sun_path's size, NUL included) */
    struct sockaddr_storage addr; /* tcp: a loopback address and port */
    char text[160];               /* as given, for messages */
};

/* Parses a -H value: "unix:///path" (absolute, at most 107 bytes) or "tcp://HOST[:PORT]" with
 * HOST 127.x.y.z, [::1] or localhost and PORT defaulting to 2375. A TCP address that is not
 * loopback is refused with a message saying it needs TLS. Returns 0, or -1 with err. */
int api_endpoint_parse(const char *text, struct api_endpoint *ep, char *err, size_t errlen);

struct api_server_config {
    const struct api_endpoint *endpoints;
    size_t nendpoints;   /* 1..API_SERVER_MAX_LISTENERS */
    unsigned unix_mode;  /* 0: API_SERVER_UNIX_MODE */
    unsigned max_conns;  /* 0: API_SERVER_MAX_CONNS */
    uint32_t idle_ms;    /* 0: API_SERVER_IDLE_MS */
    uint32_t request_ms; /* 0: API_SERVER_REQUEST_MS */
    const struct api_context *ctx;
};

struct api_server_stats {
    uint64_t accepted;  /* connections served */
    uint64_t rejected;  /* connections turned away: over the limit */
    uint64_t requests;  /* requests answered by the router */
    uint64_t bad;       /* connections closed on a framing error (4xx/5xx from api_http) */
    uint64_t timeouts;  /* connections closed by a timer */
    uint64_t abandoned; /* clients gone mid-request */
};

struct api_server;

/* Listens on every endpoint. Returns the server, or NULL with err (address in use, a live
 * socket at the path, permission...) after closing whatever it had opened; those close
 * callbacks run the next time the loop runs. */
struct api_server *api_server_start(uv_loop_t *loop, const struct api_server_config *cfg, char *err,
                                    size_t errlen);

/* Closes the listeners (removing unix socket files) and every connection, then frees the
 * server and calls on_closed(arg) (may be NULL) once every handle is closed. */
void api_server_close(struct api_server *s, void (*on_closed)(void *arg), void *arg);

/*
 * Exchanges: a request the router hands to a handler that answers later or streams (proxied
 * engine calls, /events, hijacked attach and exec). The server owns the exchange; it lives
 * from the router's take hook until the handler ends it (api_exchange_respond or
 * api_exchange_end) or on_abort ran. While it lives:
 *   - the request's timer is off (a `logs -f` may stream for hours); the connection is still
 *     read, so a client that goes away is noticed (on_abort), and bytes a client sends ahead
 *     (a pipelined request) wait in the connection's buffer;
 *   - api_exchange_write sends bytes to the client (what the socket does not take at once is
 *     copied and queued); api_exchange_queued says how many are not yet written, and on_drain
 *     runs when they fall to API_EXCHANGE_LOW_WATER after having been above
 *     API_EXCHANGE_HIGH_WATER: the producer pauses in between;
 *   - after api_exchange_hijack (an upgraded attach or exec), what the client sends is handed
 *     to on_client_data unframed (the bytes it sent behind the request head first), its
 *     half-close to on_client_eof; api_exchange_shutdown half-closes the client's side.
 *   - a request whose body streams (the context's streams_body said so; req->body_stream) is
 *     taken as soon as its head is in: the body's decoded bytes go to on_client_data as they
 *     arrive (the first ones right after the take hook returns), then on_body_end runs.
 *     api_exchange_read_stop / _start pause and resume it (the client is then not read, so
 *     memory stays bounded by API_SERVER_READ_BUF whatever the client sends). A client that
 *     sends nothing for API_SERVER_REQUEST_MS while not paused is dropped (on_abort). An
 *     answer that ends the exchange before the body's end closes the connection after it
 *     (the rest of the body is drained for API_SERVER_LINGER_MS, not framed). A client that
 *     sent `Expect: 100-continue` gets "100 Continue" before the take hook runs.
 * on_abort: the client went away, or the server is closing: the exchange is gone once it
 * returns (the handler must drop every reference to it and end what it feeds it from).
 */
#define API_EXCHANGE_HIGH_WATER (1024 * 1024)
#define API_EXCHANGE_LOW_WATER (256 * 1024)

struct api_exchange;

struct api_exchange_callbacks {
    void (*on_client_data)(struct api_exchange *x, const char *data, size_t len, void *arg);
    void (*on_client_eof)(struct api_exchange *x, void *arg);
    void (*on_drain)(struct api_exchange *x, void *arg);
    void (*on_abort)(struct api_exchange *x, void *arg);
    /* A streamed request body (api_request.body_stream) has been handed over in full. */
    void (*on_body_end)(struct api_exchange *x, void *arg);
};

/* cb copied (any callback may be NULL); arg passed to them. */
void api_exchange_set_callbacks(struct api_exchange *x, const struct api_exchange_callbacks *cb,
                                void *arg);
/* The whole answer at once, in the server's usual form; ends the exchange. */
void api_exchange_respond(struct api_exchange *x, const struct api_response *resp);
/* Raw bytes for the client: written at once as far as the socket takes them with nothing queued
 * ahead, the rest copied and queued. 0, or -1 when out of memory or the client is gone
 * (on_abort follows). */
int api_exchange_write(struct api_exchange *x, const void *data, size_t len);
size_t api_exchange_queued(const struct api_exchange *x);
/* The answer is complete: once the queued bytes are written, the connection serves its next
 * request if keep_alive (and the client allowed it), else it is closed. Ends the exchange. */
void api_exchange_end(struct api_exchange *x, bool keep_alive);
/* From now on the client's bytes are a raw stream for on_client_data. */
void api_exchange_hijack(struct api_exchange *x);
/* Pause / resume reading the client (hijacked streams: backpressure toward the engine). */
void api_exchange_read_stop(struct api_exchange *x);
void api_exchange_read_start(struct api_exchange *x);
/* Half-close toward the client once the queued bytes are written (hijacked streams). */
void api_exchange_shutdown(struct api_exchange *x);
/* The Api-Version and Server headers the server would send, for handlers that write their
 * own response head. */
const char *api_exchange_api_version(const struct api_exchange *x);
const char *api_exchange_server_header(const struct api_exchange *x);

/* Open client connections (rejected ones included until they are closed). */
size_t api_server_connections(const struct api_server *s);
const struct api_server_stats *api_server_stats(const struct api_server *s);

#endif
