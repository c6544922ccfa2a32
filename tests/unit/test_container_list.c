/*
 * test_container_list — GET /containers/json's body (api_routes_containers_body over
 * manager/container_list.h) against the way the manager built it before (tests/unit/
 * ps_reference.h: deep copies, qsort, one dump), byte for byte: random clusters (entries with
 * and without names, ports, labels, status; equal Created; healthy and unhealthy engines;
 * addresses or none), every kind of query (all, limit, each filter, bad filters), and the same
 * listing kept across changes to the engines (deltas, health, address, name, engines gone or
 * new), which must show in the next listing as they would have before.
 */
#include "manager/api_routes.h"
#include "manager/container_list.h"
#include "manager/engines.h"
#include "proto/relay_frame.h"
#include "tests/unit/check.h"
#include "tests/unit/xorshift.h"
#include "tests/unit/ps_reference.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ENGINES 8

static unsigned next_id;

/* A random /containers/json entry; its members in a random order. */
static json_t *make_entry(void)
{
    static const char *const states[] = {"running", "running", "exited", "created", "paused"};
    static const char *const statuses[] = {"Up 3 minutes", "Exited (0) 2 hours ago",
                                           "Exited (137) 5 seconds ago", "Created",
                                           "Up 1 second (Paused)"};
    static const char *const ips[] = {"0.0.0.0", "::", "127.0.0.1", "10.1.2.3"};
    static const char *const cmds[] = {"nginx -g 'daemon off;'", "echo h\xc3\xa9llo \"q\" \\ /",
                                       "sleep 1d\ttab", ""};
    json_t *members[16];
    const char *keys[16];
    size_t n = 0;
    char id[72];
    unsigned serial = next_id++;
    snprintf(id, sizeof(id), "%c%03x%08x%052u", "abc"[rnd(3)], rnd(4096), serial, serial);
    keys[n] = "Id";
    members[n++] = json_string(id);
    uint32_t how = rnd(6);
    if (how > 0) {
        json_t *names = json_array();
        if (how > 1) {
            char name[40];
            snprintf(name, sizeof(name), "%ssvc%u", rnd(4) ? "/" : "", rnd(12));
            json_array_append_new(names, json_string(name));
        }
        if (how > 4) {
            char name[40];
            snprintf(name, sizeof(name), "/alias%u", rnd(5));
            json_array_append_new(names, json_string(name));
        }
        keys[n] = "Names";
        members[n++] = rnd(8) ? names : (json_decref(names), json_null());
    }
    char image[32];
    snprintf(image, sizeof(image), "img%u%s", rnd(4), rnd(2) ? ":latest" : "");
    keys[n] = "Image";
    members[n++] = json_string(image);
    char image_id[80];
    snprintf(image_id, sizeof(image_id), "sha256:%u%063u", rnd(4), 7u);
    keys[n] = "ImageID";
    members[n++] = json_string(image_id);
    keys[n] = "Command";
    members[n++] = json_string(PICK(cmds));
    uint32_t cr = rnd(10);
    if (cr > 0) {
        keys[n] = "Created";
        /* A few values only: many equal ones. A real reads as 0, as before; the extremes and
         * wide gaps make the sort use every byte of the key. */
        static const json_int_t odd[] = {INT64_MAX, INT64_MIN, -4000000000LL, 1LL << 40, 0};
        members[n++] = cr == 1   ? json_real(1.5)
                       : cr == 2 ? json_integer(odd[rnd(5)])
                                 : json_integer(1700000000 + rnd(6) * (rnd(2) ? 1 : 70000));
    }
    if (rnd(5)) {
        json_t *ports = json_array();
        uint32_t np = rnd(4);
        for (uint32_t i = 0; i < np; i++) {
            json_t *p = rnd(6) ? json_pack("{s:s, s:i, s:i, s:s}", "IP", PICK(ips), "PrivatePort",
                                           80, "PublicPort", 8000 + (int)i, "Type", "tcp")
                               : json_pack("{s:i, s:s}", "PrivatePort", 443, "Type", "tcp");
            json_array_append_new(ports, p);
        }
        keys[n] = "Ports";
        members[n++] = rnd(8) ? ports : (json_decref(ports), json_null());
    }
    if (rnd(4)) {
        json_t *labels = json_object();
        char v[16];
        snprintf(v, sizeof(v), "a%u", rnd(3));
        json_object_set_new(labels, "app", json_string(v));
        if (rnd(2))
            json_object_set_new(labels, "tier", json_string(rnd(2) ? "web" : "db"));
        keys[n] = "Labels";
        members[n++] = labels;
    }
    uint32_t st = rnd(5);
    keys[n] = "State";
    members[n++] = json_string(states[st]);
    if (rnd(6)) {
        keys[n] = "Status";
        members[n++] = json_string(statuses[st]);
    }
    keys[n] = "HostConfig";
    members[n++] =
        json_pack("{s:s, s:I}", "NetworkMode", "default", "Memory", (json_int_t)rnd(3) * 134217728);
    /* Shuffle: the listing must keep each entry's own order of members. */
    for (size_t i = n; i > 1; i--) {
        size_t j = rnd((uint32_t)i);
        json_t *m = members[i - 1];
        const char *k = keys[i - 1];
        members[i - 1] = members[j];
        keys[i - 1] = keys[j];
        members[j] = m;
        keys[j] = k;
    }
    json_t *c = json_object();
    for (size_t i = 0; i < n; i++)
        json_object_set_new(c, keys[i], members[i]);
    return c;
}

