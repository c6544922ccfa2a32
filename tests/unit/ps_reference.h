/*
 * ps_reference — GET /containers/json as the manager built it until commit 8aba5e5, kept as the
 * reference the listing (manager/container_list.h, api_routes_containers_body) must equal byte
 * for byte, and as the "before" of bench/bench_ps.c: every listed entry deep-copied and
 * rewritten, the copies sorted by Created with qsort (newest first), the array dumped. Only the
 * filter predicate is shared (api_routes_container_listed: the old loop's condition, moved).
 * Header-only (static functions) for one test and one benchmark.
 */
#ifndef SWARM_TESTS_PS_REFERENCE_H
#define SWARM_TESTS_PS_REFERENCE_H

#include "manager/api_http.h"
#include "manager/api_routes.h"
#include "manager/engines.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *psref_entry(const struct engine *e, json_t *c)
{
    json_t *out = json_deep_copy(c);
    if (out == NULL)
        return NULL;
    json_t *names = json_object_get(out, "Names");
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n)
    {
        const char *name = json_string_value(n);
        if (name == NULL)
            continue;
        char buf[512];
        snprintf(buf, sizeof(buf), "/%s%s%s", e->name, name[0] == '/' ? "" : "/", name);
        json_array_set_new(names, i, json_string(buf));
    }
    json_t *ports = json_object_get(out, "Ports");
    json_t *p;
    json_array_foreach(ports, i, p)
    {
        const char *ip = json_string_value(json_object_get(p, "IP"));
        if (ip && (strcmp(ip, "0.0.0.0") == 0 || strcmp(ip, "::") == 0) && e->ip[0])
            json_object_set_new(p, "IP", json_string(e->ip));
    }
    if (!e->healthy)
        json_object_set_new(out, "Status", json_string("Host Down"));
    return out;
}

static int64_t psref_created_of(json_t *c)
{
    return (int64_t)json_integer_value(json_object_get(c, "Created"));
}

static int psref_by_created_desc(const void *a, const void *b)
{
    int64_t x = psref_created_of(*(json_t *const *)a), y = psref_created_of(*(json_t *const *)b);
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The old containers_json over list[0..n) for query: the body (JSON and "\n", malloc'd) with
 * *status 200, or NULL with *status 400 or 500. */
static char *psref_body(struct engine *const *list, size_t nengines, const char *query, int *status,
                        size_t *len)
{
    char v[4096];
    *status = 500;
    *len = 0;
    bool all = api_query_get(query, "all", v, sizeof(v)) == 1 &&
               (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "True") == 0);
    long limit = -1;
    if (api_query_get(query, "limit", v, sizeof(v)) == 1 && v[0])
        limit = strtol(v, NULL, 10);
    json_t *filters = NULL;
    int fr = api_query_get(query, "filters", v, sizeof(v));
    if (fr < 0) {
        *status = 400;
        return NULL;
    }
    if (fr == 1 && v[0]) {
        json_error_t jerr;
        filters = json_loads(v, 0, &jerr);
        if (!json_is_object(filters)) {
            json_decref(filters);
            *status = 400;
            return NULL;
        }
    }
    if (limit > 0)
        all = true;
    json_t *st = filters ? json_object_get(filters, "status") : NULL;
    if (st)
        all = true;
    size_t total = 0;
    for (size_t i = 0; i < nengines; i++)
        total += json_array_size(list[i]->containers);
    json_t **items = calloc(total ? total : 1, sizeof(*items));
    size_t n = 0;
    if (items == NULL) {
        json_decref(filters);
        return NULL;
    }
    for (size_t i = 0; i < nengines; i++) {
        struct engine *e = list[i];
        size_t k;
        json_t *c;
        json_array_foreach(e->containers, k, c)
        {
            if (!api_routes_container_listed(e, c, all, filters))
                continue;
            json_t *entry = psref_entry(e, c);
            if (entry)
                items[n++] = entry;
        }
    }
    json_decref(filters);
    qsort(items, n, sizeof(*items), psref_by_created_desc);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++) {
        if (out && (limit <= 0 || (long)i < limit))
            json_array_append(out, items[i]);
        json_decref(items[i]);
    }
    free(items);
    char *text = out ? json_dumps(out, JSON_COMPACT) : NULL;
    json_decref(out);
    if (text == NULL)
        return NULL;
    size_t tn = strlen(text);
    char *body = realloc(text, tn + 2);
    if (body == NULL) {
        free(text);
        return NULL;
    }
    body[tn] = '\n';
    body[tn + 1] = '\0';
    *len = tn + 1;
    *status = 200;
    return body;
}

#endif
