#include "proto/gossip.h"

#include "proto/mpack_read.h"
#include "proto/mpack_write.h"
#include "proto/proto_internal.h"

#include <stdio.h>
#include <string.h>

const char *gossip_type_name(int type)
{
    switch (type) {
    case GOSSIP_PING:
        return "ping";
    case GOSSIP_PING_REQ:
        return "ping-req";
    case GOSSIP_ACK:
        return "ack";
    case GOSSIP_NACK:
        return "nack";
    case GOSSIP_ALIVE:
        return "alive";
    case GOSSIP_SUSPECT:
        return "suspect";
    case GOSSIP_DEAD:
        return "dead";
    case GOSSIP_LEAVE:
        return "leave";
    default:
        return "unknown";
    }
}

/* Elements of each known message, the type included; index = type. */
static const uint32_t msg_fields[] = {
    [GOSSIP_PING] = 6,  [GOSSIP_PING_REQ] = 9, [GOSSIP_ACK] = 2,  [GOSSIP_NACK] = 2,
    [GOSSIP_ALIVE] = 6, [GOSSIP_SUSPECT] = 4,  [GOSSIP_DEAD] = 4, [GOSSIP_LEAVE] = 3,
};

static bool type_known(uint64_t t)
{
    return t >= GOSSIP_PING && t <= GOSSIP_LEAVE;
}

/* ---- encoding ------------------------------------------------------------------------------ */

static void pack_peer(struct mpw *w, const struct gossip_peer *p)
{
    mpw_str(w, p->name.ptr, p->name.len);
    mpw_bin(w, p->addr.ip, p->addr.len);
    mpw_uint(w, p->addr.port);
}

/* Checks every bound the decoder enforces, so the encoder never emits what a peer refuses. */
static int check_msg(const struct gossip_msg *m, struct proto_err *err)
{
    const char *t = gossip_type_name(m->type);
    int rc = 0;
    switch (m->type) {
    case GOSSIP_PING:
        if ((rc = proto_chk_name(err, t, "target", m->u.ping.target)) ||
            (rc = proto_chk_name(err, t, "source", m->u.ping.source.name)) ||
            (rc = proto_chk_addr(err, t, "source_addr", &m->u.ping.source.addr)))
            return rc;
        return 0;
    case GOSSIP_PING_REQ:
        if ((rc = proto_chk_name(err, t, "target", m->u.ping_req.target.name)) ||
            (rc = proto_chk_addr(err, t, "target_addr", &m->u.ping_req.target.addr)) ||
            (rc = proto_chk_name(err, t, "source", m->u.ping_req.source.name)) ||
            (rc = proto_chk_addr(err, t, "source_addr", &m->u.ping_req.source.addr)))
            return rc;
        return 0;
    case GOSSIP_ACK:
    case GOSSIP_NACK:
        return 0;
    case GOSSIP_ALIVE:
        if ((rc = proto_chk_name(err, t, "name", m->u.alive.node.name)) ||
            (rc = proto_chk_addr(err, t, "addr", &m->u.alive.node.addr)) ||
            (rc = proto_chk_bytes(err, t, "meta", m->u.alive.meta, GOSSIP_META_MAX)))
            return rc;
        return 0;
    case GOSSIP_SUSPECT:
    case GOSSIP_DEAD: {
        const struct gossip_suspect *x = m->type == GOSSIP_SUSPECT ? &m->u.suspect : &m->u.dead;
        if ((rc = proto_chk_name(err, t, "name", x->name)) ||
            (rc = proto_chk_name(err, t, "from", x->from)))
            return rc;
        return 0;
    }
    case GOSSIP_LEAVE:
        return proto_chk_name(err, t, "name", m->u.leave.name);
    }
    return proto_err_set(err, PROTO_ERR_INVALID, "gossip: unknown message type %d", (int)m->type);
}

