/*
 * Unit tests for the sorted multimap behind the manager's cluster-wide lookups
 * (manager/cindex.h): order, equal keys in insertion order, exact and prefix runs, removal of
 * one entry and of an engine's, and a random walk checked against a plain list.
 */
#include "manager/cindex.h"
#include "tests/unit/check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stand-ins: the index only compares these pointers. */
static struct engine *const E1 = (struct engine *)0x1000, *const E2 = (struct engine *)0x2000;
static json_t *const C1 = (json_t *)0x10, *const C2 = (json_t *)0x20, *const C3 = (json_t *)0x30;

static size_t run_len(const struct cindex *x, const char *key, size_t plen)
{
    size_t n = 0;
    for (size_t i = cindex_lower(x, key); cindex_match(x, i, key, plen); i++)
        n++;
    return n;
}

static void test_basics(void)
{
    struct cindex x;
    cindex_init(&x);
    CHECK_INT(cindex_lower(&x, "a"), 0);
    CHECK(!cindex_match(&x, 0, "a", 0));
    CHECK_INT(cindex_add(&x, "abc", E1, C1), 0);
    CHECK_INT(cindex_add(&x, "abd", E2, C2), 0);
    CHECK_INT(cindex_add(&x, "ab", E1, C3), 0);
    CHECK_INT(cindex_add(&x, "abc", E2, C2), 0); /* the same key again: after the first */
    CHECK_INT(cindex_add(&x, "", E1, C1), 0);    /* not indexed */
    CHECK_INT(cindex_add(&x, NULL, E1, C1), 0);
    CHECK_INT(x.n, 4);
    for (size_t i = 1; i < x.n; i++)
        CHECK(strcmp(x.v[i - 1]->key, x.v[i]->key) <= 0);
    size_t i = cindex_lower(&x, "abc");
    CHECK(cindex_match(&x, i, "abc", 0) && x.v[i]->e == E1 && x.v[i]->c == C1);
    CHECK(cindex_match(&x, i + 1, "abc", 0) && x.v[i + 1]->e == E2);
    CHECK_INT(run_len(&x, "abc", 0), 2);
    CHECK_INT(run_len(&x, "ab", 0), 1);
    CHECK_INT(run_len(&x, "ab", 2), 4); /* every key starting with "ab" */
    CHECK_INT(run_len(&x, "abc", 3), 2);
    CHECK_INT(run_len(&x, "abe", 3), 0);
    CHECK_INT(run_len(&x, "b", 1), 0);
    CHECK_INT(cindex_lower(&x, "zzz"), x.n);
    /* Removal takes the exact triple only. */
    CHECK(!cindex_remove(&x, "abc", E1, C2));
    CHECK(!cindex_remove(&x, "abx", E1, C1));
    CHECK(!cindex_remove(&x, "", E1, C1));
    CHECK(cindex_remove(&x, "abc", E1, C1));
    CHECK_INT(run_len(&x, "abc", 0), 1);
    CHECK(!cindex_remove(&x, "abc", E1, C1));
    /* An engine's entries go in one pass. */
    CHECK_INT(cindex_remove_engine(&x, E2), 2);
    CHECK_INT(x.n, 1);
    CHECK_STR(x.v[0]->key, "ab");
    CHECK_INT(cindex_remove_engine(&x, E2), 0);
    cindex_free(&x);
    CHECK(x.n == 0 && x.v == NULL);
    cindex_free(&x); /* twice is fine */
}

/* Random adds and removals against a list kept by hand. */
struct item {
    char key[8];
    struct engine *e;
    json_t *c;
};

static uint32_t rs = 88172645u;
static uint32_t rnd(uint32_t n)
{
    rs ^= rs << 13;
    rs ^= rs >> 17;
    rs ^= rs << 5;
    return rs % n;
}

static void test_random(void)
{
    struct cindex x;
    cindex_init(&x);
    static struct item items[4096];
    size_t n = 0;
    int bad = 0;
    for (int round = 0; round < 20000; round++) {
        struct item it = {.e = (struct engine *)(uintptr_t)(0x100 * (1 + rnd(4))),
                          .c = (json_t *)(uintptr_t)(0x10 * (1 + rnd(8)))};
        size_t len = 1 + rnd(3);
        for (size_t k = 0; k < len; k++)
            it.key[k] = "xy"[rnd(2)];
        if (rnd(3) && n < sizeof(items) / sizeof(items[0])) {
            bad += cindex_add(&x, it.key, it.e, it.c) != 0;
            items[n++] = it;
        } else if (n > 0) {
            size_t k = rnd((uint32_t)n);
            bad += !cindex_remove(&x, items[k].key, items[k].e, items[k].c);
            items[k] = items[--n];
        } else {
            bad += cindex_remove_engine(&x, it.e) != 0;
        }
        if (rnd(500) == 0) {
            struct engine *e = (struct engine *)(uintptr_t)(0x100 * (1 + rnd(4)));
            size_t want = 0;
            for (size_t k = 0; k < n;)
                if (items[k].e == e) {
                    items[k] = items[--n];
                    want++;
                } else {
                    k++;
                }
            bad += cindex_remove_engine(&x, e) != want;
        }
        /* Same size, sorted, and every prefix run as long as the list says. */
        bad += x.n != n;
        for (size_t k = 1; k < x.n; k++)
            bad += strcmp(x.v[k - 1]->key, x.v[k]->key) > 0;
        for (size_t plen = 0; plen <= strlen(it.key); plen++) {
            char probe[8];
            snprintf(probe, sizeof(probe), "%.*s", plen ? (int)plen : 7, it.key);
            size_t want = 0;
            for (size_t k = 0; k < n; k++)
                want += plen ? strncmp(items[k].key, probe, plen) == 0
                             : strcmp(items[k].key, probe) == 0;
            bad += run_len(&x, probe, plen) != want;
        }
    }
    CHECK_INT(bad, 0);
    cindex_free(&x);
}

int main(void)
{
    RUN(test_basics);
    RUN(test_random);
    return check_done();
}
