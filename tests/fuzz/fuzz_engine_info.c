/*
 * Fuzz target for agent/engine_info's parser: the input is an engine's /info body (and, split
 * at the first NUL byte if there is one, its /version body). Must never crash, leak or accept
 * a result that breaks the struct's invariants.
 */
#include "agent/engine_info.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char version[] = "{\"ApiVersion\":\"1.41\"}";
    const char *info = (const char *)data;
    size_t info_len = size;
    const char *ver = version;
    size_t ver_len = sizeof(version) - 1;
    const uint8_t *nul = memchr(data, 0, size);
    if (nul != NULL) {
        info_len = (size_t)(nul - data);
        ver = (const char *)nul + 1;
        ver_len = size - info_len - 1;
    }
    struct engine_info out;
    char err[256];
    if (engine_info_parse(info, info_len, ver, ver_len, &out, err, sizeof(err)) != 0)
        return 0;
    if (out.ncpu < 1 || out.mem_total < 0 || out.nlabels < 0 || out.nlabels > ENGINE_LABELS_MAX ||
        out.id[0] == '\0' || out.name[0] == '\0' || out.api_version[0] == '\0')
        abort();
    for (int i = 0; i < out.nlabels; i++) {
        if (strchr(out.labels[i], '=') == NULL)
            abort();
    }
    return 0;
}
