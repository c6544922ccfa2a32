/*
 * agent — the `swarm join` daemon that runs next to every Docker engine: gossip membership,
 * LAN discovery, the engine watcher and the relay server; plus `swarm members`, which asks a
 * running daemon for its membership view. Depends on proto, crypto, libuv, http-parser and
 * jansson.
 */
#ifndef SWARM_AGENT_AGENT_H
#define SWARM_AGENT_AGENT_H

#include "common/command.h"

extern const struct swarm_command agent_join_command;
extern const struct swarm_command agent_members_command;

/* The version of the event-loop library linked at run time. */
const char *agent_libuv_version(void);

#endif
