/*
 * bench_docker — the few Docker Engine API calls `swarm bench` makes, over one libcurl easy
 * handle per thread (keep-alive: one connection per worker, as the docker CLI keeps one).
 *
 * Paths carry the /v1.41 prefix the docker CLI sends to a 20.10 engine (docker-api-clients.md
 * §1). Every call returns BENCH_OK, BENCH_FAIL with the error's kind ("HTTP 404", "transport:
 * Timeout was reached", "exit status 1") in the caller's buffer, or BENCH_ABORTED when the
 * abort flag the client watches was raised mid-request (Ctrl-C, end of the run).
 *
 * Ownership: the caller owns struct bench_client (bench_client_init/close) and keeps the
 * endpoint alive while the client lives; a client is used by one thread at a time.
 */
#ifndef SWARM_MANAGER_BENCH_DOCKER_H
#define SWARM_MANAGER_BENCH_DOCKER_H

#include "manager/bench_opts.h"

#include <curl/curl.h>
#include <signal.h>
#include <stddef.h>

/* Answers larger than this are an error ("transport: Failed writing received data..."). */
#define BENCH_BODY_MAX (16 * 1024 * 1024)

/* The label on every container swarm bench makes, and the one naming the run. */
#define BENCH_LABEL "com.swarm.bench"
#define BENCH_LABEL_RUN "com.swarm.bench.run"

enum { BENCH_OK = 0, BENCH_FAIL = -1, BENCH_ABORTED = -2 };

struct bench_client {
    CURL *curl;
    const struct bench_endpoint *ep;
    const volatile sig_atomic_t *abort_flag; /* may be NULL: never aborted */
    struct curl_slist *json_headers;
    char *body; /* last answer's body, NUL-terminated */
    size_t len, cap;
    long status; /* last answer's HTTP status */
};

int bench_client_init(struct bench_client *c, const struct bench_endpoint *ep,
                      const volatile sig_atomic_t *abort_flag, long timeout_ms);
void bench_client_close(struct bench_client *c);

/*
 * One request: method "GET", "POST" or "DELETE"; path after the version prefix ("/_ping" is sent
 * bare, as clients do); json NULL for no body. BENCH_OK means an answer came, whatever its
 * status; then c->status and c->body hold it.
 */
int bench_request(struct bench_client *c, const char *method, const char *path, const char *json,
                  char *kind, size_t kindlen);

/* bench_request, then BENCH_FAIL with kind "HTTP N" unless the status is want or want2. */
int bench_call(struct bench_client *c, const char *method, const char *path, const char *json,
               long want, long want2, char *kind, size_t kindlen);

/* POST /containers/create with this body; the new container's id into id (65 bytes). */
int bench_container_create(struct bench_client *c, const char *body, char *id, char *kind,
                           size_t kindlen);
int bench_container_start(struct bench_client *c, const char *id, char *kind, size_t kindlen);
/* Waits until the container is not running; a nonzero exit is BENCH_FAIL "exit status N". */
int bench_container_wait(struct bench_client *c, const char *id, char *kind, size_t kindlen);
/* DELETE ?force=1&v=1; a container already gone (404) counts as removed. */
int bench_container_remove(struct bench_client *c, const char *id, char *kind, size_t kindlen);

/*
 * Removes every container (running or not) carrying label key=value, and only those: the
 * engine filters by label and each listed container's labels are checked again before it is
 * removed. *removed counts them. Returns 0, or -1 with a one-line reason in err.
 */
int bench_cleanup(struct bench_client *c, const char *key, const char *value, int *removed,
                  char *err, size_t errlen);

#endif
