/*
 * proto_internal — checks the encoders share, so that an encoder refuses exactly what the
 * decoders refuse. Not for use outside proto/. Each returns 0, or PROTO_ERR_INVALID with err
 * set to "<where>.<field>: <reason>".
 */
#ifndef SWARM_PROTO_PROTO_INTERNAL_H
#define SWARM_PROTO_PROTO_INTERNAL_H

#include "proto/proto.h"

int proto_chk_name(struct proto_err *err, const char *where, const char *field, struct proto_str v);
int proto_chk_text(struct proto_err *err, const char *where, const char *field, struct proto_str v,
                   size_t max);
int proto_chk_bytes(struct proto_err *err, const char *where, const char *field,
                    struct proto_bytes v, size_t max);
/* len 4 or 16, port > 0 */
int proto_chk_addr(struct proto_err *err, const char *where, const char *field,
                   const struct proto_addr *a);

#endif
