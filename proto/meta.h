/*
 * meta — what a member advertises about itself: role, engine identity and size, platform,
 * labels, relay port and public key. Carried opaque (a bin) inside gossip alive messages and
 * push-pull members, so membership stores and forwards it without decoding it; the manager
 * decodes it to build its view of the engines.
 *
 * Encoding: one msgpack map with small integer keys (1 byte each), in ascending key order;
 * optional fields that are empty or zero are left out. Decoders accept the keys in any order,
 * skip keys they do not know (a newer version's fields), and refuse a key given twice.
 *
 *   key  field         msgpack type            bound / meaning
 *   1    role          uint                    0 agent, 1 manager (required)
 *   2    engine_id     str                     <= 64, text (Docker's /info ID)
 *   3    engine_name   str                     <= 64, text (Docker's /info Name)
 *   4    cpus          uint                    <= 2^32-1 (NCPU)
 *   5    memory        uint                    bytes (MemTotal)
 *   6    os            str                     <= 64, text (OperatingSystem)
 *   7    arch          str                     <= 32, text (Architecture)
 *   8    kernel        str                     <= 64, text (KernelVersion)
 *   9    api_version   str                     <= 16, text (engine API version, "1.43")
 *   10   labels        map str -> str          <= 64 pairs; key 1..128 text without '=',
 *                                              value <= 256 text; keys unique
 *   11   relay_port    uint                    1..65535
 *   12   pubkey        bin                     exactly 32 bytes (the agent's X25519 key)
 *   13   relay_hs      uint                    <= 255: the highest relay handshake version the
 *                                              agent accepts (crypto/handshake.h); absent: 1
 *   text = UTF-8 without control characters (proto_text_check).
 *
 * The whole map is at most META_MAX_SIZE = 512 bytes. Without labels the largest possible
 * encoding is about 380 bytes, so the bound is in practice a bound on labels: meta_encode
 * fails with PROTO_ERR_TOO_BIG and a message saying how many bytes over, which the agent shows
 * when it refuses to start.
 */
#ifndef SWARM_PROTO_META_H
#define SWARM_PROTO_META_H

#include "proto/proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define META_MAX_SIZE 512
#define META_MAX_LABELS 64
#define META_PUBKEY_LEN 32
#define META_STR_MAX 64 /* engine_id, engine_name, os, kernel */
#define META_ARCH_MAX 32
#define META_API_MAX 16
#define META_LABEL_KEY_MAX 128
#define META_LABEL_VALUE_MAX 256

enum meta_role {
    META_ROLE_AGENT = 0,
    META_ROLE_MANAGER = 1,
};

struct meta_label {
    struct proto_str key;
    struct proto_str value;
};

/* Encoder input and decoder output. The decoder fills the views with pointers into the
 * encoded bytes (keep them unchanged while using the struct) and copies numbers and the public
 * key. Absent fields decode as empty views / 0 / has_pubkey = false. */
struct meta {
    enum meta_role role;
    struct proto_str engine_id;
    struct proto_str engine_name;
    uint32_t cpus;
    uint64_t memory;
    struct proto_str os;
    struct proto_str arch;
    struct proto_str kernel;
    struct proto_str api_version;
    size_t nlabels;
    struct meta_label labels[META_MAX_LABELS];
    uint16_t relay_port; /* 0: none */
    bool has_pubkey;
    uint8_t pubkey[META_PUBKEY_LEN];
    uint8_t relay_hs; /* 0: absent (an agent that speaks relay handshake version 1 only) */
};

/* "agent" / "manager" / "unknown". */
const char *meta_role_name(int role);

/*
 * Encodes m into buf[0..cap), cap >= META_MAX_SIZE recommended; *len = bytes used.
 *   PROTO_ERR_TOO_BIG   the encoding is over META_MAX_SIZE (or there are more than
 *                       META_MAX_LABELS labels); err->msg says by how many bytes, e.g.
 *                       "metadata: labels do not fit: 549 bytes encoded, 37 over the
 *                       512-byte limit (labels take 190 bytes)"
 *   PROTO_ERR_INVALID   a field breaks its bound or character rule (named in err->msg)
 *   PROTO_ERR_NOSPACE   it fits META_MAX_SIZE but not cap
 */
int meta_encode(const struct meta *m, void *buf, size_t cap, size_t *len, struct proto_err *err);

/* Decodes buf[0..len) into *m (views into buf). 0 or PROTO_ERR_* naming the field. */
int meta_decode(const void *buf, size_t len, struct meta *m, struct proto_err *err);

/* Finds a label by key; returns 1 and sets *value, or 0. */
int meta_label_get(const struct meta *m, const char *key, struct proto_str *value);

/* 1 if both carry the same values (views compared by content). */
bool meta_equal(const struct meta *a, const struct meta *b);

#endif
