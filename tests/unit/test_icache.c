/*
 * Unit tests for the manager's kept inspect answers (manager/icache.h): what is kept and what
 * is refused, the clock epoch that makes answers stale (and answers in flight unkeepable),
 * per-id forgetting across variants, the byte budget with least-recently-used eviction, and a
 * random walk checked against a plain model of what must be given back.
 */
#include "manager/icache.h"
#include "tests/unit/check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON "application/json"

static const char body1[] = "{\"Id\":\"aaa\",\"State\":{\"Status\":\"running\"}}\n";
static const char body2[] = "{\"Id\":\"aaa\",\"State\":{\"Status\":\"exited\"}}\n";

static int put(struct icache *c, const char *id, const char *variant, struct icache_clock *k,
               const char *body)
{
    return icache_put(c, id, variant, k, k->epoch, 200, JSON, body, strlen(body), 7);
}

static void test_keep_and_give(void)
{
    struct icache *c = icache_new(1 << 20);
    struct icache_clock *k = icache_clock_new();
    CHECK(c != NULL && k != NULL);
    CHECK(icache_get(c, "aaa", "", k) == NULL);
    CHECK_INT(put(c, "aaa", "", k, body1), 1);
    const struct icache_entry *e = icache_get(c, "aaa", "", k);
    CHECK(e != NULL);
    CHECK_STR(e ? e->body : NULL, body1);
    CHECK_INT(e ? e->len : 0, strlen(body1));
    CHECK_STR(e ? e->content_type : NULL, JSON);
    CHECK_INT(e ? e->stamp : 0, 7);
    /* Variants are apart; the same pair is replaced. */
    CHECK(icache_get(c, "aaa", "/v1.41", k) == NULL);
    CHECK_INT(put(c, "aaa", "/v1.41", k, body2), 1);
    CHECK_STR(icache_get(c, "aaa", "/v1.41", k)->body, body2);
    CHECK_STR(icache_get(c, "aaa", "", k)->body, body1);
    CHECK_INT(put(c, "aaa", "", k, body2), 1);
    CHECK_STR(icache_get(c, "aaa", "", k)->body, body2);
    /* Another engine's clock never sees it. */
    struct icache_clock *k2 = icache_clock_new();
    CHECK(icache_get(c, "aaa", "", k2) == NULL);
    CHECK(icache_get(c, "aaa", "", NULL) == NULL);
    struct icache_stats st;
    icache_get_stats(c, &st);
    CHECK_INT(st.entries, 1); /* the k2 lookup found aaa/"" kept under k: dropped */
    CHECK(icache_get(c, "aaa", "", k) == NULL);
    CHECK(icache_get(c, "aaa", "/v1.41", k) != NULL);
    icache_clock_unref(k2);
    icache_clock_unref(k);
    icache_free(c);
}

