#include "tg_mul_s8.h"

int tg_mul_s8(int32_t in1_offset, int32_t in2_offset, int32_t out_offset, int32_t out_mult, int32_t out_shift,
    int32_t act_min, int32_t act_max, int32_t d0, int32_t d1, int32_t d2, int32_t d3, int32_t in1_s0,
    int32_t in1_s1, int32_t in1_s2, int32_t in1_s3, const int8_t *input1, int32_t in2_s0, int32_t in2_s1,
    int32_t in2_s2, int32_t in2_s3, const int8_t *input2, int8_t *output)
{
    for (int32_t i0 = 0; i0 < d0; ++i0) {
        for (int32_t i1 = 0; i1 < d1; ++i1) {
            for (int32_t i2 = 0; i2 < d2; ++i2) {
                const int8_t *row1 = input1 + (ptrdiff_t)i0 * in1_s0 + (ptrdiff_t)i1 * in1_s1
                                     + (ptrdiff_t)i2 * in1_s2;
                const int8_t *row2 = input2 + (ptrdiff_t)i0 * in2_s0 + (ptrdiff_t)i1 * in2_s1
                                     + (ptrdiff_t)i2 * in2_s2;
                for (int32_t i3 = 0; i3 < d3; ++i3) {
                    const int32_t v1 = row1[(ptrdiff_t)i3 * in1_s3] + in1_offset;
                    const int32_t v2 = row2[(ptrdiff_t)i3 * in2_s3] + in2_offset;
                    const int32_t out = tg_requantize(v1 * v2, out_mult, out_shift) + out_offset;
                    *output++ = (int8_t)tg_clamp(out, act_min, act_max);
                }
            }
        }
    }
    return TG_OK;
}
