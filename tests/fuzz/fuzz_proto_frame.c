/*
 * Fuzz target for proto/relay_frame's decoder. On success the frame must re-encode and decode
 * again to the same values; the header-only encoding of DATA/STATE must be a prefix of it.
 */
#include "proto/relay_frame.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct frame f, again;
    struct proto_err err;
    int rc = frame_decode(data, size, &f, &err);
    if (rc == PROTO_ERR_UNKNOWN_TYPE)
        return 0;
    if (rc != 0) {
        if (err.code >= 0 || err.msg[0] == 0)
            abort();
        return 0;
    }
    size_t cap = size + 16, len, hlen;
    uint8_t *buf = malloc(cap);
    if (buf == NULL)
        return 0;
    if (frame_encode(&f, buf, cap, &len, &err) != 0)
        abort();
    if (frame_decode(buf, len, &again, &err) != 0 || !frame_equal(&f, &again))
        abort();
    if (f.type == FRAME_DATA || f.type == FRAME_STATE) {
        uint8_t hdr[FRAME_HEADER_MAX];
        if (frame_encode_header(&f, hdr, sizeof(hdr), &hlen, &err) != 0 || hlen > len ||
            memcmp(hdr, buf, hlen) != 0)
            abort();
    }
    free(buf);
    return 0;
}
