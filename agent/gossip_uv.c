/* gossip_uv — membership on libuv sockets; the layout is drawn in gossip_uv.h. */
#include "agent/gossip_uv.h"

#include "common/log.h"
#include "crypto/seal.h"
#include "crypto/seal_sync.h"
#include "proto/beacon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PUSHPULL_TIMEOUT_MS 10000
#define SEED_BACKOFF_MAX_MS 30000
#define BEACON_RARE_MS 30000
#define READ_CHUNK 65536
/* A member that hears a beacon from someone new contacts it after a random delay below this,
 * and only if gossip has not introduced them by then: 32 agents started together make a few
 * dozen push-pulls instead of ~1,000, and a newcomer gets a few instead of one per member. A
 * member that knows nobody yet contacts the first beacon it hears at once. */
#define BEACON_CONTACT_JITTER_MS 400
#define BEACON_CONTACTS_MAX 64
/* Members that answer a stranger's beacon with their own, on average (see answer_beacon). */
#define BEACON_ANSWERS 3
#define BEACON_ANSWER_GAP_MS 20

/* Beacons at start: quick retries while we know no one (agents started together miss each
 * other's first beacon while they are still starting), then rarely. Delays between beacons. */
static const uint32_t beacon_schedule_ms[] = {50, 100, 200, 400, 750, 1500, 3000, 6000};

struct conn {
    struct gossip_uv *g;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t connect;
    uv_write_t write;
    bool server, join, done;
    int handles_open;
    uint8_t hdr[4];
    size_t hdr_got;
    uint8_t *in;
    size_t in_len, in_got;
    uint8_t *out;
    uint8_t *rbuf;
    struct conn *next;
};

struct seed {
    struct gossip_uv *g;
    char host[256];
    char port[8];
    uv_getaddrinfo_t req;
    bool resolving;
};

/* A beacon's sender we mean to contact at due_ms (if still wanted then). */
struct beacon_contact {
    bool used;
    char name[PROTO_NAME_MAX + 1];
    struct proto_addr addr;
    uint64_t incarnation, due_ms;
    bool via6; /* first heard on the IPv6 group (for the log line) */
};

struct gossip_uv {
    uv_loop_t *loop;
    const struct keyring *kr;
    struct membership *m;
    struct gossip_uv_config cfg;
    char name[PROTO_NAME_MAX + 1];
    char advertised[64];
    struct proto_addr self_addr;

    uv_udp_t udp, mcast, mcast6;
    uv_tcp_t listener;
    uv_timer_t timer, beacon_timer, seed_timer, contact_timer;
    struct beacon_contact contacts[BEACON_CONTACTS_MAX];
    uint64_t rng;
    uint64_t last_answer_ms;      /* our last answer to a stranger's beacon */
    bool mcast_open, mcast6_open; /* handle initialised: close_all closes it */
    bool beacons4, beacons6;      /* that family's beacon socket is up */
    bool mcast6_idle_logged;      /* said once that no interface carries IPv6 beacons */
    struct sockaddr_in mcast_dest;
    struct sockaddr_in6 mcast6_dest;
    unsigned mcast6_ifs[GOSSIP_MCAST6_MAX_IFACES]; /* interfaces the IPv6 group is joined on */
    size_t nmcast6_ifs;
    unsigned beacon_step;
    uint32_t seed_backoff_ms;
    struct seed seeds[GOSSIP_UV_MAX_SEEDS];
    size_t nseeds;

    struct conn *conns;
    int nconns;
    int handles_open;
    bool closing;
    void (*on_closed)(void *);
    void *on_closed_arg;

    struct gossip_uv_stats st;
    uint8_t rxbuf[SEAL_MAX_DATAGRAM];
    uint8_t plain[SEAL_MAX_DATAGRAM];
};

static uint64_t now_ms(void)
{
    return uv_hrtime() / 1000000;
}

/* ---- addresses --------------------------------------------------------------------------------
 */

int gossip_parse_addr(const char *text, uint16_t default_port, struct proto_addr *out, char *err,
                      size_t errlen)
{
    char host[64];
    const char *port = NULL;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || (size_t)(close - text - 1) >= sizeof(host)) {
            snprintf(err, errlen, "bad address \"%s\": expected [IPv6]:PORT", text);
            return -1;
        }
        memcpy(host, text + 1, (size_t)(close - text - 1));
        host[close - text - 1] = '\0';
        if (close[1] == ':')
            port = close + 2;
        else if (close[1] != '\0') {
            snprintf(err, errlen, "bad address \"%s\"", text);
            return -1;
        }
    } else {
        const char *colon = strrchr(text, ':');
        size_t hl = colon && strchr(text, ':') == colon ? (size_t)(colon - text) : strlen(text);
        if (hl >= sizeof(host)) {
            snprintf(err, errlen, "bad address \"%s\": too long", text);
            return -1;
        }
        memcpy(host, text, hl);
        host[hl] = '\0';
        if (colon && strchr(text, ':') == colon)
            port = colon + 1;
    }
    unsigned long p = default_port;
    if (port) {
        char *end;
        p = strtoul(port, &end, 10);
        if (*port == '\0' || *end != '\0' || p == 0 || p > 65535) {
            snprintf(err, errlen, "bad port in \"%s\": expected 1..65535", text);
            return -1;
        }
    }
    uint8_t ip[16];
    if (inet_pton(AF_INET, host, ip) == 1)
        return proto_addr_set(out, ip, 4, (uint16_t)p);
    if (inet_pton(AF_INET6, host, ip) == 1)
        return proto_addr_set(out, ip, 16, (uint16_t)p);
    snprintf(err, errlen, "bad address \"%s\": expected a numeric IPv4 or IPv6 address", text);
    return -1;
}

void gossip_format_addr(const struct proto_addr *a, char *buf, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (a->len == 4)
        inet_ntop(AF_INET, a->ip, ip, sizeof(ip));
    else if (a->len == 16)
        inet_ntop(AF_INET6, a->ip, ip, sizeof(ip));
    snprintf(buf, cap, a->len == 16 ? "[%s]:%u" : "%s:%u", ip, a->port);
}

