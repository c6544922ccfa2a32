/*
 * membership — SWIM (Das, Gupta, Motivala 2002) with Lifeguard (Dadgar et al. 2018).
 *
 * Failure detection. Every probe interval a member pings the next member of a shuffled
 * round-robin list (each member is probed within one round, which bounds detection time). No
 * ack within the probe timeout: it asks `indirect_checks` other members to ping the target for
 * it (ping-req). Still nothing by the end of the interval: the target becomes suspect, and the
 * suspicion is gossiped. A suspect that hears of it refutes by gossiping alive with a higher
 * incarnation; otherwise each member that holds the suspicion declares the target failed when
 * its suspicion timer expires, and gossips that.
 *
 * Dissemination. Updates (alive, suspect, dead, leave) wait in a broadcast queue, one entry per
 * member (a newer update replaces an older one), and ride piggy-back on every datagram we send
 * — pings, acks, ping-reqs — plus a gossip round to `gossip_nodes` random members every gossip
 * interval, and at once (at most every EAGER_GOSSIP_MS) when news is queued. Each is sent
 * retransmit_mult * ceil(log10(n + 1)) times, least-sent first. A periodic push-pull (over TCP,
 * done by the caller) with one random member repairs whatever gossip missed. It is a sync: our
 * own entry and a digest of our view go out, and the members of the buckets that differ come
 * back (see "digest"), so it costs a few hundred bytes whatever n is, where a full-state exchange
 * costs n entries; its period still grows with log2 n past 32 members, as memberlist's does
 * (membership.h). Joins exchange full states. One extra full exchange, 0.3-0.6 s (jittered) after
 * we first hear of another member, gives a newcomer a second full view: its seed's may have been
 * partial (the seed was joining too), and the news spread before the others knew the newcomer
 * never reaches it by gossip (nobody picks it as a target yet, and each update is sent a bounded
 * number of times), so it would otherwise wait a whole period, minutes in a large cluster. Agents
 * started together are each other's newcomers, and each gossips its engine's metadata tens of
 * ms after its start: the sooner that exchange, the sooner every view is whole (a 1-2 s delay
 * left some views without a member's metadata, or a member, for that long). A push-pull with a
 * random *failed* member every reconnect interval heals a partition once it is gone (as serf's
 * reconnect does; plain SWIM never talks to a member it declared dead, so two halves of a healed
 * partition would stay apart).
 *
 * Lifeguard, three changes:
 *  - Local health awareness: a member that misses acks and nacks it should have had is probably
 *    the slow one (CPU starved, lossy link). Its score (0..awareness_max-1) goes up by the number
 *    of missing nacks on a failed probe (1 if it asked nobody) and when it must refute a
 *    suspicion of itself, and down by one for each successful probe; the probe interval and
 *    timeout are multiplied by score + 1, so a sick member suspects others less eagerly.
 *  - Nacks: a ping-req helper answers "nack" if the target stays silent, so the asker can tell
 *    "target down" (nacks arrive) from "I am cut off" (nothing arrives).
 *  - Dynamic suspicion timeout: it starts at suspicion_max_mult times the floor and shrinks, as
 *    independent members confirm the suspicion, toward the floor
 *    (timeout = max - (max - min) * log(c + 1) / log(k + 1), k = suspicion_mult - 2 confirmations
 *    wanted). The buddy system: a ping to a suspect carries the suspicion first, so the suspect
 *    learns of it at once and can refute.
 *
 * Changes from the papers and from memberlist:
 *  - A ping names its target; a member ignores a ping meant for another name (its address was
 *    reused), so a restarted host cannot answer for a dead one.
 *  - Name conflicts (two live members, one name, two addresses) are never merged: the first
 *    address stays, each side reports the other (rate-limited), and the entry is only reclaimed
 *    from another address once it has failed or left.
 *  - Failed and left members stay listed (for `swarm members`) until reap_ms, and failed ones
 *    are retried by the reconnect push-pull.
 *  - Leave is its own message (not dead-from-self), so "left" is never shown as "failed".
 *
 * Scale: every node lists every member, so the cluster holds n^2 records; the work per update
 * must not grow with n. A member costs a node ~110 bytes: its 80-byte record, its name (packed
 * in shared chunks), a hash slot and a probe-order slot. The broadcast queue holds 40-byte
 * references to members, not copies (the message is encoded from the record when a datagram is
 * built), kept in the order they go out: queuing and using up an update cost O(1), replacing
 * one O(log q) plus a shift; a datagram reads the first updates that fit, stops once nothing
 * queued is small enough for the space left, and moves those it carried on at about O(1) each.
 * The queue's memory shrinks as it drains. Timers that would scan every member (suspicion expiry,
 * reaping) keep a lower bound of their next deadline and scan only once it passes; random picks
 * draw members at random rather than scan the table.
 *
 * Everything is driven by now_ms arguments; there is no clock here.
 */
#include "agent/membership.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PENDING_MAX 64    /* ack handlers in flight (own probe + ping-req relays) */
#define SUSPICION_K_MAX 8 /* confirmations tracked per suspicion */
#define BCAST_MAX 4096    /* queued updates; when full, the most-sent, oldest one is dropped */
#define BCAST_MIN_CAP 16  /* the queue's array never shrinks below this many entries */
/* The queue counts its entries by encoded size, to know when nothing queued can fit what is
 * left of a datagram. Every update encodes to less than this (alive with the largest name,
 * address and metadata: 612 bytes); a larger one would count in the last bucket. */
#define BCAST_SIZES 640
#define NAME_CHUNK_MAX 4096 /* member names are stored in chunks of up to this many bytes */
#define CONFLICT_REPORT_MS 30000
#define REAP_CHECK_MS 1000
/* News is gossiped at once (not at the next gossip interval), but no more than one round per
 * EAGER_GOSSIP_MS: a burst of changes spreads in a few hops of network latency. */
#define EAGER_GOSSIP_MS 20
/* The first time we hear of another member, one extra push-pull follows after JOIN_SYNC_MS plus
 * up to as much again of jitter (see the top of this file). */
#define JOIN_SYNC_MS 300
/* Buckets of a sync's digest (see "digest"): 64 sums, 512 bytes. */
#define DIGEST_BUCKETS MEMBERSHIP_DIGEST_BUCKETS
#define DIGEST_BUCKET_BITS 6

struct suspicion {
    uint64_t start_ms, min_ms, max_ms, deadline_ms;
    uint32_t k, n;
    char confirmers[SUSPICION_K_MAX][PROTO_NAME_MAX + 1];
    char from[PROTO_NAME_MAX + 1]; /* the source the queued suspect update names */
};

/*
 * A queued update: a reference to the member it is about and the kind of message. The message
 * itself is encoded from the member's record when a datagram is built: every change to a
 * record queues a new update about it (replacing this one), so the record always says what the
 * update said. Updates sit in slots, membership.bq[0..bq_len), dense (a removal moves the last
 * slot into the hole) and stable otherwise, so that a member can point at its own.
 */
struct bcast {
    uint64_t id;        /* queue order: higher is newer */
    uint32_t member;    /* index in membership.members */
    uint32_t transmits; /* datagrams that carried it */
    uint16_t size;      /* encoded size (gossip_msg_size); fixed while queued */
    uint8_t type;       /* enum gossip_type: alive, suspect, dead or leave */
};

/*
 * The order updates go out in: least-sent first, newest first among equals. Updates carried t
 * times so far form tier t, a ring buffer of keys sorted newest first (membership.tiers[t]),
 * so that the order is tier 0 front to back, then tier 1, and so on; the most-sent, oldest
 * update is the back of the highest tier. A new update goes in front of tier 0; a datagram
 * reads keys from there on (the key carries what the packing needs), and the updates it
 * carried leave their tier and go in front of the next one (newer than almost all there, so
 * this costs about the number carried); a replaced update is found by binary search.
 */
_Static_assert(BCAST_MAX <= 65536, "queue keys hold slot numbers in 16 bits");
_Static_assert(DIGEST_BUCKETS == 1 << DIGEST_BUCKET_BITS, "buckets by the hash's top bits");
struct bcast_key {
    uint64_t id;
    uint16_t slot; /* index in membership.bq (< BCAST_MAX) */
    uint16_t size; /* bq[slot].size */
};

struct bcast_tier {
    struct bcast_key *k;
    uint32_t head, len, cap; /* cap: 0 or a power of two */
};

/* Member names are packed into chunks (a name never spans two) rather than one malloc block
 * each: ~10 bytes for a short name instead of 32. Reaped names stay behind as garbage until it
 * outweighs the live names; then reap() copies the live ones into one fresh chunk. */
struct name_chunk {
    struct name_chunk *next;
    size_t used, cap;
    char data[];
};

enum pending_kind { PENDING_FREE = 0, PENDING_PROBE, PENDING_RELAY };

struct pending {
    enum pending_kind kind;
    uint32_t seq;
    uint64_t deadline_ms;
    /* PENDING_RELAY: answer the asker */
    struct proto_addr reply_to;
    uint32_t reply_seq;
    bool nack;
};

struct probe {
    bool active;
    char target[PROTO_NAME_MAX + 1];
    uint32_t seq;
    bool indirect_sent;
    uint32_t expected_nacks, nacks;
    uint64_t timeout_ms, end_ms;
};

struct membership {
    struct membership_tuning t;
    struct membership_io io;
    uint64_t rng;
    char self_name[PROTO_NAME_MAX + 1];

