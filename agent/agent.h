/*
 * agent — the `swarm join` daemon that runs next to every Docker engine: gossip membership,
 * LAN discovery, the engine watcher and the relay server; plus `swarm members`, which asks a
 * running daemon for its membership view. Depends on proto, crypto, libuv and libcurl.
 */
#ifndef SWARM_AGENT_AGENT_H
#define SWARM_AGENT_AGENT_H

#include "common/command.h"

extern const struct swarm_command agent_join_command;
extern const struct swarm_command agent_members_command;

/* Versions of the event-loop and HTTP-client libraries linked at run time. */
const char *agent_libuv_version(void);
const char *agent_libcurl_version(void);

#endif