static void apply(struct engine *e, int kind, json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    char err[256];
    int rc = engines_apply_state(e, kind, text, strlen(text), NULL, err, sizeof(err));
    if (rc != 0)
        printf("# apply: %s\n", err);
    CHECK_INT(rc, 0);
    free(text);
    json_decref(msg);
}

static void set_address(struct engine *e)
{
    static const char *const addrs[] = {"192.168.1.7", "fd00::17", "", "10.0.0.1"};
    snprintf(e->ip, sizeof(e->ip), "%s", PICK(addrs));
}

static void make_engine(struct engine *e, unsigned i)
{
    char name[32];
    snprintf(name, sizeof(name), "node-%u", i);
    CHECK_INT(engine_init(e, name), 0);
    set_address(e);
    e->healthy = rnd(4) != 0;
    e->ready = true;
    json_t *list = json_array();
    uint32_t n = rnd(9);
    for (uint32_t k = 0; k < n; k++)
        json_array_append_new(list, make_entry());
    apply(e, FRAME_STATE_SNAPSHOT, json_pack("{s:o}", "containers", list));
}

/* One random change to e, as the engines make them (each gives e a new gen). */
static void change_engine(struct engine *e)
{
    size_t n = json_array_size(e->containers);
    switch (rnd(6)) {
    case 0:
        apply(e, FRAME_STATE_DELTA, json_pack("{s:o}", "container", make_entry()));
        break;
    case 1:
        if (n) {
            /* The same container in a new state. */
            json_t *c = make_entry();
            json_t *old = json_array_get(e->containers, rnd((uint32_t)n));
            json_object_set(c, "Id", json_object_get(old, "Id"));
            apply(e, FRAME_STATE_DELTA, json_pack("{s:o}", "container", c));
        }
        break;
    case 2:
        if (n) {
            json_t *old = json_array_get(e->containers, rnd((uint32_t)n));
            apply(e, FRAME_STATE_DELTA, json_pack("{s:O}", "removed", json_object_get(old, "Id")));
        }
        break;
    case 3:
        e->healthy = !e->healthy;
        engine_touch(e);
        break;
    case 4:
        set_address(e);
        engine_touch(e);
        break;
    default:
        snprintf(e->name, sizeof(e->name), "renamed-%u", rnd(100));
        engine_touch(e);
        break;
    }
}

/* Percent-encodes s after prefix into out. */
static void encode(char *out, size_t cap, const char *prefix, const char *s)
{
    size_t o = (size_t)snprintf(out, cap, "%s", prefix);
    for (; *s && o + 4 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
            out[o++] = (char)ch;
        else
            o += (size_t)snprintf(out + o, cap - o, "%%%02X", ch);
    }
    out[o] = '\0';
}

static const char *const filter_texts[] = {
    "",
    "{\"status\":[\"exited\"]}",
    "{\"status\":[\"running\",\"paused\"]}",
    "{\"name\":[\"svc1\"]}",
    "{\"name\":[\"node-1/\"]}",
    "{\"label\":[\"app=a1\"]}",
    "{\"label\":[\"app\",\"tier=web\"]}",
    "{\"label\":{\"app=a2\":true}}",
    "{\"node\":[\"node-1\"]}",
    "{\"node\":[\"node-*\",\"renamed-*\"]}",
    "{\"id\":[\"a\"]}",
    "{\"ancestor\":[\"img1\"]}",
    "{\"exited\":[\"0\"]}",
    "{\"exited\":[\"137\"],\"status\":[\"exited\"]}",
    "{\"before\":[\"x\"],\"since\":[\"y\"]}",
    "{\"name\":[]}",
    "not json",
    "[1]",
};

static const char *const all_texts[] = {"", "all=1&", "all=0&", "all=true&", "all=True&"};
static const char *const limit_texts[] = {"",         "limit=1&",  "limit=3&",
                                          "limit=0&", "limit=-1&", "limit=100&"};

static int compared;

