/* Fuzz target for agent/members_fmt: any bytes as the daemon's members answer. Must never
 * crash or leak; on rejection nothing is written. */
#include "agent/members_fmt.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (out == NULL)
        return 0;
    char err[256];
    int rc = members_fmt_table((const char *)data, size, out, err, sizeof(err));
    fclose(out);
    if (rc < 0 && len != 0)
        abort();
    free(buf);
    return 0;
}