static void test_refused(void)
{
    struct icache *c = icache_new(1 << 20);
    struct icache_clock *k = icache_clock_new();
    const char *b = body1;
    size_t n = strlen(b);
    CHECK_INT(icache_put(c, "a", "", k, k->epoch, 404, JSON, b, n, 0), 0);
    CHECK_INT(icache_put(c, "a", "", k, k->epoch, 200, "text/plain", b, n, 0), 0);
    CHECK_INT(icache_put(c, "a", "", k, k->epoch, 200, NULL, b, n, 0), 0);
    CHECK_INT(icache_put(c, "a", "", k, k->epoch, 200, JSON, "[1]", 3, 0), 0);
    CHECK_INT(icache_put(c, "a", "", k, k->epoch, 200, JSON, "", 0, 0), 0);
    CHECK_INT(icache_put(c, "a", "", NULL, 0, 200, JSON, b, n, 0), 0);
    /* A health check: its log moves with no event. */
    const char *h = "{\"State\":{\"Health\":{\"Status\":\"healthy\"}}}";
    CHECK_INT(icache_put(c, "a", "", k, k->epoch, 200, JSON, h, strlen(h), 0), 0);
    /* ... but the word inside a string is no key. */
    const char *lbl = "{\"Config\":{\"Labels\":{\"x\":\"\\\"Health\\\": no\"}}}";
    CHECK_INT(icache_put(c, "a", "", k, k->epoch, 200, JSON, lbl, strlen(lbl), 0), 1);
    CHECK_INT(icache_put(c, "a", "", k, k->epoch, 200, "application/json; charset=utf-8", b, n, 0),
              1);
    /* Too long an id or variant, too large a body. */
    char id[ICACHE_ID_MAX + 2];
    memset(id, 'f', sizeof(id) - 1);
    id[sizeof(id) - 1] = '\0';
    CHECK_INT(icache_put(c, id, "", k, k->epoch, 200, JSON, b, n, 0), 0);
    CHECK_INT(icache_put(c, "a", "/v1.41/much-too-long", k, k->epoch, 200, JSON, b, n, 0), 0);
    char *big = malloc(ICACHE_ENTRY_MAX + 2);
    memset(big, ' ', ICACHE_ENTRY_MAX + 1);
    big[0] = '{';
    big[ICACHE_ENTRY_MAX] = '}';
    big[ICACHE_ENTRY_MAX + 1] = '\0';
    CHECK_INT(icache_put(c, "a", "", k, k->epoch, 200, JSON, big, ICACHE_ENTRY_MAX + 1, 0), 0);
    free(big);
    /* A cache with no budget keeps nothing. */
    struct icache *none = icache_new(0);
    CHECK_INT(put(none, "a", "", k, body1), 0);
    CHECK(icache_get(none, "a", "", k) == NULL);
    icache_free(none);
    icache_clock_unref(k);
    icache_free(c);
}

/* The epoch: a bump makes every kept answer stale, and an answer whose request went out before
 * the bump is not kept. */
static void test_epoch(void)
{
    struct icache *c = icache_new(1 << 20);
    struct icache_clock *k = icache_clock_new();
    CHECK_INT(put(c, "a", "", k, body1), 1);
    CHECK_INT(put(c, "b", "", k, body1), 1);
    uint64_t sent = k->epoch; /* a request goes out */
    icache_clock_bump(k);     /* a stop ends meanwhile */
    CHECK(icache_get(c, "a", "", k) == NULL);
    CHECK(icache_get(c, "b", "", k) == NULL);
    CHECK_INT(icache_put(c, "a", "", k, sent, 200, JSON, body1, strlen(body1), 0), 0);
    CHECK(icache_get(c, "a", "", k) == NULL);
    CHECK_INT(put(c, "a", "", k, body2), 1);
    CHECK_STR(icache_get(c, "a", "", k)->body, body2);
    /* A kept answer holds its clock: the engine record may go first. */
    struct icache_clock *k2 = icache_clock_new();
    CHECK_INT(put(c, "z", "", k2, body1), 1);
    icache_clock_unref(k2); /* the record's reference */
    icache_clock_bump(NULL);
    icache_clock_unref(NULL);
    CHECK(icache_clock_ref(NULL) == NULL);
    icache_clock_unref(k);
    icache_free(c); /* frees z's entry, then its clock (valgrind checks) */
}

static void test_drop_id(void)
{
    struct icache *c = icache_new(1 << 20);
    struct icache_clock *k = icache_clock_new();
    CHECK_INT(put(c, "a", "", k, body1), 1);
    CHECK_INT(put(c, "a", "/v1.41", k, body1), 1);
    CHECK_INT(put(c, "a", "/v1.24", k, body1), 1);
    CHECK_INT(put(c, "b", "", k, body1), 1);
    icache_drop_id(c, "a");
    icache_drop_id(c, "nothing");
    CHECK(icache_get(c, "a", "", k) == NULL);
    CHECK(icache_get(c, "a", "/v1.41", k) == NULL);
    CHECK(icache_get(c, "a", "/v1.24", k) == NULL);
    CHECK(icache_get(c, "b", "", k) != NULL);
    struct icache_stats st;
    icache_get_stats(c, &st);
    CHECK_INT(st.entries, 1);
    CHECK_INT(st.dropped, 3);
    icache_clock_unref(k);
    icache_free(c);
}

