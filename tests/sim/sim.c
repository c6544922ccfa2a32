#include "tests/sim/sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct packet {
    uint64_t at, order;
    uint32_t from, to;
    size_t len;
    uint8_t *data;
};

struct pushpull_req {
    uint64_t at;
    uint32_t from, to;
    bool join;
};

struct node {
    struct membership *m;
    char name[PROTO_NAME_MAX + 1];
    struct proto_addr addr;
    bool frozen;
    uint64_t deadline; /* cached membership_next_deadline; UINT64_MAX when idle */
    uint64_t version;  /* bumped whenever deadline changes: older timer entries are stale */
    struct sim_events ev;
    struct sim *sim;
    uint32_t index;
};

/* A node's deadline as it was when pushed; stale once the node's version moved on. */
struct timer {
    uint64_t at, version;
    uint32_t node;
};

struct sim {
    uint64_t now, rng, order;
    size_t n;
    struct node *nodes;
    bool *cut; /* n * n, allocated by the first sim_cut/sim_partition; NULL = all links up */
    double loss;
    uint32_t lat_min, lat_max;
    struct membership_tuning tuning;

    struct packet *heap;
    size_t heap_len, heap_cap;
    struct pushpull_req *pp;
    size_t pp_len, pp_cap;
    uint64_t datagrams, bytes, pushpulls, pushpull_bytes;

    /* Node deadlines: a lazy min-heap, one live entry per node plus stale ones skipped on pop
     * (and swept when they outnumber the nodes). `due` collects the nodes to tick in a step. */
    struct timer *timers;
    size_t timers_len, timers_cap;
    uint32_t *due;
    size_t due_cap;

    sim_event_fn on_event;
    void *on_event_arg;
};

static uint64_t rnd(struct sim *s)
{
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double rnd01(struct sim *s)
{
    return (double)(rnd(s) >> 11) / (double)(1ULL << 53);
}

static uint32_t latency(struct sim *s)
{
    return s->lat_min + (uint32_t)(rnd(s) % (s->lat_max - s->lat_min + 1));
}

static bool packet_before(const struct packet *a, const struct packet *b)
{
    return a->at < b->at || (a->at == b->at && a->order < b->order);
}

static void heap_push(struct sim *s, struct packet p)
{
    if (s->heap_len == s->heap_cap) {
        s->heap_cap = s->heap_cap ? s->heap_cap * 2 : 1024;
        s->heap = realloc(s->heap, s->heap_cap * sizeof(*s->heap));
        if (s->heap == NULL)
            abort();
    }
    size_t i = s->heap_len++;
    while (i > 0 && packet_before(&p, &s->heap[(i - 1) / 2])) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = p;
}

static struct packet heap_pop(struct sim *s)
{
    struct packet top = s->heap[0];
    struct packet last = s->heap[--s->heap_len];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s->heap_len)
            break;
        if (c + 1 < s->heap_len && packet_before(&s->heap[c + 1], &s->heap[c]))
            c++;
        if (!packet_before(&s->heap[c], &last))
            break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (s->heap_len > 0)
        s->heap[i] = last;
    return top;
}

/* ---- node timers: a lazy min-heap of (deadline, node, version) ------------------------------ */

static bool timer_before(const struct timer *a, const struct timer *b)
{
    return a->at < b->at || (a->at == b->at && a->node < b->node);
}

static void timer_sift_down(struct timer *h, size_t len, size_t i)
{
    struct timer x = h[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= len)
            break;
        if (c + 1 < len && timer_before(&h[c + 1], &h[c]))
            c++;
        if (!timer_before(&h[c], &x))
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
}

static bool timer_live(const struct sim *s, const struct timer *t)
{
    return s->nodes[t->node].version == t->version;
}

/* Drops the stale entries and rebuilds the heap: O(len), run when they outnumber the nodes,
 * so the heap stays O(n) however often deadlines move. */
static void timers_sweep(struct sim *s)
{
    size_t w = 0;
    for (size_t i = 0; i < s->timers_len; i++) {
        if (timer_live(s, &s->timers[i]))
            s->timers[w++] = s->timers[i];
    }
    s->timers_len = w;
    for (size_t i = w / 2; i-- > 0;)
        timer_sift_down(s->timers, w, i);
}