    /* The members; ourselves at index 0 (added first, never reaped, and reaping keeps the
     * order). Indices change only when reap() compacts the array. */
    struct member *members;
    size_t count, cap;
    uint32_t *slots; /* name hash → index + 1; 0 = empty */
    size_t nslots;
    uint32_t *order; /* probe order: member indices */
    size_t order_len, probe_pos;
    size_t nstate[MEMBER_LEFT + 1]; /* members in each state */
    struct name_chunk *names;       /* where member names live; the newest chunk first */
    size_t names_live, names_dead;  /* bytes of names in use, and of reaped ones */
    /* Lower bounds, so that timers do not scan every member: no suspicion expires before
     * suspect_due, no failed or left member is due to be reaped before reap_due. Each is exact
     * after the scan that passes it. */
    uint64_t suspect_due, reap_due;

    struct probe probe;
    struct pending pending[PENDING_MAX];
    size_t nrelays; /* pending[] entries of kind PENDING_RELAY: timers scan them only if any */
    uint32_t seq;
    unsigned awareness;
    bool left;

    /* The broadcast queue: slots (struct bcast) and their order (struct bcast_key). Each
     * member with a queued update points at its slot (member.bcast). */
    struct bcast *bq;
    size_t bq_len, bq_cap; /* grows to BCAST_MAX, shrinks as it drains */
    struct bcast_tier *tiers;
    size_t ntiers;
    uint64_t bq_id;
    uint16_t *bq_sizes;    /* [BCAST_SIZES]: queued entries by encoded size */
    size_t bq_min_size;    /* the smallest size counted there; BCAST_SIZES when empty */
    struct gossip_msg *tx; /* one datagram's updates, built from the queue when sending */
    size_t tx_cap;

    uint64_t next_probe, next_gossip, next_pushpull, next_reconnect, next_reap;
    uint64_t next_join_sync; /* UINT64_MAX: not armed, or done */
    bool join_sync_armed;
    uint64_t last_gossip;

    struct membership_stats st;
    uint8_t sendbuf[GOSSIP_PLAINTEXT_BUDGET];
    struct gossip_msg rx[GOSSIP_DATAGRAM_MAX_MSGS];
};

/* ---- small helpers ---------------------------------------------------------------------- */

void membership_tuning_lan(struct membership_tuning *t)
{
    *t = (struct membership_tuning){
        .probe_interval_ms = 500,
        .probe_timeout_ms = 200,
        .indirect_checks = 3,
        .suspicion_mult = 3,
        .suspicion_max_mult = 4,
        .retransmit_mult = 4,
        .gossip_interval_ms = 200,
        .gossip_nodes = 3,
        .pushpull_interval_ms = 30000,
        .reconnect_interval_ms = 10000,
        .awareness_max = 8,
        .gossip_to_dead_ms = 30000,
        .reap_ms = 24ULL * 3600 * 1000,
    };
}

const char *member_state_name(enum member_state s)
{
    switch (s) {
    case MEMBER_ALIVE:
        return "alive";
    case MEMBER_SUSPECT:
        return "suspect";
    case MEMBER_FAILED:
        return "failed";
    case MEMBER_LEFT:
        return "left";
    }
    return "unknown";
}

/* splitmix64's output function. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* splitmix64: small, fast, good enough for shuffles and peer choice. */
static uint64_t rnd(struct membership *m)
{
    return mix64(m->rng += 0x9e3779b97f4a7c15ULL);
}

static size_t rnd_below(struct membership *m, size_t n)
{
    return n ? (size_t)(rnd(m) % n) : 0;
}

static uint64_t hash_name(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211ULL;
    return h;
}

static struct member *find(const struct membership *m, const char *name, size_t len)
{
    if (len > PROTO_NAME_MAX)
        return NULL;
    size_t mask = m->nslots - 1;
    for (size_t i = hash_name(name, len) & mask;; i = (i + 1) & mask) {
        uint32_t s = m->slots[i];
        if (s == 0)
            return NULL;
        struct member *x = &m->members[s - 1];
        if (x->name_len == len && memcmp(x->name, name, len) == 0)
            return x;
    }
}

static struct member *find_str(const struct membership *m, struct proto_str s)
{
    return find(m, s.ptr, s.len);
}

static struct member *self(const struct membership *m)
{
    return &m->members[0];
}

static int rehash(struct membership *m, size_t want)
{
    size_t n = 16;
    while (n < want * 2)
        n *= 2;
    uint32_t *slots = calloc(n, sizeof(*slots));
    if (slots == NULL)
        return -1;
    free(m->slots);
    m->slots = slots;
    m->nslots = n;
    for (size_t i = 0; i < m->count; i++) {
        const struct member *x = &m->members[i];
        size_t j = hash_name(x->name, x->name_len) & (n - 1);
        while (slots[j] != 0)
            j = (j + 1) & (n - 1);
        slots[j] = (uint32_t)i + 1;
    }
    return 0;
}

/* A copy of name[0..len) with a NUL, in the newest name chunk (a new one when it is full:
 * twice the last one's size, up to NAME_CHUNK_MAX). */
static char *name_store(struct membership *m, const char *name, size_t len)
{
    struct name_chunk *c = m->names;
    if (c == NULL || c->cap - c->used < len + 1) {
        size_t cap = c == NULL ? 256 : c->cap >= NAME_CHUNK_MAX / 2 ? NAME_CHUNK_MAX : c->cap * 2;
        if (cap < len + 1)
            cap = len + 1;
        c = malloc(sizeof(*c) + cap);
        if (c == NULL)
            return NULL;
        c->next = m->names;
        c->used = 0;
        c->cap = cap;
        m->names = c;
    }
    char *p = c->data + c->used;
    memcpy(p, name, len);
    p[len] = '\0';
    c->used += len + 1;
    m->names_live += len + 1;
    return p;
}

static void names_free(struct name_chunk *c)
{
    while (c) {
        struct name_chunk *next = c->next;
        free(c);
        c = next;
    }
}

/* Once reaped names outweigh live ones: copies the live names into one chunk of their exact
 * size and frees the old chunks (the next name starts a new chunk). */
static void names_compact(struct membership *m)
{
    if (m->names_dead <= m->names_live)
        return;
    struct name_chunk *c = malloc(sizeof(*c) + m->names_live);
    if (c == NULL)
        return;
    c->next = NULL;
    c->used = 0;
    c->cap = m->names_live;
    for (size_t i = 0; i < m->count; i++) {
        struct member *x = &m->members[i];
        memcpy(c->data + c->used, x->name, (size_t)x->name_len + 1);
        x->name = c->data + c->used;
        c->used += (size_t)x->name_len + 1;
    }
    names_free(m->names);
    m->names = c;
    m->names_dead = 0;
}

static size_t alive_count(const struct membership *m)
{
    return m->nstate[MEMBER_ALIVE] + m->nstate[MEMBER_SUSPECT];
}

static void emit(struct membership *m, enum membership_event_kind kind, const struct member *x,
                 const struct proto_addr *other)
{
    if (m->io.event == NULL)
        return;
    struct membership_event ev = {.kind = kind, .member = x};
    if (other)
        ev.other = *other;
    m->io.event(m->io.ctx, &ev);
}

static void set_state(struct membership *m, struct member *x, enum member_state s, uint64_t now)
{
    m->nstate[x->state]--;
    m->nstate[s]++;
    if (s != MEMBER_SUSPECT) {
        free(x->suspicion);
        x->suspicion = NULL;
    }
    if (m->nstate[MEMBER_SUSPECT] == 0)
        m->suspect_due = UINT64_MAX;
    if (x->state != s)
        x->state_since_ms = now;
    x->state = s;
    if ((s == MEMBER_FAILED || s == MEMBER_LEFT) && !x->self &&
        x->state_since_ms + m->t.reap_ms < m->reap_due)
        m->reap_due = x->state_since_ms + m->t.reap_ms;
}

static int set_meta(struct member *x, const uint8_t *meta, size_t len)
{
    if (len == x->meta_len && (len == 0 || memcmp(x->meta, meta, len) == 0))
        return 0;
    uint8_t *copy = NULL;
    if (len > 0) {
        copy = malloc(len);
        if (copy == NULL)
            return 0;
        memcpy(copy, meta, len);
    }
    free(x->meta);
    x->meta = copy;
    x->meta_len = (uint16_t)len;
    return 1;
}

static struct member *add_member(struct membership *m, struct proto_str name,
                                 const struct proto_addr *addr, uint64_t inc, uint64_t now)
{
    if (m->count == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        struct member *mem = realloc(m->members, cap * sizeof(*mem));
        if (mem == NULL)
            return NULL;
        m->members = mem;
        uint32_t *order = realloc(m->order, cap * sizeof(*order));
        if (order == NULL)
            return NULL;
        m->order = order;
        m->cap = cap;
    }
    char *copy = name_store(m, name.ptr, name.len);
    if (copy == NULL)
        return NULL;
    struct member *x = &m->members[m->count];
    memset(x, 0, sizeof(*x));
    x->name = copy;
    x->name_len = (uint8_t)name.len;
    x->addr = *addr;
    x->incarnation = inc;
    x->state = MEMBER_ALIVE;
    x->state_since_ms = now;
    m->count++;
    if (m->count * 2 > m->nslots) {
        if (rehash(m, m->count) < 0) {
            m->count--;
            m->names_live -= name.len + 1;
            m->names_dead += name.len + 1;
            return NULL;
        }
    } else {
        size_t mask = m->nslots - 1;
        size_t j = hash_name(x->name, name.len) & mask;
        while (m->slots[j] != 0)
            j = (j + 1) & mask;
        m->slots[j] = (uint32_t)m->count; /* index + 1 */
    }
    m->nstate[MEMBER_ALIVE]++;
    /* Into the probe order at a random place not yet probed this round. */
    size_t at = m->probe_pos + rnd_below(m, m->order_len - m->probe_pos + 1);
    if (at < m->order_len)
        m->order[m->order_len] = m->order[at];
    else
        at = m->order_len;
    m->order[at] = (uint32_t)(m->count - 1);
    m->order_len++;
    return x;
}

