/*
 * The proto fuzz targets' seed corpora, generated from the encoders.
 *
 *   test_proto_corpus            checks every checked-in seed under
 *                                tests/fuzz/corpus/fuzz_proto_TARGET/ equals what the encoders
 *                                make now and decodes as expected (so the seeds cannot go
 *                                stale, and double as known-answer vectors)
 *   test_proto_corpus --write    (re)writes them; run after a deliberate format change
 */
#include "proto/beacon.h"
#include "proto/gossip.h"
#include "proto/meta.h"
#include "proto/pushpull.h"
#include "proto/relay_frame.h"
#include "tests/unit/test_proto_helpers.c"

#include <errno.h>
#include <sys/stat.h>

#ifndef SWARM_SOURCE_DIR
#error "SWARM_SOURCE_DIR must name the source tree"
#endif

static int writing;

/* Compares (or, with --write, writes) one seed file. */
static void seed(const char *target, const char *name, const void *p, size_t len)
{
    char dir[512], path[640];
    snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", SWARM_SOURCE_DIR, target);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (writing) {
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
            perror(dir);
            check_failures++;
            return;
        }
        FILE *fp = fopen(path, "wb");
        CHECK(fp != NULL && fwrite(p, 1, len, fp) == len && fclose(fp) == 0);
        return;
    }
    FILE *fp = fopen(path, "rb");
    uint8_t buf[16384];
    size_t got = 0;
    if (fp != NULL) {
        got = fread(buf, 1, sizeof(buf), fp);
        fclose(fp);
    }
    check_count++;
    if (fp == NULL || got != len || memcmp(buf, p, len) != 0) {
        check_failures++;
        printf("not ok %d - seed %s/%s is missing or stale (run test_proto_corpus --write)\n",
               check_count, target, name);
    }
}

static const uint8_t meta_agent[] = {0x81, 0x01, 0x00};

static struct gossip_peer peer(const char *name, int v6, uint16_t port)
{
    struct gossip_peer p = {proto_str_c(name),
                            v6 ? addr6_loopback(port) : addr4(10, 0, 0, 1, port)};
    return p;
}

static void datagram_seed(const char *name, const struct gossip_msg *probe,
                          const struct gossip_msg *ups, size_t n, size_t budget)
{
    uint8_t buf[GOSSIP_SEALED_MAX];
    size_t len;
    struct proto_err err;
    int rc = gossip_datagram_encode(buf, budget, probe, ups, n, NULL, &len, &err);
    CHECK(rc >= 0);
    struct gossip_msg out[GOSSIP_DATAGRAM_MAX_MSGS];
    size_t count;
    CHECK_INT(gossip_datagram_decode(buf, len, out, GOSSIP_DATAGRAM_MAX_MSGS, &count, NULL, &err),
              0);
    seed("fuzz_proto_datagram", name, buf, len);
}

