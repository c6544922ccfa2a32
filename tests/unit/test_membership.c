/*
 * Membership (SWIM + Lifeguard) on the simulated network: whole clusters in one process, a
 * virtual clock, deterministic from the seed. Each scenario asserts what a user would see in
 * `swarm members` on every node.
 */
#include "agent/membership.h"
#include "tests/sim/sim.h"
#include "tests/unit/check.h"

#include <stdio.h>
#include <stdlib.h>

static bool converged(struct sim *s, void *arg)
{
    (void)arg;
    return sim_converged(s);
}

struct seen {
    size_t node;
    enum member_state state;
};

static bool all_see(struct sim *s, void *arg)
{
    struct seen *w = arg;
    return sim_all_see(s, w->node, w->state);
}

/* No running node ever reported a failure (FAILED events) during the run. */
static uint64_t failures_reported(struct sim *s, size_t n)
{
    uint64_t f = 0;
    for (size_t i = 0; i < n; i++)
        f += sim_events(s, i)->count[MEMBERSHIP_FAILED];
    return f;
}

static void test_converge(void)
{
    static const size_t sizes[] = {3, 10, 50, 200};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        size_t n = sizes[k];
        struct sim *s = sim_new(n, 42 + n, NULL);
        sim_start_all(s);
        uint64_t t0 = sim_now(s), when = 0;
        bool ok = sim_run_until_pred(s, converged, NULL, 50, t0 + 60000, &when);
        CHECK(ok);
        printf("# N=%zu converged in %llu ms (virtual), %llu datagrams\n", n,
               (unsigned long long)(when - t0), (unsigned long long)sim_datagrams(s));
        for (size_t i = 0; i < n; i++)
            CHECK_INT(membership_count(sim_view(s, i)), n);
        CHECK_INT(failures_reported(s, n), 0);
        sim_free(s);
    }
}

/* Every node lists all n alive, each with metadata. */
static bool all_meta(struct sim *s, void *arg)
{
    size_t n = *(const size_t *)arg;
    for (size_t i = 0; i < n; i++) {
        const struct membership *m = sim_view(s, i);
        if (membership_count_state(m, MEMBER_ALIVE) != n)
            return false;
        for (size_t k = 0; k < n; k++) {
            if (membership_member_at(m, k)->meta_len == 0)
                return false;
        }
    }
    return true;
}

/*
 * Agents started together, as `swarm join` starts them: node i at 3 i ms contacts one earlier
 * node (its first beacon answer), and gossips its engine's metadata 40-80 ms after its start (a
 * new incarnation). News that was spread before a node was known to the others never reaches it
 * by gossip; the one extra full push-pull after its join brings it. Every node must list every
 * node alive with its metadata within 1 s of the first start in every run (it took up to 2 s
 * with that push-pull 1-2 s after the join, as it was).
 */
static void test_start_storm(void)
{
    static const uint8_t meta[3] = {0x81, 0x01, 0x00}; /* {1: 0}: an agent */
    static const size_t sizes[] = {8, 32};
    uint64_t worst[2] = {0, 0};
    for (size_t k = 0; k < 2; k++) {
        size_t n = sizes[k];
        for (uint64_t seed = 1; seed <= 20; seed++) {
            struct sim *s = sim_new(n, seed, NULL);
            sim_set_latency(s, 1, 3);
            uint64_t rng = seed, meta_at[32];
            for (size_t i = 0; i < n; i++) {
                rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
                meta_at[i] = 3 * i + 40 + (rng >> 33) % 40;
            }
            uint64_t last = 3 * (n - 1) + 80;
            for (uint64_t now = 0; now <= last; now++) {
                sim_run_until(s, now);
                for (size_t i = 0; i < n; i++) {
                    if (now == 3 * i) {
                        sim_start(s, i, 1);
                        if (i > 0) {
                            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
                            sim_join(s, i, (size_t)((rng >> 33) % i));
                        }
                    }
                    if (now == meta_at[i])
                        CHECK_INT(membership_set_meta(sim_view(s, i), now, meta, sizeof(meta)), 0);
                }
            }
            uint64_t when = 0;
            CHECK(sim_run_until_pred(s, all_meta, &n, 1, 1000, &when));
            if (when > worst[k])
                worst[k] = when;
            CHECK_INT(failures_reported(s, n), 0);
            sim_free(s);
        }
    }
    printf("# start storm: all alive with metadata by %llu ms (N=8), %llu ms (N=32), worst of 20\n",
           (unsigned long long)worst[0], (unsigned long long)worst[1]);
}

