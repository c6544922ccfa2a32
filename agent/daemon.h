/*
 * daemon — what `swarm join` and `swarm manage` share once their configuration is known: the
 * libuv loop, gossip (gossip_uv), the control socket that `swarm members` asks, and a graceful
 * leave on SIGINT/SIGTERM (a second signal exits at once).
 *
 * daemon_run() blocks until the daemon stops and returns the process exit code. The caller
 * owns the keyring and everything the config points to; they must outlive the call.
 */
#ifndef SWARM_AGENT_DAEMON_H
#define SWARM_AGENT_DAEMON_H

#include "agent/gossip_uv.h"

struct daemon_config {
    const char *state_dir;
    struct gossip_uv_config gossip;
    const struct keyring *keyring;
    /* Optional services on the same loop (the agent's relay, the manager's API server).
     * start runs once gossip is up; returning -1 (with err) stops the daemon with exit code 1.
     * stop runs on SIGINT/SIGTERM, daemon_stop() or after a failed start, and must uv_close
     * every handle the service opened; the loop ends once they are closed. */
    int (*start)(void *arg, uv_loop_t *loop, struct gossip_uv *g, char *err, size_t errlen);
    void (*stop)(void *arg);
    void *service_arg;
};

int daemon_run(const struct daemon_config *dc);

/* For a service that fails after its start (the agent's engine does not answer): stops the
 * daemon as SIGTERM does (the service's stop, then a graceful leave), and daemon_run returns
 * exit_code. loop is the one start was given; call on its thread. A no-op once stopping. */
void daemon_stop(uv_loop_t *loop, int exit_code);

/* The members answer of the control socket: a JSON array (see members_fmt.h), malloc'd. */
char *daemon_members_json(struct membership *m, const char *self_role);

#endif