/* ---- logarithms ------------------------------------------------------------------------------
 * The few this module needs, computed here: libm's would make every agent map libm (some 300 KB
 * of resident memory) for three calls. */

/* ceil(log10(x)) for x >= 1: the least k with 10^k >= x. */
static uint32_t ceil_log10(uint64_t x)
{
    uint32_t k = 0;
    for (uint64_t p = 1; p < x && p <= UINT64_MAX / 10; p *= 10)
        k++;
    return k;
}

/* ceil(log2(x)) for x >= 1. */
static uint32_t ceil_log2(uint64_t x)
{
    uint32_t k = 0;
    while (k < 64 && ((uint64_t)1 << k) < x)
        k++;
    return k;
}

/* The natural logarithm of x > 0: x = m * 2^e with m in [0.707, 1.414) (halving and doubling
 * are exact), then ln m = 2 * atanh(z), z = (m - 1) / (m + 1), |z| <= 0.172, whose series has
 * converged to double precision well within 20 terms. */
static double ln(double x)
{
    if (!(x > 0 && x < 1e300)) /* never here: counts, 1 and up */
        return 0;
    int e = 0;
    double m = x;
    while (m >= 1.41421356237309504880) {
        m /= 2;
        e++;
    }
    while (m < 0.70710678118654752440) {
        m *= 2;
        e--;
    }
    double z = (m - 1) / (m + 1), z2 = z * z, term = z, sum = 0;
    for (int i = 1; i < 40; i += 2) {
        sum += term / i;
        term *= z2;
    }
    return 2 * sum + e * 0.69314718055994530942;
}

/* ---- broadcast queue -------------------------------------------------------------------- */

static uint32_t retransmit_limit(const struct membership *m)
{
    uint32_t scale = ceil_log10((uint64_t)m->count + 1);
    return m->t.retransmit_mult * (scale ? scale : 1);
}

/* The key at position p of tier r. */
static struct bcast_key *tier_at(const struct bcast_tier *r, size_t p)
{
    return &r->k[(r->head + p) & (r->cap - 1)];
}

