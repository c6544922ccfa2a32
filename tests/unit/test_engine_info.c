/* Unit tests for agent/engine_info: parsing a real engine's /info and /version, and every
 * rejection with its field-naming reason. Fixtures were captured from dockerd 20.10. */
#include "agent/engine_info.h"
#include "tests/unit/check.h"

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

int main(void)
{
    RUN(test_real_engine);
    RUN(test_labels);
    RUN(test_rejections);
    RUN(test_fetch_no_engine);
    return check_done();
}