/* Packs a checked message. */
static void pack_msg(struct mpw *w, const struct gossip_msg *m)
{
    mpw_array(w, msg_fields[m->type]);
    mpw_uint(w, (uint64_t)m->type);
    switch (m->type) {
    case GOSSIP_PING:
        mpw_uint(w, m->u.ping.seq);
        mpw_str(w, m->u.ping.target.ptr, m->u.ping.target.len);
        pack_peer(w, &m->u.ping.source);
        break;
    case GOSSIP_PING_REQ:
        mpw_uint(w, m->u.ping_req.seq);
        pack_peer(w, &m->u.ping_req.target);
        pack_peer(w, &m->u.ping_req.source);
        mpw_bool(w, m->u.ping_req.nack);
        break;
    case GOSSIP_ACK:
        mpw_uint(w, m->u.ack.seq);
        break;
    case GOSSIP_NACK:
        mpw_uint(w, m->u.nack.seq);
        break;
    case GOSSIP_ALIVE:
        mpw_uint(w, m->u.alive.incarnation);
        pack_peer(w, &m->u.alive.node);
        mpw_bin(w, m->u.alive.meta.ptr, m->u.alive.meta.len);
        break;
    case GOSSIP_SUSPECT:
    case GOSSIP_DEAD: {
        const struct gossip_suspect *x = m->type == GOSSIP_SUSPECT ? &m->u.suspect : &m->u.dead;
        mpw_uint(w, x->incarnation);
        mpw_str(w, x->name.ptr, x->name.len);
        mpw_str(w, x->from.ptr, x->from.len);
        break;
    }
    case GOSSIP_LEAVE:
        mpw_uint(w, m->u.leave.incarnation);
        mpw_str(w, m->u.leave.name.ptr, m->u.leave.name.len);
        break;
    }
}

/* Sizes of the canonical encodings msgpack-c's packer produces. */
static size_t uint_size(uint64_t v)
{
    return v < 128 ? 1 : v <= UINT8_MAX ? 2 : v <= UINT16_MAX ? 3 : v <= UINT32_MAX ? 5 : 9;
}

static size_t str_size(size_t n)
{
    return n + (n < 32 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5);
}

static size_t bin_size(size_t n)
{
    return n + (n < 256 ? 2 : n < 65536 ? 3 : 5);
}

static size_t peer_size(const struct gossip_peer *p)
{
    return str_size(p->name.len) + bin_size(p->addr.len) + uint_size(p->addr.port);
}

size_t gossip_msg_size(const struct gossip_msg *m)
{
    size_t n = 2; /* fixarray header (at most 9 elements) and the type, a positive fixint */
    switch (m->type) {
    case GOSSIP_PING:
        return n + uint_size(m->u.ping.seq) + str_size(m->u.ping.target.len) +
               peer_size(&m->u.ping.source);
    case GOSSIP_PING_REQ:
        return n + uint_size(m->u.ping_req.seq) + peer_size(&m->u.ping_req.target) +
               peer_size(&m->u.ping_req.source) + 1;
    case GOSSIP_ACK:
        return n + uint_size(m->u.ack.seq);
    case GOSSIP_NACK:
        return n + uint_size(m->u.nack.seq);
    case GOSSIP_ALIVE:
        return n + uint_size(m->u.alive.incarnation) + peer_size(&m->u.alive.node) +
               bin_size(m->u.alive.meta.len);
    case GOSSIP_SUSPECT:
    case GOSSIP_DEAD: {
        const struct gossip_suspect *x = m->type == GOSSIP_SUSPECT ? &m->u.suspect : &m->u.dead;
        return n + uint_size(x->incarnation) + str_size(x->name.len) + str_size(x->from.len);
    }
    case GOSSIP_LEAVE:
        return n + uint_size(m->u.leave.incarnation) + str_size(m->u.leave.name.len);
    }
    return 0;
}

int gossip_msg_encode(const struct gossip_msg *m, void *buf, size_t cap, size_t *len,
                      struct proto_err *err)
{
    struct mpw w;
    int rc = check_msg(m, err);
    if (rc)
        return rc;
    mpw_init(&w, buf, cap);
    pack_msg(&w, m);
    if (!mpw_fits(&w))
        return proto_err_set(err, PROTO_ERR_NOSPACE, "%s: needs %zu bytes, buffer holds %zu",
                             gossip_type_name(m->type), w.len, cap);
    *len = w.len;
    return 0;
}

/* Bytes of the array header for n elements (never more than 65535 here). */
static size_t array_hdr_size(size_t n)
{
    return n <= 15 ? 1 : 3;
}

/* Re-prefixes err->msg with "updates[i]: " so the caller knows which update was bad. */
static int blame_update(struct proto_err *err, size_t i, int rc)
{
    if (err != NULL) {
        char prefix[32];
        int n = snprintf(prefix, sizeof(prefix), "updates[%zu]: ", i);
        size_t plen = n > 0 ? (size_t)n : 0, cap = sizeof(err->msg);
        if (plen < cap) {
            memmove(err->msg + plen, err->msg, cap - plen - 1);
            err->msg[cap - 1] = '\0';
            memcpy(err->msg, prefix, plen);
        }
    }
    return rc;
}

