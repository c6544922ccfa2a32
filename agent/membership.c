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
 * retransmit_mult * ceil(log10(n + 1)) times, least-sent first. A periodic push-pull (full state
 * over TCP, done by the caller) with one random member repairs whatever gossip missed; a push-pull
 * with a random *failed* member every reconnect interval heals a partition once it is gone (as
 * serf's reconnect does; plain SWIM never talks to a member it declared dead, so two halves of a
 * healed partition would stay apart).
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
 * Everything is driven by now_ms arguments; there is no clock here.
 */
#include "agent/membership.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PENDING_MAX 64    /* ack handlers in flight (own probe + ping-req relays) */
#define SUSPICION_K_MAX 8 /* confirmations tracked per suspicion */
#define BCAST_MAX 4096    /* queued updates; the oldest most-sent one goes first */
#define CONFLICT_REPORT_MS 30000
#define REAP_CHECK_MS 1000
/* News is gossiped at once (not at the next gossip interval), but no more than one round per
 * EAGER_GOSSIP_MS: a burst of changes spreads in a few hops of network latency. */
#define EAGER_GOSSIP_MS 20

struct suspicion {
    uint64_t start_ms, min_ms, max_ms, deadline_ms;
    uint32_t k, n;
    char confirmers[SUSPICION_K_MAX][PROTO_NAME_MAX + 1];
};

/* A queued update. msg's views point into name/from/meta below. */
struct bcast {
    struct gossip_msg msg;
    char name[PROTO_NAME_MAX + 1];
    char from[PROTO_NAME_MAX + 1];
    uint8_t *meta;
    uint32_t transmits;
    uint64_t id; /* insertion order: newer first among equals */
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

    struct member *members;
    size_t count, cap;
    uint32_t *slots; /* name hash → index + 1; 0 = empty */
    size_t nslots;
    uint32_t *order; /* probe order: member indices */
    size_t order_len, probe_pos;
    size_t nsuspect; /* members in MEMBER_SUSPECT */

    struct probe probe;
    struct pending pending[PENDING_MAX];
    uint32_t seq;
    unsigned awareness;
    bool left;

    struct bcast *bq;
    size_t bq_len, bq_cap; /* grows to BCAST_MAX */
    uint64_t bq_id;
    struct bcast **bq_sorted;
    struct gossip_msg *tx_updates;
    uint8_t *tx_included;

    uint64_t next_probe, next_gossip, next_pushpull, next_reconnect, next_reap;
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

/* splitmix64: small, fast, good enough for shuffles and peer choice. */
static uint64_t rnd(struct membership *m)
{
    uint64_t z = (m->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
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
        if (strlen(x->name) == len && memcmp(x->name, name, len) == 0)
            return x;
    }
}

static struct member *find_str(const struct membership *m, struct proto_str s)
{
    return find(m, s.ptr, s.len);
}

static struct member *self(const struct membership *m)
{
    return find(m, m->self_name, strlen(m->self_name));
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
        const char *name = m->members[i].name;
        size_t j = hash_name(name, strlen(name)) & (n - 1);
        while (slots[j] != 0)
            j = (j + 1) & (n - 1);
        slots[j] = (uint32_t)i + 1;
    }
    return 0;
}

static size_t alive_count(const struct membership *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->count; i++)
        n += m->members[i].state == MEMBER_ALIVE || m->members[i].state == MEMBER_SUSPECT;
    return n;
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
    if (x->state == MEMBER_SUSPECT && s != MEMBER_SUSPECT)
        m->nsuspect--;
    if (x->state != MEMBER_SUSPECT && s == MEMBER_SUSPECT)
        m->nsuspect++;
    if (s != MEMBER_SUSPECT) {
        free(x->suspicion);
        x->suspicion = NULL;
    }
    if (x->state != s)
        x->state_since_ms = now;
    x->state = s;
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
    char *copy = malloc(name.len + 1);
    if (copy == NULL)
        return NULL;
    memcpy(copy, name.ptr, name.len);
    copy[name.len] = '\0';
    struct member *x = &m->members[m->count];
    memset(x, 0, sizeof(*x));
    x->name = copy;
    x->addr = *addr;
    x->incarnation = inc;
    x->state = MEMBER_ALIVE;
    x->state_since_ms = now;
    m->count++;
    if (m->count * 2 > m->nslots) {
        if (rehash(m, m->count) < 0) {
            m->count--;
            free(copy);
            return NULL;
        }
    } else {
        size_t mask = m->nslots - 1;
        size_t j = hash_name(x->name, name.len) & mask;
        while (m->slots[j] != 0)
            j = (j + 1) & mask;
        m->slots[j] = (uint32_t)m->count; /* index + 1 */
    }
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

