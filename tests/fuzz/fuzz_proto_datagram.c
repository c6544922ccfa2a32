/*
 * Fuzz target for proto/gossip's compound-datagram decoder. Must never crash, over-read, leak
 * or allocate for declared sizes. On success the messages must re-encode (the encoder accepts
 * everything the decoder accepts) and decode again to the same values.
 */
#include "proto/gossip.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct gossip_msg msgs[GOSSIP_DATAGRAM_MAX_MSGS], again[GOSSIP_DATAGRAM_MAX_MSGS];
    size_t count, unknown, count2;
    struct proto_err err;
    if (gossip_datagram_decode(data, size, msgs, GOSSIP_DATAGRAM_MAX_MSGS, &count, &unknown,
                               &err) != 0) {
        if (err.code >= 0 || memchr(err.msg, '\0', sizeof(err.msg)) == NULL || err.msg[0] == 0)
            abort(); /* every failure explains itself */
        return 0;
    }
    if (count > GOSSIP_DATAGRAM_MAX_MSGS || count + unknown > size)
        abort();
    size_t cap = size + 16, len;
    uint8_t *buf = malloc(cap);
    if (buf == NULL)
        return 0;
    int n = gossip_datagram_encode(buf, cap, NULL, msgs, count, NULL, &len, &err);
    if (n != (int)count || len > cap)
        abort();
    if (gossip_datagram_decode(buf, len, again, GOSSIP_DATAGRAM_MAX_MSGS, &count2, &unknown,
                               &err) != 0 ||
        count2 != count || unknown != 0)
        abort();
    for (size_t i = 0; i < count; i++) {
        size_t one;
        if (!gossip_msg_equal(&msgs[i], &again[i]))
            abort();
        if (gossip_msg_encode(&msgs[i], buf, cap, &one, &err) != 0 ||
            one != gossip_msg_size(&msgs[i]))
            abort(); /* the size the budget fill relies on is exact */
    }
    free(buf);
    return 0;
}
