/*
 * gossip_uv — runs the membership state machine on real sockets with libuv.
 *
 *   UDP  bind addr:port       sealed gossip datagrams (crypto/seal.h, kind gossip)
 *   TCP  bind addr:port       push-pull: one length-prefixed sealed payload each way
 *   UDP  0.0.0.0:mcast_port   sealed beacons on the IPv4 group (kind beacon), TTL 1
 *   UDP  [::]:mcast_port      the same beacons on the IPv6 group (link-local scope), hop limit
 *                             1, joined and sent on every interface that is up, multicast-
 *                             capable, not loopback, not a bridge port and has an IPv6 address
 *                             (rescanned at every beacon)
 *
 * Both beacon sockets are off with multicast off. Each beacon socket sends and hears its own
 * family; either one may be missing (IPv6 disabled, no IPv4 route for the group): the agent logs
 * one line and goes on with the other, and fails to start only if neither opens. A beacon heard
 * on either socket goes through the same opener, decoder and counters, and leads to a push-pull
 * with the address the beacon carries (whatever family it is), not with the packet's source.
 *
 * Every datagram and push-pull payload is opened with the keyring before the membership module
 * sees it; whatever fails to open or decode is dropped and counted by reason (gossip_uv_stats),
 * never logged per packet. Work per wakeup is bounded by libuv (32 datagrams per callback); each
 * push-pull connection is bounded in size (GOSSIP_PUSHPULL_MAX_SIZE + envelope) and time, and
 * at most GOSSIP_UV_MAX_CONNS run at once.
 *
 * Ownership: the caller owns the loop and the keyring (which must outlive the gossip_uv) and
 * the struct gossip_uv (gossip_uv_start fills it; it must stay put until gossip_uv_close's
 * callback). The membership instance is created and freed here; gossip_uv_membership() lends it.
 */
#ifndef SWARM_AGENT_GOSSIP_UV_H
#define SWARM_AGENT_GOSSIP_UV_H

#include "agent/membership.h"
#include "crypto/keyring.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#define GOSSIP_DEFAULT_PORT 7946
#define GOSSIP_MCAST_GROUP "239.255.77.46"
#define GOSSIP_MCAST_PORT 7947
/* Link-local scope (2), transient (flag T = 1: not an IANA-assigned group, as RFC 4291 asks of
 * groups an application picks for itself); 77:46 mirrors the IPv4 group. */
#define GOSSIP_MCAST_GROUP6 "ff12::77:46"
#define GOSSIP_MCAST6_MAX_IFACES 32
#define GOSSIP_UV_MAX_CONNS 32
#define GOSSIP_UV_MAX_SEEDS 16

struct gossip_uv_config {
    const char *name;
    const char *bind;      /* "ADDR:PORT"; default "0.0.0.0:7946" */
    const char *advertise; /* "ADDR[:PORT]"; default: bind, or the first non-loopback IPv4 */
    const char *seeds[GOSSIP_UV_MAX_SEEDS]; /* "HOST[:PORT]", DNS names allowed */
    size_t nseeds;
    bool multicast;           /* send and hear LAN beacons, IPv4 and IPv6 */
    const char *mcast_group;  /* default GOSSIP_MCAST_GROUP */
    const char *mcast_group6; /* default GOSSIP_MCAST_GROUP6 */
    uint16_t mcast_port;      /* both families; default GOSSIP_MCAST_PORT */
    const uint8_t *meta;      /* encoded metadata (proto/meta.h) */
    size_t meta_len;
    uint64_t incarnation;
    struct membership_tuning tuning;
    /* Called on the loop thread for every membership event (after it is logged). */
    void (*on_event)(void *arg, const struct membership_event *ev);
    void *arg;
};

/* Drops by reason, for `swarm members --stats`. Beacon counters add up both families; one
 * beacon sent on three IPv6 interfaces and the IPv4 group counts 4 in beacons_sent. */
struct gossip_uv_stats {
    uint64_t rx_datagrams, rx_rejected_forged, rx_rejected_key, rx_rejected_other;
    uint64_t rx_beacons, beacons_rejected, beacons_sent;
    uint64_t pushpull_in, pushpull_out, pushpull_failed, pushpull_rejected;
    uint64_t seeds_joined;
};

struct gossip_uv;

/* Binds the sockets and starts gossiping. Returns NULL with err (bad address, port in use,
 * bad name) and nothing left open. */
struct gossip_uv *gossip_uv_start(uv_loop_t *loop, const struct gossip_uv_config *cfg,
                                  const struct keyring *kr, char *err, size_t errlen);

/* Graceful leave: gossips "left", then closes every handle; on_closed runs when it is safe to
 * free everything (and the loop may end). */
void gossip_uv_leave_and_close(struct gossip_uv *g, void (*on_closed)(void *arg), void *arg);

/* Frees what gossip_uv_start allocated; only after gossip_uv_leave_and_close's on_closed. */
void gossip_uv_free(struct gossip_uv *g);

/* New metadata for ourselves (copied): a new incarnation, gossiped at once. -1 if too big or
 * leaving. */
int gossip_uv_set_meta(struct gossip_uv *g, const uint8_t *meta, size_t len);

struct membership *gossip_uv_membership(struct gossip_uv *g);
const struct gossip_uv_stats *gossip_uv_stats(const struct gossip_uv *g);
/* The address other members reach us at, as "ip:port". */
const char *gossip_uv_advertised(const struct gossip_uv *g);

/* Parses "ADDR[:PORT]" or "[v6]:PORT" (numeric) into a proto_addr; default_port if none. */
int gossip_parse_addr(const char *text, uint16_t default_port, struct proto_addr *out, char *err,
                      size_t errlen);
/* Formats "ip:port" ("[v6]:port") into buf. */
void gossip_format_addr(const struct proto_addr *a, char *buf, size_t cap);

/* Checks a beacon group as given on the command line: family AF_INET wants a numeric IPv4
 * multicast address (224.0.0.0/4), AF_INET6 a numeric IPv6 one (ff00::/8, no brackets, no
 * %zone: the group is joined on every interface). 0, or -1 with a one-line reason in err. */
int gossip_check_mcast_group(int family, const char *text, char *err, size_t errlen);

#endif
