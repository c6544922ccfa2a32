/*
 * Fuzz target for common/flags: the input is split at NUL bytes into an argv (at most 64
 * arguments) and parsed against a table with every flag kind. Must never crash, leak or read
 * out of bounds; on success every recorded value must be one of the arguments.
 */
#include "common/flags.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const struct flag_spec specs[] = {
    {"state-dir", 0, FLAG_VALUE, "DIR", "state"},
    {"host", 'H', FLAG_LIST, "URL", "listen"},
    {"no-multicast", 0, FLAG_BOOL, NULL, "off"},
    {"filter", 'f', FLAG_LIST, "NAME", "filter"},
};
#define NSPECS (sizeof(specs) / sizeof(specs[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';

    char *argv[64];
    int argc = 0;
    for (size_t start = 0; start <= size && argc < 64;) {
        argv[argc++] = copy + start;
        start += strlen(copy + start) + 1;
    }

    struct flag_value values[NSPECS];
    struct flagset f = {.specs = specs, .nspecs = NSPECS, .values = values};
    char err[128];
    if (flags_parse(&f, argc, argv, err, sizeof(err)) == 0) {
        for (size_t i = 0; i < NSPECS; i++) {
            if (values[i].count > 0 && values[i].value == NULL)
                abort();
            if (specs[i].kind == FLAG_LIST && values[i].count > 0 &&
                values[i].list[values[i].count - 1] != values[i].value)
                abort();
        }
    } else if (memchr(err, '\0', sizeof(err)) == NULL) {
        abort(); /* the message must be terminated */
    }
    flags_release(&f);
    free(copy);
    return 0;
}