/* ---- broadcast queue -------------------------------------------------------------------- */

static uint32_t retransmit_limit(const struct membership *m)
{
    double n = (double)m->count;
    uint32_t scale = (uint32_t)ceil(log10(n + 1));
    return m->t.retransmit_mult * (scale ? scale : 1);
}

/* Points a queued message's views at its own entry's storage (after the entry moved). */
static void bcast_reaim(struct bcast *b)
{
    switch (b->msg.type) {
    case GOSSIP_ALIVE:
        b->msg.u.alive.node.name = proto_str_c(b->name);
        b->msg.u.alive.meta.ptr = b->meta;
        break;
    case GOSSIP_SUSPECT:
    case GOSSIP_DEAD:
        b->msg.u.suspect.name = proto_str_c(b->name);
        b->msg.u.suspect.from = proto_str_c(b->from);
        break;
    case GOSSIP_LEAVE:
        b->msg.u.leave.name = proto_str_c(b->name);
        break;
    default:
        break;
    }
}

static void bcast_drop(struct membership *m, size_t i)
{
    free(m->bq[i].meta);
    m->bq[i] = m->bq[--m->bq_len];
    if (i < m->bq_len)
        bcast_reaim(&m->bq[i]);
}

/* Doubles the queue and the arrays sized by it. */
static int bcast_grow(struct membership *m)
{
    size_t cap = m->bq_cap ? m->bq_cap * 2 : 16;
    if (cap > BCAST_MAX)
        cap = BCAST_MAX;
    struct bcast *bq = realloc(m->bq, cap * sizeof(*bq));
    if (bq == NULL)
        return -1;
    /* The messages' views point into the entries themselves: re-aim them after the move. */
    if (bq != m->bq) {
        m->bq = bq;
        for (size_t i = 0; i < m->bq_len; i++)
            bcast_reaim(&m->bq[i]);
    }
    struct bcast **sorted = realloc(m->bq_sorted, cap * sizeof(*sorted));
    if (sorted == NULL)
        return -1;
    m->bq_sorted = sorted;
    struct gossip_msg *tx = realloc(m->tx_updates, (cap + 1) * sizeof(*tx));
    if (tx == NULL)
        return -1;
    m->tx_updates = tx;
    uint8_t *inc = realloc(m->tx_included, cap + 1);
    if (inc == NULL)
        return -1;
    m->tx_included = inc;
    m->bq_cap = cap;
    return 0;
}

/* Queues an update about `name`, replacing any older update about the same member. */
static void bcast_enqueue(struct membership *m, enum gossip_type type, const struct member *x,
                          const char *from)
{
    for (size_t i = 0; i < m->bq_len; i++) {
        if (strcmp(m->bq[i].name, x->name) == 0) {
            bcast_drop(m, i);
            break;
        }
    }
    if (m->bq_len == m->bq_cap && m->bq_cap < BCAST_MAX && bcast_grow(m) < 0)
        return;
    if (m->bq_len == m->bq_cap) {
        /* Full: drop the most-sent, oldest entry. */
        size_t worst = 0;
        for (size_t i = 1; i < m->bq_len; i++) {
            if (m->bq[i].transmits > m->bq[worst].transmits ||
                (m->bq[i].transmits == m->bq[worst].transmits && m->bq[i].id < m->bq[worst].id))
                worst = i;
        }
        bcast_drop(m, worst);
    }
    struct bcast *b = &m->bq[m->bq_len];
    memset(b, 0, sizeof(*b));
    snprintf(b->name, sizeof(b->name), "%s", x->name);
    snprintf(b->from, sizeof(b->from), "%s", from ? from : "");
    b->id = ++m->bq_id;
    b->msg.type = type;
    switch (type) {
    case GOSSIP_ALIVE:
        if (x->meta_len > 0) {
            b->meta = malloc(x->meta_len);
            if (b->meta == NULL)
                return;
            memcpy(b->meta, x->meta, x->meta_len);
        }
        b->msg.u.alive = (struct gossip_alive){
            .incarnation = x->incarnation,
            .node = {.name = proto_str_c(b->name), .addr = x->addr},
            .meta = {.ptr = b->meta, .len = x->meta_len},
        };
        break;
    case GOSSIP_SUSPECT:
    case GOSSIP_DEAD:
        b->msg.u.suspect = (struct gossip_suspect){
            .incarnation = x->incarnation,
            .name = proto_str_c(b->name),
            .from = proto_str_c(b->from),
        };
        break;
    case GOSSIP_LEAVE:
        b->msg.u.leave =
            (struct gossip_leave){.incarnation = x->incarnation, .name = proto_str_c(b->name)};
        break;
    default:
        return;
    }
    m->bq_len++;
    if (m->next_gossip > m->last_gossip + EAGER_GOSSIP_MS)
        m->next_gossip = m->last_gossip + EAGER_GOSSIP_MS;
}

