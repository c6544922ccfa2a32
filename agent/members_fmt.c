#include "agent/members_fmt.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define COLS 6
static const char *const headers[COLS] = {"NAME",  "ADDRESS",     "ROLE",
                                          "STATE", "INCARNATION", "LABELS"};

/* One row's cells as strings; labels joined "k=v,k=v". */
struct row {
    char *cell[COLS];
};

/* Cells padded to the column width, two spaces apart; the last column is not padded. */
static void print_row(FILE *out, const char *const *cell, const size_t *width)
{
    for (size_t c = 0; c + 1 < COLS; c++)
        fprintf(out, "%-*s  ", (int)width[c], cell[c]);
    fprintf(out, "%s\n", cell[COLS - 1]);
}

static char *labels_text(json_t *labels)
{
    size_t cap = 1, len = 0;
    const char *k;
    json_t *v;
    json_object_foreach(labels, k, v)
    {
        cap += strlen(k) + 1 + json_string_length(v) + 1;
    }
    char *s = malloc(cap);
    if (s == NULL)
        return NULL;
    s[0] = '\0';
    json_object_foreach(labels, k, v)
    {
        len += (size_t)snprintf(s + len, cap - len, "%s%s=%s", len ? "," : "", k,
                                json_string_value(v));
    }
    return s;
}

static int check_member(json_t *m, size_t i, char *err, size_t errlen)
{
    static const char *const strings[] = {"name", "addr", "role", "state"};
    if (!json_is_object(m)) {
        snprintf(err, errlen, "members[%zu]: expected an object", i);
        return -1;
    }
    for (size_t f = 0; f < 4; f++) {
        if (!json_is_string(json_object_get(m, strings[f]))) {
            snprintf(err, errlen, "members[%zu].%s: expected a string", i, strings[f]);
            return -1;
        }
    }
    json_t *inc = json_object_get(m, "incarnation");
    if (!json_is_integer(inc) || json_integer_value(inc) < 0) {
        snprintf(err, errlen, "members[%zu].incarnation: expected a non-negative integer", i);
        return -1;
    }
    json_t *labels = json_object_get(m, "labels");
    if (!json_is_object(labels)) {
        snprintf(err, errlen, "members[%zu].labels: expected an object", i);
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach(labels, k, v)
    {
        if (!json_is_string(v)) {
            snprintf(err, errlen, "members[%zu].labels.%s: expected a string", i, k);
            return -1;
        }
    }
    return 0;
}

int members_fmt_table(const char *json, size_t len, FILE *out, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *arr = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (arr == NULL) {
        snprintf(err, errlen, "invalid JSON from the daemon: %s", jerr.text);
        return -1;
    }
    if (!json_is_array(arr)) {
        json_t *e = json_object_get(arr, "error");
        snprintf(err, errlen, "the daemon answered: %s",
                 json_is_string(e) ? json_string_value(e) : "not a members array");
        json_decref(arr);
        return -1;
    }
    size_t n = json_array_size(arr), i;
    json_t *m;
    json_array_foreach(arr, i, m)
    {
        if (check_member(m, i, err, errlen) < 0) {
            json_decref(arr);
            return -1;
        }
    }

    struct row *rows = calloc(n ? n : 1, sizeof(*rows));
    size_t width[COLS];
    for (size_t c = 0; c < COLS; c++)
        width[c] = strlen(headers[c]);
    int rc = 0;
    json_array_foreach(arr, i, m)
    {
        if (rows == NULL)
            break;
        char inc[24];
        snprintf(inc, sizeof(inc), "%lld",
                 (long long)json_integer_value(json_object_get(m, "incarnation")));
        rows[i].cell[0] = strdup(json_string_value(json_object_get(m, "name")));
        rows[i].cell[1] = strdup(json_string_value(json_object_get(m, "addr")));
        rows[i].cell[2] = strdup(json_string_value(json_object_get(m, "role")));
        rows[i].cell[3] = strdup(json_string_value(json_object_get(m, "state")));
        rows[i].cell[4] = strdup(inc);
        rows[i].cell[5] = labels_text(json_object_get(m, "labels"));
        for (size_t c = 0; c < COLS; c++) {
            if (rows[i].cell[c] == NULL) {
                rc = -1;
                continue;
            }
            size_t w = strlen(rows[i].cell[c]);
            if (w > width[c])
                width[c] = w;
        }
    }
    if (rows == NULL || rc < 0) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    } else {
        print_row(out, headers, width);
        for (i = 0; i < n; i++)
            print_row(out, (const char *const *)rows[i].cell, width);
    }
    for (i = 0; rows && i < n; i++) {
        for (size_t c = 0; c < COLS; c++)
            free(rows[i].cell[c]);
    }
    free(rows);
    json_decref(arr);
    return rc;
}