int gossip_datagram_encode(void *buf, size_t budget, const struct gossip_msg *probe,
                           const struct gossip_msg *updates, size_t n, uint8_t *included,
                           size_t *len, struct proto_err *err)
{
    uint8_t *out = buf;
    if (included != NULL && n > 0)
        memset(included, 0, n);
    if (budget < 2)
        return proto_err_set(err, PROTO_ERR_NOSPACE,
                             "datagram: budget of %zu bytes cannot hold the header", budget);

    /* The elements go after a one-byte fixarray header; if more than 15 elements end up in the
     * datagram, they move two bytes right for an array16 header. The fit test below counts the
     * header the final element count needs, so the result never exceeds budget. */
    struct mpw w;
    mpw_init(&w, out + 1, budget - 1);
    mpw_uint(&w, PROTO_WIRE_VERSION);
    size_t elems = 1;
    if (probe != NULL) {
        int rc = check_msg(probe, err);
        if (rc)
            return rc;
        pack_msg(&w, probe);
        elems++;
        if (w.len + array_hdr_size(elems) > budget)
            return proto_err_set(err, PROTO_ERR_NOSPACE,
                                 "datagram: the probe (%s, %zu bytes) does not fit a %zu-byte "
                                 "budget",
                                 gossip_type_name(probe->type), w.len - 1, budget);
    }

    int carried = 0;
    for (size_t i = 0; i < n && elems - 1 < GOSSIP_DATAGRAM_MAX_MSGS; i++) {
        if (w.len + array_hdr_size(elems + 1) + GOSSIP_MSG_MIN_SIZE > budget)
            break; /* nothing can fit any more */
        int rc = check_msg(&updates[i], err);
        if (rc)
            return blame_update(err, i, rc);
        if (w.len + gossip_msg_size(&updates[i]) + array_hdr_size(elems + 1) > budget)
            continue; /* too big for what is left: try the next, smaller ones */
        size_t mark = w.len;
        pack_msg(&w, &updates[i]);
        if (w.len + array_hdr_size(elems + 1) > budget) { /* gossip_msg_size is exact; belt */
            mpw_rewind(&w, mark);
            continue;
        }
        elems++;
        carried++;
        if (included != NULL)
            included[i] = 1;
    }

    uint8_t hdr[5];
    struct mpw h;
    mpw_init(&h, hdr, sizeof(hdr));
    mpw_array(&h, (uint32_t)elems);
    if (h.len != 1)
        memmove(out + h.len, out + 1, w.len);
    memcpy(out, hdr, h.len);
    *len = h.len + w.len;
    return carried;
}

/* ---- decoding ------------------------------------------------------------------------------ */

static int read_peer(struct mpr *r, const char *name_f, const char *addr_f, const char *port_f,
                     struct gossip_peer *p)
{
    int rc;
    if ((rc = mpr_name(r, name_f, &p->name)) || (rc = mpr_ip(r, addr_f, &p->addr)) ||
        (rc = mpr_port(r, port_f, &p->addr.port)))
        return rc;
    return 0;
}

/* Reads the fields of a message of known type t; the array header and type are consumed. */
static int read_fields(struct mpr *r, uint64_t t, struct gossip_msg *m)
{
    int rc = 0;
    memset(m, 0, sizeof(*m));
    m->type = (enum gossip_type)t;
    switch (m->type) {
    case GOSSIP_PING:
        if ((rc = mpr_u32(r, "seq", &m->u.ping.seq)) ||
            (rc = mpr_name(r, "target", &m->u.ping.target)) ||
            (rc = read_peer(r, "source", "source_addr", "source_port", &m->u.ping.source)))
            return rc;
        break;
    case GOSSIP_PING_REQ:
        if ((rc = mpr_u32(r, "seq", &m->u.ping_req.seq)) ||
            (rc = read_peer(r, "target", "target_addr", "target_port", &m->u.ping_req.target)) ||
            (rc = read_peer(r, "source", "source_addr", "source_port", &m->u.ping_req.source)) ||
            (rc = mpr_bool(r, "nack", &m->u.ping_req.nack)))
            return rc;
        break;
    case GOSSIP_ACK:
        return mpr_u32(r, "seq", &m->u.ack.seq);
    case GOSSIP_NACK:
        return mpr_u32(r, "seq", &m->u.nack.seq);
    case GOSSIP_ALIVE:
        if ((rc = mpr_u64(r, "incarnation", &m->u.alive.incarnation)) ||
            (rc = read_peer(r, "name", "addr", "port", &m->u.alive.node)) ||
            (rc = mpr_bin(r, "meta", 0, GOSSIP_META_MAX, &m->u.alive.meta)))
            return rc;
        break;
    case GOSSIP_SUSPECT:
    case GOSSIP_DEAD: {
        struct gossip_suspect *s = t == GOSSIP_SUSPECT ? &m->u.suspect : &m->u.dead;
        if ((rc = mpr_u64(r, "incarnation", &s->incarnation)) ||
            (rc = mpr_name(r, "name", &s->name)) || (rc = mpr_name(r, "from", &s->from)))
            return rc;
        break;
    }
    case GOSSIP_LEAVE:
        if ((rc = mpr_u64(r, "incarnation", &m->u.leave.incarnation)) ||
            (rc = mpr_name(r, "name", &m->u.leave.name)))
            return rc;
        break;
    }
    return 0;
}