static int bcast_order(const void *a, const void *b)
{
    const struct bcast *x = *(const struct bcast *const *)a, *y = *(const struct bcast *const *)b;
    if (x->transmits != y->transmits)
        return x->transmits < y->transmits ? -1 : 1;
    return x->id > y->id ? -1 : x->id < y->id;
}

/*
 * Sends one datagram to `to`: the probe (may be NULL), then `first` (may be NULL: the
 * suspicion a suspect must hear first), then queued updates, least-sent first, as many as fit.
 */
static void send_datagram(struct membership *m, const struct proto_addr *to,
                          const struct gossip_msg *probe, const struct gossip_msg *first)
{
    size_t n = 0;
    if (first)
        m->tx_updates[n++] = *first;
    for (size_t i = 0; i < m->bq_len; i++)
        m->bq_sorted[i] = &m->bq[i];
    qsort(m->bq_sorted, m->bq_len, sizeof(*m->bq_sorted), bcast_order);
    size_t base = n;
    for (size_t i = 0; i < m->bq_len; i++)
        m->tx_updates[n++] = m->bq_sorted[i]->msg;

    size_t len = 0;
    int carried = gossip_datagram_encode(m->sendbuf, sizeof(m->sendbuf), probe, m->tx_updates, n,
                                         m->tx_included, &len, NULL);
    if (carried < 0 || (probe == NULL && carried == 0))
        return;
    uint32_t limit = retransmit_limit(m);
    /* Count transmissions, then drop the updates that were sent often enough. Walk the sorted
     * view; dropping moves entries, so collect first. */
    for (size_t i = 0; i < m->bq_len; i++) {
        if (m->tx_included[base + i])
            m->bq_sorted[i]->transmits++;
    }
    for (size_t i = 0; i < m->bq_len;) {
        if (m->bq[i].transmits >= limit)
            bcast_drop(m, i);
        else
            i++;
    }
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
    double frac = log((double)s->n + 1) / log((double)s->k + 1);
    double t = (double)s->max_ms - frac * (double)(s->max_ms - s->min_ms);
    uint64_t ms = (uint64_t)floor(t);
    return ms < s->min_ms ? s->min_ms : ms;
}

static void start_suspicion(struct membership *m, struct member *x, const char *from, uint64_t now)
{
    struct suspicion *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return;
    double n = (double)alive_count(m);
    double scale = n > 1 ? log10(n) : 1;
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
}

/* A new, independent confirmation shortens the timeout. Returns 1 if it was new. */
static int confirm_suspicion(struct member *x, const char *from)
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

static void on_suspect(struct membership *m, uint64_t inc, struct proto_str name,
                       struct proto_str from, uint64_t now)
{
    struct member *x = find_str(m, name);
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
        if (confirm_suspicion(x, from_c))
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
    snprintf(m->probe.target, sizeof(m->probe.target), "%s", x->name);
    if (pending_new(m, PENDING_PROBE, seq, m->probe.end_ms) == NULL)
        return;
    m->st.probes++;
    send_ping(m, x, seq);
}

