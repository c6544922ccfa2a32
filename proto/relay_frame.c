#include "proto/relay_frame.h"

#include "proto/mpack_read.h"
#include "proto/mpack_write.h"
#include "proto/proto_internal.h"

#include <string.h>

/* Elements of each frame, type and stream included; index = type. */
static const uint32_t frame_fields[] = {
    [FRAME_OPEN] = 4,   [FRAME_DATA] = 3,  [FRAME_CLOSE] = 5,
    [FRAME_WINDOW] = 3, [FRAME_STATE] = 6, [FRAME_PING] = 4,
};

static const char *const frame_names[] = {
    [FRAME_OPEN] = "open",     [FRAME_DATA] = "data",   [FRAME_CLOSE] = "close",
    [FRAME_WINDOW] = "window", [FRAME_STATE] = "state", [FRAME_PING] = "ping",
};

static bool type_known(uint64_t t)
{
    return t >= FRAME_OPEN && t <= FRAME_PING;
}

static bool on_stream0(uint64_t t)
{
    return t == FRAME_STATE || t == FRAME_PING;
}

const char *frame_type_name(int type)
{
    static const char *const upper[] = {
        [FRAME_OPEN] = "OPEN",     [FRAME_DATA] = "DATA",   [FRAME_CLOSE] = "CLOSE",
        [FRAME_WINDOW] = "WINDOW", [FRAME_STATE] = "STATE", [FRAME_PING] = "PING",
    };
    return type_known((uint64_t)type) ? upper[type] : "unknown";
}

static int chk_payload(struct proto_err *err, const char *t, struct proto_bytes p, size_t max,
                       bool header_only)
{
    if (header_only)
        p.ptr = (const uint8_t *)""; /* the body is not read */
    return proto_chk_bytes(err, t, "payload", p, max);
}

/* Checks f and packs it; with header_only, DATA/STATE stop after the payload's bin header. */
static int pack_frame(struct mpw *w, const struct frame *f, bool header_only, struct proto_err *err)
{
    if (!type_known((uint64_t)f->type))
        return proto_err_set(err, PROTO_ERR_INVALID, "frame: unknown type %d", (int)f->type);
    const char *t = frame_names[f->type];
    int rc;
    if (on_stream0(f->type) && f->stream != 0)
        return proto_err_set(err, PROTO_ERR_INVALID, "%s.stream: must be 0, is %u", t, f->stream);
    if (!on_stream0(f->type) && f->stream == 0)
        return proto_err_set(err, PROTO_ERR_INVALID, "%s.stream: 0 is the connection", t);
    if (header_only && f->type != FRAME_DATA && f->type != FRAME_STATE)
        return proto_err_set(err, PROTO_ERR_INVALID, "%s: only DATA and STATE have a payload", t);

    mpw_array(w, frame_fields[f->type]);
    mpw_uint(w, (uint64_t)f->type);
    mpw_uint(w, f->stream);
    switch (f->type) {
    case FRAME_OPEN: {
        struct proto_str target = f->u.open.target;
        if ((rc = proto_chk_name(err, t, "target", target)))
            return rc;
        if (target.len > FRAME_TARGET_MAX)
            return proto_err_set(err, PROTO_ERR_INVALID, "%s.target: string length %zu exceeds %d",
                                 t, target.len, FRAME_TARGET_MAX);
        mpw_str(w, target.ptr, target.len);
        mpw_uint(w, f->u.open.window);
        break;
    }
    case FRAME_DATA:
        if ((rc = chk_payload(err, t, f->u.data.payload, FRAME_DATA_MAX, header_only)))
            return rc;
        if (header_only)
            mpw_bin_header(w, f->u.data.payload.len);
        else
            mpw_bin(w, f->u.data.payload.ptr, f->u.data.payload.len);
        break;
    case FRAME_CLOSE:
        if (f->u.close.how != FRAME_CLOSE_WRITE && f->u.close.how != FRAME_CLOSE_RESET)
            return proto_err_set(err, PROTO_ERR_INVALID, "%s.how: unknown value %d", t,
                                 (int)f->u.close.how);
        if ((rc = proto_chk_text(err, t, "reason", f->u.close.reason, FRAME_REASON_MAX)))
            return rc;
        mpw_uint(w, (uint64_t)f->u.close.how);
        mpw_uint(w, f->u.close.code);
        mpw_str(w, f->u.close.reason.ptr, f->u.close.reason.len);
        break;
    case FRAME_WINDOW:
        if (f->u.window.credit == 0)
            return proto_err_set(err, PROTO_ERR_INVALID, "%s.credit: must be at least 1", t);
        mpw_uint(w, f->u.window.credit);
        break;
    case FRAME_STATE: {
        struct proto_bytes p = f->u.state.payload;
        if (f->u.state.kind != FRAME_STATE_SNAPSHOT && f->u.state.kind != FRAME_STATE_DELTA)
            return proto_err_set(err, PROTO_ERR_INVALID, "%s.kind: unknown value %d", t,
                                 (int)f->u.state.kind);
        if ((rc = chk_payload(err, t, p, FRAME_STATE_CHUNK_MAX, header_only)))
            return rc;
        mpw_uint(w, (uint64_t)f->u.state.kind);
        mpw_uint(w, f->u.state.seq);
        mpw_bool(w, f->u.state.more);
        if (header_only)
            mpw_bin_header(w, p.len);
        else
            mpw_bin(w, p.ptr, p.len);
        break;
    }
    case FRAME_PING:
        mpw_uint(w, f->u.ping.nonce);
        mpw_bool(w, f->u.ping.pong);
        break;
    }
    return 0;
}