/* Reads element pos of the datagram. *known = 0 for a message of unknown type (skipped). */
static int read_msg(struct mpr *r, long pos, struct gossip_msg *m, bool *known)
{
    uint32_t n;
    uint64_t t;
    int rc;
    r->where = "datagram";
    r->index = pos;
    if ((rc = mpr_array(r, NULL, 1, UINT32_MAX, &n)) || (rc = mpr_uint(r, "type", UINT64_MAX, &t)))
        return rc;
    *known = type_known(t);
    if (!*known)
        return mpr_leave(r, NULL, n - 1);
    r->where = gossip_type_name((int)t);
    r->index = -1;
    if (n < msg_fields[t])
        return mpr_fail(r, PROTO_ERR_RANGE, NULL, "message has %u fields, needs %u", n - 1,
                        msg_fields[t] - 1);
    if ((rc = read_fields(r, t, m)))
        return rc;
    return mpr_leave(r, NULL, n - msg_fields[t]); /* fields from a newer version */
}

int gossip_datagram_decode(const void *buf, size_t len, struct gossip_msg *msgs, size_t max,
                           size_t *count, size_t *unknown, struct proto_err *err)
{
    struct mpr r;
    uint32_t n;
    size_t got = 0, skipped = 0;
    int rc;

    mpr_init(&r, buf, len, err);
    r.where = "datagram";
    if ((rc = mpr_versioned(&r, 1, &n)))
        return rc;
    for (uint32_t i = 1; i < n; i++) {
        struct gossip_msg m;
        bool known;
        if ((rc = read_msg(&r, (long)i, &m, &known)))
            return rc;
        if (!known) {
            skipped++;
            continue;
        }
        if (got == max) {
            r.where = "datagram";
            r.index = -1;
            return mpr_fail(&r, PROTO_ERR_RANGE, NULL, "more than %zu messages", max);
        }
        msgs[got++] = m;
    }
    r.where = "datagram";
    r.index = -1;
    if ((rc = mpr_leave(&r, NULL, 0)) || (rc = mpr_finish(&r, NULL)))
        return rc;
    *count = got;
    if (unknown != NULL)
        *unknown = skipped;
    return 0;
}

/* ---- comparison ---------------------------------------------------------------------------- */

static bool str_eq(struct proto_str a, struct proto_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static bool bytes_eq(struct proto_bytes a, struct proto_bytes b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static bool peer_eq(const struct gossip_peer *a, const struct gossip_peer *b)
{
    return str_eq(a->name, b->name) && proto_addr_eq(&a->addr, &b->addr);
}

bool gossip_msg_equal(const struct gossip_msg *a, const struct gossip_msg *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case GOSSIP_PING:
        return a->u.ping.seq == b->u.ping.seq && str_eq(a->u.ping.target, b->u.ping.target) &&
               peer_eq(&a->u.ping.source, &b->u.ping.source);
    case GOSSIP_PING_REQ:
        return a->u.ping_req.seq == b->u.ping_req.seq &&
               peer_eq(&a->u.ping_req.target, &b->u.ping_req.target) &&
               peer_eq(&a->u.ping_req.source, &b->u.ping_req.source) &&
               a->u.ping_req.nack == b->u.ping_req.nack;
    case GOSSIP_ACK:
        return a->u.ack.seq == b->u.ack.seq;
    case GOSSIP_NACK:
        return a->u.nack.seq == b->u.nack.seq;
    case GOSSIP_ALIVE:
        return a->u.alive.incarnation == b->u.alive.incarnation &&
               peer_eq(&a->u.alive.node, &b->u.alive.node) &&
               bytes_eq(a->u.alive.meta, b->u.alive.meta);
    case GOSSIP_SUSPECT:
    case GOSSIP_DEAD: {
        const struct gossip_suspect *x = a->type == GOSSIP_SUSPECT ? &a->u.suspect : &a->u.dead;
        const struct gossip_suspect *y = a->type == GOSSIP_SUSPECT ? &b->u.suspect : &b->u.dead;
        return x->incarnation == y->incarnation && str_eq(x->name, y->name) &&
               str_eq(x->from, y->from);
    }
    case GOSSIP_LEAVE:
        return a->u.leave.incarnation == b->u.leave.incarnation &&
               str_eq(a->u.leave.name, b->u.leave.name);
    }
    return false;
}
