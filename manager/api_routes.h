/*
 * api_routes — the engine API over the whole cluster: the requests the router hands to its take
 * hook (api_router.h), answered from the engines' view (manager/engines.h) or forwarded to the
 * engine that owns the object (manager/api_proxy.h).
 *
 *   GET  /containers/json              every engine's containers, names as "node/name"
 *   POST /containers/create            placed by the scheduler (manager/scheduler.h: classic
 *                                      Swarm's filters and strategies, creates in flight
 *                                      counted), then forwarded; an engine's "No such image"
 *                                      makes the manager pull it there and create again, or
 *                                      place it where the image is (manager/create_retry.h)
 *   *    /containers/{ref}[/...]       resolved (id, name, node/name, unique id prefix) and
 *                                      forwarded with the real id; inspect gains "Node" (and is
 *                                      answered from kept answers while nothing it shows
 *                                      changed: manager/icache.h); attach
 *                                      and exec hijacks pass through; a change (start, stop,
 *                                      kill, restart, pause, rename, rm) is answered once the
 *                                      view shows it (read your writes; at most 2 s later)
 *   *    /exec/{id}/...                to the engine the exec was created on
 *   GET  /images/json                  every engine's images, merged by id
 *   POST /images/create                (pull) on every healthy engine, progress merged, each
 *                                      line's id prefixed with its node; import (fromSrc) the
 *                                      same way, the client's body copied to every engine as it
 *                                      arrives, at the pace of the slowest
 *   POST /images/load                  on every healthy engine like import (classic Swarm)
 *   GET  /images/get                   (save) from the first engine with the first name
 *   POST /build                        on the engine the scheduler picks (build args as Env,
 *                                      cpushares/memory as reservations), the context streamed
 *                                      to it and the output back unbuffered
 *   PUT  /containers/{ref}/archive     the tar body streamed to the container's engine
 *   *    /images/{name}/...            to the first engine that has the image
 *   GET  /events                       one stream of every engine's events, each tagged with its
 *                                      node as classic Swarm did, plus swarm's own
 *                                      engine_connect / engine_disconnect
 * Everything else is left to the router (501).
 *
 * Ownership: api_routes_new borrows the engines (which must outlive it); api_routes_free ends
 * every /events stream still open (call it after the API server is closed, or before, either
 * way each watcher's exchange is ended or already gone). All on the loop thread.
 */
#ifndef SWARM_MANAGER_API_ROUTES_H
#define SWARM_MANAGER_API_ROUTES_H

#include "manager/api_http.h"
#include "manager/api_server.h"
#include "manager/engines.h"
#include "manager/icache.h"
#include "manager/scheduler.h"

#include <jansson.h>
#include <stdbool.h>

struct api_routes;

/* Bytes of inspect answers kept by default (api_routes_set_inspect_cache). */
#define API_ROUTES_INSPECT_CACHE (8u * 1024 * 1024)

/* sched is copied (its random_arg must outlive the routes); loop: for the routes' timers. */
struct api_routes *api_routes_new(uv_loop_t *loop, struct engines *es,
                                  const struct sched_config *sched);
void api_routes_free(struct api_routes *r);

/* Container inspect answers kept and given again while nothing they show can have changed
 * (manager/icache.h), in at most `bytes` (API_ROUTES_INSPECT_CACHE until set; 0: none kept,
 * every inspect goes to its engine). A client's Cache-Control: no-cache always goes to the
 * engine. 0, or -1 when out of memory (the old cache stays). */
int api_routes_set_inspect_cache(struct api_routes *r, size_t bytes);
/* The cache's counters; false when none is kept. */
bool api_routes_inspect_stats(const struct api_routes *r, struct icache_stats *out);

/* The api_context take hook; arg is the api_routes. */
bool api_routes_take(void *arg, const struct api_request *req, const char *path,
                     struct api_exchange *x);

/* The api_context streams_body hook: the requests whose bodies may be large stream them
 * (PUT /containers/{ref}/archive, POST /build, /images/load, /images/create with fromSrc); every
 * other body is kept whole (API_HTTP_BODY_MAX) for the routes that read it. */
bool api_routes_streams_body(void *arg, const struct api_request *req, const char *path);

/* An engine's event, for the /events watchers (engines_callbacks.on_event). */
void api_routes_engine_event(struct api_routes *r, const struct engine *e, json_t *event);
/* swarm's own event about an engine: "engine_connect", "engine_disconnect". */
void api_routes_swarm_event(struct api_routes *r, const struct engine *e, const char *action);

/* Rescheduling (manager/reschedule.h): creates with the on-node-failure policy are recorded
 * there, and engine events reach it. rs may be NULL. */
struct reschedule;
void api_routes_set_reschedule(struct api_routes *r, struct reschedule *rs);

/* The engine the scheduler chooses now for a create body as sent to an engine (the body is
 * not changed but for what sched_request_from_body normalises); NULL with err. */
struct engine *api_routes_place(struct api_routes *r, json_t *body, const char *name, char *err,
                                size_t errlen);

/* The body of GET /containers/json?query (the request's query, without '?') over the engines
 * list[0..n), in their order: each entry as clist_entry shows it (manager/container_list.h),
 * filtered as dockerd does (all, filters; limit > 0 and a status filter imply all), newest
 * first, cut to limit; cache: the entries' texts kept across calls. Returns 200 with *body
 * (malloc'd, the caller's: JSON and a newline, *len bytes), or 400 or 500 with err (*body
 * NULL). Exposed for tests and benchmarks. */
struct clist;
int api_routes_containers_body(struct clist *cache, struct engine *const *list, size_t n,
                               const char *query, char **body, size_t *len, char *err,
                               size_t errlen);

/* Does GET /containers/json show c (an entry of e->containers)? all: as the query makes it
 * (limit > 0 and a "status" filter imply it); filters: the query's (an object), or NULL. */
bool api_routes_container_listed(const struct engine *e, json_t *c, bool all, json_t *filters);

#endif
