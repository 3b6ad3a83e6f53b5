/* tinygen runtime: two-input element-wise math with broadcasting (TFLM reference semantics).
 *
 * Broadcasting as ADD (tg_add.h): output [d0, d1, d2, d3], each operand addressed with per-dimension
 * element strides, 0 along a broadcast dimension. The output may start at an input's address when that
 * input has the output's shape (element i is read before it is written). No scratch. Returns TG_OK.
 *
 * tg_squared_difference_s8 / _s16: a_i = MBQM((in_i + off_i) << left_shift, mult_i, shift_i);
 *   out = clamp(MBQM((a_1 - a_2)^2, out_mult, out_shift) + out_zp) to the type's range.
 * tg_div_s8: v1 = in1 + off1, v2 = in2 + off2 (signs of both flipped when v2 < 0); v1 normalised by
 *   its redundant sign bits times the reciprocal of v2 (tg_fp_reciprocal), rescaled by mult and one
 *   rounding right shift of up to 63 bits (past 31 as the TFLM build computes it: the shift count
 *   wraps modulo 32); clamped to [act_min, act_max].
 *   A divisor equal to its zero point takes the same steps with TFLM's reciprocal of 0 (1 / (1 - 1)
 *   in its fixed point, a finite value; shift -1), giving TFLM's result.
 */
#ifndef TG_MATH_BINARY_H
#define TG_MATH_BINARY_H

#include "tg_common.h"

int tg_squared_difference_s8(int32_t off1, int32_t mult1, int32_t shift1, int32_t off2, int32_t mult2,
    int32_t shift2, int32_t left_shift, int32_t out_zp, int32_t out_mult, int32_t out_shift,
    int32_t d0, int32_t d1, int32_t d2, int32_t d3, int32_t in1_s0, int32_t in1_s1, int32_t in1_s2,
    int32_t in1_s3, const int8_t *input1, int32_t in2_s0, int32_t in2_s1, int32_t in2_s2, int32_t in2_s3,
    const int8_t *input2, int8_t *output);

int tg_squared_difference_s16(int32_t off1, int32_t mult1, int32_t shift1, int32_t off2, int32_t mult2,
    int32_t shift2, int32_t left_shift, int32_t out_zp, int32_t out_mult, int32_t out_shift,
    int32_t d0, int32_t d1, int32_t d2, int32_t d3, int32_t in1_s0, int32_t in1_s1, int32_t in1_s2,
    int32_t in1_s3, const int16_t *input1, int32_t in2_s0, int32_t in2_s1, int32_t in2_s2, int32_t in2_s3,
    const int16_t *input2, int16_t *output);

int tg_div_s8(int32_t off1, int32_t off2, int32_t out_zp, int32_t mult, int32_t shift, int32_t act_min,
    int32_t act_max, int32_t d0, int32_t d1, int32_t d2, int32_t d3, int32_t in1_s0, int32_t in1_s1,
    int32_t in1_s2, int32_t in1_s3, const int8_t *input1, int32_t in2_s0, int32_t in2_s1, int32_t in2_s2,
    int32_t in2_s3, const int8_t *input2, int8_t *output);

#endif /* TG_MATH_BINARY_H */
