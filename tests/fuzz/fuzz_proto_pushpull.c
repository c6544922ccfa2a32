/*
 * Fuzz target for proto/pushpull's decoder: validation then the member walk. On success every
 * member must come out of the walk, re-encode (with the digest, if any), and decode again to the
 * same values.
 */
#include "proto/pushpull.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int member_eq(const struct gossip_member *a, const struct gossip_member *b)
{
    return a->name.len == b->name.len && memcmp(a->name.ptr, b->name.ptr, a->name.len) == 0 &&
           proto_addr_eq(&a->addr, &b->addr) && a->incarnation == b->incarnation &&
           a->state == b->state && a->meta.len == b->meta.len &&
           (a->meta.len == 0 || memcmp(a->meta.ptr, b->meta.ptr, a->meta.len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gossip_pushpull pp, pp2;
    struct proto_err err;
    if (gossip_pushpull_decode(data, size, GOSSIP_PUSHPULL_MAX_SIZE, &pp, &err) != 0) {
        if (err.code >= 0 || err.msg[0] == 0)
            abort();
        return 0;
    }
    if (pp.count > GOSSIP_PUSHPULL_MAX_MEMBERS || pp.count > size)
        abort();
    struct gossip_member *ms = calloc(pp.count + 1, sizeof(*ms));
    if (ms == NULL)
        return 0;
    size_t n = 0;
    while (gossip_pushpull_next(&pp, &ms[n]) == 1)
        if (++n > pp.count)
            abort();
    if (n != pp.count)
        abort();
    if (pp.buckets > GOSSIP_DIGEST_MAX_BUCKETS || (pp.buckets > 0) != (pp.digest != NULL))
        abort();
    uint64_t sums[GOSSIP_DIGEST_MAX_BUCKETS];
    for (size_t i = 0; i < pp.buckets; i++)
        sums[i] = gossip_pushpull_digest(&pp, i);
    size_t cap = size + 16, len;
    uint8_t *buf = malloc(cap);
    if (buf == NULL ||
        gossip_pushpull_encode_digest(pp.join, ms, n, sums, pp.buckets, buf, cap, &len, &err) != 0)
        abort();
    if (gossip_pushpull_decode(buf, len, cap, &pp2, &err) != 0 || pp2.count != n ||
        pp2.join != pp.join || pp2.buckets != pp.buckets)
        abort();
    for (size_t i = 0; i < pp.buckets; i++)
        if (gossip_pushpull_digest(&pp2, i) != sums[i])
            abort();
    struct gossip_member m;
    for (size_t i = 0; gossip_pushpull_next(&pp2, &m) == 1; i++)
        if (!member_eq(&m, &ms[i]))
            abort();
    free(buf);
    free(ms);
    return 0;
}
