/*
 * api_handlers — the endpoints the manager answers itself: /_ping, /version, /info. Called by
 * api_router.c once the path, method and version are known good; each fills resp (status,
 * Content-Type, a malloc'd body the response owns).
 */
#ifndef SWARM_MANAGER_API_HANDLERS_H
#define SWARM_MANAGER_API_HANDLERS_H

#include "manager/api_router.h"

/* HEAD and GET /_ping: "OK" as text/plain with dockerd's no-cache headers. */
void api_handle_ping(const struct api_context *ctx, const struct api_request *req,
                     struct api_response *resp);

/* GET /version: the manager's version as classic Swarm shaped it (no Components). */
void api_handle_version(const struct api_context *ctx, const struct api_request *req,
                        const char *api_version, struct api_response *resp);

/* GET /info: the cluster as one engine, with classic Swarm's per-node SystemStatus. With the
 * context's generation and info_cache (api_router.h), a copy of the last body while the
 * generation is the same; the cache is updated when a body is built. */
void api_handle_info(const struct api_context *ctx, const struct api_request *req,
                     struct api_response *resp);

/* Go's go-units BytesSize ("%.4g" and binary units): "0 B", "1.5 KiB", "15.59 GiB". */
void api_bytes_size(uint64_t bytes, char *buf, size_t cap);

#endif
