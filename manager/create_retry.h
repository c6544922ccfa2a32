/*
 * create_retry — what the create path decides when the engine it chose answers a create with
 * "No such image", as classic Swarm did (docs/SCHEDULING.md, "An image missing on the chosen
 * engine"):
 *
 *   engine: 404 No such image ──► pull it on that engine (POST /images/create?fromImage=&tag=,
 *        the client's X-Registry-Auth forwarded), read the progress to its end
 *        ──► no error line: create again there, once
 *        ──► the pull failed: if no hard node== constraint pins the container and some engine
 *            already has the image, place it again with affinity image==IMAGE; otherwise the
 *            client gets the engine's 404 (the docker CLI then pulls through the manager)
 *
 * Pure: strings in, answers out; no I/O. The flow itself (proxies, the client's exchange) is
 * api_routes.c's. Ownership: nothing is kept; every output is the caller's buffer.
 */
#ifndef SWARM_MANAGER_CREATE_RETRY_H
#define SWARM_MANAGER_CREATE_RETRY_H

#include "manager/scheduler.h"

#include <stdbool.h>
#include <stddef.h>

/* True when an engine's answer to POST /containers/create says the image is missing: status
 * 404 and a {"message": ...} holding "No such image" (dockerd's "No such image: busybox:1"). A
 * 404 for anything else (a network, a container to share volumes with) is not. */
bool create_image_missing(int status, const char *body, size_t len);

/* The request target of the pull for image, as the docker CLI builds it: prefix (the client's
 * "/v1.41" or "", prefix_len bytes of it), then "/images/create?fromImage=NAME&tag=TAG" with
 * NAME the reference without tag or digest and TAG its tag, its digest ("sha256:..."), or
 * "latest"; both percent-encoded. A tag is a ':' after the last '/' ("host:5000/bb" has none).
 * Returns 0, or -1 when the image is empty, an image id ("sha256:..." alone: nothing to pull)
 * or the target does not fit in cap bytes. */
int create_pull_target(const char *prefix, size_t prefix_len, const char *image, char *out,
                       size_t cap);

/* Reads an engine's answer to a pull: status and its whole body (the progress stream, one JSON
 * object per line). Returns 0 when the status is 200 and no line is an {"error": ...}; else -1
 * with err holding the error (the error line's text, the {"message"} of a non-200 answer, or
 * "pull failed (HTTP status N)"). */
int create_pull_result(int status, const char *body, size_t len, char *err, size_t errlen);

/* Classic's HaveNodeConstraint: req holds a hard constraint "node==X" (not "node==~X"); such a
 * container is never moved to where the image is. */
bool create_has_node_constraint(const struct sched_request *req);

#endif