/* The budget: the least recently used go first, and the bytes counted stay under it. */
static void test_budget(void)
{
    char body[1000];
    memset(body, ' ', sizeof(body) - 1);
    body[0] = '{';
    body[sizeof(body) - 2] = '}';
    body[sizeof(body) - 1] = '\0';
    struct icache *c = icache_new(10 * 1024);
    struct icache_clock *k = icache_clock_new();
    char id[16];
    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof(id), "c%d", i);
        CHECK_INT(put(c, id, "", k, body), 1);
        if (i >= 1)
            CHECK(icache_get(c, "c0", "", k) != NULL); /* kept in use: never the oldest */
        struct icache_stats st;
        icache_get_stats(c, &st);
        CHECK(st.bytes <= 10 * 1024);
    }
    struct icache_stats st;
    icache_get_stats(c, &st);
    CHECK(st.entries >= 5 && st.entries < 20);
    CHECK(st.evicted == 20 - st.entries);
    CHECK(icache_get(c, "c0", "", k) != NULL);
    CHECK(icache_get(c, "c19", "", k) != NULL);
    CHECK(icache_get(c, "c1", "", k) == NULL);
    /* A body over a quarter of the budget is not kept at all. */
    char large[4000];
    memset(large, ' ', sizeof(large) - 1);
    large[0] = '{';
    large[sizeof(large) - 2] = '}';
    large[sizeof(large) - 1] = '\0';
    CHECK_INT(put(c, "L", "", k, large), 0);
    icache_clock_unref(k);
    icache_free(c);
}

/* A random walk: puts (some with a stale epoch), gets, drops and bumps on 3 clocks, checked
 * against a model that knows what each (id, variant) must give. */
#define IDS 40
#define VARS 2
#define CLOCKS 3

struct model {
    bool kept;
    int clock;
    uint64_t epoch;
    char body[64];
};

static void test_random(void)
{
    static const char *const vars[VARS] = {"", "/v1.41"};
    struct icache *c = icache_new(1 << 20); /* large: nothing evicted */
    struct icache_clock *k[CLOCKS];
    for (int i = 0; i < CLOCKS; i++)
        k[i] = icache_clock_new();
    struct model m[IDS][VARS];
    memset(m, 0, sizeof(m));
    srand(12345);
    int wrong = 0;
    for (int step = 0; step < 200000; step++) {
        int i = rand() % IDS, v = rand() % VARS, kc = rand() % CLOCKS, op = rand() % 10;
        char id[ICACHE_ID_MAX + 1];
        snprintf(id, sizeof(id), "%064d", i);
        if (op < 4) {
            uint64_t epoch = k[kc]->epoch - (rand() % 8 == 0 ? 1 : 0);
            char body[64];
            snprintf(body, sizeof(body), "{\"step\":%d}", step);
            int rc = icache_put(c, id, vars[v], k[kc], epoch, 200, JSON, body, strlen(body), 0);
            bool want = epoch == k[kc]->epoch;
            if (rc != (want ? 1 : 0))
                wrong++;
            if (want) {
                m[i][v].kept = true;
                m[i][v].clock = kc;
                m[i][v].epoch = epoch;
                snprintf(m[i][v].body, sizeof(m[i][v].body), "%s", body);
            }
        } else if (op < 8) {
            const struct icache_entry *e = icache_get(c, id, vars[v], k[kc]);
            bool want = m[i][v].kept && m[i][v].clock == kc && m[i][v].epoch == k[kc]->epoch;
            if ((e != NULL) != want || (e && strcmp(e->body, m[i][v].body) != 0))
                wrong++;
            /* Looked up with its own clock, a stale one goes; with another, it goes too. */
            if (m[i][v].kept && !want)
                m[i][v].kept = false;
        } else if (op == 8) {
            icache_drop_id(c, id);
            for (int j = 0; j < VARS; j++)
                m[i][j].kept = false;
        } else if (rand() % 20 == 0) {
            icache_clock_bump(k[kc]);
        }
    }
    CHECK_INT(wrong, 0);
    struct icache_stats st;
    icache_get_stats(c, &st);
    CHECK(st.hits > 1000 && st.misses > 1000 && st.stores > 1000 && st.refused > 100);
    for (int i = 0; i < CLOCKS; i++)
        icache_clock_unref(k[i]);
    icache_free(c);
}

int main(void)
{
    RUN(test_keep_and_give);
    RUN(test_refused);
    RUN(test_epoch);
    RUN(test_drop_id);
    RUN(test_budget);
    RUN(test_random);
    return check_done();
}
