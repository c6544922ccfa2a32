/*
 * Fuzz target for manager/create_retry's readers of untrusted text: an engine's answer to a
 * create (create_image_missing), an engine's pull progress stream (create_pull_result) and the
 * client's image reference (create_pull_target). The input is all three at once. Must never
 * crash or read out of bounds; a failed pull always says why in err (NUL-terminated, within
 * its buffer); a pull target, when one is made, fits its buffer, starts with the prefix and the
 * pull path, and carries no byte a request line cannot hold (all percent-encoded).
 */
#include "manager/create_retry.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    if (create_image_missing(200, text, size) || create_image_missing(500, text, size))
        abort(); /* only a 404 says an image is missing */
    (void)create_image_missing(404, text, size);

    char err[64];
    for (int status = 200; status <= 500; status += 300) {
        memset(err, 'x', sizeof(err));
        int rc = create_pull_result(status, text, size, err, sizeof(err));
        if (rc != 0 && (memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0'))
            abort();
        if (rc == 0 && status != 200)
            abort();
    }

    /* The image: the input up to its first NUL, at most 300 bytes; the buffer's size from the
     * first byte. */
    if (size == 0)
        return 0;
    size_t cap = (size_t)data[0] + 1;
    char image[301];
    size_t n = size - 1 < 300 ? size - 1 : 300;
    memcpy(image, data + 1, n);
    image[n] = '\0';
    static const char prefix[] = "/v1.41";
    static const char path[] = "/v1.41/images/create?fromImage=";
    char *out = malloc(cap);
    if (out == NULL)
        return 0;
    if (create_pull_target(prefix, sizeof(prefix) - 1, image, out, cap) == 0) {
        size_t len = strnlen(out, cap);
        if (len == cap || strncmp(out, path, sizeof(path) - 1) != 0 || strstr(out, "&tag=") == NULL)
            abort();
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)out[i] <= ' ' || (unsigned char)out[i] >= 0x7f)
                abort();
    }
    free(out);
    return 0;
}