int gossip_check_mcast_group(int family, const char *text, char *err, size_t errlen)
{
    uint8_t ip[16];
    if (family == AF_INET6) {
        /* ff00::/8; scopes 0 and f are reserved (RFC 4291 2.7). */
        if (inet_pton(AF_INET6, text, ip) == 1 && ip[0] == 0xff && (ip[1] & 0x0f) != 0 &&
            (ip[1] & 0x0f) != 0x0f)
            return 0;
        snprintf(err, errlen,
                 "\"%s\" is not an IPv6 multicast address: expected a numeric ff00::/8 group "
                 "without brackets or %%zone, e.g. %s",
                 text, GOSSIP_MCAST_GROUP6);
        return -1;
    }
    if (inet_pton(AF_INET, text, ip) == 1 && (ip[0] & 0xf0) == 0xe0)
        return 0;
    snprintf(err, errlen,
             "\"%s\" is not an IPv4 multicast address: expected a numeric 224.0.0.0/4 group, "
             "e.g. %s",
             text, GOSSIP_MCAST_GROUP);
    return -1;
}

static socklen_t to_sockaddr(const struct proto_addr *a, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (a->len == 16) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(a->port);
        memcpy(&s6->sin6_addr, a->ip, 16);
        return sizeof(*s6);
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons(a->port);
    memcpy(&s4->sin_addr, a->ip, 4);
    return sizeof(*s4);
}

static int from_sockaddr(const struct sockaddr *sa, struct proto_addr *a)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        return proto_addr_set(a, &s4->sin_addr, 4, ntohs(s4->sin_port));
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        return proto_addr_set(a, &s6->sin6_addr, 16, ntohs(s6->sin6_port));
    }
    return -1;
}

/* ---- the membership's io --------------------------------------------------------------------- */

static void reschedule(struct gossip_uv *g);

static void io_send(void *ctx, const struct proto_addr *to, const uint8_t *plain, size_t len)
{
    struct gossip_uv *g = ctx;
    uint8_t out[SEAL_MAX_DATAGRAM];
    size_t outlen;
    if (seal_datagram(g->kr, SEAL_GOSSIP, plain, len, out, sizeof(out), &outlen) != 0)
        return;
    struct sockaddr_storage ss;
    to_sockaddr(to, &ss);
    uv_buf_t buf = uv_buf_init((char *)out, (unsigned)outlen);
    /* UDP: a full socket buffer drops the datagram, as the network might. */
    uv_udp_try_send(&g->udp, &buf, 1, (const struct sockaddr *)&ss);
}

static void start_pushpull(struct gossip_uv *g, const struct proto_addr *to, bool join);

static void io_pushpull(void *ctx, const struct proto_addr *to, bool join)
{
    start_pushpull(ctx, to, join);
}

static void io_event(void *ctx, const struct membership_event *ev)
{
    struct gossip_uv *g = ctx;
    const struct member *x = ev->member;
    char addr[64], other[64];
    gossip_format_addr(&x->addr, addr, sizeof(addr));
    switch (ev->kind) {
    case MEMBERSHIP_JOIN:
        log_info("gossip", "member %s joined addr=%s incarnation=%llu", x->name, addr,
                 (unsigned long long)x->incarnation);
        break;
    case MEMBERSHIP_UPDATE:
        log_info("gossip", "member %s updated addr=%s incarnation=%llu", x->name, addr,
                 (unsigned long long)x->incarnation);
        break;
    case MEMBERSHIP_SUSPECT:
        log_info("gossip", "member %s suspect addr=%s", x->name, addr);
        break;
    case MEMBERSHIP_ALIVE:
        log_info("gossip", "member %s alive again (refuted) addr=%s", x->name, addr);
        break;
    case MEMBERSHIP_FAILED:
        log_warn("gossip", "member %s failed addr=%s", x->name, addr);
        break;
    case MEMBERSHIP_LEFT:
        log_info("gossip", "member %s left addr=%s", x->name, addr);
        break;
    case MEMBERSHIP_REAPED:
        log_info("gossip", "member %s forgotten addr=%s", x->name, addr);
        break;
    case MEMBERSHIP_CONFLICT:
        gossip_format_addr(&ev->other, other, sizeof(other));
        log_error("gossip",
                  "name conflict: %s is claimed by %s and by %s; give every member a unique "
                  "--name",
                  x->name, addr, other);
        break;
    }
    if (g->cfg.on_event)
        g->cfg.on_event(g->cfg.arg, ev);
}

static void on_timer(uv_timer_t *t)
{
    struct gossip_uv *g = t->data;
    membership_tick(g->m, now_ms());
    reschedule(g);
}

static void reschedule(struct gossip_uv *g)
{
    if (g->closing)
        return;
    uint64_t d = membership_next_deadline(g->m), now = now_ms();
    uv_timer_start(&g->timer, on_timer, d > now ? d - now : 0, 0);
}

/* ---- UDP: gossip and beacons ------------------------------------------------------------------
 */

static void on_alloc_udp(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct gossip_uv *g = h->data;
    buf->base = (char *)g->rxbuf;
    buf->len = sizeof(g->rxbuf);
}

static void on_gossip_datagram(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                               const struct sockaddr *addr, unsigned flags)
{
    struct gossip_uv *g = h->data;
    if (nread <= 0 || addr == NULL || g->closing)
        return;
    g->st.rx_datagrams++;
    size_t len = 0;
    int rc = (flags & UV_UDP_PARTIAL)
                 ? SEAL_ERR_LONG
                 : seal_open(g->kr, SEAL_GOSSIP, (const uint8_t *)buf->base, (size_t)nread,
                             g->plain, sizeof(g->plain), &len, NULL, NULL, 0);
    if (rc != 0) {
        if (rc == SEAL_ERR_FORGED)
            g->st.rx_rejected_forged++;
        else if (rc == SEAL_ERR_KEY_ID)
            g->st.rx_rejected_key++;
        else
            g->st.rx_rejected_other++;
        return;
    }
    struct proto_addr from;
    if (from_sockaddr(addr, &from) < 0)
        return;
    membership_recv(g->m, now_ms(), &from, g->plain, len);
    reschedule(g);
}