static void test_kill_detected(void)
{
    size_t n = 20;
    struct sim *s = sim_new(n, 7, NULL);
    sim_start_all(s);
    CHECK(sim_run_until_pred(s, converged, NULL, 50, sim_now(s) + 30000, NULL));
    sim_kill(s, 5);
    uint64_t t0 = sim_now(s), when = 0;
    struct seen w = {5, MEMBER_FAILED};
    CHECK(sim_run_until_pred(s, all_see, &w, 10, t0 + 30000, &when));
    printf("# N=%zu: a killed member is listed failed by all others after %llu ms\n", n,
           (unsigned long long)(when - t0));
    /* Nobody else was ever declared failed. */
    for (size_t j = 0; j < n; j++) {
        if (j != 5)
            CHECK(sim_all_see(s, j, MEMBER_ALIVE));
    }
    sim_free(s);
}

static void test_no_false_positives_under_loss(void)
{
    size_t n = 50;
    struct sim *s = sim_new(n, 1234, NULL);
    sim_start_all(s);
    CHECK(sim_run_until_pred(s, converged, NULL, 50, sim_now(s) + 30000, NULL));
    sim_set_loss(s, 0.05);
    /* 1,000 probe periods. */
    sim_run_until(s, sim_now(s) + 1000 * 500);
    uint64_t suspects = 0;
    for (size_t i = 0; i < n; i++)
        suspects += sim_events(s, i)->count[MEMBERSHIP_SUSPECT];
    printf("# N=%zu, 5%% loss, 1000 probe periods: %llu suspicions (all refuted), %llu failures\n",
           n, (unsigned long long)suspects, (unsigned long long)failures_reported(s, n));
    CHECK_INT(failures_reported(s, n), 0);
    sim_set_loss(s, 0);
    CHECK(sim_run_until_pred(s, converged, NULL, 50, sim_now(s) + 10000, NULL));
    sim_free(s);
}

static void test_freeze_refutes(void)
{
    size_t n = 10;
    struct sim *s = sim_new(n, 99, NULL);
    sim_start_all(s);
    CHECK(sim_run_until_pred(s, converged, NULL, 50, sim_now(s) + 30000, NULL));
    /* Frozen for less than the suspicion timeout: suspected, then refutes when thawed. */
    sim_freeze(s, 3, true);
    struct seen w = {3, MEMBER_SUSPECT};
    CHECK(sim_run_until_pred(s, all_see, &w, 10, sim_now(s) + 10000, NULL) ||
          sim_events(s, 0)->count[MEMBERSHIP_SUSPECT] > 0);
    sim_freeze(s, 3, false);
    CHECK(sim_run_until_pred(s, converged, NULL, 10, sim_now(s) + 10000, NULL));
    CHECK_INT(failures_reported(s, n), 0);
    CHECK(membership_stats(sim_view(s, 3))->refutations > 0);
    CHECK(membership_self(sim_view(s, 3))->incarnation > 0);
    sim_free(s);
}

