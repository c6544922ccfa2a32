/* Unit tests for agent/engine_info: parsing a real engine's /info and /version, and every
 * rejection with its field-naming reason (fixtures captured from dockerd 20.10); the fetch on a
 * loop against tests/unit/fake_engine.h (answers, silence, garbage, cancel) and the probe. */
#include "agent/engine_info.h"
#include "tests/unit/check.h"
#include "tests/unit/fake_engine.h"
#include "tests/unit/loop_harness.h"

#include <stdlib.h>

static char *slurp(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", SWARM_TEST_DATA, name);
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return NULL;
    char *buf = malloc(65536);
    *len = fread(buf, 1, 65535, fp);
    buf[*len] = '\0';
    fclose(fp);
    return buf;
}

static const char version_ok[] = "{\"ApiVersion\":\"1.41\",\"Version\":\"20.10.24\"}";
static struct engine_info info;
static char err[256];

static int parse_info(const char *json)
{
    err[0] = '\0';
    return engine_info_parse(json, strlen(json), version_ok, strlen(version_ok), &info, err,
                             sizeof(err));
}

static void test_real_engine(void)
{
    size_t ilen, vlen;
    char *i = slurp("engine_info.json", &ilen);
    char *v = slurp("engine_version.json", &vlen);
    CHECK(i != NULL && v != NULL);
    if (i == NULL || v == NULL)
        return;
    CHECK_INT(engine_info_parse(i, ilen, v, vlen, &info, err, sizeof(err)), 0);
    CHECK_STR(info.id, "NZ7H:NH4S:HQ6V:2ZZU:OOLC:FHT5:V3LL:6OB6:HWBO:R3F4:7HB4:PSNA");
    CHECK_STR(info.name, "vm");
    CHECK_INT(info.ncpu, 2);
    CHECK_INT(info.mem_total, 25276510208LL);
    CHECK_STR(info.os, "Debian GNU/Linux 12 (bookworm)");
    CHECK_STR(info.ostype, "linux");
    CHECK_STR(info.arch, "x86_64");
    CHECK_STR(info.storage_driver, "vfs");
    CHECK_STR(info.server_version, "20.10.24+dfsg1");
    CHECK_STR(info.api_version, "1.41");
    CHECK_INT(info.nlabels, 0);
    free(i);
    free(v);
}

static void test_labels(void)
{
    CHECK_INT(parse_info("{\"ID\":\"x\",\"Name\":\"pi1\",\"NCPU\":4,\"MemTotal\":1024,"
                         "\"Labels\":[\"zone=attic\",\"disk=ssd\"]}"),
              0);
    CHECK_INT(info.nlabels, 2);
    CHECK_STR(info.labels[0], "zone=attic");
    CHECK_STR(info.labels[1], "disk=ssd");
    CHECK_INT(parse_info("{\"ID\":\"x\",\"Name\":\"pi1\",\"NCPU\":4,\"MemTotal\":1,"
                         "\"Labels\":[\"novalue\"]}"),
              -1);
    CHECK_STR(err, "info.Labels[0]: expected \"key=value\" under 128 bytes");
}