static void timer_push(struct sim *s, struct timer t)
{
    if (s->timers_len >= 2 * s->n + 64)
        timers_sweep(s);
    if (s->timers_len == s->timers_cap) {
        s->timers_cap = s->timers_cap ? s->timers_cap * 2 : 64;
        s->timers = realloc(s->timers, s->timers_cap * sizeof(*s->timers));
        if (s->timers == NULL)
            abort();
    }
    size_t i = s->timers_len++;
    while (i > 0 && timer_before(&t, &s->timers[(i - 1) / 2])) {
        s->timers[i] = s->timers[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->timers[i] = t;
}

static void timer_pop(struct sim *s)
{
    s->timers[0] = s->timers[--s->timers_len];
    if (s->timers_len > 0)
        timer_sift_down(s->timers, s->timers_len, 0);
}

/* The earliest live entry, after dropping stale ones from the top; NULL if none. */
static const struct timer *timer_top(struct sim *s)
{
    while (s->timers_len > 0 && !timer_live(s, &s->timers[0]))
        timer_pop(s);
    return s->timers_len > 0 ? &s->timers[0] : NULL;
}

static int index_of(const struct sim *s, const struct proto_addr *a)
{
    if (a->len != 4 || a->ip[0] != 10)
        return -1;
    size_t i = (size_t)a->ip[1] * 256 + a->ip[2];
    return i < s->n ? (int)i : -1;
}

static bool link_up(const struct sim *s, size_t a, size_t b)
{
    return s->cut == NULL || !s->cut[a * s->n + b];
}

static void io_send(void *ctx, const struct proto_addr *to, const uint8_t *plain, size_t len)
{
    struct node *from = ctx;
    struct sim *s = from->sim;
    s->datagrams++;
    s->bytes += len;
    int t = index_of(s, to);
    if (t < 0 || !link_up(s, from->index, (size_t)t) || rnd01(s) < s->loss)
        return;
    struct packet p = {.at = s->now + latency(s),
                       .order = ++s->order,
                       .from = from->index,
                       .to = (uint32_t)t,
                       .len = len,
                       .data = malloc(len)};
    if (p.data == NULL)
        abort();
    memcpy(p.data, plain, len);
    heap_push(s, p);
}

static void io_pushpull(void *ctx, const struct proto_addr *to, bool join)
{
    struct node *from = ctx;
    struct sim *s = from->sim;
    int t = index_of(s, to);
    if (t < 0)
        return;
    if (s->pp_len == s->pp_cap) {
        s->pp_cap = s->pp_cap ? s->pp_cap * 2 : 64;
        s->pp = realloc(s->pp, s->pp_cap * sizeof(*s->pp));
        if (s->pp == NULL)
            abort();
    }
    s->pp[s->pp_len++] = (struct pushpull_req){
        .at = s->now + latency(s), .from = from->index, .to = (uint32_t)t, .join = join};
}

static void io_event(void *ctx, const struct membership_event *ev)
{
    struct node *n = ctx;
    n->ev.count[ev->kind]++;
    if (n->sim->on_event)
        n->sim->on_event(n->sim->on_event_arg, n->index, n->sim->now, ev);
}

struct sim *sim_new(size_t n, uint64_t seed, const struct membership_tuning *t)
{
    struct sim *s = calloc(1, sizeof(*s));
    if (s == NULL)
        abort();
    s->n = n;
    s->rng = seed;
    s->nodes = calloc(n, sizeof(*s->nodes));
    if (s->nodes == NULL)
        abort();
    s->lat_min = 1;
    s->lat_max = 5;
    s->now = 1000;
    if (t)
        s->tuning = *t;
    else
        membership_tuning_lan(&s->tuning);
    for (size_t i = 0; i < n; i++) {
        struct node *nd = &s->nodes[i];
        nd->sim = s;
        nd->index = (uint32_t)i;
        snprintf(nd->name, sizeof(nd->name), "node-%zu", i);
        uint8_t ip[4] = {10, (uint8_t)(i >> 8), (uint8_t)(i & 255), 1};
        proto_addr_set(&nd->addr, ip, 4, 7946);
        nd->deadline = UINT64_MAX;
    }
    return s;
}

void sim_free(struct sim *s)
{
    for (size_t i = 0; i < s->n; i++)
        membership_free(s->nodes[i].m);
    for (size_t i = 0; i < s->heap_len; i++)
        free(s->heap[i].data);
    free(s->heap);
    free(s->pp);
    free(s->timers);
    free(s->due);
    free(s->nodes);
    free(s->cut);
    free(s);
}

uint64_t sim_now(const struct sim *s)
{
    return s->now;
}

void sim_set_latency(struct sim *s, uint32_t min_ms, uint32_t max_ms)
{
    s->lat_min = min_ms;
    s->lat_max = max_ms < min_ms ? min_ms : max_ms;
}

void sim_set_loss(struct sim *s, double p)
{
    s->loss = p;
}

/* The link matrix costs n * n bytes (100 MB at 10,000 nodes): made only when a test cuts. */
static void cut_matrix(struct sim *s)
{
    if (s->cut == NULL) {
        s->cut = calloc(s->n * s->n, sizeof(*s->cut));
        if (s->cut == NULL)
            abort();
    }
}

void sim_cut(struct sim *s, size_t a, size_t b, bool cut)
{
    if (!cut && s->cut == NULL)
        return;
    cut_matrix(s);
    s->cut[a * s->n + b] = cut;
    s->cut[b * s->n + a] = cut;
}

void sim_partition(struct sim *s, size_t k)
{
    if (k == 0 && s->cut == NULL)
        return;
    cut_matrix(s);
    for (size_t a = 0; a < s->n; a++) {
        for (size_t b = 0; b < s->n; b++)
            s->cut[a * s->n + b] = k > 0 && ((a < k) != (b < k));
    }
}

/* Sets the node's deadline; a new deadline gets a new heap entry and makes the old one
 * stale. force: the node's live entry was just popped, push even if the deadline is the same. */
static void schedule(struct node *nd, uint64_t deadline, bool force)
{
    if (deadline == nd->deadline && !force)
        return;
    nd->deadline = deadline;
    nd->version++;
    if (deadline != UINT64_MAX)
        timer_push(nd->sim,
                   (struct timer){.at = deadline, .version = nd->version, .node = nd->index});
}

static void refresh(struct node *nd)
{
    schedule(nd, nd->m && !nd->frozen ? membership_next_deadline(nd->m) : UINT64_MAX, false);
}

void sim_start_named(struct sim *s, size_t i, const char *name, uint64_t inc)
{
    struct node *nd = &s->nodes[i];
    membership_free(nd->m);
    snprintf(nd->name, sizeof(nd->name), "%s", name);
    struct membership_config cfg = {.name = nd->name,
                                    .addr = nd->addr,
                                    .incarnation = inc,
                                    .seed = rnd(s),
                                    .tuning = s->tuning};
    struct membership_io io = {
        .ctx = nd, .send = io_send, .pushpull = io_pushpull, .event = io_event};
    char err[128];
    nd->m = membership_new(&cfg, &io, s->now, err, sizeof(err));
    if (nd->m == NULL) {
        fprintf(stderr, "sim: %s\n", err);
        abort();
    }
    nd->frozen = false;
    refresh(nd);
}

void sim_start(struct sim *s, size_t i, uint64_t inc)
{
    char name[PROTO_NAME_MAX + 1];
    snprintf(name, sizeof(name), "node-%zu", i);
    sim_start_named(s, i, name, inc);
}

void sim_join(struct sim *s, size_t i, size_t seed)
{
    membership_join(s->nodes[i].m, &s->nodes[seed].addr);
    refresh(&s->nodes[i]);
}

void sim_start_all(struct sim *s)
{
    for (size_t i = 0; i < s->n; i++)
        sim_start(s, i, 0);
    for (size_t i = 1; i < s->n; i++)
        sim_join(s, i, 0);
}

void sim_start_staggered(struct sim *s, uint32_t step_ms)
{
    uint64_t t0 = s->now;
    sim_start(s, 0, 0);
    for (size_t i = 1; i < s->n; i++) {
        sim_run_until(s, t0 + i * step_ms);
        sim_start(s, i, 0);
        sim_join(s, i, (size_t)(rnd(s) % i));
    }
}

void sim_kill(struct sim *s, size_t i)
{
    membership_free(s->nodes[i].m);
    s->nodes[i].m = NULL;
    schedule(&s->nodes[i], UINT64_MAX, false);
}

void sim_freeze(struct sim *s, size_t i, bool frozen)
{
    s->nodes[i].frozen = frozen;
    refresh(&s->nodes[i]);
}

void sim_leave(struct sim *s, size_t i)
{
    membership_leave(s->nodes[i].m, s->now, 8);
    /* Then the process exits, as `swarm join` does on SIGTERM. */
    sim_kill(s, i);
}

bool sim_running(const struct sim *s, size_t i)
{
    return s->nodes[i].m != NULL;
}

static bool reachable(const struct node *nd)
{
    return nd->m != NULL && !nd->frozen;
}

static void do_pushpull(struct sim *s, const struct pushpull_req *r)
{
    struct node *a = &s->nodes[r->from], *b = &s->nodes[r->to];
    if (!reachable(a) || !reachable(b) || !link_up(s, r->from, r->to))
        return;
    static uint8_t buf_a[1 << 22], buf_b[1 << 22];
    size_t la = 0, lb = 0;
    /* As on TCP: b merges a's opening, then answers what it asked; a merges the answer. */
    static struct membership_pushpull_ask ask;
    if (membership_pushpull_encode(a->m, r->join, buf_a, sizeof(buf_a), &la) < 0 ||
        membership_pushpull_merge(b->m, s->now, buf_a, la, &ask) < 0 ||
        membership_pushpull_answer(b->m, &ask, buf_b, sizeof(buf_b), &lb) < 0)
        abort();
    s->bytes += la + lb;
    s->pushpulls++;
    s->pushpull_bytes += la + lb;
    membership_pushpull_merge(a->m, s->now, buf_b, lb, NULL);
    refresh(a);
    refresh(b);
}

static uint64_t next_event(struct sim *s)
{
    uint64_t t = UINT64_MAX;
    if (s->heap_len > 0)
        t = s->heap[0].at;
    for (size_t i = 0; i < s->pp_len; i++)
        t = s->pp[i].at < t ? s->pp[i].at : t;
    const struct timer *top = timer_top(s);
    if (top && top->at < t)
        t = top->at;
    return t;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Ticks every node whose deadline has passed, in node order (as a scan of all nodes would, so
 * the run does not depend on the heap's layout). A tick only queues datagrams and push-pulls
 * for later, so it cannot make another node due in the same step. */
static void tick_due(struct sim *s)
{
    size_t n = 0;
    for (const struct timer *t; (t = timer_top(s)) != NULL && t->at <= s->now;) {
        if (n == s->due_cap) {
            s->due_cap = s->due_cap ? s->due_cap * 2 : 256;
            s->due = realloc(s->due, s->due_cap * sizeof(*s->due));
            if (s->due == NULL)
                abort();
        }
        s->due[n++] = t->node;
        timer_pop(s);
    }
    if (n > 1)
        qsort(s->due, n, sizeof(*s->due), cmp_u32);
    for (size_t i = 0; i < n; i++) {
        struct node *nd = &s->nodes[s->due[i]];
        /* Its entry is gone from the heap: reschedule even if the deadline did not move. */
        if (reachable(nd))
            membership_tick(nd->m, s->now);
        schedule(nd, reachable(nd) ? membership_next_deadline(nd->m) : UINT64_MAX, true);
    }
}

void sim_run_until(struct sim *s, uint64_t until)
{
    for (;;) {
        uint64_t t = next_event(s);
        if (t > until) {
            s->now = until;
            return;
        }
        if (t > s->now)
            s->now = t;
        while (s->heap_len > 0 && s->heap[0].at <= s->now) {
            struct packet p = heap_pop(s);
            struct node *to = &s->nodes[p.to];
            if (reachable(to)) {
                membership_recv(to->m, s->now, &s->nodes[p.from].addr, p.data, p.len);
                refresh(to);
            }
            free(p.data);
        }
        for (size_t i = 0; i < s->pp_len;) {
            if (s->pp[i].at <= s->now) {
                struct pushpull_req r = s->pp[i];
                s->pp[i] = s->pp[--s->pp_len];
                do_pushpull(s, &r);
            } else {
                i++;
            }
        }
        tick_due(s);
    }
}

bool sim_run_until_pred(struct sim *s, bool (*pred)(struct sim *, void *), void *arg,
                        uint64_t step_ms, uint64_t deadline, uint64_t *when)
{
    while (!pred(s, arg)) {
        if (s->now >= deadline)
            return false;
        uint64_t next = s->now + step_ms;
        sim_run_until(s, next < deadline ? next : deadline);
    }
    if (when)
        *when = s->now;
    return true;
}

struct membership *sim_view(struct sim *s, size_t i)
{
    return s->nodes[i].m;
}

const char *sim_name(const struct sim *s, size_t i)
{
    return s->nodes[i].name;
}

int sim_node_at(const struct sim *s, const struct proto_addr *a)
{
    return index_of(s, a);
}

const struct sim_events *sim_events(const struct sim *s, size_t i)
{
    return &s->nodes[i].ev;
}

int sim_state_of(struct sim *s, size_t i, size_t j)
{
    if (s->nodes[i].m == NULL)
        return -1;
    const struct member *x = membership_get(s->nodes[i].m, s->nodes[j].name);
    return x ? (int)x->state : -1;
}

bool sim_all_see(struct sim *s, size_t j, enum member_state st)
{
    for (size_t i = 0; i < s->n; i++) {
        if (i == j || !reachable(&s->nodes[i]))
            continue;
        if (sim_state_of(s, i, j) != (int)st)
            return false;
    }
    return true;
}

bool sim_converged(struct sim *s)
{
    for (size_t j = 0; j < s->n; j++) {
        if (reachable(&s->nodes[j]) && !sim_all_see(s, j, MEMBER_ALIVE))
            return false;
    }
    return true;
}

uint64_t sim_datagrams(const struct sim *s)
{
    return s->datagrams;
}

uint64_t sim_bytes(const struct sim *s)
{
    return s->bytes;
}

uint64_t sim_pushpull_bytes(const struct sim *s)
{
    return s->pushpull_bytes;
}

uint64_t sim_pushpulls(const struct sim *s)
{
    return s->pushpulls;
}

void sim_on_event(struct sim *s, sim_event_fn fn, void *arg)
{
    s->on_event = fn;
    s->on_event_arg = arg;
}
