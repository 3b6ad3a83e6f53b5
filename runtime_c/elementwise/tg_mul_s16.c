#include "tg_mul_s16.h"

int tg_mul_s16(int32_t out_mult, int32_t out_shift, int32_t act_min, int32_t act_max, int32_t d0, int32_t d1,
    int32_t d2, int32_t d3, int32_t in1_s0, int32_t in1_s1, int32_t in1_s2, int32_t in1_s3,
    const int16_t *input1, int32_t in2_s0, int32_t in2_s1, int32_t in2_s2, int32_t in2_s3,
    const int16_t *input2, int16_t *output)
{
    for (int32_t i0 = 0; i0 < d0; ++i0) {
        for (int32_t i1 = 0; i1 < d1; ++i1) {
            for (int32_t i2 = 0; i2 < d2; ++i2) {
                const int16_t *a = input1 + (ptrdiff_t)i0 * in1_s0 + (ptrdiff_t)i1 * in1_s1
                                   + (ptrdiff_t)i2 * in1_s2;
                const int16_t *b = input2 + (ptrdiff_t)i0 * in2_s0 + (ptrdiff_t)i1 * in2_s1
                                   + (ptrdiff_t)i2 * in2_s2;
                for (int32_t i3 = 0; i3 < d3; ++i3) {
                    const int32_t prod = (int32_t)a[(ptrdiff_t)i3 * in1_s3] * b[(ptrdiff_t)i3 * in2_s3];
                    *output++ = (int16_t)tg_clamp(tg_requantize(prod, out_mult, out_shift),
                                                  act_min, act_max);
                }
            }
        }
    }
    return TG_OK;
}