static void test_rejections(void)
{
    CHECK_INT(parse_info("{"), -1);
    CHECK(strncmp(err, "info: invalid JSON", 18) == 0);
    CHECK_INT(parse_info("[]"), -1);
    CHECK_STR(err, "info: expected a JSON object");
    CHECK_INT(parse_info("{\"Name\":\"a\",\"NCPU\":1,\"MemTotal\":1}"), -1);
    CHECK_STR(err, "info.ID: missing");
    CHECK_INT(parse_info("{\"ID\":\"x\",\"Name\":7,\"NCPU\":1,\"MemTotal\":1}"), -1);
    CHECK_STR(err, "info.Name: expected a string");
    CHECK_INT(parse_info("{\"ID\":\"x\",\"Name\":\"a\",\"NCPU\":0,\"MemTotal\":1}"), -1);
    CHECK_STR(err, "info.NCPU: expected a positive integer");
    CHECK_INT(parse_info("{\"ID\":\"x\",\"Name\":\"a\",\"NCPU\":1,\"MemTotal\":-5}"), -1);
    CHECK_STR(err, "info.MemTotal: expected a non-negative integer");
    CHECK_INT(parse_info("{\"ID\":\"x\",\"Name\":\"\",\"NCPU\":1,\"MemTotal\":1}"), -1);
    CHECK_STR(err, "info.Name: empty");
    CHECK_INT(parse_info("{\"ID\":\"x\",\"ID\":\"y\",\"Name\":\"a\",\"NCPU\":1,\"MemTotal\":1}"),
              -1); /* duplicate keys are refused, not last-wins */
    /* Too long is an error, never a silent truncation. */
    char longname[200];
    snprintf(longname, sizeof(longname),
             "{\"ID\":\"x\",\"Name\":\"%0100d\",\"NCPU\":1,\"MemTotal\":1}", 0);
    CHECK_INT(parse_info(longname), -1);
    CHECK_STR(err, "info.Name: too long (100 bytes, at most 64)");
    CHECK_INT(parse_info("{\"ID\":\"x\",\"Name\":\"a\\u0000b\",\"NCPU\":1,\"MemTotal\":1}"), -1);
    CHECK(strstr(err, "NUL") != NULL);

    const char *info_ok = "{\"ID\":\"x\",\"Name\":\"a\",\"NCPU\":1,\"MemTotal\":1}";
    CHECK_INT(engine_info_parse(info_ok, strlen(info_ok), "{}", 2, &info, err, sizeof(err)), -1);
    CHECK_STR(err, "version.ApiVersion: missing");
}

static void test_fetch_no_engine(void)
{
    CHECK_INT(engine_info_fetch("unix:///nonexistent/docker.sock", 1000, &info, err, sizeof(err)),
              -1);
    CHECK(strstr(err, "did not answer") != NULL);
    CHECK(strstr(err, "--engine") != NULL);
    CHECK_INT(engine_info_fetch("tcp://1.2.3.4:2375", 1000, &info, err, sizeof(err)), -1);
    CHECK(strstr(err, "expected unix://") != NULL);
    CHECK_STR(engine_socket_path("unix:///var/run/docker.sock"), "/var/run/docker.sock");
    CHECK_STR(engine_socket_path("/run/d.sock"), "/run/d.sock");
    CHECK(engine_socket_path("unix://relative") == NULL);
}

/* ---- the fetch on a loop ---- */

struct world {
    uv_loop_t loop;
    uv_timer_t deadline;
    bool timed_out;
    struct fake_engine fe;
    int calls;
    bool got_info;
    char name[65], api[16], why[600];
};

static void on_fetched(void *arg, const struct engine_info *ei, const char *why)
{
    struct world *w = arg;
    w->calls++;
    w->got_info = ei != NULL;
    CHECK((ei == NULL) != (why == NULL));
    if (ei) {
        snprintf(w->name, sizeof(w->name), "%s", ei->name);
        snprintf(w->api, sizeof(w->api), "%s", ei->api_version);
    } else {
        snprintf(w->why, sizeof(w->why), "%s", why);
    }
}

static void world_start(struct world *w)
{
    memset(w, 0, sizeof(*w));
    LOOP_HARNESS_INIT(w);
    fe_init(&w->fe, &w->loop);
    CHECK_INT(fe_listen(&w->fe), 0);
}

static void world_end(struct world *w)
{
    fe_stop(&w->fe);
    LOOP_HARNESS_DRAIN(w);
    CHECK_LOOP_CLOSED(w);
}

/* Fetches from w's fake engine (each request within timeout_ms) until the callback ran. */
static void fetch(struct world *w, uint32_t timeout_ms)
{
    char url[200];
    snprintf(url, sizeof(url), "unix://%s", w->fe.path);
    char e[256] = "";
    struct engine_info_fetch *f =
        engine_info_fetch_start(&w->loop, url, timeout_ms, on_fetched, w, e, sizeof(e));
    CHECK(f != NULL);
    CHECK_INT(w->calls, 0); /* never from inside the start */
    RUN_UNTIL(w, w->calls > 0, 5000);
}