static void on_contact_timer(uv_timer_t *t);

static void arm_contact_timer(struct gossip_uv *g)
{
    uint64_t due = UINT64_MAX, now = now_ms();
    for (size_t i = 0; i < BEACON_CONTACTS_MAX; i++) {
        if (g->contacts[i].used && g->contacts[i].due_ms < due)
            due = g->contacts[i].due_ms;
    }
    if (due != UINT64_MAX && !g->closing)
        uv_timer_start(&g->contact_timer, on_contact_timer, due > now ? due - now : 0, 0);
}

/* true if this made a new contact (none for that name was on its way). */
static bool schedule_contact(struct gossip_uv *g, const struct beacon *b, bool via6)
{
    struct beacon_contact *free_slot = NULL;
    for (size_t i = 0; i < BEACON_CONTACTS_MAX; i++) {
        struct beacon_contact *c = &g->contacts[i];
        if (c->used && proto_str_eq(b->name, c->name))
            return false; /* already on its way */
        if (!c->used && free_slot == NULL)
            free_slot = c;
    }
    if (free_slot == NULL)
        return false; /* a flood of strangers: the next beacon will ask again */
    /* Alone and not already contacting anyone: no reason to wait. */
    bool first = membership_count(g->m) == 1 && g->nconns == 0;
    for (size_t i = 0; first && i < BEACON_CONTACTS_MAX; i++)
        first = !g->contacts[i].used;
    g->rng = g->rng * 6364136223846793005ULL + 1442695040888963407ULL;
    free_slot->used = true;
    proto_str_copy(b->name, free_slot->name, sizeof(free_slot->name));
    free_slot->addr = b->addr;
    free_slot->incarnation = b->incarnation;
    free_slot->via6 = via6;
    free_slot->due_ms = now_ms() + (first ? 0 : (g->rng >> 33) % BEACON_CONTACT_JITTER_MS);
    arm_contact_timer(g);
    return true;
}

static void on_contact_timer(uv_timer_t *t)
{
    struct gossip_uv *g = t->data;
    uint64_t now = now_ms();
    for (size_t i = 0; i < BEACON_CONTACTS_MAX; i++) {
        struct beacon_contact *c = &g->contacts[i];
        if (!c->used || c->due_ms > now)
            continue;
        c->used = false;
        /* Ask again: gossip may have introduced us meanwhile. */
        if (membership_beacon_wanted(g->m, now, c->name, strlen(c->name), &c->addr,
                                     c->incarnation)) {
            char a[64];
            gossip_format_addr(&c->addr, a, sizeof(a));
            log_info("gossip", "beacon from %s addr=%s via=%s: exchanging state", c->name, a,
                     c->via6 ? "ipv6" : "ipv4");
            membership_join(g->m, &c->addr);
        }
    }
    arm_contact_timer(g);
    reschedule(g);
}

/* Our beacon, sealed, into out (*outlen). 0 or -1. */
static int seal_beacon(struct gossip_uv *g, uint8_t out[BEACON_MAX_SIZE + SEAL_OVERHEAD],
                       size_t *outlen)
{
    const struct member *me = membership_self(g->m);
    struct beacon b = {
        .name = proto_str_c(g->name), .addr = g->self_addr, .incarnation = me->incarnation};
    uint8_t plain[BEACON_MAX_SIZE];
    size_t len;
    if (beacon_encode(&b, plain, sizeof(plain), &len, NULL) != 0 ||
        seal_datagram(g->kr, SEAL_BEACON, plain, len, out, BEACON_MAX_SIZE + SEAL_OVERHEAD,
                      outlen) != 0)
        return -1;
    return 0;
}

/* A stranger's beacon heard while we are in a cluster: we beacon rarely by then, so a newcomer
 * would wait for a jittered contact. A few members (BEACON_ANSWERS on average, at most one answer
 * per BEACON_ANSWER_GAP_MS each) send it their beacon straight back, to the port it beacons
 * from: knowing no one, it contacts the first it hears at once. */
static void answer_beacon(struct gossip_uv *g, uv_udp_t *h, const struct sockaddr *from)
{
    size_t alive = membership_count_state(g->m, MEMBER_ALIVE);
    uint64_t now = now_ms();
    if (alive <= 1 || now < g->last_answer_ms + BEACON_ANSWER_GAP_MS)
        return;
    g->rng = g->rng * 6364136223846793005ULL + 1442695040888963407ULL;
    if ((g->rng >> 33) % alive >= BEACON_ANSWERS)
        return;
    uint8_t out[BEACON_MAX_SIZE + SEAL_OVERHEAD];
    size_t outlen;
    if (seal_beacon(g, out, &outlen) != 0)
        return;
    uv_buf_t buf = uv_buf_init((char *)out, (unsigned)outlen);
    if (uv_udp_try_send(h, &buf, 1, from) >= 0) {
        g->st.beacons_sent++;
        g->last_answer_ms = now;
    }
}

static void on_beacon(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                      unsigned flags)
{
    struct gossip_uv *g = h->data;
    if (nread <= 0 || addr == NULL || g->closing)
        return;
    g->st.rx_beacons++;
    size_t len = 0;
    struct beacon b;
    if ((flags & UV_UDP_PARTIAL) ||
        seal_open(g->kr, SEAL_BEACON, (const uint8_t *)buf->base, (size_t)nread, g->plain,
                  sizeof(g->plain), &len, NULL, NULL, 0) != 0 ||
        beacon_decode(g->plain, len, &b, NULL) != 0) {
        g->st.beacons_rejected++;
        return;
    }
    if (proto_str_eq(b.name, g->name) && proto_addr_eq(&b.addr, &g->self_addr))
        return; /* our own, looped back */
    if (membership_beacon_wanted(g->m, now_ms(), b.name.ptr, b.name.len, &b.addr, b.incarnation)) {
        /* Answered once per contact: two members that hear each other's answers do not go on
         * answering them. */
        if (schedule_contact(g, &b, h == &g->mcast6))
            answer_beacon(g, h, addr);
    }
    reschedule(g);
}

