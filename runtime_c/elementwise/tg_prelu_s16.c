/* tinygen runtime: int16 PRELU (alpha int8); contract in tg_prelu.h. */
#include "tg_prelu.h"

int tg_prelu_s16(int32_t in_offset, int32_t alpha_offset, int32_t out_offset, int32_t pos_mult,
    int32_t pos_shift, int32_t neg_mult, int32_t neg_shift, int32_t d0, int32_t d1, int32_t d2, int32_t d3,
    int32_t in_s0, int32_t in_s1, int32_t in_s2, int32_t in_s3, const int16_t *input, int32_t alpha_s0,
    int32_t alpha_s1, int32_t alpha_s2, int32_t alpha_s3, const int8_t *alpha, int16_t *output)
{
    for (int32_t i0 = 0; i0 < d0; ++i0) {
        for (int32_t i1 = 0; i1 < d1; ++i1) {
            for (int32_t i2 = 0; i2 < d2; ++i2) {
                const int16_t *in_p = input + (ptrdiff_t)i0 * in_s0 + (ptrdiff_t)i1 * in_s1 + (ptrdiff_t)i2 * in_s2;
                const int8_t *alpha_p = alpha + (ptrdiff_t)i0 * alpha_s0 + (ptrdiff_t)i1 * alpha_s1
                                        + (ptrdiff_t)i2 * alpha_s2;
                for (int32_t i3 = 0; i3 < d3; ++i3) {
                    const int32_t v = *in_p + in_offset;
                    int32_t out;
                    if (v >= 0) {
                        out = tg_requantize(v, pos_mult, pos_shift);
                    } else {
                        out = tg_requantize(v * (*alpha_p + alpha_offset), neg_mult, neg_shift);
                    }
                    *output++ = (int16_t)tg_clamp(out + out_offset, INT16_MIN, INT16_MAX);
                    in_p += in_s3;
                    alpha_p += alpha_s3;
                }
            }
        }
    }
    return TG_OK;
}
