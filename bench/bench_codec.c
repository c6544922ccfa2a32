/*
 * bench_codec — encode + decode rate of a full compound gossip datagram, one core.
 *
 *   bench_codec [seconds-per-case]      (default 2)
 *
 * Each case builds one plaintext with gossip_datagram_encode (a ping probe plus as many
 * candidate updates as fit GOSSIP_PLAINTEXT_BUDGET) and decodes it with
 * gossip_datagram_decode, over and over, and reports datagrams/s and messages/s for encode,
 * decode and the round trip. For reference it also times msgpack-c's own unpacker
 * (msgpack_unpack_next: builds an object tree in a zone, no validation of our schema) on the
 * same bytes. No I/O inside the timed loops.
 */
#include "proto/gossip.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t meta[GOSSIP_META_MAX];
static char names[64][16];

static struct gossip_peer peer(int i)
{
    struct gossip_peer p;
    memset(&p, 0, sizeof(p));
    p.name = proto_str_c(names[i % 64]);
    uint8_t ip[4] = {10, 0, (uint8_t)(i >> 8), (uint8_t)i};
    proto_addr_set(&p.addr, ip, 4, 7946);
    return p;
}

/* Candidate updates: kind 0 = alives with meta_len bytes of metadata; kind 1 = a mix of small
 * updates (suspect, dead, leave, alive without metadata). */
static size_t make_updates(struct gossip_msg *u, size_t n, int kind, size_t meta_len)
{
    for (size_t i = 0; i < n; i++) {
        memset(&u[i], 0, sizeof(u[i]));
        int t = kind == 0 ? GOSSIP_ALIVE
                          : (int[]){GOSSIP_SUSPECT, GOSSIP_DEAD, GOSSIP_LEAVE, GOSSIP_ALIVE}[i % 4];
        u[i].type = (enum gossip_type)t;
        switch (t) {
        case GOSSIP_ALIVE:
            u[i].u.alive.incarnation = 1000 + i;
            u[i].u.alive.node = peer((int)i);
            u[i].u.alive.meta = (struct proto_bytes){meta, kind == 0 ? meta_len : 0};
            break;
        case GOSSIP_SUSPECT:
            u[i].u.suspect = (struct gossip_suspect){1000 + i, proto_str_c(names[i % 64]),
                                                     proto_str_c(names[(i + 1) % 64])};
            break;
        case GOSSIP_DEAD:
            u[i].u.dead = (struct gossip_suspect){1000 + i, proto_str_c(names[i % 64]),
                                                  proto_str_c(names[(i + 2) % 64])};
            break;
        case GOSSIP_LEAVE:
            u[i].u.leave = (struct gossip_leave){1000 + i, proto_str_c(names[i % 64])};
            break;
        }
    }
    return n;
}

static void run_case(const char *label, int kind, size_t meta_len, double seconds)
{
    static struct gossip_msg cand[128], out[GOSSIP_DATAGRAM_MAX_MSGS];
    size_t n = make_updates(cand, 128, kind, meta_len);
    struct gossip_msg probe;
    memset(&probe, 0, sizeof(probe));
    probe.type = GOSSIP_PING;
    probe.u.ping.seq = 1;
    probe.u.ping.target = proto_str_c("node-target-17");
    probe.u.ping.source = peer(3);

    uint8_t buf[GOSSIP_PLAINTEXT_BUDGET];
    uint8_t inc[128];
    size_t len, count;
    struct proto_err err;
    int carried = gossip_datagram_encode(buf, sizeof(buf), &probe, cand, n, inc, &len, &err);
    if (carried < 0) {
        fprintf(stderr, "encode: %s\n", err.msg);
        exit(1);
    }
    size_t msgs = (size_t)carried + 1;

    unsigned long long sink = 0, iters;
    double t0, el;

    /* encode only */
    iters = 0;
    t0 = now();
    do {
        for (int k = 0; k < 1000; k++) {
            probe.u.ping.seq++;
            sink += (unsigned)gossip_datagram_encode(buf, sizeof(buf), &probe, cand, n, inc, &len,
                                                     &err);
        }
        iters += 1000;
    } while ((el = now() - t0) < seconds);
    double enc = (double)iters / el;

    /* decode only */
    iters = 0;
    t0 = now();
    do {
        for (int k = 0; k < 1000; k++) {
            if (gossip_datagram_decode(buf, len, out, GOSSIP_DATAGRAM_MAX_MSGS, &count, NULL,
                                       &err) != 0)
                exit(1);
            sink += count + out[count - 1].type;
        }
        iters += 1000;
    } while ((el = now() - t0) < seconds);
    double dec = (double)iters / el;

    /* round trip */
    iters = 0;
    t0 = now();
    do {
        for (int k = 0; k < 1000; k++) {
            probe.u.ping.seq++;
            gossip_datagram_encode(buf, sizeof(buf), &probe, cand, n, inc, &len, &err);
            gossip_datagram_decode(buf, len, out, GOSSIP_DATAGRAM_MAX_MSGS, &count, NULL, &err);
            sink += count;
        }
        iters += 1000;
    } while ((el = now() - t0) < seconds);
    double rt = (double)iters / el;

    /* reference: msgpack-c's unpacker on the same bytes (object tree in a zone) */
    iters = 0;
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    t0 = now();
    do {
        for (int k = 0; k < 1000; k++) {
            size_t off = 0;
            if (msgpack_unpack_next(&up, (const char *)buf, len, &off) != MSGPACK_UNPACK_SUCCESS)
                exit(1);
            sink += up.data.via.array.size;
        }
        iters += 1000;
    } while ((el = now() - t0) < seconds);
    msgpack_unpacked_destroy(&up);
    double ref = (double)iters / el;

    printf("%-34s %5zu B %3zu msgs | encode %9.0f dg/s %10.0f msg/s | decode %9.0f dg/s %10.0f "
           "msg/s | enc+dec %9.0f dg/s %10.0f msg/s | msgpack-c unpack %9.0f dg/s  (sink %llu)\n",
           label, len, msgs, enc, enc * (double)msgs, dec, dec * (double)msgs, rt,
           rt * (double)msgs, ref, sink % 10);
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    if (seconds <= 0)
        seconds = 2.0;
    memset(meta, 0x5a, sizeof(meta));
    for (int i = 0; i < 64; i++)
        snprintf(names[i], sizeof(names[i]), "node-%02d.lan", i);
    printf("bench_codec: full compound datagrams, budget %d bytes, msgpack-c %s, %.1f s per case\n",
           GOSSIP_PLAINTEXT_BUDGET, proto_msgpack_version(), seconds);
    run_case("ping + alives (200 B meta)", 0, 200, seconds);
    run_case("ping + alives (no meta)", 0, 0, seconds);
    run_case("ping + small updates (mix)", 1, 0, seconds);
    return 0;
}
