/*
 * gossip_uv — runs the membership state machine on real sockets with libuv.
 *
 *   UDP  bind addr:port       sealed gossip datagrams (crypto/seal.h, kind gossip)
 *   TCP  bind addr:port       push-pull: one length-prefixed sealed payload each way
 *   UDP  0.0.0.0:mcast_port   sealed beacons on the multicast group (kind beacon), unless
 *                             multicast is off; beacons are sent from the gossip socket
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
#define GOSSIP_UV_MAX_CONNS 32
#define GOSSIP_UV_MAX_SEEDS 16

struct gossip_uv_config {
    const char *name;
    const char *bind;      /* "ADDR:PORT"; default "0.0.0.0:7946" */
    const char *advertise; /* "ADDR[:PORT]"; default: bind, or the first non-loopback IPv4 */
    const char *seeds[GOSSIP_UV_MAX_SEEDS]; /* "HOST[:PORT]", DNS names allowed */
    size_t nseeds;
    bool multicast;          /* send and hear LAN beacons */
    const char *mcast_group; /* default GOSSIP_MCAST_GROUP */
    uint16_t mcast_port;     /* default GOSSIP_MCAST_PORT */
    const uint8_t *meta;     /* encoded metadata (proto/meta.h) */
    size_t meta_len;
    uint64_t incarnation;
    struct membership_tuning tuning;
    /* Called on the loop thread for every membership event (after it is logged). */
    void (*on_event)(void *arg, const struct membership_event *ev);
    void *arg;
};

/* Drops by reason, for `swarm members --stats`. */
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

struct membership *gossip_uv_membership(struct gossip_uv *g);
const struct gossip_uv_stats *gossip_uv_stats(const struct gossip_uv *g);
/* The address other members reach us at, as "ip:port". */
const char *gossip_uv_advertised(const struct gossip_uv *g);

/* Parses "ADDR[:PORT]" or "[v6]:PORT" (numeric) into a proto_addr; default_port if none. */
int gossip_parse_addr(const char *text, uint16_t default_port, struct proto_addr *out, char *err,
                      size_t errlen);
/* Formats "ip:port" ("[v6]:port") into buf. */
void gossip_format_addr(const struct proto_addr *a, char *buf, size_t cap);

#endif
