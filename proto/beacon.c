#include "proto/beacon.h"

#include "proto/mpack_read.h"
#include "proto/mpack_write.h"
#include "proto/proto_internal.h"

#include <string.h>

#define BEACON_FIELDS 5

int beacon_encode(const struct beacon *b, void *buf, size_t cap, size_t *len, struct proto_err *err)
{
    int rc;
    if ((rc = proto_chk_name(err, "beacon", "name", b->name)) ||
        (rc = proto_chk_addr(err, "beacon", "addr", &b->addr)))
        return rc;
    struct mpw w;
    mpw_init(&w, buf, cap);
    mpw_array(&w, BEACON_FIELDS);
    mpw_uint(&w, PROTO_WIRE_VERSION);
    mpw_str(&w, b->name.ptr, b->name.len);
    mpw_bin(&w, b->addr.ip, b->addr.len);
    mpw_uint(&w, b->addr.port);
    mpw_uint(&w, b->incarnation);
    if (!mpw_fits(&w))
        return proto_err_set(err, PROTO_ERR_NOSPACE, "beacon: needs %zu bytes, buffer holds %zu",
                             w.len, cap);
    *len = w.len;
    return 0;
}

int beacon_decode(const void *buf, size_t len, struct beacon *b, struct proto_err *err)
{
    struct mpr r;
    uint32_t n;
    int rc;

    memset(b, 0, sizeof(*b));
    mpr_init(&r, buf, len, err);
    r.where = "beacon";
    if ((rc = mpr_versioned(&r, 1, &n)))
        return rc;
    if (n < BEACON_FIELDS)
        return mpr_fail(&r, PROTO_ERR_RANGE, NULL, "has %u fields, needs %d", n, BEACON_FIELDS);
    if ((rc = mpr_name(&r, "name", &b->name)) || (rc = mpr_ip(&r, "addr", &b->addr)) ||
        (rc = mpr_port(&r, "port", &b->addr.port)) ||
        (rc = mpr_u64(&r, "incarnation", &b->incarnation)) ||
        (rc = mpr_leave(&r, NULL, n - BEACON_FIELDS)) || (rc = mpr_finish(&r, NULL)))
        return rc;
    return 0;
}
