/*
 * reschedule — classic Swarm's `-e reschedule:on-node-failure` (or the label
 * com.docker.swarm.reschedule-policies=["on-node-failure"]): when gossip declares a host
 * failed, the manager recreates its marked containers on other engines under the same name
 * and config, and starts them; when the host comes back, the stale copies there are removed.
 *
 *   create through the manager, policy on-node-failure ──► a record: swarm id, name, engine,
 *        container id, the create body as sent      STATE_DIR/reschedule/<swarm id>.json
 *   member FAILED ──► for each record on that engine: if a healthy engine already runs a
 *        container with the same swarm id (com.docker.swarm.id), adopt it; else place the body
 *        (the scheduler; the failed engine is unhealthy, so never chosen), create, start, and
 *        rewrite the record
 *   engine ready again ──► remove there every container whose record now names another
 *        engine that holds it
 *   a container destroyed on its record's engine (docker rm) ──► the record goes
 *
 * No loss, no duplicate, across a manager restart: the records are files written before the
 * manager answers (atomic rename), so what was marked is known after a restart; a record is
 * acted on only when every engine gossip says is alive has sent its state (so a copy made
 * before the restart is seen and adopted, never made twice); failed members found at start
 * are handled like a FAILED event. A create that fails (no engine fits) is retried every
 * RESCHEDULE_RETRY_MS while the engine stays failed.
 *
 * Ownership: reschedule_new copies state_dir and borrows the engines and the routes (which
 * must outlive it); reschedule_free frees everything (calls still in flight finish on their
 * own and find it gone). All on the loop thread.
 */
#ifndef SWARM_MANAGER_RESCHEDULE_H
#define SWARM_MANAGER_RESCHEDULE_H

#include "manager/engines.h"

#include <jansson.h>
#include <uv.h>

#define RESCHEDULE_RETRY_MS 2000

struct api_routes;
struct reschedule;

/* NULL when out of memory. state_dir: the records live in state_dir/reschedule (made 0700). */
struct reschedule *reschedule_new(uv_loop_t *loop, struct engines *es, struct api_routes *routes,
                                  const char *state_dir);
void reschedule_free(struct reschedule *rs);

/* A container created through the manager with the on-node-failure policy: body is the create
 * config as sent to the engine (with its com.docker.swarm.id label). */
void reschedule_record(struct reschedule *rs, const char *swarm_id, const char *name,
                       const char *engine, const char *id, const char *body);

/* Gossip declared this engine's member failed (member name or engine name). */
void reschedule_node_failed(struct reschedule *rs, const char *node);
/* The member is alive again (its engine may come back). */
void reschedule_node_alive(struct reschedule *rs, const char *node);
/* e's relay is ready with fresh state: clean up stale copies there. */
void reschedule_engine_up(struct reschedule *rs, struct engine *e);
/* An engine event (destroy ends a record). */
void reschedule_event(struct reschedule *rs, const struct engine *e, json_t *event);

#endif
