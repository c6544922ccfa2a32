/*
 * membership — SWIM gossip membership with Lifeguard's refinements, as a pure state machine.
 *
 * No sockets, no clock, no randomness from the outside world: the caller drives it with
 *   membership_recv()      a datagram's plaintext arrived (already opened by crypto/),
 *   membership_tick()      time passed (call at membership_next_deadline() or earlier),
 *   membership_pushpull_*  a push-pull exchange over TCP (the caller owns the connection),
 * each with "now" in milliseconds of a monotonic clock, and it answers through the callbacks in
 * struct membership_io: plaintexts to send (the caller seals them), push-pulls to start, and
 * membership events. Randomness comes from a seeded generator, so a simulation with a fake
 * network and a virtual clock is deterministic (tests/unit/sim.h). agent/gossip_uv.c is the
 * libuv adapter for real UDP and TCP; the manager embeds the same module.
 *
 * Ownership: membership_new() copies everything from the config. Member records are owned by
 * the module; pointers to them (events, membership_get, membership_member_at) are valid until
 * the next call into the module. Callbacks must not call back into the module, except
 * membership_pushpull_encode/merge from a pushpull callback's own later completion.
 *
 * See membership.c for the algorithm and what it changes from the papers.
 */
#ifndef SWARM_AGENT_MEMBERSHIP_H
#define SWARM_AGENT_MEMBERSHIP_H

#include "proto/gossip.h"
#include "proto/pushpull.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Timing and fan-out. membership_config_lan() fills the LAN profile; every field is a trade:
 * shorter intervals detect failures sooner and cost more packets. */
struct membership_tuning {
    uint32_t probe_interval_ms; /* one member probed per interval (LAN 500) */
    uint32_t probe_timeout_ms;  /* wait for a direct ack before asking others (LAN 200) */
    uint32_t indirect_checks;   /* members asked to ping-req a silent target (LAN 3) */
    uint32_t suspicion_mult; /* suspicion timeout floor = mult * max(1, log10 n) * interval (3) */
    uint32_t suspicion_max_mult; /* the timeout starts at max_mult * floor, shrinks with
                                    independent confirmations (Lifeguard) (LAN 4) */
    uint32_t retransmit_mult; /* each update is piggy-backed mult * ceil(log10(n + 1)) times (4) */
    uint32_t gossip_interval_ms; /* extra gossip rounds carrying only updates (LAN 200) */
    uint32_t gossip_nodes;       /* members per gossip round (LAN 3) */
    /* Full-state sync (push-pull) with one random member (LAN 30000). Past 32 members the
     * period is multiplied by ceil(log2(n) - log2(32)) + 1, n = members listed, as memberlist's
     * pushPullScale does: x2 up to 64 members, x3 up to 128, ... x6 up to 1,024, x10 up to
     * 16,384. A push-pull carries all n members, so each node's push-pull traffic grows as
     * n / log n instead of n. The first one comes 1-2 intervals after start; and 0.3-0.6 s after
     * we first hear of another member, one extra push-pull (a newcomer's second full view, so it
     * need not wait a whole period for members its seed did not know yet). */
    uint32_t pushpull_interval_ms;
    uint32_t
        reconnect_interval_ms;  /* push-pull with one failed member, heals partitions (LAN 10000) */
    uint32_t awareness_max;     /* Lifeguard local health: probes slow down up to this factor (8) */
    uint32_t gossip_to_dead_ms; /* failed members still get gossip this long (LAN 30000) */
    uint64_t reap_ms;           /* failed and left members stay listed this long (24 h) */
};

struct membership_config {
    const char *name;       /* 1..64 visible ASCII, unique in the cluster */
    struct proto_addr addr; /* where others reach our UDP/TCP gossip port */
    const uint8_t *meta;    /* our encoded metadata (proto/meta.h), <= GOSSIP_META_MAX */
    size_t meta_len;
    uint64_t incarnation; /* starting incarnation (a restart may pass its old one + 1) */
    uint64_t seed;        /* seeds probe order and random choices */
    struct membership_tuning tuning;
};

/* Fills the LAN profile into t. */
void membership_tuning_lan(struct membership_tuning *t);

enum member_state {
    MEMBER_ALIVE = 0,
    MEMBER_SUSPECT = 1,
    MEMBER_FAILED = 2,
    MEMBER_LEFT = 3,
};

/* "alive", "suspect", "failed", "left". */
const char *member_state_name(enum member_state s);

struct member {
    char *name;    /* NUL-terminated, owned */
    uint8_t *meta; /* owned; NULL when empty */
    uint64_t incarnation;
    uint64_t state_since_ms; /* when the state last changed */
    struct proto_addr addr;
    enum member_state state;
    uint16_t meta_len;
    bool self;
    /* private: */
    uint8_t name_len;
    uint32_t bcast; /* our queued update about it: broadcast queue slot + 1, 0 = none */
    struct suspicion *suspicion;
    uint64_t conflict_reported_ms;
};

enum membership_event_kind {
    MEMBERSHIP_JOIN,     /* a new member, or a failed/left one back */
    MEMBERSHIP_UPDATE,   /* address or metadata changed */
    MEMBERSHIP_SUSPECT,  /* suspected failed; may refute */
    MEMBERSHIP_ALIVE,    /* a suspect refuted the suspicion */
    MEMBERSHIP_FAILED,   /* declared failed */
    MEMBERSHIP_LEFT,     /* left gracefully */
    MEMBERSHIP_REAPED,   /* forgotten after tuning.reap_ms */
    MEMBERSHIP_CONFLICT, /* another live node claims this name from another address */
};

