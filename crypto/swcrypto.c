#include "crypto/swcrypto.h"

#include <sodium.h>

int swcrypto_init(void)
{
    /* 0 = initialised now, 1 = already initialised, -1 = failure (no entropy source). */
    return sodium_init() < 0 ? -1 : 0;
}

const char *swcrypto_sodium_version(void)
{
    return sodium_version_string();
}
