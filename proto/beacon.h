/*
 * beacon — the LAN discovery announcement an agent multicasts (239.255.x.y / ff02::, TTL 1)
 * so members find each other with nothing configured. crypto/ seals it in the same envelope as
 * a gossip datagram, so only holders of the cluster key can read or forge one; this is the
 * plaintext:
 *
 *   +--------------------------------------------------------------------------------------+
 *   | array(5)                                                                             |
 *   |   version       uint   = PROTO_WIRE_VERSION (1), else PROTO_ERR_VERSION              |
 *   |   name          str    1..64 visible ASCII: the member's gossip name                 |
 *   |   addr          bin    4 or 16 bytes: where its gossip (UDP) and push-pull (TCP) are |
 *   |   port          uint   1..65535                                                      |
 *   |   incarnation   uint64 the member's current incarnation                              |
 *   +--------------------------------------------------------------------------------------+
 * Extra trailing elements are skipped. At most BEACON_MAX_SIZE bytes. A beacon is told from a
 * gossip datagram by the socket it arrives on; the two decoders also refuse each other's
 * plaintext (a datagram's second element is an array, a beacon's a str).
 *
 * A member that hears a beacon from a name it does not know (or with a higher incarnation)
 * starts a push-pull with addr:port.
 */
#ifndef SWARM_PROTO_BEACON_H
#define SWARM_PROTO_BEACON_H

#include "proto/proto.h"

#include <stddef.h>
#include <stdint.h>

/* 1 + 1 + 66 + 18 + 3 + 9 */
#define BEACON_MAX_SIZE 98

struct beacon {
    struct proto_str name; /* decoded: a view into the input buffer */
    struct proto_addr addr;
    uint64_t incarnation;
};

/* Encodes b into buf[0..cap) (cap >= BEACON_MAX_SIZE always suffices); *len = bytes used.
 * PROTO_ERR_INVALID (naming the field) or PROTO_ERR_NOSPACE. */
int beacon_encode(const struct beacon *b, void *buf, size_t cap, size_t *len,
                  struct proto_err *err);

/* Decodes buf[0..len) into *b. 0, PROTO_ERR_VERSION ("unsupported protocol version N (this
 * build speaks 1)"), or another PROTO_ERR_* naming the field. */
int beacon_decode(const void *buf, size_t len, struct beacon *b, struct proto_err *err);

#endif