static void test_fetch_on_loop(void)
{
    struct world w;
    world_start(&w);
    fetch(&w, 2000);
    CHECK(w.got_info);
    CHECK_STR(w.name, "fake1");
    CHECK_STR(w.api, "1.41");
    CHECK_INT(w.fe.infos, 1);
    RUN_FOR(&w, 20);
    CHECK_INT(w.calls, 1);
    world_end(&w);

    world_start(&w);
    w.fe.silent = true;
    uint64_t t0 = uv_now(&w.loop);
    fetch(&w, 100);
    CHECK(!w.got_info);
    CHECK(strstr(w.why, "did not answer GET /info") != NULL);
    CHECK(uv_now(&w.loop) - t0 >= 100);
    world_end(&w);

    world_start(&w);
    w.fe.garbage = true;
    fetch(&w, 2000);
    CHECK(!w.got_info);
    CHECK(strstr(w.why, "did not answer GET /info") != NULL);
    world_end(&w);

    /* The engine is gone between the probe and the fetch: said the same way. */
    world_start(&w);
    fe_stop(&w.fe);
    fetch(&w, 2000);
    CHECK(!w.got_info);
    CHECK(strstr(w.why, "did not answer") != NULL);
    world_end(&w);
}

/* Requests the fake engine has read (silent: not answered). */
static int asked(const struct fake_engine *fe)
{
    int n = 0;
    for (const struct fe_conn *fc = fe->conns; fc; fc = fc->next)
        n += fc->got_request;
    return n;
}

static void test_fetch_cancel(void)
{
    struct world w;
    world_start(&w);
    w.fe.silent = true;
    char url[200], e[256];
    snprintf(url, sizeof(url), "unix://%s", w.fe.path);
    struct engine_info_fetch *f =
        engine_info_fetch_start(&w.loop, url, 1000, on_fetched, &w, e, sizeof(e));
    CHECK(f != NULL);
    RUN_UNTIL(&w, asked(&w.fe) == 2, 900); /* both asked, no answer */
    engine_info_fetch_cancel(f);
    RUN_FOR(&w, 50);
    CHECK_INT(w.calls, 0);
    engine_info_fetch_cancel(NULL);
    world_end(&w);

    /* Cancelled before the loop ran at all. */
    world_start(&w);
    snprintf(url, sizeof(url), "unix://%s", w.fe.path);
    f = engine_info_fetch_start(&w.loop, url, 1000, on_fetched, &w, e, sizeof(e));
    CHECK(f != NULL);
    engine_info_fetch_cancel(f);
    RUN_FOR(&w, 50);
    CHECK_INT(w.calls, 0);
    world_end(&w);

    CHECK(engine_info_fetch_start(NULL, "tcp://1.2.3.4:2375", 1000, on_fetched, &w, e, sizeof(e)) ==
          NULL);
    CHECK(strstr(e, "expected unix://") != NULL);
}

static void test_probe(void)
{
    struct world w;
    world_start(&w);
    char url[200];
    snprintf(url, sizeof(url), "unix://%s", w.fe.path);
    CHECK_INT(engine_info_probe(url, err, sizeof(err)), 0);
    CHECK_INT(engine_info_probe(w.fe.path, err, sizeof(err)), 0);
    world_end(&w);
    CHECK_INT(engine_info_probe(url, err, sizeof(err)), -1); /* nothing listens now */
    CHECK(strstr(err, "did not answer GET /info: connect:") != NULL);
    CHECK(strstr(err, "--engine") != NULL);
    CHECK_INT(engine_info_probe("tcp://1.2.3.4:2375", err, sizeof(err)), -1);
    CHECK(strstr(err, "expected unix://") != NULL);
}

int main(void)
{
    RUN(test_real_engine);
    RUN(test_labels);
    RUN(test_rejections);
    RUN(test_fetch_no_engine);
    RUN(test_fetch_on_loop);
    RUN(test_fetch_cancel);
    RUN(test_probe);
    return check_done();
}