/* Picks up to k random members in `pool` state, other than ourselves and `except`. */
static size_t pick_members(struct membership *m, size_t k, const char *except, struct member **out,
                           uint64_t now, bool include_recent_dead)
{
    size_t n = 0;
    /* Reservoir sampling over the table: uniform, one pass, no allocation. */
    size_t seen = 0;
    for (size_t i = 0; i < m->count; i++) {
        struct member *x = &m->members[i];
        bool ok = probeable(x) || (include_recent_dead && x->state == MEMBER_FAILED &&
                                   now < x->state_since_ms + m->t.gossip_to_dead_ms);
        if (!ok || x->self || (except && strcmp(x->name, except) == 0))
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
    if (p)
        p->kind = PENDING_FREE;
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
    double n = (double)m->count;
    uint64_t base = m->t.pushpull_interval_ms;
    if (n <= 32)
        return base;
    return base * (uint64_t)(ceil(log2(n) - log2(32)) + 1);
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

static void reap(struct membership *m, uint64_t now)
{
    size_t w = 0;
    bool removed = false;
    for (size_t i = 0; i < m->count; i++) {
        struct member *x = &m->members[i];
        if ((x->state == MEMBER_FAILED || x->state == MEMBER_LEFT) && !x->self &&
            now >= x->state_since_ms + m->t.reap_ms) {
            emit(m, MEMBERSHIP_REAPED, x, NULL);
            free(x->name);
            free(x->meta);
            free(x->suspicion);
            removed = true;
            continue;
        }
        m->members[w++] = *x;
    }
    if (!removed)
        return;
    m->count = w;
    rehash(m, m->count);
    reshuffle(m);
}

void membership_tick(struct membership *m, uint64_t now)
{
    if (m->left)
        return;
    /* Ack handlers that ran out: a ping-req helper sends its nack. */
    for (size_t i = 0; i < PENDING_MAX; i++) {
        struct pending *p = &m->pending[i];
        if (p->kind != PENDING_RELAY || now < p->deadline_ms)
            continue;
        p->kind = PENDING_FREE;
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

    if (m->nsuspect > 0) {
        for (size_t i = 0; i < m->count; i++) {
            struct member *x = &m->members[i];
            if (x->state == MEMBER_SUSPECT && x->suspicion && now >= x->suspicion->deadline_ms)
                declare(m, x, MEMBER_FAILED, now);
        }
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
    if (now >= m->next_reconnect) {
        m->next_reconnect = now + m->t.reconnect_interval_ms;
        size_t seen = 0;
        struct member *pick = NULL;
        for (size_t i = 0; i < m->count; i++) {
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
    d = min64(d, m->next_reap);
    if (m->probe.active) {
        if (!m->probe.indirect_sent)
            d = min64(d, m->probe.timeout_ms);
        d = min64(d, m->probe.end_ms);
    } else {
        d = min64(d, m->next_probe);
    }
    for (size_t i = 0; i < PENDING_MAX; i++) {
        if (m->pending[i].kind == PENDING_RELAY)
            d = min64(d, m->pending[i].deadline_ms);
    }
    if (m->nsuspect > 0) {
        for (size_t i = 0; i < m->count; i++) {
            const struct member *x = &m->members[i];
            if (x->state == MEMBER_SUSPECT && x->suspicion)
                d = min64(d, x->suspicion->deadline_ms);
        }
    }
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

int membership_pushpull_encode(struct membership *m, bool join, uint8_t *buf, size_t cap,
                               size_t *len)
{
    size_t n = m->count < GOSSIP_PUSHPULL_MAX_MEMBERS ? m->count : GOSSIP_PUSHPULL_MAX_MEMBERS;
    struct gossip_member *list = malloc((n ? n : 1) * sizeof(*list));
    if (list == NULL)
        return PROTO_ERR_NOSPACE;
    for (size_t i = 0; i < n; i++) {
        const struct member *x = &m->members[i];
        list[i] = (struct gossip_member){.name = proto_str_c(x->name),
                                         .addr = x->addr,
                                         .incarnation = x->incarnation,
                                         .state = to_wire_state(x->state),
                                         .meta = {.ptr = x->meta, .len = x->meta_len}};
    }
    int rc = gossip_pushpull_encode(join, list, n, buf, cap, len, NULL);
    free(list);
    return rc;
}

int membership_pushpull_merge(struct membership *m, uint64_t now, const uint8_t *buf, size_t len,
                              bool *join)
{
    struct gossip_pushpull pp;
    if (gossip_pushpull_decode(buf, len, GOSSIP_PUSHPULL_MAX_SIZE, &pp, NULL) < 0) {
        m->st.bad_pushpulls++;
        return -1;
    }
    if (join)
        *join = pp.join;
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
    if (bcast_grow(m) < 0 || rehash(m, 16) < 0) {
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
        free(m->members[i].name);
        free(m->members[i].meta);
        free(m->members[i].suspicion);
    }
    for (size_t i = 0; m->bq && i < m->bq_len; i++)
        free(m->bq[i].meta);
    free(m->members);
    free(m->slots);
    free(m->order);
    free(m->bq);
    free(m->bq_sorted);
    free(m->tx_updates);
    free(m->tx_included);
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
    size_t n = 0;
    for (size_t i = 0; i < m->count; i++)
        n += m->members[i].state == s;
    return n;
}

const struct membership_stats *membership_stats(const struct membership *m)
{
    return &m->st;
}

unsigned membership_health(const struct membership *m)
{
    return m->awareness;
}
