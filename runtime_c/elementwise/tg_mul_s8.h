/* tinygen runtime: int8 MUL with broadcasting (TFLM reference semantics).
 *
 *   out = clamp(((q1 + in1_offset) * (q2 + in2_offset)) * out multiplier + out_offset,
 *               act_min, act_max)
 * with in*_offset = -zero_point, "x * multiplier" = tg_requantize(x, out_mult, out_shift) and
 * out multiplier = scale1 * scale2 / scale_out (any shift).
 * Broadcasting: the output is [d0, d1, d2, d3] (row-major, rank extended to 4 with leading 1s);
 * inputs are addressed with per-dimension element strides, 0 along a broadcast dimension.
 * No scratch. Returns TG_OK.
 */
#ifndef TG_MUL_S8_H
#define TG_MUL_S8_H

#include "tg_common.h"

int tg_mul_s8(int32_t in1_offset, int32_t in2_offset, int32_t out_offset, int32_t out_mult, int32_t out_shift,
    int32_t act_min, int32_t act_max, int32_t d0, int32_t d1, int32_t d2, int32_t d3, int32_t in1_s0,
    int32_t in1_s1, int32_t in1_s2, int32_t in1_s3, const int8_t *input1, int32_t in2_s0, int32_t in2_s1,
    int32_t in2_s2, int32_t in2_s3, const int8_t *input2, int8_t *output);

#endif /* TG_MUL_S8_H */
