/*
 * manage — `swarm manage`: turns flags and the state dir made by `swarm init` into a daemon
 * (agent/daemon.h) that is an engine-less gossip member (role manager) and serves the Docker
 * Engine API (api_server.h) on every -H address from the cluster view.
 *
 * It accepts classic Swarm's manage flags so old scripts run: --strategy and --filter are
 * validated and shown in `docker info`; --cluster-opt swarm.overcommit / swarm.createretry are
 * validated (the scheduler will use them); flags that gossip makes moot (--heartbeat,
 * --engine-refresh-*, --discovery-opt ...) and a discovery URL argument print a one-line
 * warning and are ignored; TLS flags are refused until TLS is built, rather than served in clear.
 */
#ifndef SWARM_MANAGER_MANAGE_H
#define SWARM_MANAGER_MANAGE_H

#include "common/flags.h"

/* Runs `swarm manage` with parsed flags; returns a SWARM_EXIT_* code. */
int manage_run(const struct flagset *f);

#endif
