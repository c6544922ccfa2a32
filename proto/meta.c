#include "proto/meta.h"

#include "proto/mpack_read.h"
#include "proto/mpack_write.h"
#include "proto/proto_internal.h"

#include <stdio.h>
#include <string.h>

enum meta_key {
    K_ROLE = 1,
    K_ENGINE_ID = 2,
    K_ENGINE_NAME = 3,
    K_CPUS = 4,
    K_MEMORY = 5,
    K_OS = 6,
    K_ARCH = 7,
    K_KERNEL = 8,
    K_API = 9,
    K_LABELS = 10,
    K_RELAY_PORT = 11,
    K_PUBKEY = 12,
    K_RELAY_HS = 13,
};

/* The string fields: key, name, bound, and where they live in struct meta. */
static const struct {
    enum meta_key key;
    const char *name;
    size_t max;
    size_t offset;
} str_fields[] = {
    {K_ENGINE_ID, "engine_id", META_STR_MAX, offsetof(struct meta, engine_id)},
    {K_ENGINE_NAME, "engine_name", META_STR_MAX, offsetof(struct meta, engine_name)},
    {K_OS, "os", META_STR_MAX, offsetof(struct meta, os)},
    {K_ARCH, "arch", META_ARCH_MAX, offsetof(struct meta, arch)},
    {K_KERNEL, "kernel", META_STR_MAX, offsetof(struct meta, kernel)},
    {K_API, "api_version", META_API_MAX, offsetof(struct meta, api_version)},
};
#define NSTR (sizeof(str_fields) / sizeof(str_fields[0]))

static struct proto_str *str_field(struct meta *m, size_t i)
{
    return (struct proto_str *)((char *)m + str_fields[i].offset);
}

static const struct proto_str *str_field_c(const struct meta *m, size_t i)
{
    return (const struct proto_str *)((const char *)m + str_fields[i].offset);
}

const char *meta_role_name(int role)
{
    switch (role) {
    case META_ROLE_AGENT:
        return "agent";
    case META_ROLE_MANAGER:
        return "manager";
    default:
        return "unknown";
    }
}