static int encode(const struct frame *f, bool header_only, void *buf, size_t cap, size_t *len,
                  struct proto_err *err)
{
    struct mpw w;
    mpw_init(&w, buf, cap);
    int rc = pack_frame(&w, f, header_only, err);
    if (rc)
        return rc;
    if (!mpw_fits(&w))
        return proto_err_set(err, PROTO_ERR_NOSPACE, "%s: needs %zu bytes, buffer holds %zu",
                             frame_names[f->type], w.len, cap);
    *len = w.len;
    return 0;
}

int frame_encode(const struct frame *f, void *buf, size_t cap, size_t *len, struct proto_err *err)
{
    return encode(f, false, buf, cap, len, err);
}

int frame_encode_header(const struct frame *f, void *buf, size_t cap, size_t *len,
                        struct proto_err *err)
{
    return encode(f, true, buf, cap, len, err);
}

static int read_fields(struct mpr *r, struct frame *f)
{
    int rc;
    uint8_t v8;
    switch (f->type) {
    case FRAME_OPEN:
        if ((rc = mpr_name(r, "target", &f->u.open.target)))
            return rc;
        if (f->u.open.target.len > FRAME_TARGET_MAX)
            return mpr_fail(r, PROTO_ERR_RANGE, "target", "string length %zu exceeds %d",
                            f->u.open.target.len, FRAME_TARGET_MAX);
        return mpr_u32(r, "window", &f->u.open.window);
    case FRAME_DATA:
        return mpr_bin(r, "payload", 0, FRAME_DATA_MAX, &f->u.data.payload);
    case FRAME_CLOSE:
        if ((rc = mpr_u8(r, "how", &v8)))
            return rc;
        if (v8 != FRAME_CLOSE_WRITE && v8 != FRAME_CLOSE_RESET)
            return mpr_fail(r, PROTO_ERR_RANGE, "how", "unknown value %u", v8);
        f->u.close.how = (enum frame_close_how)v8;
        if ((rc = mpr_u32(r, "code", &f->u.close.code)))
            return rc;
        return mpr_text(r, "reason", FRAME_REASON_MAX, &f->u.close.reason);
    case FRAME_WINDOW:
        if ((rc = mpr_u32(r, "credit", &f->u.window.credit)))
            return rc;
        if (f->u.window.credit == 0)
            return mpr_fail(r, PROTO_ERR_RANGE, "credit", "must be at least 1");
        return 0;
    case FRAME_STATE:
        if ((rc = mpr_u8(r, "kind", &v8)))
            return rc;
        if (v8 != FRAME_STATE_SNAPSHOT && v8 != FRAME_STATE_DELTA)
            return mpr_fail(r, PROTO_ERR_RANGE, "kind", "unknown value %u", v8);
        f->u.state.kind = (enum frame_state_kind)v8;
        if ((rc = mpr_u64(r, "seq", &f->u.state.seq)) ||
            (rc = mpr_bool(r, "more", &f->u.state.more)))
            return rc;
        return mpr_bin(r, "payload", 0, FRAME_STATE_CHUNK_MAX, &f->u.state.payload);
    case FRAME_PING:
        if ((rc = mpr_u64(r, "nonce", &f->u.ping.nonce)))
            return rc;
        return mpr_bool(r, "pong", &f->u.ping.pong);
    }
    return 0;
}

