#include "tg_add_s8.h"

/* Shared body of ADD (negate = 0) and SUB (negate = 1). */
static int tg_addsub_s8(int32_t negate, int32_t in1_offset, int32_t in1_mult, int32_t in1_shift,
                        int32_t in2_offset, int32_t in2_mult, int32_t in2_shift,
                        int32_t left_shift, int32_t out_offset, int32_t out_mult,
                        int32_t out_shift, int32_t act_min, int32_t act_max,
                        int32_t d0, int32_t d1, int32_t d2, int32_t d3,
                        int32_t in1_s0, int32_t in1_s1, int32_t in1_s2, int32_t in1_s3,
                        const int8_t *input1,
                        int32_t in2_s0, int32_t in2_s1, int32_t in2_s2, int32_t in2_s3,
                        const int8_t *input2, int8_t *output)
{
    for (int32_t i0 = 0; i0 < d0; ++i0) {
        for (int32_t i1 = 0; i1 < d1; ++i1) {
            for (int32_t i2 = 0; i2 < d2; ++i2) {
                const int8_t *row1 = input1 + (ptrdiff_t)i0 * in1_s0 + (ptrdiff_t)i1 * in1_s1
                                     + (ptrdiff_t)i2 * in1_s2;
                const int8_t *row2 = input2 + (ptrdiff_t)i0 * in2_s0 + (ptrdiff_t)i1 * in2_s1
                                     + (ptrdiff_t)i2 * in2_s2;
                for (int32_t i3 = 0; i3 < d3; ++i3) {
                    /* (q + offset) spans 9 bits: shifted by 20 it still fits in int32. */
                    const int32_t v1 = (row1[(ptrdiff_t)i3 * in1_s3] + in1_offset) * (1 << left_shift);
                    const int32_t v2 = (row2[(ptrdiff_t)i3 * in2_s3] + in2_offset) * (1 << left_shift);
                    const int32_t a = tg_requantize(v1, in1_mult, in1_shift);
                    const int32_t b = tg_requantize(v2, in2_mult, in2_shift);
                    const int32_t raw = negate ? a - b : a + b;
                    const int32_t out = tg_requantize(raw, out_mult, out_shift) + out_offset;
                    *output++ = (int8_t)tg_clamp(out, act_min, act_max);
                }
            }
        }
    }
    return TG_OK;
}

int tg_add_s8(int32_t in1_offset, int32_t in1_mult, int32_t in1_shift,
              int32_t in2_offset, int32_t in2_mult, int32_t in2_shift,
              int32_t left_shift, int32_t out_offset, int32_t out_mult, int32_t out_shift,
              int32_t act_min, int32_t act_max,
              int32_t d0, int32_t d1, int32_t d2, int32_t d3,
              int32_t in1_s0, int32_t in1_s1, int32_t in1_s2, int32_t in1_s3, const int8_t *input1,
              int32_t in2_s0, int32_t in2_s1, int32_t in2_s2, int32_t in2_s3, const int8_t *input2,
              int8_t *output)
{
    return tg_addsub_s8(0, in1_offset, in1_mult, in1_shift, in2_offset, in2_mult, in2_shift,
                        left_shift, out_offset, out_mult, out_shift, act_min, act_max,
                        d0, d1, d2, d3, in1_s0, in1_s1, in1_s2, in1_s3, input1,
                        in2_s0, in2_s1, in2_s2, in2_s3, input2, output);
}

int tg_sub_s8(int32_t in1_offset, int32_t in1_mult, int32_t in1_shift,
              int32_t in2_offset, int32_t in2_mult, int32_t in2_shift,
              int32_t left_shift, int32_t out_offset, int32_t out_mult, int32_t out_shift,
              int32_t act_min, int32_t act_max,
              int32_t d0, int32_t d1, int32_t d2, int32_t d3,
              int32_t in1_s0, int32_t in1_s1, int32_t in1_s2, int32_t in1_s3, const int8_t *input1,
              int32_t in2_s0, int32_t in2_s1, int32_t in2_s2, int32_t in2_s3, const int8_t *input2,
              int8_t *output)
{
    return tg_addsub_s8(1, in1_offset, in1_mult, in1_shift, in2_offset, in2_mult, in2_shift,
                        left_shift, out_offset, out_mult, out_shift, act_min, act_max,
                        d0, d1, d2, d3, in1_s0, in1_s1, in1_s2, in1_s3, input1,
                        in2_s0, in2_s1, in2_s2, in2_s3, input2, output);
}
