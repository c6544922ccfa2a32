/*
 * gossip — the SWIM + Lifeguard messages and the compound datagram that carries them.
 *
 * One UDP datagram = the crypto envelope (crypto/, 44 bytes) around this plaintext:
 *
 *   +--------------------------------------------------------------------------------------+
 *   | array(1 + k)                             fixarray, or array16 when 1 + k > 15         |
 *   |   version        uint  = PROTO_WIRE_VERSION (1); any other value: whole datagram      |
 *   |                         rejected, "unsupported protocol version N (this build ...)"   |
 *   |   message 1      the probe, if any (ping, ping-req, ack or nack)                       |
 *   |   message 2..k   piggy-backed updates (alive, suspect, dead, leave), priority order   |
 *   +--------------------------------------------------------------------------------------+
 *   plaintext <= GOSSIP_PLAINTEXT_BUDGET = 1400 - 44 = 1356 bytes, so the sealed datagram is
 *   <= 1400 bytes (no IP fragmentation on a 1500-byte MTU, with room for tunnels).
 *
 * Every message is an array whose first element is its type; its fields follow in this order.
 * A message may carry more elements than listed (fields a newer version appended): they are
 * skipped. A message of a type this build does not know is skipped whole and counted.
 *
 *   type          fields (msgpack type, bound)
 *   1 ping        seq (uint32), target (name), source (name), source_addr (bin 4|16),
 *                 source_port (uint16 > 0)
 *   2 ping-req    seq (uint32), target (name), target_addr (bin 4|16), target_port (uint16 > 0),
 *                 source (name), source_addr (bin 4|16), source_port (uint16 > 0), nack (bool)
 *   3 ack         seq (uint32)
 *   4 nack        seq (uint32)
 *   5 alive       incarnation (uint64), name (name), addr (bin 4|16), port (uint16 > 0),
 *                 meta (bin <= 512, a meta_encode()d map; opaque here)
 *   6 suspect     incarnation (uint64), name (name), from (name)
 *   7 dead        incarnation (uint64), name (name), from (name)
 *   8 leave       incarnation (uint64), name (name)
 *   name = str of 1..64 visible-ASCII bytes (proto_name_check).
 *
 * Why these fields: ping names its target so a node that took over an address can refuse a
 * ping meant for the previous owner; ping and ping-req name their source (name, addr, port)
 * so the answer can go straight back, even across address translation; a ping-req helper
 * relays the target's ack to the source with the source's seq, and sends a nack when asked
 * (Lifeguard) if the target stays silent; suspect and dead name who says so, so Lifeguard can
 * count independent confirmations; leave is distinct from dead so "left" is never "failed".
 *
 * Size: ack/nack 3..7 bytes; ping 14 + names; ping-req 24 + names (+12 per IPv6 address);
 * alive 15 + name + meta (at most 613 bytes); suspect/dead 5 + names; leave 4 + name.
 */
#ifndef SWARM_PROTO_GOSSIP_H
#define SWARM_PROTO_GOSSIP_H

#include "proto/proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GOSSIP_SEALED_MAX 1400      /* a sealed datagram never exceeds this */
#define GOSSIP_ENVELOPE_OVERHEAD 44 /* magic 2 + version 1 + key id 1 + nonce 24 + tag 16 */
#define GOSSIP_PLAINTEXT_BUDGET (GOSSIP_SEALED_MAX - GOSSIP_ENVELOPE_OVERHEAD) /* 1356 */
#define GOSSIP_META_MAX 512          /* alive.meta bound; equals META_MAX_SIZE */
#define GOSSIP_DATAGRAM_MAX_MSGS 256 /* messages of known types one datagram may carry */
#define GOSSIP_MSG_MIN_SIZE 3        /* the smallest message, [3, seq] with seq < 128 */

enum gossip_type {
    GOSSIP_PING = 1,
    GOSSIP_PING_REQ = 2,
    GOSSIP_ACK = 3,
    GOSSIP_NACK = 4,
    GOSSIP_ALIVE = 5,
    GOSSIP_SUSPECT = 6,
    GOSSIP_DEAD = 7,
    GOSSIP_LEAVE = 8,
};

/* "ping", "ping-req", ...; "unknown" for anything else. */
const char *gossip_type_name(int type);

/* A member as a message names it: its name and where it listens. */
struct gossip_peer {
    struct proto_str name;
    struct proto_addr addr; /* addr.port is the gossip port */
};

