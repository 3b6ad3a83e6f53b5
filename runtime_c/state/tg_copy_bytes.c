/* tinygen runtime: a byte copy (see tg_copy_bytes.h). */
#include "tg_copy_bytes.h"

int tg_copy_bytes(const void *src, void *dst, int32_t nbytes)
{
    const uint8_t *s = (const uint8_t *)src;
    uint8_t *d = (uint8_t *)dst;
    int32_t i;
    if (nbytes < 0) {
        return TG_ERROR;
    }
    for (i = 0; i < nbytes; i++) {
        d[i] = s[i];
    }
    return TG_OK;
}
