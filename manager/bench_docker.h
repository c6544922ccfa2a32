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

#include "manager/bench_mux.h"
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
    struct curl_slist *get_headers; /* sent with every GET: NULL, or bench_client_no_cache's */
    char *body;                     /* last answer's body, NUL-terminated */
    size_t len, cap;
    long status; /* last answer's HTTP status */
    /* When set, answer bodies go to sink instead of into body (streams too long to keep);
     * bench_container_logs sets and clears it around its request. */
    void (*sink)(void *arg, const char *p, size_t n);
    void *sink_arg;
};

int bench_client_init(struct bench_client *c, const struct bench_endpoint *ep,
                      const volatile sig_atomic_t *abort_flag, long timeout_ms);
void bench_client_close(struct bench_client *c);
/* Every GET from now on carries Cache-Control: no-cache (a fresh answer: the manager forwards
 * an inspect instead of giving a kept answer). 0, or -1 when out of memory. */
int bench_client_no_cache(struct bench_client *c);

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

/* One read of a container's log stream: GET /containers/ID/logs?stdout=1&stderr=1&follow=1 on a
 * container without a TTY, decoded frame by frame (bench_mux) and counted, never kept. */
struct bench_logs {
    struct bench_mux mux; /* payload bytes per stream, frames, the decoder's error */
    double ttfb_ms;       /* request sent to the first payload byte; -1 if none came */
    double ms;            /* request sent to the end of the stream */
};

/*
 * Reads the log stream to its end (the container has exited, so follow ends there). BENCH_FAIL
 * with "HTTP N", a transport error, or "logs: " and the decoder's error (a bad or truncated
 * frame); out->mux holds the counts also then, and after BENCH_ABORTED (bytes read so far).
 * Checking the counts against what the container wrote is the caller's.
 */
int bench_container_logs(struct bench_client *c, const char *id, struct bench_logs *out, char *kind,
                         size_t kindlen);

/*
 * Removes every container (running or not) carrying label key=value, and only those: the
 * engine filters by label and each listed container's labels are checked again before it is
 * removed. *removed counts them. Returns 0, or -1 with a one-line reason in err.
 */
int bench_cleanup(struct bench_client *c, const char *key, const char *value, int *removed,
                  char *err, size_t errlen);

#endif