/* The first position in tier r whose id is not newer than id: where id is, if it is there. */
static size_t tier_find(const struct bcast_tier *r, uint64_t id)
{
    size_t lo = 0, hi = r->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tier_at(r, mid)->id > id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Resizes tier r's ring for len keys: doubled when they do not fit, halved while they would
 * fill a quarter of it (not below 4 keys). -1 if more room was needed and none could be had. */
static int tier_fit(struct bcast_tier *r, size_t len)
{
    size_t cap = r->cap;
    if (len > cap) {
        cap = cap ? cap * 2 : 4;
        while (cap < len)
            cap *= 2;
    } else {
        while (cap > 4 && len <= cap / 4)
            cap /= 2;
        if (cap == r->cap)
            return 0;
    }
    struct bcast_key *k = malloc(cap * sizeof(*k));
    if (k == NULL)
        return len > r->cap ? -1 : 0;
    for (size_t p = 0; p < r->len; p++)
        k[p] = *tier_at(r, p);
    free(r->k);
    r->k = k;
    r->head = 0;
    r->cap = (uint32_t)cap;
    return 0;
}

/* Takes out the key at position p of tier r, moving the keys on its shorter side. */
static void tier_remove(struct bcast_tier *r, size_t p)
{
    if (p < r->len / 2) {
        for (size_t q = p; q > 0; q--)
            *tier_at(r, q) = *tier_at(r, q - 1);
        r->head = (r->head + 1) & (r->cap - 1);
    } else {
        for (size_t q = p; q + 1 < r->len; q++)
            *tier_at(r, q) = *tier_at(r, q + 1);
    }
    r->len--;
}

/* Makes tiers[0..t] exist. */
static int tiers_reach(struct membership *m, size_t t)
{
    if (t < m->ntiers)
        return 0;
    struct bcast_tier *tiers = realloc(m->tiers, (t + 1) * sizeof(*tiers));
    if (tiers == NULL)
        return -1;
    memset(&tiers[m->ntiers], 0, (t + 1 - m->ntiers) * sizeof(*tiers));
    m->tiers = tiers;
    m->ntiers = t + 1;
    return 0;
}

static void bq_size_add(struct membership *m, size_t size)
{
    size_t s = size < BCAST_SIZES ? size : BCAST_SIZES - 1;
    m->bq_sizes[s]++;
    if (s < m->bq_min_size)
        m->bq_min_size = s;
}

static void bq_size_remove(struct membership *m, size_t size)
{
    size_t s = size < BCAST_SIZES ? size : BCAST_SIZES - 1;
    if (--m->bq_sizes[s] == 0 && s == m->bq_min_size) {
        while (m->bq_min_size < BCAST_SIZES && m->bq_sizes[m->bq_min_size] == 0)
            m->bq_min_size++;
    }
}

/* The message queued entry b stands for, built from its member's record (views into it). */
static void bcast_msg(const struct membership *m, const struct bcast *b, struct gossip_msg *g)
{
    const struct member *x = &m->members[b->member];
    struct proto_str name = {.ptr = x->name, .len = x->name_len};
    g->type = (enum gossip_type)b->type;
    switch (g->type) {
    case GOSSIP_ALIVE:
        g->u.alive = (struct gossip_alive){
            .incarnation = x->incarnation,
            .node = {.name = name, .addr = x->addr},
            .meta = {.ptr = x->meta, .len = x->meta_len},
        };
        break;
    case GOSSIP_SUSPECT:
    case GOSSIP_DEAD: {
        /* A dead update names us (we declared it); a suspect one its source, kept with the
         * suspicion (always there while the member is suspect, but for an allocation that
         * failed). */
        const char *from =
            g->type == GOSSIP_SUSPECT && x->suspicion ? x->suspicion->from : m->self_name;
        g->u.suspect = (struct gossip_suspect){
            .incarnation = x->incarnation, .name = name, .from = proto_str_c(from)};
        break;
    }
    default: /* GOSSIP_LEAVE */
        g->u.leave = (struct gossip_leave){.incarnation = x->incarnation, .name = name};
        break;
    }
}

/* Removes the update whose key is at position p of tier t; the last slot moves into its slot. */
static void bcast_remove(struct membership *m, size_t t, size_t p)
{
    struct bcast_tier *r = &m->tiers[t];
    size_t i = tier_at(r, p)->slot;
    tier_remove(r, p);
    tier_fit(r, r->len);
    bq_size_remove(m, m->bq[i].size);
    m->members[m->bq[i].member].bcast = 0;
    size_t last = --m->bq_len;
    if (i == last)
        return;
    m->bq[i] = m->bq[last];
    r = &m->tiers[m->bq[i].transmits];
    tier_at(r, tier_find(r, m->bq[i].id))->slot = (uint16_t)i;
    m->members[m->bq[i].member].bcast = (uint32_t)i + 1;
}

static void bcast_drop(struct membership *m, size_t i)
{
    size_t t = m->bq[i].transmits;
    bcast_remove(m, t, tier_find(&m->tiers[t], m->bq[i].id));
}

static int bcast_resize(struct membership *m, size_t cap)
{
    struct bcast *bq = realloc(m->bq, cap * sizeof(*bq));
    if (bq == NULL)
        return -1;
    m->bq = bq;
    m->bq_cap = cap;
    return 0;
}

/*
 * The updates at positions pos[0..k) (ascending) of tier t were carried once more: they move
 * to the front of tier t + 1, merged with the few keys there that are newer still. In tier t
 * the keys in front of the last one close ranks toward the back, so the keys behind stay put.
 */
static int tier_bump(struct membership *m, size_t t, const uint32_t *pos, size_t k)
{
    if (tiers_reach(m, t + 1) < 0 || tier_fit(&m->tiers[t + 1], m->tiers[t + 1].len + k) < 0)
        return -1;
    struct bcast_tier *from = &m->tiers[t], *to = &m->tiers[t + 1];
    struct bcast_key moved[GOSSIP_DATAGRAM_MAX_MSGS];
    for (size_t i = 0; i < k; i++) {
        moved[i] = *tier_at(from, pos[i]);
        m->bq[moved[i].slot].transmits++;
    }
    size_t w = pos[k - 1], j = k;
    for (size_t r = pos[k - 1] + 1; r-- > 0;) {
        if (j > 0 && r == pos[j - 1])
            j--;
        else
            *tier_at(from, w--) = *tier_at(from, r);
    }
    from->head = (from->head + (uint32_t)k) & (from->cap - 1);
    from->len -= (uint32_t)k;
    tier_fit(from, from->len);

    size_t newer = tier_find(to, moved[k - 1].id); /* keys in `to` newer than the oldest moved */
    to->head = (to->head - (uint32_t)k) & (to->cap - 1);
    to->len += (uint32_t)k;
    size_t a = k, i = 0;
    for (w = 0; i < k; w++) {
        if (a < newer + k && tier_at(to, a)->id > moved[i].id)
            *tier_at(to, w) = *tier_at(to, a++);
        else
            *tier_at(to, w) = moved[i++];
    }
    return 0;
}

/* Gives memory back once the queue has drained to a quarter of its array. */
static void bcast_shrink(struct membership *m)
{
    size_t cap = m->bq_cap;
    while (cap > BCAST_MIN_CAP && m->bq_len <= cap / 4)
        cap /= 2;
    if (cap != m->bq_cap)
        bcast_resize(m, cap); /* if the smaller block cannot be had, the larger one stays */
    size_t tx = cap + 1 < GOSSIP_DATAGRAM_MAX_MSGS ? cap + 1 : GOSSIP_DATAGRAM_MAX_MSGS;
    if (m->tx_cap > tx) {
        struct gossip_msg *p = realloc(m->tx, tx * sizeof(*p));
        if (p) {
            m->tx = p;
            m->tx_cap = tx;
        }
    }
}

/* Queues an update about member x, replacing any older update about it. from: the source a
 * suspect update names. */
static void bcast_enqueue(struct membership *m, enum gossip_type type, struct member *x,
                          const char *from)
{
    if (x->bcast != 0)
        bcast_drop(m, x->bcast - 1);
    if (m->bq_len == m->bq_cap && m->bq_cap < BCAST_MAX) {
        size_t cap = m->bq_cap * 2 < BCAST_MAX ? m->bq_cap * 2 : BCAST_MAX;
        if (bcast_resize(m, cap < BCAST_MIN_CAP ? BCAST_MIN_CAP : cap) < 0)
            return;
    }
    if (m->bq_len == m->bq_cap) { /* full: drop the most-sent, oldest update */
        size_t t = m->ntiers;
        while (m->tiers[t - 1].len == 0)
            t--;
        bcast_remove(m, t - 1, m->tiers[t - 1].len - 1);
    }
    if (tiers_reach(m, 0) < 0 || tier_fit(&m->tiers[0], m->tiers[0].len + 1) < 0)
        return;
    if (type == GOSSIP_SUSPECT && x->suspicion)
        snprintf(x->suspicion->from, sizeof(x->suspicion->from), "%s", from ? from : "");
    size_t i = m->bq_len++;
    struct bcast *b = &m->bq[i];
    *b = (struct bcast){.id = ++m->bq_id, .member = (uint32_t)(x - m->members), .type = type};
    struct gossip_msg g;
    bcast_msg(m, b, &g);
    b->size = (uint16_t)gossip_msg_size(&g);
    bq_size_add(m, b->size);
    /* The newest, never sent: first in the order. */
    struct bcast_tier *r = &m->tiers[0];
    r->head = (r->head - 1) & (r->cap - 1);
    r->len++;
    *tier_at(r, 0) = (struct bcast_key){.id = b->id, .slot = (uint16_t)i, .size = b->size};
    x->bcast = (uint32_t)i + 1;
    if (m->next_gossip > m->last_gossip + EAGER_GOSSIP_MS)
        m->next_gossip = m->last_gossip + EAGER_GOSSIP_MS;
}

/*
 * One datagram being filled. This is gossip_datagram_encode's packing rule, applied here first
 * so that only the updates it will carry are built and handed to it: the version and the probe
 * go first; then each update, in queue order, goes in if it fits what is left of the budget
 * with the array header one more element needs (1 byte up to 15 elements, else 3), is skipped
 * if it does not (a later, smaller one may), and the walk stops at GOSSIP_DATAGRAM_MAX_MSGS
 * messages or once nothing queued is small enough for the space left. The encoder still
 * decides: what it reports carried is what counts as sent.
 */
struct fill {
    size_t used;     /* bytes after the array header: version, probe, updates taken */
    size_t elems;    /* array elements: version, probe, updates taken */
    size_t min_size; /* no queued update encodes smaller */
    uint32_t *pick;  /* positions taken, in queue order (see tier) */
    uint32_t *tier;  /* the tier of each */
    size_t npick, max;
};

/* 1: an update of `size` bytes goes in; 0: it is skipped; -1: the datagram is full for any
 * update of at least min_size bytes. */
static int fill_try(struct fill *f, size_t size, size_t min_size)
{
    if (f->elems - 1 >= GOSSIP_DATAGRAM_MAX_MSGS)
        return -1;
    size_t hdr = f->elems + 1 <= 15 ? 1 : 3;
    if (f->used + hdr + min_size > GOSSIP_PLAINTEXT_BUDGET)
        return -1;
    if (f->used + hdr + size > GOSSIP_PLAINTEXT_BUDGET)
        return 0;
    f->used += size;
    f->elems++;
    return 1;
}

/*
 * Sends one datagram to `to`: the probe (may be NULL), then `first` (may be NULL: the
 * suspicion a suspect must hear first), then queued updates, least-sent first, as many as fit.
 * Costs O(k log q) for k updates carried from a queue of q, however long the queue.
 */
static void send_datagram(struct membership *m, const struct proto_addr *to,
                          const struct gossip_msg *probe, const struct gossip_msg *first)
{
    uint32_t pick[GOSSIP_DATAGRAM_MAX_MSGS], ptier[GOSSIP_DATAGRAM_MAX_MSGS];
    uint8_t included[GOSSIP_DATAGRAM_MAX_MSGS];
    struct fill f = {.used = 1 + (probe ? gossip_msg_size(probe) : 0),
                     .elems = probe ? 2 : 1,
                     .min_size = m->bq_min_size > GOSSIP_MSG_MIN_SIZE ? m->bq_min_size
                                                                      : GOSSIP_MSG_MIN_SIZE,
                     .pick = pick,
                     .tier = ptier};
    /* Room for the updates that can be carried: no more than are queued, nor than fit. */
    size_t want =
        f.used < GOSSIP_PLAINTEXT_BUDGET ? (GOSSIP_PLAINTEXT_BUDGET - f.used) / f.min_size + 1 : 1;
    if (want > (first != NULL) + m->bq_len)
        want = (first != NULL) + m->bq_len;
    if (want > GOSSIP_DATAGRAM_MAX_MSGS)
        want = GOSSIP_DATAGRAM_MAX_MSGS;
    if (want > m->tx_cap) {
        /* Doubling, but never past what bcast_shrink would cut back. */
        size_t cap = m->tx_cap * 2 > want ? m->tx_cap * 2 : want;
        size_t most =
            m->bq_cap + 1 < GOSSIP_DATAGRAM_MAX_MSGS ? m->bq_cap + 1 : GOSSIP_DATAGRAM_MAX_MSGS;
        cap = cap < most ? cap : most;
        struct gossip_msg *tx = realloc(m->tx, cap * sizeof(*tx));
        if (tx) { /* else fewer updates ride along this time */
            m->tx = tx;
            m->tx_cap = cap;
        }
    }
    size_t n = 0;
    int r = 0;
    if (first && m->tx_cap > 0) {
        r = fill_try(&f, gossip_msg_size(first), GOSSIP_MSG_MIN_SIZE);
        if (r > 0)
            m->tx[n++] = *first;
    }
    size_t base = n;
    f.max = m->tx_cap - n;
    for (size_t t = 0; r >= 0 && t < m->ntiers; t++) {
        const struct bcast_tier *tr = &m->tiers[t];
        for (size_t p = 0; r >= 0 && p < tr->len; p++) {
            if (f.npick == f.max) {
                r = -1;
                break;
            }
            r = fill_try(&f, tier_at(tr, p)->size, f.min_size);
            if (r > 0) {
                pick[f.npick] = (uint32_t)p;
                ptier[f.npick++] = (uint32_t)t;
            }
        }
    }
    for (size_t i = 0; i < f.npick; i++)
        bcast_msg(m, &m->bq[tier_at(&m->tiers[ptier[i]], pick[i])->slot], &m->tx[n++]);

    size_t len = 0;
    int carried = gossip_datagram_encode(m->sendbuf, sizeof(m->sendbuf), probe, m->tx, n, included,
                                         &len, NULL);
    if (carried < 0 || (probe == NULL && carried == 0))
        return;
    /* Count transmissions, then drop the updates sent often enough: they sort last. The limit
     * shrinks when members are reaped, so this may drop more than was just sent. */
    size_t k = 0;
    for (size_t i = 0; i < f.npick; i++) {
        if (included[base + i]) {
            pick[k] = pick[i];
            ptier[k++] = ptier[i];
        }
    }
    /* Highest tier first, so that what moves up is not moved again. (Out of memory, an update
     * stays where it is, to be sent once more.) */
    while (k > 0) {
        size_t j = k;
        while (j > 0 && ptier[j - 1] == ptier[k - 1])
            j--;
        tier_bump(m, ptier[k - 1], &pick[j], k - j);
        k = j;
    }
    uint32_t limit = retransmit_limit(m);
    for (size_t t = m->ntiers; t-- > limit;) {
        while (m->tiers[t].len > 0)
            bcast_remove(m, t, m->tiers[t].len - 1);
    }
    bcast_shrink(m);
    m->st.datagrams_out++;
    m->st.bytes_out += len;
    if (m->io.send)
        m->io.send(m->io.ctx, to, m->sendbuf, len);
}

/* ---- state changes ------------------------------------------------------------------------ */

static void refute(struct membership *m, uint64_t inc, uint64_t now)
{
    struct member *me = self(m);
    if (me == NULL || m->left)
        return;
    me->incarnation = (inc > me->incarnation ? inc : me->incarnation) + 1;
    me->state_since_ms = now;
    m->st.refutations++;
    if (m->awareness + 1 < m->t.awareness_max)
        m->awareness++;
    bcast_enqueue(m, GOSSIP_ALIVE, me, NULL);
}

static uint64_t suspicion_timeout(const struct suspicion *s)
{
    if (s->k == 0 || s->n == 0)
        return s->k == 0 ? s->min_ms : s->max_ms;
    double frac = ln((double)s->n + 1) / ln((double)s->k + 1);
    double t = (double)s->max_ms - frac * (double)(s->max_ms - s->min_ms);
    uint64_t ms = t > 0 ? (uint64_t)t : 0; /* floor, t being positive */
    return ms < s->min_ms ? s->min_ms : ms;
}

static void start_suspicion(struct membership *m, struct member *x, const char *from, uint64_t now)
{
    struct suspicion *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return;
    double n = (double)alive_count(m);
    double scale = n > 1 ? ln(n) / 2.30258509299404568402 : 1; /* log10(n) */
    if (scale < 1)
        scale = 1;
    s->min_ms = (uint64_t)(m->t.suspicion_mult * scale * m->t.probe_interval_ms);
    s->max_ms = m->t.suspicion_max_mult * s->min_ms;
    /* k: confirmations wanted, and no more than the other members that could give them. */
    uint32_t k = m->t.suspicion_mult > 2 ? m->t.suspicion_mult - 2 : 0;
    if (n < 2 + k)
        k = n > 2 ? (uint32_t)n - 2 : 0;
    s->k = k > SUSPICION_K_MAX ? SUSPICION_K_MAX : k;
    s->start_ms = now;
    snprintf(s->confirmers[0], sizeof(s->confirmers[0]), "%s", from);
    s->deadline_ms = now + suspicion_timeout(s);
    free(x->suspicion);
    x->suspicion = s;
    if (s->deadline_ms < m->suspect_due)
        m->suspect_due = s->deadline_ms;
}

/* A new, independent confirmation shortens the timeout. Returns 1 if it was new. */
static int confirm_suspicion(struct membership *m, struct member *x, const char *from)
{
    struct suspicion *s = x->suspicion;
    if (s == NULL || s->n >= s->k)
        return 0;
    for (uint32_t i = 0; i <= s->n; i++) {
        if (strcmp(s->confirmers[i], from) == 0)
            return 0;
    }
    s->n++;
    if (s->n < SUSPICION_K_MAX)
        snprintf(s->confirmers[s->n], sizeof(s->confirmers[0]), "%s", from);
    s->deadline_ms = s->start_ms + suspicion_timeout(s);
    if (s->deadline_ms < m->suspect_due)
        m->suspect_due = s->deadline_ms;
    return 1;
}

static void conflict(struct membership *m, struct member *x, const struct proto_addr *other,
                     uint64_t now)
{
    m->st.conflicts++;
    if (x->conflict_reported_ms != 0 && now < x->conflict_reported_ms + CONFLICT_REPORT_MS)
        return;
    x->conflict_reported_ms = now;
    emit(m, MEMBERSHIP_CONFLICT, x, other);
    if (x->self) {
        /* Tell the other claimant directly: the cluster keeps whichever address it saw first
         * and will not relay our claim, so this is how the other side learns of the clash. */
        struct gossip_msg alive = {.type = GOSSIP_ALIVE};
        alive.u.alive = (struct gossip_alive){
            .incarnation = x->incarnation,
            .node = {.name = proto_str_c(x->name), .addr = x->addr},
            .meta = {.ptr = x->meta, .len = x->meta_len},
        };
        send_datagram(m, other, NULL, &alive);
    }
}

static void on_alive(struct membership *m, const struct gossip_alive *a, uint64_t now)
{
    struct member *x = find_str(m, a->node.name);
    bool same_addr = x && proto_addr_eq(&x->addr, &a->node.addr);

    if (x && x->self) {
        if (!same_addr) {
            conflict(m, x, &a->node.addr, now);
            return;
        }
        /* Our own update coming back, or an older life of ours: refute if it could win. */
        if (a->incarnation > x->incarnation ||
            (a->incarnation == x->incarnation &&
             (a->meta.len != x->meta_len ||
              (a->meta.len && memcmp(a->meta.ptr, x->meta, a->meta.len) != 0))))
            refute(m, a->incarnation, now);
        return;
    }
    if (x == NULL) {
        x = add_member(m, a->node.name, &a->node.addr, a->incarnation, now);
        if (x == NULL)
            return;
        set_meta(x, a->meta.ptr, a->meta.len);
        bcast_enqueue(m, GOSSIP_ALIVE, x, NULL);
        if (m->count == 2 && !m->join_sync_armed) { /* the first member we hear of */
            m->join_sync_armed = true;
            m->next_join_sync = now + JOIN_SYNC_MS + rnd_below(m, JOIN_SYNC_MS);
        }
        emit(m, MEMBERSHIP_JOIN, x, NULL);
        return;
    }
    bool gone = x->state == MEMBER_FAILED || x->state == MEMBER_LEFT;
    if (!same_addr && !gone) {
        conflict(m, x, &a->node.addr, now);
        return;
    }
    /* A failed or left member may come back from a new address (restart, new lease). */
    if (a->incarnation <= x->incarnation && !(gone && !same_addr))
        return;
    enum member_state was = x->state;
    bool moved = !same_addr;
    x->addr = a->node.addr;
    x->incarnation = a->incarnation;
    int meta_changed = set_meta(x, a->meta.ptr, a->meta.len);
    set_state(m, x, MEMBER_ALIVE, now);
    bcast_enqueue(m, GOSSIP_ALIVE, x, NULL);
    if (gone)
        emit(m, MEMBERSHIP_JOIN, x, NULL);
    else if (was == MEMBER_SUSPECT)
        emit(m, MEMBERSHIP_ALIVE, x, NULL);
    if (!gone && (moved || meta_changed))
        emit(m, MEMBERSHIP_UPDATE, x, NULL);
}

/* Someone suspects or declares failed a member we know left: it missed the leave, whose
 * gossip has run out by now. Gossip the leave again so it lists the member left, not failed. */
static void tell_left(struct membership *m, struct member *x)
{
    if (x->bcast == 0)
        bcast_enqueue(m, GOSSIP_LEAVE, x, NULL);
}

static void on_suspect(struct membership *m, uint64_t inc, struct proto_str name,
                       struct proto_str from, uint64_t now)
{
    struct member *x = find_str(m, name);
    if (x && !x->self && x->state == MEMBER_LEFT)
        tell_left(m, x); /* whatever its incarnation: a leave bumps it */
    if (x == NULL || inc < x->incarnation)
        return;
    if (x->self) {
        refute(m, inc, now);
        return;
    }
    if (x->state == MEMBER_FAILED || x->state == MEMBER_LEFT)
        return;
    char from_c[PROTO_NAME_MAX + 1];
    if (proto_str_copy(from, from_c, sizeof(from_c)) < 0)
        return;
    if (x->state == MEMBER_SUSPECT) {
        if (confirm_suspicion(m, x, from_c))
            bcast_enqueue(m, GOSSIP_SUSPECT, x, from_c);
        return;
    }
    x->incarnation = inc;
    set_state(m, x, MEMBER_SUSPECT, now);
    start_suspicion(m, x, from_c, now);
    bcast_enqueue(m, GOSSIP_SUSPECT, x, from_c);
    emit(m, MEMBERSHIP_SUSPECT, x, NULL);
}

static void declare(struct membership *m, struct member *x, enum member_state s, uint64_t now)
{
    set_state(m, x, s, now);
    if (s == MEMBER_LEFT) {
        bcast_enqueue(m, GOSSIP_LEAVE, x, NULL);
        emit(m, MEMBERSHIP_LEFT, x, NULL);
    } else {
        bcast_enqueue(m, GOSSIP_DEAD, x, m->self_name);
        emit(m, MEMBERSHIP_FAILED, x, NULL);
    }
}

/* A dead (to = MEMBER_FAILED) or leave (to = MEMBER_LEFT) message about `name`. A failed member
 * may still be marked left (it left while cut off); nothing overrides left. */
static void on_gone(struct membership *m, uint64_t inc, struct proto_str name, enum member_state to,
                    uint64_t now)
{
    struct member *x = find_str(m, name);
    if (x && !x->self && x->state == MEMBER_LEFT && to == MEMBER_FAILED)
        tell_left(m, x); /* whatever its incarnation: a leave bumps it */
    if (x == NULL || inc < x->incarnation)
        return;
    if (x->self) {
        if (!m->left)
            refute(m, inc, now);
        return;
    }
    if (x->state == MEMBER_LEFT || (to == MEMBER_FAILED && x->state == MEMBER_FAILED))
        return;
    x->incarnation = inc;
    declare(m, x, to, now);
}

/* ---- probing -------------------------------------------------------------------------------- */

static struct pending *pending_new(struct membership *m, enum pending_kind kind, uint32_t seq,
                                   uint64_t deadline)
{
    for (size_t i = 0; i < PENDING_MAX; i++) {
        if (m->pending[i].kind == PENDING_FREE) {
            m->pending[i] = (struct pending){.kind = kind, .seq = seq, .deadline_ms = deadline};
            m->nrelays += kind == PENDING_RELAY;
            return &m->pending[i];
        }
    }
    return NULL; /* full: the answer will be ignored, the probe will time out */
}

static struct pending *pending_find(struct membership *m, uint32_t seq)
{
    for (size_t i = 0; i < PENDING_MAX; i++) {
        if (m->pending[i].kind != PENDING_FREE && m->pending[i].seq == seq)
            return &m->pending[i];
    }
    return NULL;
}

static struct gossip_peer self_peer(struct membership *m)
{
    struct member *me = self(m);
    return (struct gossip_peer){.name = proto_str_c(m->self_name), .addr = me->addr};
}

static void send_ping(struct membership *m, const struct member *target, uint32_t seq)
{
    struct gossip_msg ping = {.type = GOSSIP_PING};
    ping.u.ping = (struct gossip_ping){
        .seq = seq, .target = proto_str_c(target->name), .source = self_peer(m)};
    /* Buddy system: a suspect hears of its suspicion in the very ping that tests it. */
    struct gossip_msg first;
    const struct gossip_msg *firstp = NULL;
    if (target->state == MEMBER_SUSPECT) {
        first.type = GOSSIP_SUSPECT;
        first.u.suspect = (struct gossip_suspect){.incarnation = target->incarnation,
                                                  .name = proto_str_c(target->name),
                                                  .from = proto_str_c(m->self_name)};
        firstp = &first;
    }
    send_datagram(m, &target->addr, &ping, firstp);
}

static bool probeable(const struct member *x)
{
    return !x->self && (x->state == MEMBER_ALIVE || x->state == MEMBER_SUSPECT);
}

static void reshuffle(struct membership *m)
{
    m->order_len = 0;
    for (size_t i = 0; i < m->count; i++)
        m->order[m->order_len++] = (uint32_t)i;
    for (size_t i = m->order_len; i > 1; i--) {
        size_t j = rnd_below(m, i);
        uint32_t t = m->order[i - 1];
        m->order[i - 1] = m->order[j];
        m->order[j] = t;
    }
    m->probe_pos = 0;
}

static struct member *next_probe_target(struct membership *m)
{
    for (size_t tries = 0; tries < 2; tries++) {
        while (m->probe_pos < m->order_len) {
            uint32_t i = m->order[m->probe_pos++];
            if (i < m->count && probeable(&m->members[i]))
                return &m->members[i];
        }
        reshuffle(m);
    }
    return NULL;
}

static uint64_t scaled(const struct membership *m, uint32_t ms)
{
    return (uint64_t)ms * (m->awareness + 1);
}

static void start_probe(struct membership *m, uint64_t now)
{
    m->next_probe = now + scaled(m, m->t.probe_interval_ms);
    struct member *x = next_probe_target(m);
    if (x == NULL)
        return;
    uint32_t seq = ++m->seq;
    m->probe = (struct probe){.active = true,
                              .seq = seq,
                              .timeout_ms = now + scaled(m, m->t.probe_timeout_ms),
                              .end_ms = m->next_probe};
    memcpy(m->probe.target, x->name, (size_t)x->name_len + 1);
    if (pending_new(m, PENDING_PROBE, seq, m->probe.end_ms) == NULL)
        return;
    m->st.probes++;
    send_ping(m, x, seq);
}

static bool pickable(const struct membership *m, const struct member *x, const char *except,
                     uint64_t now, bool include_recent_dead)
{
    bool ok = probeable(x) || (include_recent_dead && x->state == MEMBER_FAILED &&
                               now < x->state_since_ms + m->t.gossip_to_dead_ms);
    return ok && !x->self && (except == NULL || strcmp(x->name, except) != 0);
}

/*
 * Picks up to k random members that are probeable (with include_recent_dead, also those failed
 * less than gossip_to_dead_ms ago), other than ourselves and `except`; uniform, no repeats.
 * Small tables (PICK_SCAN_MAX) are sampled in one reservoir pass. Larger ones by random draws,
 * skipping the unfit and repeats (as memberlist's kRandomNodes), which costs O(k) while most
 * members are fit; after PICK_DRAWS(k) draws without k picks, a reservoir pass settles it.
 */
#define PICK_SCAN_MAX 64
#define PICK_DRAWS(k) (4 * (k) + 32)
static size_t pick_members(struct membership *m, size_t k, const char *except, struct member **out,
                           uint64_t now, bool include_recent_dead)
{
    size_t n = 0;
    if (m->count > PICK_SCAN_MAX) {
        for (size_t d = 0; n < k && d < PICK_DRAWS(k); d++) {
            struct member *x = &m->members[rnd_below(m, m->count)];
            bool again = false;
            for (size_t j = 0; j < n && !again; j++)
                again = out[j] == x;
            if (!again && pickable(m, x, except, now, include_recent_dead))
                out[n++] = x;
        }
        if (n == k)
            return n;
        n = 0;
    }
    size_t seen = 0;
    for (size_t i = 0; i < m->count; i++) {
        struct member *x = &m->members[i];
        if (!pickable(m, x, except, now, include_recent_dead))
            continue;
        seen++;
        if (n < k)
            out[n++] = x;
        else {
            size_t j = rnd_below(m, seen);
            if (j < k)
                out[j] = x;
        }
    }
    return n;
}

static void send_indirect(struct membership *m, uint64_t now)
{
    struct member *target = find(m, m->probe.target, strlen(m->probe.target));
    m->probe.indirect_sent = true;
    if (target == NULL || !probeable(target))
        return;
    struct member *helpers[16];
    size_t k = m->t.indirect_checks < 16 ? m->t.indirect_checks : 16;
    size_t n = pick_members(m, k, target->name, helpers, now, false);
    struct gossip_msg req = {.type = GOSSIP_PING_REQ};
    req.u.ping_req = (struct gossip_ping_req){
        .seq = m->probe.seq,
        .target = {.name = proto_str_c(target->name), .addr = target->addr},
        .source = self_peer(m),
        .nack = true,
    };
    for (size_t i = 0; i < n; i++) {
        m->st.indirect_probes++;
        send_datagram(m, &helpers[i]->addr, &req, NULL);
    }
    m->probe.expected_nacks = (uint32_t)n;
}

static void end_probe(struct membership *m, bool acked, uint64_t now)
{
    struct pending *p = pending_find(m, m->probe.seq);
    if (p) {
        m->nrelays -= p->kind == PENDING_RELAY; /* only if seq wrapped onto a relay's */
        p->kind = PENDING_FREE;
    }
    m->probe.active = false;
    if (acked) {
        if (m->awareness > 0)
            m->awareness--;
        return;
    }
    m->st.probe_failures++;
    uint32_t delta = 1;
    if (m->probe.expected_nacks > 0)
        delta =
            m->probe.nacks < m->probe.expected_nacks ? m->probe.expected_nacks - m->probe.nacks : 0;
    m->awareness += delta;
    if (m->awareness > m->t.awareness_max - 1)
        m->awareness = m->t.awareness_max - 1;
    struct member *x = find(m, m->probe.target, strlen(m->probe.target));
    if (x && probeable(x))
        on_suspect(m, x->incarnation, proto_str_c(x->name), proto_str_c(m->self_name), now);
}

/* ---- input -------------------------------------------------------------------------------------
 */

static void on_ping(struct membership *m, const struct proto_addr *from,
                    const struct gossip_ping *p)
{
    if (p->target.len > 0 && !proto_str_eq(p->target, m->self_name)) {
        m->st.misdirected_pings++;
        return;
    }
    struct gossip_msg ack = {.type = GOSSIP_ACK, .u.ack = {.seq = p->seq}};
    send_datagram(m, from, &ack, NULL);
}

static void on_ping_req(struct membership *m, uint64_t now, const struct proto_addr *from,
                        const struct gossip_ping_req *r)
{
    uint32_t seq = ++m->seq;
    struct pending *p = pending_new(m, PENDING_RELAY, seq, now + m->t.probe_timeout_ms);
    if (p == NULL)
        return;
    p->reply_to = *from;
    p->reply_seq = r->seq;
    p->nack = r->nack;
    struct gossip_msg ping = {.type = GOSSIP_PING};
    ping.u.ping =
        (struct gossip_ping){.seq = seq, .target = r->target.name, .source = self_peer(m)};
    send_datagram(m, &r->target.addr, &ping, NULL);
}

static void on_ack(struct membership *m, uint64_t now, uint32_t seq)
{
    struct pending *p = pending_find(m, seq);
    if (p == NULL)
        return; /* late or unknown: ignore */
    if (p->kind == PENDING_PROBE) {
        if (m->probe.active && m->probe.seq == seq)
            end_probe(m, true, now);
        else
            p->kind = PENDING_FREE;
        return;
    }
    struct gossip_msg ack = {.type = GOSSIP_ACK, .u.ack = {.seq = p->reply_seq}};
    struct proto_addr to = p->reply_to;
    p->kind = PENDING_FREE;
    m->nrelays--;
    send_datagram(m, &to, &ack, NULL);
}

static void on_nack(struct membership *m, uint32_t seq)
{
    m->st.nacks_received++;
    if (m->probe.active && m->probe.seq == seq)
        m->probe.nacks++;
}

void membership_recv(struct membership *m, uint64_t now, const struct proto_addr *from,
                     const uint8_t *plain, size_t len)
{
    size_t count = 0, unknown = 0;
    m->st.datagrams_in++;
    m->st.bytes_in += len;
    if (gossip_datagram_decode(plain, len, m->rx, GOSSIP_DATAGRAM_MAX_MSGS, &count, &unknown,
                               NULL) < 0) {
        m->st.bad_datagrams++;
        return;
    }
    m->st.unknown_messages += unknown;
    for (size_t i = 0; i < count; i++) {
        const struct gossip_msg *g = &m->rx[i];
        switch (g->type) {
        case GOSSIP_PING:
            if (!m->left)
                on_ping(m, from, &g->u.ping);
            break;
        case GOSSIP_PING_REQ:
            if (!m->left)
                on_ping_req(m, now, from, &g->u.ping_req);
            break;
        case GOSSIP_ACK:
            on_ack(m, now, g->u.ack.seq);
            break;
        case GOSSIP_NACK:
            on_nack(m, g->u.nack.seq);
            break;
        case GOSSIP_ALIVE:
            on_alive(m, &g->u.alive, now);
            break;
        case GOSSIP_SUSPECT:
            on_suspect(m, g->u.suspect.incarnation, g->u.suspect.name, g->u.suspect.from, now);
            break;
        case GOSSIP_DEAD:
            on_gone(m, g->u.dead.incarnation, g->u.dead.name, MEMBER_FAILED, now);
            break;
        case GOSSIP_LEAVE:
            on_gone(m, g->u.leave.incarnation, g->u.leave.name, MEMBER_LEFT, now);
            break;
        }
    }
}

/* ---- timers -----------------------------------------------------------------------------------
 */

static uint64_t pushpull_interval(const struct membership *m)
{
    /* Past 32 members, sync less often so the cluster-wide TCP load stays flat (memberlist). */
    uint64_t base = m->t.pushpull_interval_ms;
    if (m->count <= 32)
        return base;
    return base * (ceil_log2(m->count) - 5 + 1); /* ceil(log2(n) - log2(32)) + 1 */
}

static void gossip_round(struct membership *m, uint64_t now)
{
    if (m->bq_len == 0)
        return;
    struct member *to[16];
    size_t k = m->t.gossip_nodes < 16 ? m->t.gossip_nodes : 16;
    size_t n = pick_members(m, k, NULL, to, now, true);
    for (size_t i = 0; i < n && m->bq_len > 0; i++)
        send_datagram(m, &to[i]->addr, NULL, NULL);
}

static bool reap_due(const struct membership *m, const struct member *x, uint64_t now)
{
    return (x->state == MEMBER_FAILED || x->state == MEMBER_LEFT) && !x->self &&
           now >= x->state_since_ms + m->t.reap_ms;
}

/* Forgets the members failed or left for reap_ms. Scans only once one is due (reap_due). */
static void reap(struct membership *m, uint64_t now)
{
    if (now < m->reap_due)
        return;
    /* First what is due (their queued updates go), and when the next one will be. */
    size_t due = 0;
    uint64_t next = UINT64_MAX;
    for (size_t i = 0; i < m->count; i++) {
        struct member *x = &m->members[i];
        if (reap_due(m, x, now)) {
            due++;
            if (x->bcast != 0)
                bcast_drop(m, x->bcast - 1);
        } else if ((x->state == MEMBER_FAILED || x->state == MEMBER_LEFT) && !x->self &&
                   x->state_since_ms + m->t.reap_ms < next) {
            next = x->state_since_ms + m->t.reap_ms;
        }
    }
    m->reap_due = next;
    if (due == 0)
        return;
    /* Then compact the table, in order (we stay at index 0); queue entries follow. */
    size_t w = 0;
    for (size_t i = 0; i < m->count; i++) {
        struct member *x = &m->members[i];
        if (reap_due(m, x, now)) {
            emit(m, MEMBERSHIP_REAPED, x, NULL);
            m->nstate[x->state]--;
            m->names_live -= (size_t)x->name_len + 1;
            m->names_dead += (size_t)x->name_len + 1;
            free(x->meta);
            free(x->suspicion);
            continue;
        }
        if (w != i) {
            m->members[w] = *x;
            if (m->members[w].bcast != 0)
                m->bq[m->members[w].bcast - 1].member = (uint32_t)w;
        }
        w++;
    }
    m->count = w;
    bcast_shrink(m);
    names_compact(m);
    rehash(m, m->count);
    reshuffle(m);
}

void membership_tick(struct membership *m, uint64_t now)
{
    if (m->left)
        return;
    /* Ack handlers that ran out: a ping-req helper sends its nack. */
    for (size_t i = 0; m->nrelays > 0 && i < PENDING_MAX; i++) {
        struct pending *p = &m->pending[i];
        if (p->kind != PENDING_RELAY || now < p->deadline_ms)
            continue;
        p->kind = PENDING_FREE;
        m->nrelays--;
        if (p->nack) {
            struct gossip_msg nack = {.type = GOSSIP_NACK, .u.nack = {.seq = p->reply_seq}};
            m->st.nacks_sent++;
            send_datagram(m, &p->reply_to, &nack, NULL);
        }
    }
    if (m->probe.active && !m->probe.indirect_sent && now >= m->probe.timeout_ms)
        send_indirect(m, now);
    if (m->probe.active && now >= m->probe.end_ms)
        end_probe(m, false, now);
    if (!m->probe.active && now >= m->next_probe)
        start_probe(m, now);

    if (m->nstate[MEMBER_SUSPECT] > 0 && now >= m->suspect_due) {
        /* A suspicion may have run out: declare those, and find the next deadline. */
        uint64_t next = UINT64_MAX;
        for (size_t i = 0; i < m->count; i++) {
            struct member *x = &m->members[i];
            if (x->state != MEMBER_SUSPECT || x->suspicion == NULL)
                continue;
            if (now >= x->suspicion->deadline_ms)
                declare(m, x, MEMBER_FAILED, now);
            else if (x->suspicion->deadline_ms < next)
                next = x->suspicion->deadline_ms;
        }
        if (m->nstate[MEMBER_SUSPECT] > 0)
            m->suspect_due = next;
    }
    if (now >= m->next_gossip) {
        m->next_gossip = now + m->t.gossip_interval_ms;
        m->last_gossip = now;
        gossip_round(m, now);
    }
    if (now >= m->next_pushpull) {
        m->next_pushpull = now + pushpull_interval(m);
        struct member *x;
        if (pick_members(m, 1, NULL, &x, now, false) == 1 && m->io.pushpull)
            m->io.pushpull(m->io.ctx, &x->addr, false);
    }
    if (now >= m->next_join_sync) {
        m->next_join_sync = UINT64_MAX;
        struct member *x;
        /* Full states both ways, as a join: what each side learned meanwhile spreads. */
        if (pick_members(m, 1, NULL, &x, now, false) == 1 && m->io.pushpull)
            m->io.pushpull(m->io.ctx, &x->addr, true);
    }
    if (now >= m->next_reconnect) {
        m->next_reconnect = now + m->t.reconnect_interval_ms;
        size_t seen = 0;
        struct member *pick = NULL;
        for (size_t i = 0; m->nstate[MEMBER_FAILED] > 0 && i < m->count; i++) {
            if (m->members[i].state == MEMBER_FAILED && rnd_below(m, ++seen) == 0)
                pick = &m->members[i];
        }
        if (pick && m->io.pushpull)
            m->io.pushpull(m->io.ctx, &pick->addr, false);
    }
    if (now >= m->next_reap) {
        m->next_reap = now + REAP_CHECK_MS;
        reap(m, now);
    }
}

static uint64_t min64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

uint64_t membership_next_deadline(const struct membership *m)
{
    if (m->left)
        return UINT64_MAX;
    uint64_t d = min64(m->next_gossip, min64(m->next_pushpull, m->next_reconnect));
    d = min64(d, min64(m->next_reap, m->next_join_sync));
    if (m->probe.active) {
        if (!m->probe.indirect_sent)
            d = min64(d, m->probe.timeout_ms);
        d = min64(d, m->probe.end_ms);
    } else {
        d = min64(d, m->next_probe);
    }
    for (size_t i = 0; m->nrelays > 0 && i < PENDING_MAX; i++) {
        if (m->pending[i].kind == PENDING_RELAY)
            d = min64(d, m->pending[i].deadline_ms);
    }
    if (m->nstate[MEMBER_SUSPECT] > 0)
        d = min64(d, m->suspect_due); /* may be early (a refuted suspicion): a spare tick */
    return d;
}

/* ---- push-pull, join, beacons, leave ----------------------------------------------------------
 */

void membership_join(struct membership *m, const struct proto_addr *addr)
{
    if (m->io.pushpull)
        m->io.pushpull(m->io.ctx, addr, true);
}

int membership_beacon_wanted(struct membership *m, uint64_t now, const char *name, size_t name_len,
                             const struct proto_addr *addr, uint64_t incarnation)
{
    struct member *x = find(m, name, name_len);
    if (x && x->self) {
        if (!proto_addr_eq(&x->addr, addr))
            conflict(m, x, addr, now);
        return 0;
    }
    if (x && (x->state == MEMBER_ALIVE || x->state == MEMBER_SUSPECT) &&
        incarnation <= x->incarnation)
        return 0;
    return 1;
}

static enum gossip_state to_wire_state(enum member_state s)
{
    switch (s) {
    case MEMBER_ALIVE:
        return GOSSIP_STATE_ALIVE;
    case MEMBER_SUSPECT:
        return GOSSIP_STATE_SUSPECT;
    case MEMBER_FAILED:
        return GOSSIP_STATE_DEAD;
    case MEMBER_LEFT:
        return GOSSIP_STATE_LEFT;
    }
    return GOSSIP_STATE_DEAD;
}

/* ---- digest ------------------------------------------------------------------------------------
 * A periodic sync sends our entry and a digest of our view: members fall into DIGEST_BUCKETS
 * buckets by their name's hash, and each bucket is the sum (mod 2^64) of its members' entry
 * hashes over name, incarnation and state. The peer answers with its members in the buckets whose
 * sums differ from its own: nothing but the two digests when the views agree, at any size. A
 * sum is order-free, so each side computes it from its table as it stands. */

static size_t digest_bucket(const struct member *x)
{
    return (size_t)(mix64(hash_name(x->name, x->name_len)) >> (64 - DIGEST_BUCKET_BITS));
}

static uint64_t digest_entry(const struct member *x)
{
    uint64_t h = hash_name(x->name, x->name_len);
    return mix64(h ^ mix64(x->incarnation * 4 + (uint64_t)to_wire_state(x->state)));
}

static void digest(const struct membership *m, uint64_t sums[DIGEST_BUCKETS])
{
    memset(sums, 0, DIGEST_BUCKETS * sizeof(*sums));
    for (size_t i = 0; i < m->count; i++)
        sums[digest_bucket(&m->members[i])] += digest_entry(&m->members[i]);
}

/* Encodes our members: only ourselves if sums (our digest, sent along) is not NULL; only those
 * in the buckets that differ from peer_sums if that is not NULL; else all of them. */
static int encode_members(struct membership *m, bool join, const uint64_t *peer_sums,
                          const uint64_t *sums, uint8_t *buf, size_t cap, size_t *len)
{
    size_t n = 0;
    struct gossip_member *list = malloc((m->count ? m->count : 1) * sizeof(*list));
    if (list == NULL)
        return PROTO_ERR_NOSPACE;
    uint64_t own[DIGEST_BUCKETS];
    if (peer_sums)
        digest(m, own);
    for (size_t i = 0; i < m->count && n < GOSSIP_PUSHPULL_MAX_MEMBERS; i++) {
        const struct member *x = &m->members[i];
        if (sums && !x->self)
            continue; /* a sync request: our own entry and the digest */
        if (peer_sums) {
            size_t b = digest_bucket(x);
            if (own[b] == peer_sums[b])
                continue; /* the asker's bucket holds what ours does */
        }
        list[n++] = (struct gossip_member){.name = proto_str_c(x->name),
                                           .addr = x->addr,
                                           .incarnation = x->incarnation,
                                           .state = to_wire_state(x->state),
                                           .meta = {.ptr = x->meta, .len = x->meta_len}};
    }
    int rc = gossip_pushpull_encode_digest(join, list, n, sums, sums ? DIGEST_BUCKETS : 0, buf, cap,
                                           len, NULL);
    free(list);
    return rc;
}

int membership_pushpull_encode(struct membership *m, bool join, uint8_t *buf, size_t cap,
                               size_t *len)
{
    if (join)
        return encode_members(m, true, NULL, NULL, buf, cap, len);
    uint64_t sums[DIGEST_BUCKETS];
    digest(m, sums);
    return encode_members(m, false, NULL, sums, buf, cap, len);
}

int membership_pushpull_answer(struct membership *m, const struct membership_pushpull_ask *ask,
                               uint8_t *buf, size_t cap, size_t *len)
{
    bool sync = ask && ask->digest && !ask->join;
    return encode_members(m, false, sync ? ask->sums : NULL, NULL, buf, cap, len);
}

int membership_pushpull_merge(struct membership *m, uint64_t now, const uint8_t *buf, size_t len,
                              struct membership_pushpull_ask *ask)
{
    struct gossip_pushpull pp;
    if (gossip_pushpull_decode(buf, len, GOSSIP_PUSHPULL_MAX_SIZE, &pp, NULL) < 0) {
        m->st.bad_pushpulls++;
        return -1;
    }
    if (ask) {
        ask->join = pp.join;
        /* A digest of another bucket count (a newer version's) is answered in full. */
        ask->digest = pp.buckets == DIGEST_BUCKETS;
        for (size_t i = 0; ask->digest && i < DIGEST_BUCKETS; i++)
            ask->sums[i] = gossip_pushpull_digest(&pp, i);
    }
    m->st.pushpulls_merged++;
    struct gossip_member g;
    while (gossip_pushpull_next(&pp, &g)) {
        switch (g.state) {
        case GOSSIP_STATE_ALIVE: {
            struct gossip_alive a = {.incarnation = g.incarnation,
                                     .node = {.name = g.name, .addr = g.addr},
                                     .meta = g.meta};
            on_alive(m, &a, now);
            break;
        }
        case GOSSIP_STATE_LEFT:
            if (find_str(m, g.name) == NULL) {
                /* Learn of members that left too, so the listing agrees cluster-wide. */
                struct gossip_alive a = {.incarnation = g.incarnation,
                                         .node = {.name = g.name, .addr = g.addr},
                                         .meta = g.meta};
                on_alive(m, &a, now);
            }
            on_gone(m, g.incarnation, g.name, MEMBER_LEFT, now);
            break;
        case GOSSIP_STATE_SUSPECT:
        case GOSSIP_STATE_DEAD:
            /* Someone else's verdict is only a suspicion here: the member may still refute. */
            on_suspect(m, g.incarnation, g.name, proto_str_c(m->self_name), now);
            break;
        }
    }
    return 0;
}

/* ---- lifecycle and queries ----------------------------------------------------------------------
 */

struct membership *membership_new(const struct membership_config *cfg,
                                  const struct membership_io *io, uint64_t now, char *err,
                                  size_t errlen)
{
    char why[64];
    struct proto_str name = proto_str_c(cfg->name);
    const char *bad = proto_name_check(name, why, sizeof(why));
    if (bad) {
        snprintf(err, errlen, "member name \"%.64s\": %s", cfg->name ? cfg->name : "", bad);
        return NULL;
    }
    if (cfg->meta_len > GOSSIP_META_MAX) {
        snprintf(err, errlen, "metadata is %zu bytes, at most %d", cfg->meta_len, GOSSIP_META_MAX);
        return NULL;
    }
    if (cfg->tuning.probe_interval_ms == 0 || cfg->tuning.awareness_max == 0 ||
        cfg->tuning.gossip_interval_ms == 0 || cfg->tuning.probe_timeout_ms == 0 ||
        cfg->tuning.probe_timeout_ms > cfg->tuning.probe_interval_ms) {
        snprintf(err, errlen,
                 "invalid timing: intervals must be > 0 and the probe timeout "
                 "no longer than the probe interval");
        return NULL;
    }
    struct membership *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->t = cfg->tuning;
    if (io)
        m->io = *io;
    m->rng = cfg->seed;
    snprintf(m->self_name, sizeof(m->self_name), "%s", cfg->name);
    m->suspect_due = m->reap_due = m->next_join_sync = UINT64_MAX;
    m->bq_min_size = BCAST_SIZES;
    m->bq_sizes = calloc(BCAST_SIZES, sizeof(*m->bq_sizes));
    if (m->bq_sizes == NULL || bcast_resize(m, BCAST_MIN_CAP) < 0 || rehash(m, 16) < 0) {
        membership_free(m);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    struct member *me = add_member(m, name, &cfg->addr, cfg->incarnation, now);
    if (me == NULL) {
        membership_free(m);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    me->self = true;
    set_meta(me, cfg->meta, cfg->meta_len);
    /* Spread the first timers so members started together do not tick in lockstep. */
    m->next_probe = now + rnd_below(m, m->t.probe_interval_ms);
    m->next_gossip = now + rnd_below(m, m->t.gossip_interval_ms);
    m->next_pushpull = now + m->t.pushpull_interval_ms + rnd_below(m, m->t.pushpull_interval_ms);
    m->next_reconnect = now + m->t.reconnect_interval_ms;
    m->next_reap = now + REAP_CHECK_MS;
    return m;
}

void membership_free(struct membership *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->count; i++) {
        free(m->members[i].meta);
        free(m->members[i].suspicion);
    }
    names_free(m->names);
    free(m->members);
    free(m->slots);
    free(m->order);
    free(m->bq);
    for (size_t t = 0; t < m->ntiers; t++)
        free(m->tiers[t].k);
    free(m->tiers);
    free(m->bq_sizes);
    free(m->tx);
    free(m);
}

int membership_set_meta(struct membership *m, uint64_t now, const uint8_t *meta, size_t len)
{
    if (len > GOSSIP_META_MAX)
        return -1;
    struct member *me = self(m);
    if (!set_meta(me, meta, len))
        return 0;
    me->incarnation++;
    me->state_since_ms = now;
    bcast_enqueue(m, GOSSIP_ALIVE, me, NULL);
    return 0;
}

void membership_leave(struct membership *m, uint64_t now, unsigned fanout)
{
    if (m->left)
        return;
    struct member *me = self(m);
    me->incarnation++;
    set_state(m, me, MEMBER_LEFT, now);
    bcast_enqueue(m, GOSSIP_LEAVE, me, NULL);
    m->left = true;
    struct member *to[64];
    size_t n = pick_members(m, fanout < 64 ? fanout : 64, NULL, to, now, false);
    for (size_t i = 0; i < n; i++) {
        /* Each goes out with the leave first: it is the newest, least-sent update. */
        send_datagram(m, &to[i]->addr, NULL, NULL);
    }
}

size_t membership_count(const struct membership *m)
{
    return m->count;
}

const struct member *membership_member_at(const struct membership *m, size_t i)
{
    return i < m->count ? &m->members[i] : NULL;
}

const struct member *membership_get(const struct membership *m, const char *name)
{
    return find(m, name, strlen(name));
}

const struct member *membership_self(const struct membership *m)
{
    return self(m);
}

size_t membership_count_state(const struct membership *m, enum member_state s)
{
    return (unsigned)s <= MEMBER_LEFT ? m->nstate[s] : 0;
}

const struct membership_stats *membership_stats(const struct membership *m)
{
    return &m->st;
}

unsigned membership_health(const struct membership *m)
{
    return m->awareness;
}
