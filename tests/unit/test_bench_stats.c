/* Unit tests for `swarm bench`'s pure parts: manager/bench_stats (percentiles, latency figures,
 * errors by kind, bounds), manager/bench_opts (endpoint, workload, numbers) and manager/bench_mux
 * (the multiplexed log stream's frame decoder). */
#include "manager/bench_mux.h"
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
    CHECK_INT(bench_workload_parse("logs"), BENCH_LOGS);
    CHECK_INT(bench_workload_parse("inspect"), BENCH_INSPECT);
    CHECK_INT(bench_workload_parse("ps"), BENCH_PS);
    CHECK_STR(bench_workload_name(BENCH_LOGS), "logs");
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

/* Appends one frame (header + len payload bytes of `fill`) to buf at *n. */
static void put_frame(unsigned char *buf, size_t *n, int stream, uint32_t len, unsigned char fill)
{
    unsigned char h[8] = {(unsigned char)stream,
                          0,
                          0,
                          0,
                          (unsigned char)(len >> 24),
                          (unsigned char)(len >> 16),
                          (unsigned char)(len >> 8),
                          (unsigned char)len};
    memcpy(buf + *n, h, 8);
    memset(buf + *n + 8, fill, len);
    *n += 8 + len;
}

static void test_mux_frames(void)
{
    static unsigned char buf[4096];
    size_t n = 0;
    put_frame(buf, &n, BENCH_MUX_STDOUT, 1000, 'a');
    put_frame(buf, &n, BENCH_MUX_STDERR, 17, 'b');
    put_frame(buf, &n, BENCH_MUX_STDOUT, 0, 0); /* an empty frame is valid */
    put_frame(buf, &n, BENCH_MUX_STDOUT, 300, 'c');
    put_frame(buf, &n, BENCH_MUX_SYSERR, 5, 'd');
    put_frame(buf, &n, BENCH_MUX_STDIN, 2, 'e');

    /* Whole, then split at every possible point, then one byte at a time: the same counts. */
    for (size_t split = 0; split <= n; split++) {
        struct bench_mux m;
        bench_mux_init(&m);
        CHECK_INT(bench_mux_feed(&m, buf, split), 0);
        CHECK_INT(bench_mux_feed(&m, buf + split, n - split), 0);
        CHECK_INT(bench_mux_finish(&m), 0);
        CHECK_INT(m.bytes[BENCH_MUX_STDOUT], 1300);
        CHECK_INT(m.bytes[BENCH_MUX_STDERR], 17);
        CHECK_INT(m.bytes[BENCH_MUX_SYSERR], 5);
        CHECK_INT(m.bytes[BENCH_MUX_STDIN], 2);
        CHECK_INT(m.frames, 6);
    }
    struct bench_mux m;
    bench_mux_init(&m);
    for (size_t i = 0; i < n; i++)
        CHECK_INT(bench_mux_feed(&m, buf + i, 1), 0);
    CHECK_INT(bench_mux_finish(&m), 0);
    CHECK_INT(m.bytes[BENCH_MUX_STDOUT], 1300);
    CHECK_INT(m.frames, 6);

    /* Nothing at all is a valid, empty stream. */
    bench_mux_init(&m);
    CHECK_INT(bench_mux_feed(&m, NULL, 0), 0);
    CHECK_INT(bench_mux_finish(&m), 0);
    CHECK_INT(m.frames, 0);

    /* A length with every byte of the header's size field set: 0x01020304 bytes are due. */
    unsigned char big[8] = {1, 0, 0, 0, 1, 2, 3, 4};
    bench_mux_init(&m);
    CHECK_INT(bench_mux_feed(&m, big, 8), 0);
    CHECK_INT(m.left, 0x01020304);
    CHECK_INT(bench_mux_feed(&m, buf, 4000), 0);
    CHECK_INT(m.bytes[BENCH_MUX_STDOUT], 4000);
    CHECK_INT(m.left, 0x01020304 - 4000);
    CHECK_INT(bench_mux_finish(&m), -1);
    CHECK_INT(m.error, BENCH_MUX_TRUNCATED);
}

static void test_mux_errors(void)
{
    struct bench_mux m;
    /* Cut inside a header, and inside a payload. */
    unsigned char f[20];
    size_t n = 0;
    put_frame(f, &n, BENCH_MUX_STDOUT, 4, 'x');
    for (size_t cut = 1; cut < n; cut++) {
        bench_mux_init(&m);
        CHECK_INT(bench_mux_feed(&m, f, cut), 0);
        CHECK_INT(bench_mux_finish(&m), -1);
        CHECK_INT(m.error, BENCH_MUX_TRUNCATED);
        CHECK_STR(bench_mux_strerror(m.error), "truncated frame");
    }
    /* An unknown stream type: a JSON error body read as frames, or a raw (TTY) stream. */
    bench_mux_init(&m);
    const char *json = "{\"message\":\"No such container: x\"}";
    CHECK_INT(bench_mux_feed(&m, json, strlen(json)), -1);
    CHECK_INT(m.error, BENCH_MUX_BAD_STREAM);
    CHECK_INT(m.frames, 0);
    CHECK_INT(m.bytes[1], 0);
    /* Sticky: feeding more, even a valid frame, does nothing; finish keeps the first error. */
    CHECK_INT(bench_mux_feed(&m, f, n), -1);
    CHECK_INT(m.bytes[BENCH_MUX_STDOUT], 0);
    CHECK_INT(bench_mux_finish(&m), -1);
    CHECK_INT(m.error, BENCH_MUX_BAD_STREAM);
    /* Stream type 4, and nonzero reserved bytes, after a good frame split over two feeds. */
    unsigned char bad[2][8] = {{4, 0, 0, 0, 0, 0, 0, 1}, {1, 0, 1, 0, 0, 0, 0, 1}};
    enum bench_mux_error want[2] = {BENCH_MUX_BAD_STREAM, BENCH_MUX_BAD_RESERVED};
    for (int i = 0; i < 2; i++) {
        bench_mux_init(&m);
        CHECK_INT(bench_mux_feed(&m, f, 3), 0);
        CHECK_INT(bench_mux_feed(&m, f + 3, n - 3), 0);
        CHECK_INT(bench_mux_feed(&m, bad[i], 5), 0); /* not yet a whole header */
        CHECK_INT(bench_mux_feed(&m, bad[i] + 5, 3), -1);
        CHECK_INT(m.error, want[i]);
        CHECK_INT(m.bytes[BENCH_MUX_STDOUT], 4);
        CHECK_INT(m.frames, 1);
    }
    CHECK_STR(bench_mux_strerror(BENCH_MUX_BAD_RESERVED), "bad frame header (reserved bytes)");
    CHECK_STR(bench_mux_strerror(BENCH_MUX_OK), "ok");
}

int main(void)
{
    RUN(test_percentile_nearest_rank);
    RUN(test_latency_by_kind);
    RUN(test_samples_bound_and_merge);
    RUN(test_errors_by_kind);
    RUN(test_endpoint);
    RUN(test_workload_and_numbers);
    RUN(test_mux_frames);
    RUN(test_mux_errors);
    return check_done();
}
