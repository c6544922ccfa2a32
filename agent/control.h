/*
 * control — the daemon's control socket, DIR/control.sock (mode 0600, owner only), through which
 * `swarm members` asks a running agent or manager for its view.
 *
 * Protocol: the client connects, writes one request line ("members\n" or "stats\n", at most
 * CONTROL_REQUEST_MAX bytes), and reads the answer until the daemon closes the connection. The
 * answer is JSON; an unknown request gets {"error": "..."}.
 *
 * Server side (libuv): control_server_start() binds and listens; each request is passed to the
 * handler on the loop thread, which returns a malloc'd NUL-terminated answer (owned by the
 * server afterwards, freed once written) or NULL for "internal error". At most
 * CONTROL_CLIENTS_MAX connections are served at once; more are closed at accept. A client that
 * sends nothing for CONTROL_IDLE_MS is dropped. control_server_close() closes everything; the
 * struct must stay allocated until `on_closed` runs.
 *
 * Client side (blocking, no libuv): control_request().
 */
#ifndef SWARM_AGENT_CONTROL_H
#define SWARM_AGENT_CONTROL_H

#include <stddef.h>
#include <uv.h>

#define CONTROL_SOCKET_NAME "control.sock"
#define CONTROL_REQUEST_MAX 256
#define CONTROL_CLIENTS_MAX 16
#define CONTROL_IDLE_MS 5000
#define CONTROL_ANSWER_MAX (16 * 1024 * 1024)

typedef char *(*control_handler_fn)(const char *request, void *arg);

struct control_server {
    uv_pipe_t pipe;
    char path[108];
    control_handler_fn handler;
    void *arg;
    int nclients;
    int closing;
    int listener_closed;
    struct control_client *clients; /* live connections, for close */
    void (*on_closed)(struct control_server *);
};

/*
 * Listens on DIR/control.sock. If a live daemon already answers there, fails with a message
 * saying so; a stale socket file left by a dead daemon is replaced. Returns 0 or -1 with err.
 */
int control_server_start(uv_loop_t *loop, struct control_server *s, const char *state_dir,
                         control_handler_fn handler, void *arg, char *err, size_t errlen);

/* Closes the listener and every connection, removes the socket file; on_closed (may be NULL)
 * runs once all handles are closed. */
void control_server_close(struct control_server *s, void (*on_closed)(struct control_server *));

/*
 * Sends request to the daemon whose state dir is state_dir and returns its answer in *answer
 * (malloc'd, NUL-terminated; the caller frees). Returns 0, or -1 with err saying whether no
 * daemon runs there, permission was denied, or the answer was too long / cut short.
 */
int control_request(const char *state_dir, const char *request, long timeout_ms, char **answer,
                    char *err, size_t errlen);

#endif
