/* tinygen runtime: int16 MUL with broadcasting (TFLM reference semantics).
 *
 *   out = clamp(tg_requantize(q1 * q2, out_mult, out_shift), act_min, act_max)
 * (int16 activations are symmetric: no offsets; |q1 * q2| <= 2^30 fits int32), with
 * out multiplier = scale1 * scale2 / scale_out. The output is [d0, d1, d2, d3] row-major; inputs
 * are addressed with per-dimension element strides, 0 along a broadcast dimension.
 * No scratch. Returns TG_OK.
 */
#ifndef TG_MUL_S16_H
#define TG_MUL_S16_H

#include "tg_common.h"

int tg_mul_s16(int32_t out_mult, int32_t out_shift, int32_t act_min, int32_t act_max, int32_t d0, int32_t d1,
    int32_t d2, int32_t d3, int32_t in1_s0, int32_t in1_s1, int32_t in1_s2, int32_t in1_s3,
    const int16_t *input1, int32_t in2_s0, int32_t in2_s1, int32_t in2_s2, int32_t in2_s3,
    const int16_t *input2, int16_t *output);

#endif /* TG_MUL_S16_H */
