/*
 * manager — the `swarm manage` daemon (cluster view, scheduler, Docker API server, proxy) and
 * `swarm init`, which makes the cluster's secrets. Depends on agent (membership), proto,
 * crypto, libuv, http-parser and jansson.
 */
#ifndef SWARM_MANAGER_MANAGER_H
#define SWARM_MANAGER_MANAGER_H

#include "common/command.h"

extern const struct swarm_command manager_init_command;
extern const struct swarm_command manager_manage_command;

/* Versions of the HTTP-parser and JSON libraries linked at run time. */
const char *manager_http_parser_version(void);
const char *manager_jansson_version(void);
/* libcurl's, loaded for it (manager/curl_runtime.h), or why it could not be loaded. */
const char *manager_libcurl_version(void);

#endif