/* ---- IPv6 beacons: one link-local group, joined and sent on each interface --------------------
 */

static bool mcast6_on(const struct gossip_uv *g, unsigned ifindex)
{
    for (size_t i = 0; i < g->nmcast6_ifs; i++) {
        if (g->mcast6_ifs[i] == ifindex)
            return true;
    }
    return false;
}

static const char *ifname(unsigned ifindex, char buf[IF_NAMESIZE])
{
    if (if_indextoname(ifindex, buf) == NULL)
        snprintf(buf, IF_NAMESIZE, "#%u", ifindex);
    return buf;
}

/* True for a port of a Linux bridge (a container's veth on docker0, say): the bridge itself
 * carries the group for its ports, if it has IPv6. Best effort, from sysfs, and only when the
 * sysfs mounted is this network namespace's (its ifindex matches). */
static bool bridge_port(const char *ifname, unsigned ifindex)
{
    char path[64 + IF_NAMESIZE], text[16] = "";
    snprintf(path, sizeof(path), "/sys/class/net/%s/ifindex", ifname);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    bool ours = fgets(text, sizeof(text), f) != NULL && strtoul(text, NULL, 10) == ifindex;
    fclose(f);
    snprintf(path, sizeof(path), "/sys/class/net/%s/brport", ifname);
    return ours && access(path, F_OK) == 0;
}

/* Brings the group's memberships in line with the interfaces that can carry it now: up,
 * multicast-capable, not loopback, not a bridge port, with an IPv6 address (a disabled or down
 * interface has none). Interfaces come and go (Wi-Fi, DHCP, DAD), so this runs before every
 * beacon. */
static void mcast6_rescan(struct gossip_uv *g)
{
    unsigned found[GOSSIP_MCAST6_MAX_IFACES], on[GOSSIP_MCAST6_MAX_IFACES];
    size_t nfound = 0, non = 0;
    struct ifaddrs *all;
    if (getifaddrs(&all) == 0) {
        for (struct ifaddrs *ifa = all; ifa; ifa = ifa->ifa_next) {
            if (ifa->ifa_addr == NULL || ifa->ifa_addr->sa_family != AF_INET6 ||
                !(ifa->ifa_flags & IFF_UP) || !(ifa->ifa_flags & IFF_MULTICAST) ||
                (ifa->ifa_flags & IFF_LOOPBACK))
                continue;
            unsigned idx = if_nametoindex(ifa->ifa_name);
            bool dup = idx == 0;
            for (size_t i = 0; i < nfound && !dup; i++)
                dup = found[i] == idx;
            if (dup || bridge_port(ifa->ifa_name, idx))
                continue;
            if (nfound < GOSSIP_MCAST6_MAX_IFACES) /* more: ignored */
                found[nfound++] = idx;
        }
        freeifaddrs(all);
    }
    int fd;
    if (uv_fileno((const uv_handle_t *)&g->mcast6, &fd) != 0)
        return;
    char name[IF_NAMESIZE], group[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &g->mcast6_dest.sin6_addr, group, sizeof(group));
    struct ipv6_mreq mr = {.ipv6mr_multiaddr = g->mcast6_dest.sin6_addr};
    for (size_t i = 0; i < g->nmcast6_ifs; i++) {
        bool still = false;
        for (size_t j = 0; j < nfound && !still; j++)
            still = found[j] == g->mcast6_ifs[i];
        if (still)
            continue;
        /* Gone or lost its address; the kernel may have dropped the membership already. */
        mr.ipv6mr_interface = g->mcast6_ifs[i];
        setsockopt(fd, IPPROTO_IPV6, IPV6_LEAVE_GROUP, &mr, sizeof(mr));
        log_info("gossip", "IPv6 beacons: interface %s gone", ifname(g->mcast6_ifs[i], name));
    }
    for (size_t j = 0; j < nfound; j++) {
        if (!mcast6_on(g, found[j])) {
            mr.ipv6mr_interface = found[j];
            if (setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof(mr)) < 0 &&
                errno != EADDRINUSE) {
                log_debug("gossip", "IPv6 beacons: cannot join %s on %s: %s", group,
                          ifname(found[j], name), strerror(errno));
                continue; /* tried again at the next beacon */
            }
            log_info("gossip", "IPv6 beacons on %s group=[%s]:%u", ifname(found[j], name), group,
                     ntohs(g->mcast6_dest.sin6_port));
        }
        on[non++] = found[j];
    }
    memcpy(g->mcast6_ifs, on, non * sizeof(on[0]));
    g->nmcast6_ifs = non;
    if (non == 0 && !g->mcast6_idle_logged)
        log_info("gossip", "no interface has IPv6 multicast (yet): beacons go over IPv4 only");
    g->mcast6_idle_logged = non == 0;
}

/* The group is link-local: one copy per interface, each sent out of it (IPV6_MULTICAST_IF). */
static void send_beacon6(struct gossip_uv *g, const uv_buf_t *buf)
{
    mcast6_rescan(g);
    int fd;
    if (uv_fileno((const uv_handle_t *)&g->mcast6, &fd) != 0)
        return;
    for (size_t i = 0; i < g->nmcast6_ifs; i++) {
        int idx = (int)g->mcast6_ifs[i];
        struct sockaddr_in6 to = g->mcast6_dest;
        to.sin6_scope_id = g->mcast6_ifs[i];
        if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, sizeof(idx)) == 0 &&
            uv_udp_try_send(&g->mcast6, buf, 1, (const struct sockaddr *)&to) >= 0)
            g->st.beacons_sent++;
    }
}

static void send_beacon(struct gossip_uv *g)
{
    uint8_t out[BEACON_MAX_SIZE + SEAL_OVERHEAD];
    size_t outlen;
    if (seal_beacon(g, out, &outlen) != 0)
        return;
    uv_buf_t buf = uv_buf_init((char *)out, (unsigned)outlen);
    if (g->beacons4 &&
        uv_udp_try_send(&g->mcast, &buf, 1, (const struct sockaddr *)&g->mcast_dest) >= 0)
        g->st.beacons_sent++;
    if (g->beacons6)
        send_beacon6(g, &buf);
}

