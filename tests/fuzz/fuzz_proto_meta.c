/*
 * Fuzz target for proto/meta's decoder. On success the metadata must re-encode within
 * META_MAX_SIZE and decode again to the same values.
 */
#include "proto/meta.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct meta m, again;
    struct proto_err err;
    if (meta_decode(data, size, &m, &err) != 0) {
        if (err.code >= 0 || err.msg[0] == 0)
            abort();
        return 0;
    }
    uint8_t buf[META_MAX_SIZE];
    size_t len;
    if (meta_encode(&m, buf, sizeof(buf), &len, &err) != 0 || len > size)
        abort(); /* canonical form is never longer than what was decoded */
    if (meta_decode(buf, len, &again, &err) != 0 || !meta_equal(&m, &again))
        abort();
    return 0;
}
