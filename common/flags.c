#include "common/flags.h"

#include <stdlib.h>
#include <string.h>

static int find_long(const struct flagset *f, const char *name, size_t len)
{
    for (size_t i = 0; i < f->nspecs; i++) {
        if (strlen(f->specs[i].name) == len && strncmp(f->specs[i].name, name, len) == 0)
            return (int)i;
    }
    return -1;
}

static int find_short(const struct flagset *f, char c)
{
    for (size_t i = 0; i < f->nspecs; i++) {
        if (f->specs[i].short_name != 0 && f->specs[i].short_name == c)
            return (int)i;
    }
    return -1;
}

static int record(struct flagset *f, int idx, const char *value, char *err, size_t errlen)
{
    const struct flag_spec *s = &f->specs[idx];
    struct flag_value *v = &f->values[idx];
    if (s->kind == FLAG_BOOL) {
        if (value == NULL || strcmp(value, "true") == 0) {
            value = "true";
        } else if (strcmp(value, "false") != 0) {
            snprintf(err, errlen, "flag --%s takes no value (or =true / =false), got \"%s\"",
                     s->name, value);
            return -1;
        } else {
            value = "false";
        }
    } else if (s->kind == FLAG_LIST) {
        const char **grown = realloc(v->list, sizeof(*grown) * (size_t)(v->count + 1));
        if (grown == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        v->list = grown;
        v->list[v->count] = value;
    }
    v->count++;
    v->value = value;
    return 0;
}

static int add_positional(struct flagset *f, const char *arg, char *err, size_t errlen)
{
    const char **grown = realloc(f->positional, sizeof(*grown) * (size_t)(f->npositional + 1));
    if (grown == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    f->positional = grown;
    f->positional[f->npositional++] = arg;
    return 0;
}

int flags_parse(struct flagset *f, int argc, char **argv, char *err, size_t errlen)
{
    memset(f->values, 0, sizeof(*f->values) * f->nspecs);
    f->help = 0;
    f->positional = NULL;
    f->npositional = 0;
    int only_positional = 0;

    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (only_positional || arg[0] != '-' || arg[1] == '\0') {
            if (add_positional(f, arg, err, errlen) < 0)
                return -1;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_positional = 1;
            continue;
        }
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            f->help = 1;
            continue;
        }

        int idx;
        const char *eq = NULL;
        const char *shown = arg; /* the flag as the user wrote it, for messages */
        size_t shown_len;
        if (arg[1] == '-') {
            const char *name = arg + 2;
            eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            shown_len = len + 2;
            idx = len ? find_long(f, name, len) : -1;
        } else {
            /* "-X", "-X=value" or "-Xvalue" for a single-letter flag. */
            idx = find_short(f, arg[1]);
            shown_len = 2;
            if (arg[2] == '=')
                eq = arg + 2;
            else if (arg[2] != '\0')
                eq = arg + 1; /* value glued on: -Hunix://... */
        }
        if (idx < 0) {
            snprintf(err, errlen, "unknown flag %.*s", (int)shown_len, shown);
            return -1;
        }

        const struct flag_spec *s = &f->specs[idx];
        const char *value = eq ? eq + 1 : NULL;
        if (s->kind != FLAG_BOOL && value == NULL) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "flag %.*s needs a value (%s)", (int)shown_len, shown,
                         s->metavar ? s->metavar : "VALUE");
                return -1;
            }
            value = argv[++i];
        }
        if (s->kind != FLAG_BOOL && value[0] == '\0') {
            snprintf(err, errlen, "flag %.*s needs a non-empty value", (int)shown_len, shown);
            return -1;
        }
        if (record(f, idx, value, err, errlen) < 0)
            return -1;
    }
    return 0;
}

void flags_release(struct flagset *f)
{
    for (size_t i = 0; i < f->nspecs; i++) {
        free(f->values[i].list);
        f->values[i].list = NULL;
    }
    free(f->positional);
    f->positional = NULL;
    f->npositional = 0;
}

const struct flag_value *flags_get(const struct flagset *f, const char *name)
{
    int idx = find_long(f, name, strlen(name));
    return idx < 0 ? NULL : &f->values[idx];
}

int flags_bool(const struct flagset *f, const char *name)
{
    const struct flag_value *v = flags_get(f, name);
    return v != NULL && v->count > 0 && strcmp(v->value, "true") == 0;
}

void flags_print_help(FILE *out, const struct flag_spec *specs, size_t nspecs)
{
    for (size_t i = 0; i < nspecs; i++) {
        const struct flag_spec *s = &specs[i];
        char head[96];
        int n;
        if (s->short_name)
            n = snprintf(head, sizeof(head), "-%c, --%s", s->short_name, s->name);
        else
            n = snprintf(head, sizeof(head), "    --%s", s->name);
        if (s->metavar && n > 0 && (size_t)n < sizeof(head))
            snprintf(head + n, sizeof(head) - (size_t)n, " %s", s->metavar);
        fprintf(out, "  %-30s ", head);
        /* Continuation lines of the help text line up under its first line. */
        for (const char *p = s->help; *p; p++) {
            fputc(*p, out);
            if (*p == '\n')
                fprintf(out, "  %-30s ", "");
        }
        if (s->kind == FLAG_LIST)
            fprintf(out, " (repeatable)");
        fputc('\n', out);
    }
}