static bool view_eq(struct proto_str a, struct proto_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* Checks a label; where = "meta.labels[i]". Returns NULL or the field at fault + reason. */
static int check_label(struct proto_err *err, const char *where, const struct meta_label *l)
{
    int rc;
    if ((rc = proto_chk_text(err, where, "key", l->key, META_LABEL_KEY_MAX)) ||
        (rc = proto_chk_text(err, where, "value", l->value, META_LABEL_VALUE_MAX)))
        return rc;
    if (l->key.len == 0)
        return proto_err_set(err, PROTO_ERR_INVALID, "%s.key: empty", where);
    if (memchr(l->key.ptr, '=', l->key.len) != NULL)
        return proto_err_set(err, PROTO_ERR_INVALID, "%s.key: contains '='", where);
    return 0;
}

int meta_encode(const struct meta *m, void *buf, size_t cap, size_t *len, struct proto_err *err)
{
    int rc;
    if ((unsigned)m->role > META_ROLE_MANAGER)
        return proto_err_set(err, PROTO_ERR_INVALID, "meta.role: unknown role %d", (int)m->role);
    for (size_t i = 0; i < NSTR; i++)
        if ((rc = proto_chk_text(err, "meta", str_fields[i].name, *str_field_c(m, i),
                                 str_fields[i].max)))
            return rc;
    if (m->nlabels > META_MAX_LABELS)
        return proto_err_set(err, PROTO_ERR_TOO_BIG,
                             "metadata: labels do not fit: %zu labels, at most %d", m->nlabels,
                             META_MAX_LABELS);
    for (size_t i = 0; i < m->nlabels; i++) {
        char where[48];
        snprintf(where, sizeof(where), "meta.labels[%zu]", i);
        if ((rc = check_label(err, where, &m->labels[i])))
            return rc;
        for (size_t j = 0; j < i; j++)
            if (view_eq(m->labels[j].key, m->labels[i].key))
                return proto_err_set(err, PROTO_ERR_INVALID, "%s.key: duplicate of labels[%zu]",
                                     where, j);
    }

    uint32_t nfields = 1;
    for (size_t i = 0; i < NSTR; i++)
        nfields += str_field_c(m, i)->len > 0;
    nfields += (m->cpus > 0) + (m->memory > 0) + (m->nlabels > 0) + (m->relay_port > 0) +
               m->has_pubkey + (m->relay_hs > 0);

    /* Keys in ascending order; the string fields are interleaved with the numbers. */
    struct mpw w;
    mpw_init(&w, buf, cap);
    mpw_map(&w, nfields);
    mpw_uint(&w, K_ROLE);
    mpw_uint(&w, (uint64_t)m->role);
    for (unsigned key = K_ENGINE_ID; key <= K_API; key++) {
        if (key == K_CPUS && m->cpus > 0) {
            mpw_uint(&w, K_CPUS);
            mpw_uint(&w, m->cpus);
        } else if (key == K_MEMORY && m->memory > 0) {
            mpw_uint(&w, K_MEMORY);
            mpw_uint(&w, m->memory);
        }
        for (size_t i = 0; i < NSTR; i++) {
            const struct proto_str *s = str_field_c(m, i);
            if (str_fields[i].key == key && s->len > 0) {
                mpw_uint(&w, key);
                mpw_str(&w, s->ptr, s->len);
            }
        }
    }
    size_t before_labels = w.len;
    if (m->nlabels > 0) {
        mpw_uint(&w, K_LABELS);
        mpw_map(&w, (uint32_t)m->nlabels);
        for (size_t i = 0; i < m->nlabels; i++) {
            mpw_str(&w, m->labels[i].key.ptr, m->labels[i].key.len);
            mpw_str(&w, m->labels[i].value.ptr, m->labels[i].value.len);
        }
    }
    size_t label_bytes = w.len - before_labels;
    if (m->relay_port > 0) {
        mpw_uint(&w, K_RELAY_PORT);
        mpw_uint(&w, m->relay_port);
    }
    if (m->has_pubkey) {
        mpw_uint(&w, K_PUBKEY);
        mpw_bin(&w, m->pubkey, META_PUBKEY_LEN);
    }
    if (m->relay_hs > 0) {
        mpw_uint(&w, K_RELAY_HS);
        mpw_uint(&w, m->relay_hs);
    }

    if (w.len > META_MAX_SIZE)
        return proto_err_set(err, PROTO_ERR_TOO_BIG,
                             "metadata: labels do not fit: %zu bytes encoded, %zu over the "
                             "%d-byte limit (labels take %zu bytes)",
                             w.len, w.len - META_MAX_SIZE, META_MAX_SIZE, label_bytes);
    if (!mpw_fits(&w))
        return proto_err_set(err, PROTO_ERR_NOSPACE, "metadata: needs %zu bytes, buffer holds %zu",
                             w.len, cap);
    *len = w.len;
    return 0;
}

static int read_labels(struct mpr *r, struct meta *m)
{
    uint32_t n;
    int rc;
    if ((rc = mpr_map(r, "labels", META_MAX_LABELS, &n)))
        return rc;
    r->where = "meta.labels";
    for (uint32_t i = 0; i < n; i++) {
        struct meta_label *l = &m->labels[i];
        r->index = (long)i;
        if ((rc = mpr_text(r, "key", META_LABEL_KEY_MAX, &l->key)) ||
            (rc = mpr_text(r, "value", META_LABEL_VALUE_MAX, &l->value)))
            return rc;
        if (l->key.len == 0)
            return mpr_fail(r, PROTO_ERR_MALFORMED, "key", "empty");
        if (memchr(l->key.ptr, '=', l->key.len) != NULL)
            return mpr_fail(r, PROTO_ERR_MALFORMED, "key", "contains '='");
        for (uint32_t j = 0; j < i; j++)
            if (view_eq(m->labels[j].key, l->key))
                return mpr_fail(r, PROTO_ERR_MALFORMED, "key", "duplicate of labels[%u]", j);
    }
    m->nlabels = n;
    r->where = "meta";
    r->index = -1;
    return mpr_leave(r, "labels", 0);
}

int meta_decode(const void *buf, size_t len, struct meta *m, struct proto_err *err)
{
    struct mpr r;
    uint32_t n;
    uint64_t seen = 0;
    int rc;

    memset(m, 0, sizeof(*m));
    mpr_init(&r, buf, len, err);
    r.where = "meta";
    if (len > META_MAX_SIZE)
        return mpr_fail(&r, PROTO_ERR_RANGE, NULL, "%zu bytes exceed %d", len, META_MAX_SIZE);
    if ((rc = mpr_map(&r, NULL, UINT32_MAX, &n)))
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t key;
        if ((rc = mpr_uint(&r, "key", UINT64_MAX, &key)))
            return rc;
        if (key >= K_ROLE && key <= K_RELAY_HS) {
            if (seen & ((uint64_t)1 << key))
                return mpr_fail(&r, PROTO_ERR_MALFORMED, NULL, "key %llu appears twice",
                                (unsigned long long)key);
            seen |= (uint64_t)1 << key;
        }
        switch (key) {
        case K_ROLE: {
            uint8_t role;
            if ((rc = mpr_u8(&r, "role", &role)))
                return rc;
            if (role > META_ROLE_MANAGER)
                return mpr_fail(&r, PROTO_ERR_RANGE, "role", "unknown role %u", role);
            m->role = (enum meta_role)role;
            break;
        }
        case K_CPUS:
            rc = mpr_u32(&r, "cpus", &m->cpus);
            break;
        case K_MEMORY:
            rc = mpr_u64(&r, "memory", &m->memory);
            break;
        case K_LABELS:
            rc = read_labels(&r, m);
            break;
        case K_RELAY_PORT:
            rc = mpr_port(&r, "relay_port", &m->relay_port);
            break;
        case K_PUBKEY: {
            struct proto_bytes pk;
            if ((rc = mpr_bin(&r, "pubkey", META_PUBKEY_LEN, META_PUBKEY_LEN, &pk)))
                return rc;
            memcpy(m->pubkey, pk.ptr, META_PUBKEY_LEN);
            m->has_pubkey = true;
            break;
        }
        case K_RELAY_HS:
            rc = mpr_u8(&r, "relay_hs", &m->relay_hs);
            break;
        default: {
            size_t i2;
            for (i2 = 0; i2 < NSTR && str_fields[i2].key != key; i2++)
                ;
            if (i2 < NSTR)
                rc = mpr_text(&r, str_fields[i2].name, str_fields[i2].max, str_field(m, i2));
            else
                rc = mpr_skip(&r, "value"); /* a newer version's field */
        }
        }
        if (rc)
            return rc;
    }
    if (!(seen & ((uint64_t)1 << K_ROLE)))
        return mpr_fail(&r, PROTO_ERR_MALFORMED, "role", "missing");
    if ((rc = mpr_leave(&r, NULL, 0)) || (rc = mpr_finish(&r, NULL)))
        return rc;
    return 0;
}

int meta_label_get(const struct meta *m, const char *key, struct proto_str *value)
{
    for (size_t i = 0; i < m->nlabels; i++) {
        if (proto_str_eq(m->labels[i].key, key)) {
            *value = m->labels[i].value;
            return 1;
        }
    }
    return 0;
}

bool meta_equal(const struct meta *a, const struct meta *b)
{
    if (a->role != b->role || a->cpus != b->cpus || a->memory != b->memory ||
        a->relay_port != b->relay_port || a->has_pubkey != b->has_pubkey ||
        a->relay_hs != b->relay_hs || a->nlabels != b->nlabels)
        return false;
    if (a->has_pubkey && memcmp(a->pubkey, b->pubkey, META_PUBKEY_LEN) != 0)
        return false;
    for (size_t i = 0; i < NSTR; i++)
        if (!view_eq(*str_field_c(a, i), *str_field_c(b, i)))
            return false;
    for (size_t i = 0; i < a->nlabels; i++)
        if (!view_eq(a->labels[i].key, b->labels[i].key) ||
            !view_eq(a->labels[i].value, b->labels[i].value))
            return false;
    return true;
}
