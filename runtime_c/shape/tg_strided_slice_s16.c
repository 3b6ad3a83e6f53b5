/* tinygen runtime: int16 STRIDED_SLICE; contract in tg_strided_slice_s16.h. */
#include "tg_strided_slice_s16.h"

int tg_strided_slice_s16(int32_t d0, int32_t d1, int32_t d2, int32_t d3, int32_t base, int32_t s0, int32_t s1,
    int32_t s2, int32_t s3, const int16_t *input, int16_t *output)
{
    for (int32_t k0 = 0; k0 < d0; ++k0) {
        for (int32_t k1 = 0; k1 < d1; ++k1) {
            for (int32_t k2 = 0; k2 < d2; ++k2) {
                const int16_t *row = input + (ptrdiff_t)base + (ptrdiff_t)k0 * s0 + (ptrdiff_t)k1 * s1
                                     + (ptrdiff_t)k2 * s2;
                for (int32_t k3 = 0; k3 < d3; ++k3) {
                    *output++ = row[(ptrdiff_t)k3 * s3];
                }
            }
        }
    }
    return TG_OK;
}
