#include "proto/mpack_write.h"

#include <string.h>

/* msgpack-c's write callback. Never fails: an overflowing piece is counted, not written, so the
 * encoder learns the full size; pieces after it do not fit either (len only grows). */
static int mpw_write_cb(void *data, const char *p, size_t n)
{
    struct mpw *w = data;
    if (w->len <= w->cap && n <= w->cap - w->len)
        memcpy(w->buf + w->len, p, n);
    w->len += n;
    return 0;
}

void mpw_init(struct mpw *w, void *buf, size_t cap)
{
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    msgpack_packer_init(&w->pk, w, mpw_write_cb);
}

void mpw_uint(struct mpw *w, uint64_t v)
{
    msgpack_pack_uint64(&w->pk, v);
}

void mpw_bool(struct mpw *w, bool v)
{
    if (v)
        msgpack_pack_true(&w->pk);
    else
        msgpack_pack_false(&w->pk);
}

void mpw_nil(struct mpw *w)
{
    msgpack_pack_nil(&w->pk);
}

void mpw_array(struct mpw *w, uint32_t n)
{
    msgpack_pack_array(&w->pk, n);
}

void mpw_map(struct mpw *w, uint32_t n)
{
    msgpack_pack_map(&w->pk, n);
}

void mpw_str(struct mpw *w, const void *p, size_t len)
{
    msgpack_pack_str(&w->pk, len);
    if (len > 0)
        msgpack_pack_str_body(&w->pk, p, len);
}

void mpw_bin(struct mpw *w, const void *p, size_t len)
{
    msgpack_pack_bin(&w->pk, len);
    if (len > 0)
        msgpack_pack_bin_body(&w->pk, p, len);
}

void mpw_bin_header(struct mpw *w, size_t len)
{
    msgpack_pack_bin(&w->pk, len);
}

void mpw_raw(struct mpw *w, const void *p, size_t len)
{
    mpw_write_cb(w, p, len);
}
