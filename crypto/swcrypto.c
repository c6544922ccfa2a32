#include "crypto/swcrypto.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>

int swcrypto_init(void)
{
    /* 0 = initialised now, 1 = already initialised, -1 = failure (no entropy source). */
    return sodium_init() < 0 ? -1 : 0;
}

const char *swcrypto_sodium_version(void)
{
    return sodium_version_string();
}

void swcrypto_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}
