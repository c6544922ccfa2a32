/*
 * proto — the wire formats (gossip messages, beacons, relay frames, engine state). Pure code: no
 * I/O, no clock. Depends on msgpack-c only.
 */
#ifndef SWARM_PROTO_PROTO_H
#define SWARM_PROTO_PROTO_H

/* Version byte carried by every sealed datagram and relay handshake; bumped on incompatible
 * changes to any wire format. */
#define PROTO_WIRE_VERSION 1

/* Version of the msgpack-c library linked at run time, e.g. "4.0.0". */
const char *proto_msgpack_version(void);

#endif
