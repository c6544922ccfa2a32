/*
 * Fuzz target for proto/mpack_read itself: skip every top-level value of arbitrary input. Must
 * never crash, recurse unboundedly or take more steps than there are bytes.
 */
#include "proto/mpack_read.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mpr r;
    struct proto_err err;
    mpr_init(&r, data, size, &err);
    size_t values = 0;
    while (mpr_left(&r) > 0) {
        const uint8_t *before = r.p;
        if (mpr_skip(&r, "v") != 0) {
            if (err.code >= 0 || err.msg[0] == 0)
                abort();
            break;
        }
        if (r.p <= before || r.p > data + size || r.depth != 0)
            abort();
        if (++values > size)
            abort();
    }
    return 0;
}