static void test_leave_is_not_failure(void)
{
    size_t n = 10;
    struct sim *s = sim_new(n, 5, NULL);
    sim_start_all(s);
    CHECK(sim_run_until_pred(s, converged, NULL, 50, sim_now(s) + 30000, NULL));
    sim_leave(s, 4);
    struct seen w = {4, MEMBER_LEFT};
    uint64_t t0 = sim_now(s), when = 0;
    CHECK(sim_run_until_pred(s, all_see, &w, 10, t0 + 10000, &when));
    printf("# N=%zu: a leave is seen by all after %llu ms\n", n, (unsigned long long)(when - t0));
    /* And it stays "left": nobody suspects or fails it afterwards. */
    sim_run_until(s, sim_now(s) + 30000);
    CHECK(sim_all_see(s, 4, MEMBER_LEFT));
    CHECK_INT(failures_reported(s, n), 0);
    sim_free(s);
}

static void test_restart_same_name(void)
{
    size_t n = 8;
    struct sim *s = sim_new(n, 77, NULL);
    sim_start_all(s);
    CHECK(sim_run_until_pred(s, converged, NULL, 50, sim_now(s) + 30000, NULL));
    sim_kill(s, 6);
    struct seen w = {6, MEMBER_FAILED};
    CHECK(sim_run_until_pred(s, all_see, &w, 10, sim_now(s) + 30000, NULL));
    uint64_t old_inc = membership_get(sim_view(s, 0), "node-6")->incarnation;
    /* Same name, fresh process, starting again at incarnation 0. */
    sim_start(s, 6, 0);
    sim_join(s, 6, 1);
    CHECK(sim_run_until_pred(s, converged, NULL, 10, sim_now(s) + 30000, NULL));
    const struct member *x = membership_get(sim_view(s, 0), "node-6");
    CHECK(x != NULL && x->incarnation > old_inc);
    CHECK_INT(membership_count(sim_view(s, 0)), n); /* took over its entry, no duplicate */
    sim_free(s);
}

static void test_partition_heals(void)
{
    size_t n = 10;
    struct sim *s = sim_new(n, 2024, NULL);
    sim_start_all(s);
    CHECK(sim_run_until_pred(s, converged, NULL, 50, sim_now(s) + 30000, NULL));
    sim_partition(s, 5);
    struct seen w = {7, MEMBER_FAILED};
    CHECK(sim_run_until_pred(s, all_see, &w, 50, sim_now(s) + 60000, NULL) ||
          sim_state_of(s, 0, 7) == MEMBER_FAILED);
    CHECK_INT(sim_state_of(s, 0, 7), MEMBER_FAILED);
    CHECK_INT(sim_state_of(s, 7, 0), MEMBER_FAILED);
    CHECK_INT(sim_state_of(s, 0, 1), MEMBER_ALIVE);
    sim_partition(s, 0);
    uint64_t t0 = sim_now(s), when = 0;
    CHECK(sim_run_until_pred(s, converged, NULL, 50, t0 + 120000, &when));
    printf("# N=%zu: a 5|5 partition healed %llu ms after the links came back\n", n,
           (unsigned long long)(when - t0));
    sim_free(s);
}

static void test_name_conflict(void)
{
    size_t n = 4;
    struct sim *s = sim_new(n, 3, NULL);
    sim_start(s, 0, 0);
    sim_start(s, 1, 0);
    sim_start_named(s, 2, "node-1", 0); /* a second live node claims node-1 */
    sim_start(s, 3, 0);
    sim_join(s, 1, 0);
    sim_run_until(s, sim_now(s) + 2000);
    sim_join(s, 2, 0);
    sim_join(s, 3, 0);
    sim_run_until(s, sim_now(s) + 20000);
    /* Both claimants hear of the other; node 0 keeps the first address; never merged. */
    CHECK(sim_events(s, 0)->count[MEMBERSHIP_CONFLICT] > 0);
    CHECK(sim_events(s, 1)->count[MEMBERSHIP_CONFLICT] > 0);
    CHECK(sim_events(s, 2)->count[MEMBERSHIP_CONFLICT] > 0);
    const struct member *x = membership_get(sim_view(s, 0), "node-1");
    CHECK(x != NULL && x->addr.ip[2] == 1);
    CHECK_INT(membership_count(sim_view(s, 0)), 3);
    sim_free(s);
}

