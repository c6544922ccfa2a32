/*
 * Fuzz target for the manager's STATE applier (engines_apply_state, manager/engines.h): up to 8
 * messages applied in turn to one engine record, as an agent's connection would deliver them.
 * The first byte gives each message its kind (bit i: message i is a delta, else a snapshot);
 * the rest is the messages, separated by NUL bytes (JSON text never holds a raw NUL). Must
 * never crash, leak or over-read; a refused message must leave the record as it was, and after
 * every message the record's indexes must agree with its containers.
 */
#include "manager/engines.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool has_name(const json_t *c, const char *key)
{
    const json_t *names = json_object_get(c, "Names");
    for (size_t i = 0; i < json_array_size(names); i++) {
        const char *n = json_string_value(json_array_get(names, i));
        if (n && strcmp(n[0] == '/' ? n + 1 : n, key) == 0)
            return true;
    }
    return false;
}

/* Every container indexed by its id; every name index entry a container holding that name. */
static void check_index(const struct engine *e)
{
    if (!json_is_array(e->containers) || !json_is_array(e->images) || !json_is_object(e->info) ||
        !json_is_object(e->version))
        abort();
    if (json_array_size(e->containers) != json_object_size(e->by_id))
        abort();
    size_t i;
    json_t *c;
    json_array_foreach(e->containers, i, c)
    {
        const char *id = json_string_value(json_object_get(c, "Id"));
        if (id == NULL || id[0] == '\0' || json_object_get(e->by_id, id) != c)
            abort();
        const json_t *names = json_object_get(c, "Names");
        for (size_t k = 0; k < json_array_size(names); k++) {
            const char *n = json_string_value(json_array_get(names, k));
            const char *key = n && n[0] == '/' ? n + 1 : n;
            if (key == NULL)
                abort();
            if (key[0] && !has_name(json_object_get(e->by_name, key), key))
                abort();
        }
    }
    const char *key;
    json_t *v;
    json_object_foreach(e->by_name, key, v)
    {
        const char *id = json_string_value(json_object_get(v, "Id"));
        if (id == NULL || json_object_get(e->by_id, id) != v || !has_name(v, key))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    struct engine e;
    if (engine_init(&e, "fuzz") < 0)
        return 0;
    uint8_t kinds = data[0];
    const char *p = (const char *)data + 1;
    size_t left = size - 1;
    for (int i = 0; i < 8; i++) {
        const char *nul = memchr(p, 0, left);
        size_t n = nul ? (size_t)(nul - p) : left;
        int kind = (kinds >> i) & 1 ? FRAME_STATE_DELTA : FRAME_STATE_SNAPSHOT;
        json_t *before = e.containers, *info = e.info;
        size_t nbefore = json_array_size(e.containers);
        bool ready = e.ready;
        json_t *ev = NULL;
        char err[256] = "";
        int rc = engines_apply_state(&e, kind, p, n, &ev, err, sizeof(err));
        if (rc != 0 &&
            (rc != -1 || ev || err[0] == '\0' || e.containers != before || e.info != info ||
             json_array_size(e.containers) != nbefore || e.ready != ready))
            abort();
        if (rc == 0 && ev && (kind != FRAME_STATE_DELTA || !json_is_object(ev)))
            abort();
        json_decref(ev);
        check_index(&e);
        if (nul == NULL)
            break;
        left -= n + 1;
        p = nul + 1;
    }
    engine_clear(&e);
    return 0;
}