/* Every query over list[0..n): the listing (kept texts in l) equals the reference. */
static void compare_all(struct clist *l, struct engine *const *list, size_t n)
{
    for (size_t a = 0; a < sizeof(all_texts) / sizeof(*all_texts); a++)
        for (size_t m = 0; m < sizeof(limit_texts) / sizeof(*limit_texts); m++)
            for (size_t f = 0; f < sizeof(filter_texts) / sizeof(*filter_texts); f++) {
                /* Not every combination every time: the rounds cover them. */
                if (f && rnd(5))
                    continue;
                char query[1024], part[768];
                encode(part, sizeof(part), f ? "filters=" : "", filter_texts[f]);
                snprintf(query, sizeof(query), "%s%s%s", all_texts[a], limit_texts[m], part);
                int want_status;
                size_t want_len;
                char *want = psref_body(list, n, query, &want_status, &want_len);
                char err[256] = "";
                char *got = NULL;
                size_t got_len = 0;
                int got_status =
                    api_routes_containers_body(l, list, n, query, &got, &got_len, err, sizeof(err));
                CHECK_INT(got_status, want_status);
                if (want_status == 200) {
                    CHECK(got != NULL);
                    CHECK_INT(got_len, want_len);
                    bool same = got && got_len == want_len && memcmp(got, want, want_len) == 0;
                    CHECK(same);
                    if (!same)
                        printf("# query %s\n# got  %s# want %s", query, got ? got : "(null)\n",
                               want);
                    compared++;
                } else {
                    CHECK(got == NULL);
                    CHECK(err[0] != '\0');
                }
                free(want);
                free(got);
            }
}

static void test_random_clusters(void)
{
    for (unsigned seed = 1; seed <= 16; seed++) {
        rng_state = 0x9e3779b97f4a7c15ULL * seed;
        struct engine engines[MAX_ENGINES];
        struct engine *list[MAX_ENGINES];
        size_t n = rnd(MAX_ENGINES + 1);
        unsigned made = 0;
        for (size_t i = 0; i < n; i++) {
            make_engine(&engines[i], made++);
            list[i] = &engines[i];
        }
        struct clist *l = clist_new();
        CHECK(l != NULL);
        compare_all(l, list, n);
        for (int round = 0; round < 4; round++) {
            uint32_t changes = rnd(4);
            for (uint32_t j = 0; j < changes && n; j++)
                change_engine(list[rnd((uint32_t)n)]);
            if (rnd(4) == 0 && n) {
                /* An engine gone; another one new at the end, or the order changed. */
                size_t gone = rnd((uint32_t)n);
                struct engine *e = list[gone];
                memmove(&list[gone], &list[gone + 1], (n - gone - 1) * sizeof(*list));
                engine_clear(e);
                make_engine(e, made++);
                list[n - 1] = e;
            }
            compare_all(l, list, n);
        }
        clist_free(l);
        for (size_t i = 0; i < n; i++)
            engine_clear(&engines[i]);
    }
    printf("# %d listings compared\n", compared);
}

/* The texts are kept per gen: a record changed without a new gen still lists as it was (what
 * shows that the listing is made from the kept texts), and lists anew once touched. */
static void test_kept_per_gen(void)
{
    rng_state = 12345;
    struct engine e;
    CHECK_INT(engine_init(&e, "h1"), 0);
    e.healthy = true;
    apply(&e, FRAME_STATE_SNAPSHOT,
          json_pack("{s:[{s:s, s:[s], s:s, s:I}]}", "containers", "Id", "abc", "Names", "/web",
                    "State", "running", "Created", (json_int_t)7));
    struct engine *list[] = {&e};
    struct clist *l = clist_new();
    char err[128], *body = NULL;
    size_t len = 0;
    const char *up = "[{\"Id\":\"abc\",\"Names\":[\"/h1/web\"],\"State\":\"running\","
                     "\"Created\":7}]\n";
    const char *down = "[{\"Id\":\"abc\",\"Names\":[\"/h1/web\"],\"State\":\"running\","
                       "\"Created\":7,\"Status\":\"Host Down\"}]\n";
    CHECK_INT(api_routes_containers_body(l, list, 1, "all=1", &body, &len, err, sizeof(err)), 200);
    CHECK_STR(body, up);
    CHECK_INT(len, strlen(up));
    free(body);
    e.healthy = false;
    CHECK_INT(api_routes_containers_body(l, list, 1, "all=1", &body, &len, err, sizeof(err)), 200);
    CHECK_STR(body, up);
    free(body);
    engine_touch(&e);
    CHECK_INT(api_routes_containers_body(l, list, 1, "all=1", &body, &len, err, sizeof(err)), 200);
    CHECK_STR(body, down);
    free(body);
    /* Not all: an unhealthy engine's running container is not listed. */
    CHECK_INT(api_routes_containers_body(l, list, 1, "", &body, &len, err, sizeof(err)), 200);
    CHECK_STR(body, "[]\n");
    free(body);
    CHECK_INT(api_routes_containers_body(l, list, 1, "filters=%7Bx", &body, &len, err, sizeof(err)),
              400);
    CHECK(body == NULL);
    CHECK(strncmp(err, "invalid filter: ", 16) == 0);
    clist_free(l);
    engine_clear(&e);
}

int main(void)
{
    RUN(test_kept_per_gen);
    RUN(test_random_clusters);
    return check_done();
}
