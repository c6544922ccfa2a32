/* Unit tests for `swarm bench`'s pure parts: manager/bench_stats (percentiles, latency figures,
 * errors by kind, bounds) and manager/bench_opts (endpoint, workload, numbers). */
#include "manager/bench_opts.h"
#include "manager/bench_stats.h"
#include "tests/unit/check.h"

#include <math.h>

#define NEAR(a, b) (fabs((a) - (b)) < 1e-9)

static void test_percentile_nearest_rank(void)
{
    double v[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    CHECK(NEAR(bench_percentile(v, 10, 50), 5));
    CHECK(NEAR(bench_percentile(v, 10, 90), 9)); /* 0.9 * 10 is 9.000000000000002 in binary */
    CHECK(NEAR(bench_percentile(v, 10, 99), 10));
    CHECK(NEAR(bench_percentile(v, 10, 100), 10));
    CHECK(NEAR(bench_percentile(v, 10, 0), 1));
    CHECK(NEAR(bench_percentile(v, 10, 10), 1));
    CHECK(NEAR(bench_percentile(v, 10, 11), 2));
    CHECK(NEAR(bench_percentile(v, 0, 50), 0));
    double one = 7;
    CHECK(NEAR(bench_percentile(&one, 1, 1), 7));
    CHECK(NEAR(bench_percentile(&one, 1, 99), 7));
    /* 1..1000: p99 is the 990th value, p50 the 500th. */
    static double big[1000];
    for (int i = 0; i < 1000; i++)
        big[i] = i + 1;
    CHECK(NEAR(bench_percentile(big, 1000, 99), 990));
    CHECK(NEAR(bench_percentile(big, 1000, 50), 500));
    CHECK(NEAR(bench_percentile(big, 1000, 99.9), 999));
}

static void test_latency_by_kind(void)
{
    struct bench_samples s;
    bench_samples_init(&s, 100);
    /* kind 0: 10, 20, 30 (added out of order); kind 1: 1000 */
    CHECK_INT(bench_samples_add(&s, 0.1, 30, 0), 0);
    CHECK_INT(bench_samples_add(&s, 0.2, 10, 0), 0);
    CHECK_INT(bench_samples_add(&s, 0.3, 1000, 1), 0);
    CHECK_INT(bench_samples_add(&s, 0.4, 20, 0), 0);
    struct bench_latency l;
    CHECK_INT(bench_latency_of(&s, 0, &l), 0);
    CHECK_INT(l.count, 3);
    CHECK(NEAR(l.mean, 20) && NEAR(l.p50, 20) && NEAR(l.p90, 30) && NEAR(l.max, 30));
    CHECK_INT(bench_latency_of(&s, 1, &l), 0);
    CHECK(l.count == 1 && NEAR(l.p50, 1000) && NEAR(l.p99, 1000));
    CHECK_INT(bench_latency_of(&s, -1, &l), 0);
    CHECK(l.count == 4 && NEAR(l.max, 1000) && NEAR(l.p50, 20));
    CHECK_INT(bench_latency_of(&s, 7, &l), 0); /* no such kind: all zeros */
    CHECK(l.count == 0 && NEAR(l.p99, 0) && NEAR(l.max, 0));
    bench_samples_close(&s);
}

static void test_samples_bound_and_merge(void)
{
    struct bench_samples a, b;
    bench_samples_init(&a, 3);
    bench_samples_init(&b, 5000);
    for (int i = 0; i < 5; i++)
        bench_samples_add(&a, i, i, 0);
    CHECK_INT(a.n, 3);
    CHECK_INT(a.dropped, 2);
    for (int i = 0; i < 3000; i++) /* grows past the first allocation */
        CHECK_INT(bench_samples_add(&b, i, i, 1), 0);
    CHECK(NEAR(b.v[2999].ms, 2999));
    bench_samples_merge(&b, &a);
    CHECK_INT(b.n, 3003);
    CHECK_INT(b.dropped, 2);
    struct bench_latency l;
    bench_latency_of(&b, 0, &l);
    CHECK_INT(l.count, 3);
    bench_samples_close(&a);
    bench_samples_close(&b);
    CHECK(a.v == NULL && a.n == 0);
}

static void test_errors_by_kind(void)
{
    struct bench_errors e = {0}, f = {0};
    bench_errors_add(&e, "HTTP 500", 1);
    bench_errors_add(&e, "transport: Timeout was reached", 2);
    bench_errors_add(&e, "HTTP 500", 3);
    CHECK_INT(e.n, 2);
    CHECK_INT(e.total, 6);
    CHECK_STR(e.e[0].kind, "HTTP 500");
    CHECK_INT(e.e[0].count, 4);
    bench_errors_add(&f, "HTTP 404", 1);
    bench_errors_add(&f, "HTTP 500", 1);
    bench_errors_merge(&e, &f);
    CHECK_INT(e.n, 3);
    CHECK_INT(e.total, 8);
    CHECK_INT(e.e[0].count, 5);
    /* A long kind is cut to the field, never overflows it. */
    char longkind[200];
    memset(longkind, 'x', sizeof(longkind) - 1);
    longkind[sizeof(longkind) - 1] = '\0';
    bench_errors_add(&e, longkind, 1);
    CHECK_INT(strlen(e.e[3].kind), BENCH_ERROR_KIND_LEN - 1);
    /* Beyond the table's bound every count still lands, in "other". */
    struct bench_errors g = {0};
    char k[32];
    for (int i = 0; i < 40; i++) {
        snprintf(k, sizeof(k), "HTTP %d", 400 + i);
        bench_errors_add(&g, k, 1);
    }
    CHECK_INT(g.n, BENCH_ERROR_KINDS);
    CHECK_INT(g.total, 40);
    CHECK_STR(g.e[BENCH_ERROR_KINDS - 1].kind, "other");
    uint64_t sum = 0;
    for (int i = 0; i < g.n; i++)
        sum += g.e[i].count;
    CHECK_INT(sum, 40);
    CHECK_INT(g.e[BENCH_ERROR_KINDS - 1].count, 40 - (BENCH_ERROR_KINDS - 1));
}

static void test_endpoint(void)
{
    struct bench_endpoint ep;
    char err[256];
    CHECK_INT(bench_endpoint_parse("unix:///var/run/docker.sock", &ep, err, sizeof(err)), 0);
    CHECK_STR(ep.unix_path, "/var/run/docker.sock");
    CHECK_STR(ep.base, "http://localhost");
    CHECK_INT(bench_endpoint_parse("/tmp/d.sock", &ep, err, sizeof(err)), 0);
    CHECK_STR(ep.unix_path, "/tmp/d.sock");
    CHECK_INT(bench_endpoint_parse("tcp://127.0.0.1:2375", &ep, err, sizeof(err)), 0);
    CHECK_STR(ep.unix_path, "");
    CHECK_STR(ep.base, "http://127.0.0.1:2375");
    CHECK_STR(ep.url, "tcp://127.0.0.1:2375");
    CHECK_INT(bench_endpoint_parse("unix://rel.sock", &ep, err, sizeof(err)), -1);
    CHECK(strstr(err, "absolute") != NULL);
    CHECK_INT(bench_endpoint_parse("tcp://host", &ep, err, sizeof(err)), -1);
    CHECK_INT(bench_endpoint_parse("tcp://host:0", &ep, err, sizeof(err)), -1);
    CHECK_INT(bench_endpoint_parse("tcp://host:99999", &ep, err, sizeof(err)), -1);
    CHECK_INT(bench_endpoint_parse("tcp://:80", &ep, err, sizeof(err)), -1);
    CHECK_INT(bench_endpoint_parse("tcp://h:80/x", &ep, err, sizeof(err)), -1);
    CHECK_INT(bench_endpoint_parse("http://x", &ep, err, sizeof(err)), -1);
    CHECK(strstr(err, "expected unix:///PATH or tcp://HOST:PORT") != NULL);
    char longpath[200] = "unix:///";
    memset(longpath + 8, 'a', 150);
    longpath[158] = '\0';
    CHECK_INT(bench_endpoint_parse(longpath, &ep, err, sizeof(err)), -1);
}

static void test_workload_and_numbers(void)
{
    CHECK_INT(bench_workload_parse("api"), BENCH_API);
    CHECK_INT(bench_workload_parse("churn"), BENCH_CHURN);
    CHECK_INT(bench_workload_parse("run-latency"), BENCH_RUN_LATENCY);
    CHECK_INT(bench_workload_parse("Churn"), -1);
    CHECK_INT(bench_workload_parse(""), -1);
    CHECK_STR(bench_workload_name(BENCH_RUN_LATENCY), "run-latency");

    long n = -1;
    CHECK_INT(bench_parse_long("4", 1, 256, &n), 0);
    CHECK_INT(n, 4);
    CHECK_INT(bench_parse_long("256", 1, 256, &n), 0);
    const char *bad[] = {"0", "257", "-1", "4x", " 4", "0x4", "", "+4", "99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_INT(bench_parse_long(bad[i], 1, 256, &n), -1);

    double s = 0;
    CHECK(bench_parse_seconds("10", &s) == 0 && NEAR(s, 10));
    CHECK(bench_parse_seconds("2.5s", &s) == 0 && NEAR(s, 2.5));
    CHECK(bench_parse_seconds("500ms", &s) == 0 && NEAR(s, 0.5));
    CHECK(bench_parse_seconds("1m", &s) == 0 && NEAR(s, 60));
    CHECK(bench_parse_seconds(".5", &s) == 0 && NEAR(s, 0.5));
    const char *bads[] = {"0", "-1", "inf", "nan", "1h", "1e3", "0x10", "", "10 s", "86401", "s"};
    for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
        int rc = bench_parse_seconds(bads[i], &s);
        CHECK_INT(rc, -1);
        if (rc != -1)
            printf("# accepted \"%s\"\n", bads[i]);
    }
}

int main(void)
{
    RUN(test_percentile_nearest_rank);
    RUN(test_latency_by_kind);
    RUN(test_samples_bound_and_merge);
    RUN(test_errors_by_kind);
    RUN(test_endpoint);
    RUN(test_workload_and_numbers);
    return check_done();
}
