/*
 * pushpull — the state exchange SWIM members run over TCP to join and to heal partitions.
 *
 * Each side sends one payload; the transport (crypto/'s sealed stream) delivers it whole, and
 * the receiver passes the largest payload it accepts. A join carries the sender's full state and
 * is answered with the full state. A periodic sync carries the sender's own entry and a digest
 * of its view, and is answered with the entries of the buckets whose sums differ, so a sync
 * between agreeing members costs the same whatever the cluster's size. The plaintext:
 *
 *   +--------------------------------------------------------------------------------------+
 *   | array(3)                                                                             |
 *   |   version      uint  = PROTO_WIRE_VERSION (1), else PROTO_ERR_VERSION                 |
 *   |   join         bool  true: the sender is joining and wants the full state back        |
 *   |   members      array(n), n <= GOSSIP_PUSHPULL_MAX_MEMBERS (16,384), each:             |
 *   |     array(6)                                                                         |
 *   |       name          str  1..64 visible ASCII                                         |
 *   |       addr          bin  4 (IPv4) or 16 (IPv6) bytes                                 |
 *   |       port          uint 1..65535                                                    |
 *   |       incarnation   uint64                                                           |
 *   |       state         uint 0 alive, 1 suspect, 2 dead, 3 left                          |
 *   |       meta          bin  <= 512 bytes (proto/meta.h encoding; opaque here)           |
 *   |   digest       bin  optional, 8 x b bytes, b = 1..GOSSIP_DIGEST_MAX_BUCKETS: the      |
 *   |                sender's view summed per bucket, big-endian uint64 each (how the       |
 *   |                agent computes it: agent/membership.c, "digest")                       |
 *   +--------------------------------------------------------------------------------------+
 * As everywhere, arrays may carry extra trailing elements (a newer version's fields); they are
 * skipped. A receiver that does not know the digest skips it and answers with its full state. A
 * member is at most 1 + 66 + 18 + 3 + 9 + 1 + 515 = 613 bytes, so 16,384 members need at most
 * GOSSIP_PUSHPULL_MAX_SIZE bytes.
 *
 * Decoding is two-phase and allocation-free: gossip_pushpull_decode validates the whole payload
 * (nothing is applied from a payload that is bad anywhere), then gossip_pushpull_next walks the
 * members one at a time, as views into the payload; it cannot fail.
 */
#ifndef SWARM_PROTO_PUSHPULL_H
#define SWARM_PROTO_PUSHPULL_H

#include "proto/proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GOSSIP_PUSHPULL_MAX_MEMBERS 16384
#define GOSSIP_PUSHPULL_MEMBER_MAX_SIZE 613
#define GOSSIP_DIGEST_MAX_BUCKETS 1024
#define GOSSIP_PUSHPULL_MAX_SIZE                                                                   \
    (8 + GOSSIP_PUSHPULL_MAX_MEMBERS * GOSSIP_PUSHPULL_MEMBER_MAX_SIZE + 5 +                       \
     8 * GOSSIP_DIGEST_MAX_BUCKETS)

enum gossip_state {
    GOSSIP_STATE_ALIVE = 0,
    GOSSIP_STATE_SUSPECT = 1,
    GOSSIP_STATE_DEAD = 2,
    GOSSIP_STATE_LEFT = 3,
};

/* "alive", "suspect", "dead", "left"; "unknown" otherwise. */
const char *gossip_state_name(int state);

/* One member of the exchange; encoder input and decoder output (views into the payload). */
struct gossip_member {
    struct proto_str name;
    struct proto_addr addr;
    uint64_t incarnation;
    enum gossip_state state;
    struct proto_bytes meta;
};

/* Encodes the exchange into buf[0..cap); *len = bytes used. PROTO_ERR_INVALID (naming
 * "pushpull.members[i].field") for a bad member or more than GOSSIP_PUSHPULL_MAX_MEMBERS;
 * PROTO_ERR_NOSPACE if cap is too small (the message says how much is needed). */
int gossip_pushpull_encode(bool join, const struct gossip_member *members, size_t n, void *buf,
                           size_t cap, size_t *len, struct proto_err *err);

/* The same with a digest of buckets sums (1..GOSSIP_DIGEST_MAX_BUCKETS, else PROTO_ERR_INVALID);
 * buckets == 0: none, as gossip_pushpull_encode. */
int gossip_pushpull_encode_digest(bool join, const struct gossip_member *members, size_t n,
                                  const uint64_t *sums, size_t buckets, void *buf, size_t cap,
                                  size_t *len, struct proto_err *err);

/* A validated payload being walked. Caller-owned; points into the payload buffer. */
struct gossip_pushpull {
    bool join;
    size_t count;   /* members in the payload */
    size_t buckets; /* the digest's buckets; 0: the payload has none */
    /* private: */
    const uint8_t *next, *end;
    size_t left;
    const uint8_t *digest;
};

/* Validates the whole payload buf[0..len) — len > max_len is refused first (PROTO_ERR_RANGE),
 * then every member is checked — and readies pp to walk the members. 0 or PROTO_ERR_*. */
int gossip_pushpull_decode(const void *buf, size_t len, size_t max_len, struct gossip_pushpull *pp,
                           struct proto_err *err);

/* Stores the next member in *m and returns 1, or returns 0 after the last one. Only after a
 * successful gossip_pushpull_decode; views stay valid while the payload buffer does. */
int gossip_pushpull_next(struct gossip_pushpull *pp, struct gossip_member *m);

/* Bucket i (< pp->buckets) of a validated payload's digest. */
uint64_t gossip_pushpull_digest(const struct gossip_pushpull *pp, size_t i);

#endif