struct membership_event {
    enum membership_event_kind kind;
    const struct member *member;
    struct proto_addr other; /* MEMBERSHIP_CONFLICT: the other claimant's address */
};

struct membership_io {
    void *ctx;
    /* Send this plaintext (<= GOSSIP_PLAINTEXT_BUDGET bytes) to addr as one datagram. */
    void (*send)(void *ctx, const struct proto_addr *to, const uint8_t *plain, size_t len);
    /* Start a push-pull with addr over TCP: send membership_pushpull_encode()'s payload, merge
     * the answer with membership_pushpull_merge(). join: this is a join (seed or beacon). */
    void (*pushpull)(void *ctx, const struct proto_addr *to, bool join);
    /* A member changed state. */
    void (*event)(void *ctx, const struct membership_event *ev);
};

/* Counters for `swarm members --stats` and the tests. */
struct membership_stats {
    uint64_t datagrams_in, datagrams_out, bytes_in, bytes_out;
    uint64_t bad_datagrams;    /* failed to decode */
    uint64_t unknown_messages; /* skipped: a newer version's message types */
    uint64_t misdirected_pings;
    uint64_t probes, probe_failures, indirect_probes, nacks_sent, nacks_received;
    uint64_t refutations; /* we were suspected (or declared dead) and refuted */
    uint64_t conflicts;   /* another node claimed a name from another address */
    uint64_t pushpulls_merged, bad_pushpulls;
};

struct membership;

/* Returns NULL (with err) if the config is invalid: bad name, meta too big. */
struct membership *membership_new(const struct membership_config *cfg,
                                  const struct membership_io *io, uint64_t now_ms, char *err,
                                  size_t errlen);
void membership_free(struct membership *m);

/* A datagram's plaintext from addr. Bad input is counted and dropped. */
void membership_recv(struct membership *m, uint64_t now_ms, const struct proto_addr *from,
                     const uint8_t *plain, size_t len);

/* Runs every timer due at now_ms. */
void membership_tick(struct membership *m, uint64_t now_ms);

/* When the next timer is due (absolute ms). */
uint64_t membership_next_deadline(const struct membership *m);

/* Contact a seed (or a member heard by beacon): asks io->pushpull with join = true. */
void membership_join(struct membership *m, const struct proto_addr *addr);

/* A beacon from name at addr: returns 1 if we should contact it (membership_join) — the name
 * is new, or failed or left, or known at an older incarnation — else 0. Calls nothing; the
 * caller delays the contact by a random jitter and asks again then, so that members hearing
 * one beacon together do not all push-pull with it (gossip tells the rest). A beacon with our
 * own name from another address is reported as a name conflict. */
int membership_beacon_wanted(struct membership *m, uint64_t now_ms, const char *name,
                             size_t name_len, const struct proto_addr *addr, uint64_t incarnation);

/*
 * Push-pull, over a connection the caller owns: the side that starts it sends
 * membership_pushpull_encode()'s payload; the other side merges it (membership_pushpull_merge,
 * which says what was asked) and sends membership_pushpull_answer()'s payload back, which the
 * first side merges. A join exchanges full states both ways. A periodic sync (join false)
 * sends our own entry and a digest of our view (proto/pushpull.h), and is answered with the
 * members of the buckets that differ: a pull, which keeps a sync between agreeing members at a
 * few hundred bytes whatever the cluster's size.
 */
#define MEMBERSHIP_DIGEST_BUCKETS 64

/* What a peer's push-pull asked for. */
struct membership_pushpull_ask {
    bool join;   /* the peer is joining: answer with our full state */
    bool digest; /* the peer sent a digest we read: answer with the buckets that differ */
    uint64_t sums[MEMBERSHIP_DIGEST_BUCKETS];
};

/* The payload that starts a push-pull into buf[0..cap) (*len). 0 or a PROTO_ERR_* code. */
int membership_pushpull_encode(struct membership *m, bool join, uint8_t *buf, size_t cap,
                               size_t *len);
/* Merges a peer's push-pull payload. Returns 0, or -1 if it was invalid (counted, nothing
 * applied). *ask (may be NULL) is filled for membership_pushpull_answer. */
int membership_pushpull_merge(struct membership *m, uint64_t now_ms, const uint8_t *buf, size_t len,
                              struct membership_pushpull_ask *ask);
/* The answer to a merged push-pull: our full state (ask NULL, a join, or no digest), else our
 * members in the buckets where our digest differs from ask's. 0 or a PROTO_ERR_* code. */
int membership_pushpull_answer(struct membership *m, const struct membership_pushpull_ask *ask,
                               uint8_t *buf, size_t cap, size_t *len);

/* New metadata for ourselves: bumps our incarnation and gossips it. -1 if too big. */
int membership_set_meta(struct membership *m, uint64_t now_ms, const uint8_t *meta, size_t len);

/* Graceful leave: marks us left and sends the leave to up to `fanout` live members at once
 * (it also rides on any later datagram). */
void membership_leave(struct membership *m, uint64_t now_ms, unsigned fanout);

/* The members, ourselves included, in no particular order: index 0..count-1. */
size_t membership_count(const struct membership *m);
const struct member *membership_member_at(const struct membership *m, size_t i);
const struct member *membership_get(const struct membership *m, const char *name);
const struct member *membership_self(const struct membership *m);

/* Members in each state, ourselves included. */
size_t membership_count_state(const struct membership *m, enum member_state s);

const struct membership_stats *membership_stats(const struct membership *m);

/* Lifeguard's local health score: 0 healthy .. awareness_max - 1. */
unsigned membership_health(const struct membership *m);

#endif