static void datagrams(void)
{
    static uint8_t meta[GOSSIP_META_MAX];
    memset(meta, 0x42, sizeof(meta));
    struct gossip_msg ping = {.type = GOSSIP_PING,
                              .u.ping = {7, S("node-2"), peer("node-1", 0, 7946)}};
    struct gossip_msg req = {
        .type = GOSSIP_PING_REQ,
        .u.ping_req = {9, peer("node-3", 1, 7946), peer("node-1", 0, 7946), true}};
    struct gossip_msg ups[8] = {
        {.type = GOSSIP_ALIVE,
         .u.alive = {3, peer("node-4", 0, 7946), {meta_agent, sizeof(meta_agent)}}},
        {.type = GOSSIP_SUSPECT, .u.suspect = {2, S("node-5"), S("node-1")}},
        {.type = GOSSIP_DEAD, .u.dead = {2, S("node-6"), S("node-2")}},
        {.type = GOSSIP_LEAVE, .u.leave = {4, S("node-7")}},
        {.type = GOSSIP_ACK, .u.ack = {7}},
        {.type = GOSSIP_NACK, .u.nack = {9}},
        {.type = GOSSIP_ALIVE, .u.alive = {UINT64_MAX, peer("node-8", 1, 65535), {meta, 512}}},
        {.type = GOSSIP_ALIVE, .u.alive = {1, peer("node-9", 0, 1), {NULL, 0}}},
    };
    datagram_seed("ping", &ping, NULL, 0, GOSSIP_PLAINTEXT_BUDGET);
    datagram_seed("ping_req_updates", &req, ups, 6, GOSSIP_PLAINTEXT_BUDGET);
    datagram_seed("ack_alive_big_meta", &ups[4], &ups[6], 2, GOSSIP_PLAINTEXT_BUDGET);
    datagram_seed("empty", NULL, NULL, 0, GOSSIP_PLAINTEXT_BUDGET);
    struct gossip_msg acks[20];
    for (uint32_t i = 0; i < 20; i++)
        acks[i] = (struct gossip_msg){.type = GOSSIP_ACK, .u.ack = {i * 1000}};
    datagram_seed("acks_array16", NULL, acks, 20, GOSSIP_PLAINTEXT_BUDGET);
    struct gossip_msg full[8];
    for (int i = 0; i < 8; i++)
        full[i] = ups[6];
    datagram_seed("full_budget", &ping, full, 8, GOSSIP_PLAINTEXT_BUDGET);

    /* hand-made: an unknown type between known ones, extra fields, another version */
    size_t len;
    uint8_t *b =
        unhex("94 01 92 03 07 94 63 01 92 a1 78 81 01 02 c4 01 ff 94 04 09 c3 a1 7a", &len);
    seed("fuzz_proto_datagram", "unknown_type_and_extras", b, len);
    free(b);
    b = unhex("92 02 92 03 07", &len);
    seed("fuzz_proto_datagram", "version2", b, len);
    free(b);
}

static void pushpulls(void)
{
    struct gossip_member ms[4] = {
        {S("node-1"), addr4(10, 0, 0, 1, 7946), 1, GOSSIP_STATE_ALIVE, {meta_agent, 3}},
        {S("node-2"), addr6_loopback(7946), 5, GOSSIP_STATE_SUSPECT, {NULL, 0}},
        {S("node-3"), addr4(10, 0, 0, 3, 7946), 9, GOSSIP_STATE_DEAD, {meta_agent, 3}},
        {S("node-4"), addr4(10, 0, 0, 4, 7946), 2, GOSSIP_STATE_LEFT, {meta_agent, 3}},
    };
    uint8_t buf[1024];
    size_t len;
    struct proto_err err;
    struct gossip_pushpull pp;
    CHECK_INT(gossip_pushpull_encode(true, ms, 4, buf, sizeof(buf), &len, &err), 0);
    CHECK_INT(gossip_pushpull_decode(buf, len, sizeof(buf), &pp, &err), 0);
    seed("fuzz_proto_pushpull", "four_members_join", buf, len);
    CHECK_INT(gossip_pushpull_encode(false, NULL, 0, buf, sizeof(buf), &len, &err), 0);
    seed("fuzz_proto_pushpull", "empty", buf, len);
    CHECK_INT(gossip_pushpull_encode(false, ms, 1, buf, sizeof(buf), &len, &err), 0);
    seed("fuzz_proto_pushpull", "one_member", buf, len);
}

static void metas(void)
{
    struct meta m;
    memset(&m, 0, sizeof(m));
    m.role = META_ROLE_AGENT;
    m.engine_id = S("7XQ4:ZC5L:OUIU:4VLR:HXRV:LWH3:HOTW:5HZX:TP3F:Y5PM:DVLJ:IR6M");
    m.engine_name = S("pi-kitchen");
    m.cpus = 4;
    m.memory = 8226557952ull;
    m.os = S("Debian GNU/Linux 12 (bookworm)");
    m.arch = S("aarch64");
    m.kernel = S("6.1.0-rpi7-rpi-v8");
    m.api_version = S("1.43");
    m.nlabels = 3;
    m.labels[0] = (struct meta_label){S("zone"), S("kitchen")};
    m.labels[1] = (struct meta_label){S("storage"), S("ssd")};
    m.labels[2] = (struct meta_label){S("com.example.owner"), S("ops")};
    m.relay_port = 7947;
    m.has_pubkey = true;
    memset(m.pubkey, 0x33, sizeof(m.pubkey));
    uint8_t buf[META_MAX_SIZE];
    size_t len;
    struct proto_err err;
    struct meta out;
    CHECK_INT(meta_encode(&m, buf, sizeof(buf), &len, &err), 0);
    CHECK_INT(meta_decode(buf, len, &out, &err), 0);
    seed("fuzz_proto_meta", "agent", buf, len);
    memset(&m, 0, sizeof(m));
    m.role = META_ROLE_MANAGER;
    CHECK_INT(meta_encode(&m, buf, sizeof(buf), &len, &err), 0);
    seed("fuzz_proto_meta", "manager", buf, len);
}