static void on_beacon_timer(uv_timer_t *t)
{
    struct gossip_uv *g = t->data;
    send_beacon(g);
    /* The quick retries only while we know no one: once in a cluster, a newcomer's own beacons
     * bring it in (we contact it), so ours can go rare at once. */
    bool alone = membership_count_state(g->m, MEMBER_ALIVE) <= 1;
    uint32_t next =
        alone && g->beacon_step < sizeof(beacon_schedule_ms) / sizeof(beacon_schedule_ms[0])
            ? beacon_schedule_ms[g->beacon_step++]
            : BEACON_RARE_MS;
    uv_timer_start(&g->beacon_timer, on_beacon_timer, next, 0);
}

/* ---- TCP push-pull
 * ------------------------------------------------------------------------------- */

static void maybe_closed(struct gossip_uv *g)
{
    if (g->closing && g->handles_open == 0 && g->nconns == 0 && g->on_closed)
        g->on_closed(g->on_closed_arg);
}

static void conn_handle_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    if (--c->handles_open > 0)
        return;
    struct gossip_uv *g = c->g;
    for (struct conn **p = &g->conns; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    g->nconns--;
    free(c->in);
    free(c->out);
    free(c->rbuf);
    free(c);
    maybe_closed(g);
}

static void conn_close(struct conn *c, bool failed)
{
    if (failed && !c->done)
        c->g->st.pushpull_failed++;
    c->done = true;
    if (!uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
    if (!uv_is_closing((uv_handle_t *)&c->timer))
        uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
}

static void on_conn_timeout(uv_timer_t *t)
{
    conn_close(t->data, true);
}

static void on_written(uv_write_t *w, int status)
{
    struct conn *c = w->data;
    free(c->out);
    c->out = NULL;
    if (status < 0)
        conn_close(c, true);
    else if (c->server)
        conn_close(c, false); /* our answer is out: done */
}

/* Frames our side of the exchange: 4-byte big-endian length, then the sealed push-pull payload:
 * the opening (ask NULL; join says which) or the answer to what the peer asked. */
static int send_state(struct conn *c, bool join, const struct membership_pushpull_ask *ask)
{
    struct gossip_uv *g = c->g;
    size_t cap = 64 + 8 * MEMBERSHIP_DIGEST_BUCKETS +
                 membership_count(g->m) * GOSSIP_PUSHPULL_MEMBER_MAX_SIZE;
    uint8_t *plain = malloc(cap);
    c->out = malloc(4 + cap + SEAL_OVERHEAD);
    size_t len = 0, sealed = 0;
    int ok = plain && c->out &&
             (ask ? membership_pushpull_answer(g->m, ask, plain, cap, &len)
                  : membership_pushpull_encode(g->m, join, plain, cap, &len)) == 0 &&
             seal_sync(g->kr, plain, len, c->out + 4, cap + SEAL_OVERHEAD, &sealed) == 0;
    free(plain);
    if (!ok)
        return -1;
    c->out[0] = (uint8_t)(sealed >> 24);
    c->out[1] = (uint8_t)(sealed >> 16);
    c->out[2] = (uint8_t)(sealed >> 8);
    c->out[3] = (uint8_t)sealed;
    uv_buf_t buf = uv_buf_init((char *)c->out, (unsigned)(4 + sealed));
    c->write.data = c;
    return uv_write(&c->write, (uv_stream_t *)&c->tcp, &buf, 1, on_written) < 0 ? -1 : 0;
}

static void frame_complete(struct conn *c)
{
    struct gossip_uv *g = c->g;
    uv_read_stop((uv_stream_t *)&c->tcp);
    uint8_t *plain = malloc(c->in_len);
    size_t len = 0;
    struct membership_pushpull_ask ask;
    int rc = plain ? seal_sync_open(g->kr, c->in, c->in_len, plain, c->in_len, &len, NULL, 0) : -1;
    if (rc == 0)
        rc = membership_pushpull_merge(g->m, now_ms(), plain, len, &ask);
    free(plain);
    if (rc != 0) {
        g->st.pushpull_rejected++;
        conn_close(c, true);
        return;
    }
    reschedule(g);
    if (c->server) {
        g->st.pushpull_in++;
        if (send_state(c, false, &ask) < 0)
            conn_close(c, true);
    } else {
        g->st.pushpull_out++;
        conn_close(c, false);
    }
}

static void on_conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct conn *c = h->data;
    if (c->rbuf == NULL)
        c->rbuf = malloc(READ_CHUNK);
    buf->base = (char *)c->rbuf;
    buf->len = c->rbuf ? READ_CHUNK : 0;
}

static void on_conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = s->data;
    if (nread < 0) {
        conn_close(c, true);
        return;
    }
    const uint8_t *p = (const uint8_t *)buf->base;
    size_t n = (size_t)nread;
    while (n > 0 && !c->done) {
        if (c->hdr_got < 4) {
            c->hdr[c->hdr_got++] = *p++;
            n--;
            if (c->hdr_got == 4) {
                c->in_len = (size_t)c->hdr[0] << 24 | (size_t)c->hdr[1] << 16 |
                            (size_t)c->hdr[2] << 8 | c->hdr[3];
                if (c->in_len < SEAL_OVERHEAD ||
                    c->in_len > GOSSIP_PUSHPULL_MAX_SIZE + SEAL_OVERHEAD) {
                    c->g->st.pushpull_rejected++;
                    conn_close(c, true);
                    return;
                }
                c->in = malloc(c->in_len);
                if (c->in == NULL) {
                    conn_close(c, true);
                    return;
                }
            }
            continue;
        }
        size_t take = c->in_len - c->in_got < n ? c->in_len - c->in_got : n;
        memcpy(c->in + c->in_got, p, take);
        c->in_got += take;
        p += take;
        n -= take;
        if (c->in_got == c->in_len) {
            frame_complete(c);
            return;
        }
    }
}