static void test_garbage_counted(void)
{
    struct membership_tuning t;
    membership_tuning_lan(&t);
    struct membership_config cfg = {.name = "solo", .seed = 1, .tuning = t};
    uint8_t ip[4] = {127, 0, 0, 1};
    proto_addr_set(&cfg.addr, ip, 4, 7946);
    char err[128];
    struct membership *m = membership_new(&cfg, NULL, 0, err, sizeof(err));
    CHECK(m != NULL);
    if (m == NULL)
        return;
    uint8_t junk[64];
    srand(5);
    for (int i = 0; i < 1000; i++) {
        for (size_t j = 0; j < sizeof(junk); j++)
            junk[j] = (uint8_t)rand();
        membership_recv(m, 0, &cfg.addr, junk, (size_t)(i % 64));
    }
    CHECK_INT(membership_stats(m)->bad_datagrams, 1000);
    CHECK_INT(membership_count(m), 1);
    CHECK(membership_pushpull_merge(m, 0, junk, sizeof(junk), NULL) < 0);
    CHECK_INT(membership_stats(m)->bad_pushpulls, 1);
    membership_free(m);

    cfg.name = "bad name";
    CHECK(membership_new(&cfg, NULL, 0, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "member name") != NULL);
}

static struct membership *solo(const char *name, uint8_t last)
{
    struct membership_tuning t;
    membership_tuning_lan(&t);
    struct membership_config cfg = {.name = name, .seed = last, .tuning = t};
    uint8_t ip[4] = {10, 0, 0, last};
    proto_addr_set(&cfg.addr, ip, 4, 7946);
    char err[128];
    return membership_new(&cfg, NULL, 0, err, sizeof(err));
}

/* One exchange a -> b as on TCP; the answer's member count into *answered (-1 if bad). */
static size_t exchange(struct membership *a, struct membership *b, bool join, long *answered)
{
    static uint8_t req[1 << 20], ans[1 << 20];
    size_t lreq = 0, lans = 0;
    struct membership_pushpull_ask ask;
    struct gossip_pushpull pp;
    *answered = -1;
    if (membership_pushpull_encode(a, join, req, sizeof(req), &lreq) != 0 ||
        membership_pushpull_merge(b, 0, req, lreq, &ask) != 0 ||
        membership_pushpull_answer(b, &ask, ans, sizeof(ans), &lans) != 0 ||
        gossip_pushpull_decode(ans, lans, sizeof(ans), &pp, NULL) != 0 ||
        membership_pushpull_merge(a, 0, ans, lans, NULL) != 0)
        return 0;
    *answered = (long)pp.count;
    return lans;
}

/* A periodic sync is a digest and a pull: agreeing views exchange no member, one change
 * costs its bucket, whatever the size. */