static void beacons(void)
{
    struct beacon b = {S("pi-kitchen"), addr4(192, 168, 1, 20, 7946), 3};
    uint8_t buf[BEACON_MAX_SIZE];
    size_t len;
    struct proto_err err;
    CHECK_INT(beacon_encode(&b, buf, sizeof(buf), &len, &err), 0);
    seed("fuzz_proto_beacon", "v4", buf, len);
    b.addr = addr6_loopback(7946);
    b.incarnation = 1700000000;
    CHECK_INT(beacon_encode(&b, buf, sizeof(buf), &len, &err), 0);
    seed("fuzz_proto_beacon", "v6", buf, len);
}

static void frames(void)
{
    static uint8_t payload[1000];
    memset(payload, 'x', sizeof(payload));
    const char *json = "{\"Containers\":[{\"Id\":\"4f1c\",\"Names\":[\"/web\"]}]}";
    struct frame f[8];
    memset(f, 0, sizeof(f));
    f[0] = (struct frame){.type = FRAME_OPEN, .stream = 1, .u.open = {S("engine"), 262144}};
    f[1] = (struct frame){.type = FRAME_DATA, .stream = 1, .u.data = {{payload, sizeof(payload)}}};
    f[2] = (struct frame){
        .type = FRAME_CLOSE, .stream = 1, .u.close = {FRAME_CLOSE_WRITE, FRAME_CODE_OK, S("")}};
    f[3] = (struct frame){.type = FRAME_CLOSE,
                          .stream = 2,
                          .u.close = {FRAME_CLOSE_RESET, FRAME_CODE_UNREACHABLE, S("engine down")}};
    f[4] = (struct frame){.type = FRAME_WINDOW, .stream = 1, .u.window = {65536}};
    f[5] = (struct frame){
        .type = FRAME_STATE,
        .stream = 0,
        .u.state = {FRAME_STATE_SNAPSHOT, 1, false, {(const uint8_t *)json, strlen(json)}}};
    f[6] = (struct frame){.type = FRAME_PING, .stream = 0, .u.ping = {0xdeadbeef, true}};
    f[7] = (struct frame){
        .type = FRAME_STATE, .stream = 0, .u.state = {FRAME_STATE_DELTA, 2, true, {payload, 100}}};
    static const char *const names[] = {"open",   "data",  "close_write", "close_reset",
                                        "window", "state", "pong",        "state_chunk_more"};
    for (int i = 0; i < 8; i++) {
        uint8_t buf[1100];
        size_t len;
        struct proto_err err;
        struct frame out;
        CHECK_INT(frame_encode(&f[i], buf, sizeof(buf), &len, &err), 0);
        CHECK_INT(frame_decode(buf, len, &out, &err), 0);
        seed("fuzz_proto_frame", names[i], buf, len);
    }
    size_t len;
    uint8_t *b = unhex("93 09 03 a1 78", &len);
    seed("fuzz_proto_frame", "unknown_type", b, len);
    free(b);
}

static void readers(void)
{
    size_t len;
    uint8_t *b = unhex("95 01 82 a1 61 93 01 02 80 a1 62 c0 a1 78 90 07 cb 40 09 21 fb 54 44 2d 18"
                       " d4 01 aa c7 01 05 aa d3 ff ff ff ff ff ff ff ff c5 00 01 ff",
                       &len);
    seed("fuzz_proto_mpr", "mixed", b, len);
    free(b);
    b = unhex("91 91 91 91 91 91 91 91 01", &len);
    seed("fuzz_proto_mpr", "nested8", b, len);
    free(b);
}

int main(int argc, char **argv)
{
    writing = argc > 1 && strcmp(argv[1], "--write") == 0;
    RUN(datagrams);
    RUN(pushpulls);
    RUN(metas);
    RUN(beacons);
    RUN(frames);
    RUN(readers);
    return check_done();
}