static struct conn *conn_new(struct gossip_uv *g, bool server)
{
    if (g->nconns >= GOSSIP_UV_MAX_CONNS)
        return NULL;
    struct conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->g = g;
    c->server = server;
    uv_tcp_init(g->loop, &c->tcp);
    uv_timer_init(g->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->handles_open = 2;
    c->next = g->conns;
    g->conns = c;
    g->nconns++;
    uv_timer_start(&c->timer, on_conn_timeout, PUSHPULL_TIMEOUT_MS, 0);
    return c;
}

static void on_connected(uv_connect_t *req, int status)
{
    struct conn *c = req->data;
    if (status < 0 || c->done) {
        conn_close(c, true);
        return;
    }
    if (send_state(c, c->join, NULL) < 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, on_conn_alloc, on_conn_read) < 0)
        conn_close(c, true);
}

static void start_pushpull(struct gossip_uv *g, const struct proto_addr *to, bool join)
{
    if (g->closing)
        return;
    struct conn *c = conn_new(g, false);
    if (c == NULL)
        return;
    c->join = join;
    struct sockaddr_storage ss;
    to_sockaddr(to, &ss);
    c->connect.data = c;
    if (uv_tcp_connect(&c->connect, &c->tcp, (const struct sockaddr *)&ss, on_connected) < 0)
        conn_close(c, true);
}

static void on_incoming(uv_stream_t *listener, int status)
{
    struct gossip_uv *g = listener->data;
    if (status < 0 || g->closing)
        return;
    struct conn *c = conn_new(g, true);
    if (c == NULL) {
        /* Too many at once: accept and drop, so the backlog does not fill. */
        uv_tcp_t *t = malloc(sizeof(*t));
        if (t == NULL)
            return;
        uv_tcp_init(g->loop, t);
        if (uv_accept(listener, (uv_stream_t *)t) == 0)
            g->st.pushpull_rejected++;
        uv_close((uv_handle_t *)t, (uv_close_cb)free);
        return;
    }
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) < 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, on_conn_alloc, on_conn_read) < 0)
        conn_close(c, true);
}

/* ---- seeds
 * ------------------------------------------------------------------------------------------ */

static void on_seed_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct seed *s = req->data;
    s->resolving = false;
    struct gossip_uv *g = s->g;
    if (status < 0 || g->closing) {
        if (status < 0)
            log_warn("gossip", "seed %s: cannot resolve: %s", s->host, uv_strerror(status));
        uv_freeaddrinfo(res);
        return;
    }
    struct proto_addr a;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (from_sockaddr(ai->ai_addr, &a) == 0 && !proto_addr_eq(&a, &g->self_addr)) {
            membership_join(g->m, &a);
            break;
        }
    }
    uv_freeaddrinfo(res);
    reschedule(g);
}

static void on_seed_timer(uv_timer_t *t)
{
    struct gossip_uv *g = t->data;
    if (membership_count(g->m) > 1) {
        g->st.seeds_joined++;
        return; /* joined: seeds are not needed any more */
    }
    for (size_t i = 0; i < g->nseeds; i++) {
        struct seed *s = &g->seeds[i];
        if (s->resolving)
            continue;
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC};
        s->req.data = s;
        s->resolving = true;
        if (uv_getaddrinfo(g->loop, &s->req, on_seed_resolved, s->host, s->port, &hints) < 0)
            s->resolving = false;
    }
    uv_timer_start(&g->seed_timer, on_seed_timer, g->seed_backoff_ms, 0);
    g->seed_backoff_ms =
        g->seed_backoff_ms * 2 > SEED_BACKOFF_MAX_MS ? SEED_BACKOFF_MAX_MS : g->seed_backoff_ms * 2;
}

static int parse_seed(struct seed *s, const char *text, char *err, size_t errlen)
{
    const char *host = text, *port = NULL;
    size_t hl;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL)
            goto bad;
        host = text + 1;
        hl = (size_t)(close - host);
        if (close[1] == ':')
            port = close + 2;
        else if (close[1] != '\0')
            goto bad;
    } else {
        const char *colon = strchr(text, ':');
        hl = colon ? (size_t)(colon - text) : strlen(text);
        port = colon ? colon + 1 : NULL;
        if (colon && strchr(colon + 1, ':'))
            goto bad; /* bare IPv6 needs brackets */
    }
    if (hl == 0 || hl >= sizeof(s->host))
        goto bad;
    memcpy(s->host, host, hl);
    s->host[hl] = '\0';
    if (port) {
        char *end;
        unsigned long p = strtoul(port, &end, 10);
        if (*port == '\0' || *end != '\0' || p == 0 || p > 65535)
            goto bad;
        snprintf(s->port, sizeof(s->port), "%lu", p);
    } else {
        snprintf(s->port, sizeof(s->port), "%d", GOSSIP_DEFAULT_PORT);
    }
    return 0;
bad:
    snprintf(err, errlen, "bad --join \"%s\": expected HOST[:PORT] or [IPv6]:PORT", text);
    return -1;
}

/* ---- start and close
 * ------------------------------------------------------------------------------- */

static int pick_advertise(struct gossip_uv *g, const struct proto_addr *bind, char *err,
                          size_t errlen)
{
    if (g->cfg.advertise)
        return gossip_parse_addr(g->cfg.advertise, bind->port, &g->self_addr, err, errlen);
    static const uint8_t any4[4], any6[16];
    bool any = (bind->len == 4 && memcmp(bind->ip, any4, 4) == 0) ||
               (bind->len == 16 && memcmp(bind->ip, any6, 16) == 0);
    if (!any) {
        g->self_addr = *bind;
        return 0;
    }
    uv_interface_address_t *ifs;
    int n;
    if (uv_interface_addresses(&ifs, &n) == 0) {
        for (int i = 0; i < n; i++) {
            if (!ifs[i].is_internal && ifs[i].address.address4.sin_family == AF_INET) {
                proto_addr_set(&g->self_addr, &ifs[i].address.address4.sin_addr, 4, bind->port);
                uv_free_interface_addresses(ifs, n);
                return 0;
            }
        }
        uv_free_interface_addresses(ifs, n);
    }
    snprintf(err, errlen, "no non-loopback IPv4 address to advertise: pass --advertise ADDR");
    return -1;
}

