/*
 * Fuzz target for proto/beacon's decoder. On success the beacon must re-encode within
 * BEACON_MAX_SIZE and decode again to the same values.
 */
#include "proto/beacon.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct beacon b, again;
    struct proto_err err;
    if (beacon_decode(data, size, &b, &err) != 0) {
        if (err.code >= 0 || err.msg[0] == 0)
            abort();
        return 0;
    }
    uint8_t buf[BEACON_MAX_SIZE];
    size_t len;
    if (beacon_encode(&b, buf, sizeof(buf), &len, &err) != 0)
        abort();
    if (beacon_decode(buf, len, &again, &err) != 0 || again.name.len != b.name.len ||
        memcmp(again.name.ptr, b.name.ptr, b.name.len) != 0 ||
        !proto_addr_eq(&again.addr, &b.addr) || again.incarnation != b.incarnation)
        abort();
    return 0;
}