struct gossip_ping {
    uint32_t seq;
    struct proto_str target; /* who the sender believes listens at the address it sent to */
    struct gossip_peer source;
};

struct gossip_ping_req {
    uint32_t seq;
    struct gossip_peer target;
    struct gossip_peer source; /* the member that asks, and gets the ack or nack */
    bool nack;                 /* Lifeguard: send a nack if the target does not answer */
};

struct gossip_ack {
    uint32_t seq;
};

struct gossip_alive {
    uint64_t incarnation;
    struct gossip_peer node;
    struct proto_bytes meta; /* <= GOSSIP_META_MAX bytes, see proto/meta.h; may be empty */
};

struct gossip_suspect { /* also dead */
    uint64_t incarnation;
    struct proto_str name;
    struct proto_str from;
};

struct gossip_leave {
    uint64_t incarnation;
    struct proto_str name;
};

/* One message, encoder input and decoder output alike. Decoded names and meta are views into
 * the datagram buffer (proto.h). */
struct gossip_msg {
    enum gossip_type type;
    union {
        struct gossip_ping ping;
        struct gossip_ping_req ping_req;
        struct gossip_ack ack;  /* GOSSIP_ACK */
        struct gossip_ack nack; /* GOSSIP_NACK */
        struct gossip_alive alive;
        struct gossip_suspect suspect; /* GOSSIP_SUSPECT */
        struct gossip_suspect dead;    /* GOSSIP_DEAD */
        struct gossip_leave leave;
    } u;
};

/* Encodes one message alone (no datagram header) into buf[0..cap); *len = bytes used. Fails
 * with PROTO_ERR_INVALID (naming the field) if a value breaks the bounds above, or
 * PROTO_ERR_NOSPACE. Useful to size or pre-encode updates. */
int gossip_msg_encode(const struct gossip_msg *m, void *buf, size_t cap, size_t *len,
                      struct proto_err *err);

/* Bytes gossip_msg_encode produces for m (which must be valid), computed without encoding.
 * The datagram encoder uses it to skip updates that do not fit without packing them. */
size_t gossip_msg_size(const struct gossip_msg *m);

/*
 * Builds one datagram plaintext in buf[0..budget) (buf must hold budget bytes; pass
 * GOSSIP_PLAINTEXT_BUDGET for the standard datagram).
 *
 * probe (may be NULL) goes first; it must fit, else PROTO_ERR_NOSPACE. Then updates[0..n) are
 * tried in the caller's priority order: each one that fits in what is left of the budget is
 * appended, one that does not is skipped and the next (possibly smaller) ones are still tried,
 * until the budget or GOSSIP_DATAGRAM_MAX_MSGS is reached. If included is not NULL,
 * included[i] is set to 1 for each update carried and 0 otherwise, so the membership layer can
 * count retransmissions. The result never exceeds budget bytes.
 *
 * Returns the number of updates carried (>= 0) and sets *len, or a negative PROTO_ERR_* code:
 * PROTO_ERR_INVALID if the probe or an update it examines breaks a bound (the message says
 * which, e.g. "updates[2]: alive.name: invalid name: empty"; updates after the budget ran out
 * are not examined), or PROTO_ERR_NOSPACE if not even the header and the probe fit. Cost: each
 * update that does not fit is sized arithmetically (gossip_msg_size), never packed.
 */
int gossip_datagram_encode(void *buf, size_t budget, const struct gossip_msg *probe,
                           const struct gossip_msg *updates, size_t n, uint8_t *included,
                           size_t *len, struct proto_err *err);

/*
 * Decodes a datagram plaintext into msgs[0..max) in wire order, without allocating. Returns 0
 * and sets *count (messages decoded) and *unknown (messages of unknown types skipped, may be
 * NULL), or a negative PROTO_ERR_* with err naming the field. All or nothing: on error no
 * message may be used. Names and meta in msgs point into buf: keep buf unchanged while using
 * them. More than max known messages is an error (PROTO_ERR_RANGE); pass
 * GOSSIP_DATAGRAM_MAX_MSGS to accept anything our encoder makes.
 */
int gossip_datagram_decode(const void *buf, size_t len, struct gossip_msg *msgs, size_t max,
                           size_t *count, size_t *unknown, struct proto_err *err);

/* 1 if the two messages carry the same values (views compared by content). For tests and
 * fuzzers. */
bool gossip_msg_equal(const struct gossip_msg *a, const struct gossip_msg *b);

#endif