static void handle_closed(uv_handle_t *h)
{
    struct gossip_uv *g = h->data;
    g->handles_open--;
    maybe_closed(g);
}

static void close_handle(struct gossip_uv *g, uv_handle_t *h)
{
    if (h->type != UV_UNKNOWN_HANDLE && !uv_is_closing(h)) {
        h->data = g;
        uv_close(h, handle_closed);
    }
}

static void close_all(struct gossip_uv *g)
{
    g->closing = true;
    close_handle(g, (uv_handle_t *)&g->udp);
    if (g->mcast_open)
        close_handle(g, (uv_handle_t *)&g->mcast);
    if (g->mcast6_open)
        close_handle(g, (uv_handle_t *)&g->mcast6);
    close_handle(g, (uv_handle_t *)&g->listener);
    close_handle(g, (uv_handle_t *)&g->timer);
    close_handle(g, (uv_handle_t *)&g->beacon_timer);
    close_handle(g, (uv_handle_t *)&g->seed_timer);
    close_handle(g, (uv_handle_t *)&g->contact_timer);
    for (struct conn *c = g->conns; c; c = c->next)
        conn_close(c, false);
}

static void free_after_failed_start(void *arg)
{
    struct gossip_uv *g = arg;
    membership_free(g->m);
    free(g);
}

/* The IPv4 beacon socket, 0.0.0.0:port, joined to the group on the interface of the advertised
 * address (the kernel's choice when that is not IPv4). It also sends: TTL 1, looped back so
 * several agents on one host hear each other. A failure leaves it closing and beacons4 off. */
static int open_beacons4(struct gossip_uv *g, const char *group, uint16_t port)
{
    struct sockaddr_in any = {.sin_family = AF_INET, .sin_port = htons(port)};
    g->mcast_dest = any;
    if (inet_pton(AF_INET, group, &g->mcast_dest.sin_addr) != 1)
        return UV_EINVAL;
    uv_udp_init(g->loop, &g->mcast);
    g->mcast.data = g;
    g->mcast_open = true;
    g->handles_open++;
    char iface[INET_ADDRSTRLEN] = "";
    if (g->self_addr.len == 4)
        inet_ntop(AF_INET, g->self_addr.ip, iface, sizeof(iface));
    int rc = uv_udp_bind(&g->mcast, (const struct sockaddr *)&any, UV_UDP_REUSEADDR);
    if (rc == 0)
        rc = uv_udp_set_membership(&g->mcast, group, iface[0] ? iface : NULL, UV_JOIN_GROUP);
    if (rc == 0)
        rc = uv_udp_set_multicast_ttl(&g->mcast, 1); /* never beyond the LAN */
    if (rc == 0)
        rc = uv_udp_set_multicast_loop(&g->mcast, 1);
    if (rc == 0 && iface[0])
        rc = uv_udp_set_multicast_interface(&g->mcast, iface);
    if (rc == 0)
        rc = uv_udp_recv_start(&g->mcast, on_alloc_udp, on_beacon);
    if (rc < 0)
        close_handle(g, (uv_handle_t *)&g->mcast);
    g->beacons4 = rc == 0;
    return rc;
}

/* The IPv6 beacon socket, [::]:port (IPv6 only, so it never shares the IPv4 one's packets). It
 * sends too, hop limit 1 and looped back; the group is joined per interface when beacons go
 * out (mcast6_rescan). No IPv6 in the kernel: UV_EAFNOSUPPORT and nothing to close. */
static int open_beacons6(struct gossip_uv *g, const char *group, uint16_t port)
{
    struct sockaddr_in6 any = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    g->mcast6_dest = any;
    if (inet_pton(AF_INET6, group, &g->mcast6_dest.sin6_addr) != 1)
        return UV_EINVAL;
    int rc = uv_udp_init_ex(g->loop, &g->mcast6, AF_INET6);
    if (rc < 0)
        return rc;
    g->mcast6.data = g;
    g->mcast6_open = true;
    g->handles_open++;
    int fd = -1, hops = 1, loop = 1;
    rc = uv_udp_bind(&g->mcast6, (const struct sockaddr *)&any, UV_UDP_IPV6ONLY | UV_UDP_REUSEADDR);
    if (rc == 0)
        rc = uv_fileno((const uv_handle_t *)&g->mcast6, &fd);
    if (rc == 0 && (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) < 0 ||
                    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &loop, sizeof(loop)) < 0))
        rc = -errno;
#ifdef IPV6_MULTICAST_ALL
    /* Only our group, not every group another socket on this host joined on the same port
     * (Linux >= 4.20; with older kernels another cluster's beacons arrive, fail to open and
     * are counted as rejected). */
    int only_ours = 0;
    if (rc == 0)
        setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL, &only_ours, sizeof(only_ours));
#endif
    if (rc == 0)
        rc = uv_udp_recv_start(&g->mcast6, on_alloc_udp, on_beacon);
    if (rc < 0)
        close_handle(g, (uv_handle_t *)&g->mcast6);
    g->beacons6 = rc == 0;
    return rc;
}