static void test_sync_digest(void)
{
    struct membership *a = solo("a", 1), *b = solo("b", 2);
    CHECK(a && b);
    if (!a || !b)
        return;
    long n;
    exchange(a, b, true, &n); /* a joins b: full states both ways */
    CHECK_INT(n, 2);
    CHECK_INT(membership_count(a), 2);

    /* b hears of 300 more members. */
    enum { MORE = 300 };
    static struct gossip_member ms[MORE];
    static char names[MORE][8];
    for (int i = 0; i < MORE; i++) {
        snprintf(names[i], sizeof(names[i]), "m%d", i);
        uint8_t ip[4] = {10, 1, (uint8_t)(i >> 8), (uint8_t)i};
        ms[i] = (struct gossip_member){.name = proto_str_c(names[i]), .incarnation = 1};
        proto_addr_set(&ms[i].addr, ip, 4, 7946);
    }
    static uint8_t buf[1 << 20];
    size_t len;
    CHECK_INT(gossip_pushpull_encode(false, ms, MORE, buf, sizeof(buf), &len, NULL), 0);
    CHECK_INT(membership_pushpull_merge(b, 0, buf, len, NULL), 0);
    CHECK_INT(membership_count(b), MORE + 2);

    /* a's sync pulls what it lacks: every bucket differs, so nearly everything comes. */
    exchange(a, b, false, &n);
    CHECK(n >= MORE);
    CHECK_INT(membership_count(a), MORE + 2);
    /* Now the views agree: the answer holds no member. */
    size_t bytes = exchange(a, b, false, &n);
    CHECK_INT(n, 0);
    CHECK(bytes > 0 && bytes < 16);

    /* b suspects m7: the answer is m7's bucket only (302 members over 64 buckets). */
    ms[7].state = GOSSIP_STATE_SUSPECT;
    CHECK_INT(gossip_pushpull_encode(false, &ms[7], 1, buf, sizeof(buf), &len, NULL), 0);
    CHECK_INT(membership_pushpull_merge(b, 0, buf, len, NULL), 0);
    CHECK_INT(membership_get(b, "m7")->state, MEMBER_SUSPECT);
    exchange(a, b, false, &n);
    CHECK(n >= 1 && n < 20);
    CHECK_INT(membership_get(a, "m7")->state, MEMBER_SUSPECT);
    exchange(a, b, false, &n);
    CHECK_INT(n, 0);

    /* An opening without a digest (an older peer's) is answered in full. */
    CHECK_INT(gossip_pushpull_encode(false, NULL, 0, buf, sizeof(buf), &len, NULL), 0);
    struct membership_pushpull_ask ask;
    CHECK_INT(membership_pushpull_merge(b, 0, buf, len, &ask), 0);
    CHECK(!ask.digest);
    static uint8_t ans[1 << 20];
    size_t lans;
    struct gossip_pushpull pp;
    CHECK_INT(membership_pushpull_answer(b, &ask, ans, sizeof(ans), &lans), 0);
    CHECK_INT(gossip_pushpull_decode(ans, lans, sizeof(ans), &pp, NULL), 0);
    CHECK_INT(pp.count, MORE + 2);
    membership_free(a);
    membership_free(b);
}

/* A member that missed a leave and suspects the leaver is told "left" by those who know, so it
 * lists it left, not failed: node 0 is cut off while node 2 leaves, and hears of the leave only
 * through its own suspicion of node 2 once it is back. */
static void test_missed_leave_corrected(void)
{
    struct sim *s = sim_new(3, 11, NULL);
    sim_start_all(s);
    CHECK(sim_run_until_pred(s, converged, NULL, 50, sim_now(s) + 30000, NULL));
    sim_cut(s, 0, 1, true);
    sim_cut(s, 0, 2, true);
    sim_leave(s, 2);
    sim_run_until(s, sim_now(s) + 2500); /* node 1's news of the leave runs out meanwhile */
    CHECK_INT(sim_state_of(s, 1, 2), MEMBER_LEFT);
    CHECK(sim_state_of(s, 0, 2) != MEMBER_LEFT);
    sim_cut(s, 0, 1, false);
    /* Node 0's suspicion of node 2 ends in "failed" a few seconds on; node 1 answers that with
     * the leave at once (no push-pull falls in this window: the first is 30 s away). */
    struct seen w = {2, MEMBER_LEFT};
    uint64_t pp = sim_pushpulls(s);
    CHECK(sim_run_until_pred(s, all_see, &w, 10, sim_now(s) + 8000, NULL));
    CHECK_INT(sim_state_of(s, 0, 1), MEMBER_ALIVE);
    CHECK_INT(sim_pushpulls(s), pp);
    sim_free(s);
}

int main(void)
{
    RUN(test_garbage_counted);
    RUN(test_sync_digest);
    RUN(test_converge);
    RUN(test_start_storm);
    RUN(test_kill_detected);
    RUN(test_leave_is_not_failure);
    RUN(test_missed_leave_corrected);
    RUN(test_freeze_refutes);
    RUN(test_restart_same_name);
    RUN(test_partition_heals);
    RUN(test_name_conflict);
    RUN(test_no_false_positives_under_loss);
    return check_done();
}
