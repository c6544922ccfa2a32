#include "proto/pushpull.h"

#include "proto/gossip.h"
#include "proto/mpack_read.h"
#include "proto/mpack_write.h"
#include "proto/proto_internal.h"

#include <stdio.h>
#include <string.h>

#define MEMBER_FIELDS 6

const char *gossip_state_name(int state)
{
    switch (state) {
    case GOSSIP_STATE_ALIVE:
        return "alive";
    case GOSSIP_STATE_SUSPECT:
        return "suspect";
    case GOSSIP_STATE_DEAD:
        return "dead";
    case GOSSIP_STATE_LEFT:
        return "left";
    default:
        return "unknown";
    }
}

int gossip_pushpull_encode(bool join, const struct gossip_member *members, size_t n, void *buf,
                           size_t cap, size_t *len, struct proto_err *err)
{
    return gossip_pushpull_encode_digest(join, members, n, NULL, 0, buf, cap, len, err);
}

int gossip_pushpull_encode_digest(bool join, const struct gossip_member *members, size_t n,
                                  const uint64_t *sums, size_t buckets, void *buf, size_t cap,
                                  size_t *len, struct proto_err *err)
{
    if (n > GOSSIP_PUSHPULL_MAX_MEMBERS)
        return proto_err_set(err, PROTO_ERR_INVALID, "pushpull.members: %zu members exceed %d", n,
                             GOSSIP_PUSHPULL_MAX_MEMBERS);
    if (buckets > GOSSIP_DIGEST_MAX_BUCKETS)
        return proto_err_set(err, PROTO_ERR_INVALID, "pushpull.digest: %zu buckets exceed %d",
                             buckets, GOSSIP_DIGEST_MAX_BUCKETS);
    struct mpw w;
    mpw_init(&w, buf, cap);
    mpw_array(&w, buckets ? 4 : 3);
    mpw_uint(&w, PROTO_WIRE_VERSION);
    mpw_bool(&w, join);
    mpw_array(&w, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        const struct gossip_member *m = &members[i];
        char where[48];
        int rc;
        snprintf(where, sizeof(where), "pushpull.members[%zu]", i);
        if ((rc = proto_chk_name(err, where, "name", m->name)) ||
            (rc = proto_chk_addr(err, where, "addr", &m->addr)) ||
            (rc = proto_chk_bytes(err, where, "meta", m->meta, GOSSIP_META_MAX)))
            return rc;
        if ((unsigned)m->state > GOSSIP_STATE_LEFT)
            return proto_err_set(err, PROTO_ERR_INVALID, "%s.state: unknown state %d", where,
                                 (int)m->state);
        mpw_array(&w, MEMBER_FIELDS);
        mpw_str(&w, m->name.ptr, m->name.len);
        mpw_bin(&w, m->addr.ip, m->addr.len);
        mpw_uint(&w, m->addr.port);
        mpw_uint(&w, m->incarnation);
        mpw_uint(&w, (uint64_t)m->state);
        mpw_bin(&w, m->meta.ptr, m->meta.len);
    }
    if (buckets) {
        mpw_bin_header(&w, 8 * buckets);
        for (size_t i = 0; i < buckets; i++) {
            uint8_t be[8];
            for (int k = 0; k < 8; k++)
                be[k] = (uint8_t)(sums[i] >> (56 - 8 * k));
            mpw_raw(&w, be, sizeof(be));
        }
    }
    if (!mpw_fits(&w))
        return proto_err_set(err, PROTO_ERR_NOSPACE, "pushpull: needs %zu bytes, buffer holds %zu",
                             w.len, cap);
    *len = w.len;
    return 0;
}

/* Reads one member; the reader's where/index name it. */
static int read_member(struct mpr *r, struct gossip_member *m)
{
    uint32_t n;
    uint8_t state;
    int rc;
    memset(m, 0, sizeof(*m));
    if ((rc = mpr_array(r, NULL, MEMBER_FIELDS, UINT32_MAX, &n)) ||
        (rc = mpr_name(r, "name", &m->name)) || (rc = mpr_ip(r, "addr", &m->addr)) ||
        (rc = mpr_port(r, "port", &m->addr.port)) ||
        (rc = mpr_u64(r, "incarnation", &m->incarnation)) || (rc = mpr_u8(r, "state", &state)))
        return rc;
    if (state > GOSSIP_STATE_LEFT)
        return mpr_fail(r, PROTO_ERR_RANGE, "state", "unknown state %u", state);
    m->state = (enum gossip_state)state;
    if ((rc = mpr_bin(r, "meta", 0, GOSSIP_META_MAX, &m->meta)))
        return rc;
    return mpr_leave(r, NULL, n - MEMBER_FIELDS);
}

int gossip_pushpull_decode(const void *buf, size_t len, size_t max_len, struct gossip_pushpull *pp,
                           struct proto_err *err)
{
    struct mpr r;
    uint32_t top, n;
    int rc;

    memset(pp, 0, sizeof(*pp));
    mpr_init(&r, buf, len, err);
    r.where = "pushpull";
    if (len > max_len)
        return mpr_fail(&r, PROTO_ERR_RANGE, NULL, "payload of %zu bytes exceeds %zu", len,
                        max_len);
    if ((rc = mpr_versioned(&r, 3, &top)))
        return rc;
    if ((rc = mpr_bool(&r, "join", &pp->join)) ||
        (rc = mpr_array(&r, "members", 0, GOSSIP_PUSHPULL_MAX_MEMBERS, &n)))
        return rc;
    const uint8_t *first = r.p;
    r.where = "pushpull.members";
    for (uint32_t i = 0; i < n; i++) {
        struct gossip_member m;
        r.index = (long)i;
        if ((rc = read_member(&r, &m)))
            return rc;
    }
    r.where = "pushpull";
    r.index = -1;
    if ((rc = mpr_leave(&r, "members", 0)))
        return rc;
    if (top > 3) {
        struct proto_bytes d;
        if ((rc = mpr_bin(&r, "digest", 8, 8 * GOSSIP_DIGEST_MAX_BUCKETS, &d)))
            return rc;
        if (d.len % 8 != 0)
            return mpr_fail(&r, PROTO_ERR_RANGE, "digest", "%zu bytes: not 8 per bucket", d.len);
        pp->digest = d.ptr;
        pp->buckets = d.len / 8;
    }
    if ((rc = mpr_leave(&r, NULL, top > 3 ? top - 4 : 0)) || (rc = mpr_finish(&r, NULL)))
        return rc;
    pp->count = n;
    pp->next = first;
    pp->end = (const uint8_t *)buf + len;
    pp->left = n;
    return 0;
}

int gossip_pushpull_next(struct gossip_pushpull *pp, struct gossip_member *m)
{
    if (pp->left == 0)
        return 0;
    struct mpr r;
    mpr_init(&r, pp->next, (size_t)(pp->end - pp->next), NULL);
    r.depth = 2; /* as during validation: inside the payload and the member list */
    if (read_member(&r, m) != 0) { /* cannot happen after gossip_pushpull_decode succeeded */
        pp->left = 0;
        return 0;
    }
    pp->next = r.p;
    pp->left--;
    return 1;
}

uint64_t gossip_pushpull_digest(const struct gossip_pushpull *pp, size_t i)
{
    uint64_t v = 0;
    for (int k = 0; k < 8; k++)
        v = v << 8 | pp->digest[8 * i + (size_t)k];
    return v;
}
