/*
 * flags — command-line flag parsing for the swarm subcommands.
 *
 * A subcommand describes its flags in a static table of flag_spec; flags_parse() walks argv and
 * records each flag's values in a caller-provided array parallel to the table. Accepted forms:
 * "--name VALUE", "--name=VALUE", "-X VALUE", "-X=VALUE", and "--" to end flags; a boolean flag
 * takes no value ("--name") or an explicit "--name=true|false". "-h"/"--help" set flags.help.
 * Anything else starting with '-' is an error naming the flag.
 *
 * Ownership: values and positionals point into argv (the caller keeps argv alive); the list
 * arrays are allocated by flags_parse and freed by flags_release.
 */
#ifndef SWARM_COMMON_FLAGS_H
#define SWARM_COMMON_FLAGS_H

#include <stddef.h>
#include <stdio.h>

enum flag_kind {
    FLAG_BOOL,  /* no value; count says how often it was given */
    FLAG_VALUE, /* one value; given again, the last one wins */
    FLAG_LIST,  /* repeatable; every value is kept in order */
};

struct flag_spec {
    const char *name; /* long name without dashes, e.g. "state-dir" */
    char short_name;  /* single-letter alias, e.g. 'H', or 0 */
    enum flag_kind kind;
    const char *metavar; /* e.g. "DIR"; NULL for FLAG_BOOL */
    const char *help;    /* may hold '\n' for more lines */
};

struct flag_value {
    int count;         /* times given */
    const char *value; /* last value (FLAG_VALUE, FLAG_LIST), or "true"/"false" (FLAG_BOOL) */
    const char **list; /* FLAG_LIST: all values, count entries */
};

struct flagset {
    const struct flag_spec *specs;
    size_t nspecs;
    struct flag_value *values; /* caller's array of nspecs entries, zeroed by flags_parse */
    int help;                  /* -h or --help was given */
    const char **positional;   /* arguments that are not flags, in order */
    int npositional;
};

/*
 * Parses argv[0..argc) (argv[0] is the first argument, not the program name). Returns 0, or -1
 * with a one-line message in err ("unknown flag --x", "flag --bind needs a value").
 */
int flags_parse(struct flagset *f, int argc, char **argv, char *err, size_t errlen);

/* Frees what flags_parse allocated; safe to call after a failed parse. */
void flags_release(struct flagset *f);

/* The value record of the flag with this long name, or NULL if the table has no such flag. */
const struct flag_value *flags_get(const struct flagset *f, const char *name);

/* A boolean flag's state: given without a value or with "true" → 1. */
int flags_bool(const struct flagset *f, const char *name);

/* Writes the flag table as indented help text, one flag per entry. */
void flags_print_help(FILE *out, const struct flag_spec *specs, size_t nspecs);

#endif