int frame_decode(const void *buf, size_t len, struct frame *f, struct proto_err *err)
{
    struct mpr r;
    uint32_t n;
    uint64_t type;
    int rc;

    memset(f, 0, sizeof(*f));
    mpr_init(&r, buf, len, err);
    r.where = "frame";
    if (len > FRAME_MAX_SIZE)
        return mpr_fail(&r, PROTO_ERR_RANGE, NULL, "%zu bytes exceed %d", len, FRAME_MAX_SIZE);
    if ((rc = mpr_array(&r, NULL, 2, UINT32_MAX, &n)) ||
        (rc = mpr_uint(&r, "type", UINT8_MAX, &type)) || (rc = mpr_u32(&r, "stream", &f->stream)))
        return rc;
    f->type = (enum frame_type)type;
    if (!type_known(type)) {
        /* The frame is well-formed up to here; let the caller skip it. */
        if ((rc = mpr_leave(&r, NULL, n - 2)) || (rc = mpr_finish(&r, NULL)))
            return rc;
        return mpr_fail(&r, PROTO_ERR_UNKNOWN_TYPE, NULL, "unknown type %llu on stream %u",
                        (unsigned long long)type, f->stream);
    }
    r.where = frame_names[type];
    if (on_stream0(type) && f->stream != 0)
        return mpr_fail(&r, PROTO_ERR_RANGE, "stream", "must be 0, is %u", f->stream);
    if (!on_stream0(type) && f->stream == 0)
        return mpr_fail(&r, PROTO_ERR_RANGE, "stream", "0 is the connection");
    if (n < frame_fields[type])
        return mpr_fail(&r, PROTO_ERR_RANGE, NULL, "frame has %u fields, needs %u", n - 2,
                        frame_fields[type] - 2);
    if ((rc = read_fields(&r, f)) || (rc = mpr_leave(&r, NULL, n - frame_fields[type])) ||
        (rc = mpr_finish(&r, NULL)))
        return rc;
    return 0;
}

static bool bytes_eq(struct proto_bytes a, struct proto_bytes b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static bool str_eq(struct proto_str a, struct proto_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

bool frame_equal(const struct frame *a, const struct frame *b)
{
    if (a->type != b->type || a->stream != b->stream)
        return false;
    switch (a->type) {
    case FRAME_OPEN:
        return str_eq(a->u.open.target, b->u.open.target) && a->u.open.window == b->u.open.window;
    case FRAME_DATA:
        return bytes_eq(a->u.data.payload, b->u.data.payload);
    case FRAME_CLOSE:
        return a->u.close.how == b->u.close.how && a->u.close.code == b->u.close.code &&
               str_eq(a->u.close.reason, b->u.close.reason);
    case FRAME_WINDOW:
        return a->u.window.credit == b->u.window.credit;
    case FRAME_STATE:
        return a->u.state.kind == b->u.state.kind && a->u.state.seq == b->u.state.seq &&
               a->u.state.more == b->u.state.more &&
               bytes_eq(a->u.state.payload, b->u.state.payload);
    case FRAME_PING:
        return a->u.ping.nonce == b->u.ping.nonce && a->u.ping.pong == b->u.ping.pong;
    }
    return false;
}