struct gossip_uv *gossip_uv_start(uv_loop_t *loop, const struct gossip_uv_config *cfg,
                                  const struct keyring *kr, char *err, size_t errlen)
{
    struct gossip_uv *g = calloc(1, sizeof(*g));
    if (g == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    g->loop = loop;
    g->kr = kr;
    g->cfg = *cfg;
    snprintf(g->name, sizeof(g->name), "%s", cfg->name);
    g->seed_backoff_ms = 1000;

    struct proto_addr bind;
    if (gossip_parse_addr(cfg->bind ? cfg->bind : "0.0.0.0:7946", GOSSIP_DEFAULT_PORT, &bind, err,
                          errlen) < 0 ||
        pick_advertise(g, &bind, err, errlen) < 0) {
        free(g);
        return NULL;
    }
    gossip_format_addr(&g->self_addr, g->advertised, sizeof(g->advertised));
    for (size_t i = 0; i < cfg->nseeds && i < GOSSIP_UV_MAX_SEEDS; i++) {
        g->seeds[i].g = g;
        if (parse_seed(&g->seeds[i], cfg->seeds[i], err, errlen) < 0) {
            free(g);
            return NULL;
        }
        g->nseeds++;
    }
    if (cfg->multicast &&
        ((cfg->mcast_group &&
          gossip_check_mcast_group(AF_INET, cfg->mcast_group, err, errlen) < 0) ||
         (cfg->mcast_group6 &&
          gossip_check_mcast_group(AF_INET6, cfg->mcast_group6, err, errlen) < 0))) {
        free(g);
        return NULL;
    }

    struct membership_config mc = {.name = cfg->name,
                                   .addr = g->self_addr,
                                   .meta = cfg->meta,
                                   .meta_len = cfg->meta_len,
                                   .incarnation = cfg->incarnation,
                                   .seed = uv_hrtime() ^ (uint64_t)(uintptr_t)g,
                                   .tuning = cfg->tuning};
    struct membership_io io = {
        .ctx = g, .send = io_send, .pushpull = io_pushpull, .event = io_event};
    g->m = membership_new(&mc, &io, now_ms(), err, errlen);
    if (g->m == NULL) {
        free(g);
        return NULL;
    }

    struct sockaddr_storage ss;
    to_sockaddr(&bind, &ss);
    const char *what = "UDP";
    int rc;
    uv_udp_init(loop, &g->udp);
    g->udp.data = g;
    g->handles_open++;
    uv_tcp_init(loop, &g->listener);
    g->listener.data = g;
    g->handles_open++;
    uv_timer_init(loop, &g->timer);
    g->timer.data = g;
    g->handles_open++;
    uv_timer_init(loop, &g->beacon_timer);
    g->beacon_timer.data = g;
    g->handles_open++;
    uv_timer_init(loop, &g->seed_timer);
    g->seed_timer.data = g;
    g->handles_open++;
    uv_timer_init(loop, &g->contact_timer);
    g->contact_timer.data = g;
    g->handles_open++;
    g->rng = uv_hrtime() ^ (uint64_t)(uintptr_t)g;
    rc = uv_udp_bind(&g->udp, (const struct sockaddr *)&ss, 0);
    if (rc == 0) {
        what = "TCP";
        rc = uv_tcp_bind(&g->listener, (const struct sockaddr *)&ss, 0);
    }
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&g->listener, 64, on_incoming);
    if (rc == 0)
        rc = uv_udp_recv_start(&g->udp, on_alloc_udp, on_gossip_datagram);
    if (rc == 0 && cfg->multicast) {
        uint16_t port = cfg->mcast_port ? cfg->mcast_port : GOSSIP_MCAST_PORT;
        const char *group = cfg->mcast_group ? cfg->mcast_group : GOSSIP_MCAST_GROUP;
        const char *group6 = cfg->mcast_group6 ? cfg->mcast_group6 : GOSSIP_MCAST_GROUP6;
        int rc4 = open_beacons4(g, group, port), rc6 = open_beacons6(g, group6, port);
        if (rc4 < 0 && rc6 < 0) {
            snprintf(err, errlen,
                     "multicast beacons: IPv4 group %s port %u: %s; IPv6 group %s: %s (or run "
                     "with --no-multicast and --join)",
                     group, port, uv_strerror(rc4), group6, uv_strerror(rc6));
            rc = rc4;
            what = NULL;
        } else {
            /* One family is enough to be found; the other is only logged. */
            if (rc4 < 0)
                log_warn("gossip", "IPv4 beacons off (group %s port %u: %s): IPv6 only", group,
                         port, uv_strerror(rc4));
            if (rc6 < 0)
                log_info("gossip", "IPv6 beacons off (%s): IPv4 only", uv_strerror(rc6));
            uv_timer_start(&g->beacon_timer, on_beacon_timer, 0, 0);
        }
    }
    if (rc < 0) {
        char b[64];
        gossip_format_addr(&bind, b, sizeof(b));
        if (what)
            snprintf(err, errlen, "%s on %s: %s%s", what, b, uv_strerror(rc),
                     rc == UV_EADDRINUSE ? " (another agent on this port? use --bind)" : "");
        g->on_closed = free_after_failed_start;
        g->on_closed_arg = g;
        close_all(g);
        return NULL;
    }
    if (g->nseeds > 0)
        uv_timer_start(&g->seed_timer, on_seed_timer, 0, 0);
    log_info("gossip", "member %s listening addr=%s multicast=%s seeds=%zu", g->name, g->advertised,
             g->beacons4 && g->beacons6 ? "ipv4+ipv6"
             : g->beacons4              ? "ipv4"
             : g->beacons6              ? "ipv6"
                                        : "off",
             g->nseeds);
    reschedule(g);
    return g;
}

void gossip_uv_leave_and_close(struct gossip_uv *g, void (*on_closed)(void *arg), void *arg)
{
    membership_leave(g->m, now_ms(), 8);
    g->on_closed = on_closed;
    g->on_closed_arg = arg;
    close_all(g);
}

void gossip_uv_free(struct gossip_uv *g)
{
    membership_free(g->m);
    free(g);
}

int gossip_uv_set_meta(struct gossip_uv *g, const uint8_t *meta, size_t len)
{
    if (g->closing || membership_set_meta(g->m, now_ms(), meta, len) < 0)
        return -1;
    reschedule(g); /* the news goes out at once */
    return 0;
}

struct membership *gossip_uv_membership(struct gossip_uv *g)
{
    return g->m;
}

const struct gossip_uv_stats *gossip_uv_stats(const struct gossip_uv *g)
{
    return &g->st;
}

const char *gossip_uv_advertised(const struct gossip_uv *g)
{
    return g->advertised;
}
