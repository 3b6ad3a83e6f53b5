/* tinygen runtime: ADD and SUB with broadcasting, int8 and int16 (TFLM reference semantics; for int16
 * the general-scale path, which TFLM uses whatever pot_scale_int16 says).
 *
 * Both inputs are rescaled to a common fixed-point scale before the sum:
 *   a   = ((q1 + in1_offset) << left_shift) * in1 multiplier     (in1_offset = -zero_point1)
 *   b   = ((q2 + in2_offset) << left_shift) * in2 multiplier
 *   out = clamp(((a +- b) * out multiplier) + out_offset, act_min, act_max)
 * where "x * multiplier" is tg_requantize(x, mult, shift); shifts are <= 0 (multipliers < 1).
 * left_shift is 20 for int8 and 15 for int16 ((q + offset) spans 17 bits, so shifted by 15 it fits
 * int32). tg_sub_* computes a - b.
 * Broadcasting: the output is [d0, d1, d2, d3] (row-major, rank extended to 4 with leading 1s);
 * inputs are addressed with per-dimension element strides, 0 along a broadcast dimension.
 * One body for all four entry points: tg_add_body.inc. No scratch. Returns TG_OK.
 */
#ifndef TG_ADD_H
#define TG_ADD_H

#include "tg_common.h"

int tg_add_s8(int32_t in1_offset, int32_t in1_mult, int32_t in1_shift, int32_t in2_offset, int32_t in2_mult,
    int32_t in2_shift, int32_t left_shift, int32_t out_offset, int32_t out_mult, int32_t out_shift,
    int32_t act_min, int32_t act_max, int32_t d0, int32_t d1, int32_t d2, int32_t d3, int32_t in1_s0,
    int32_t in1_s1, int32_t in1_s2, int32_t in1_s3, const int8_t *input1, int32_t in2_s0, int32_t in2_s1,
    int32_t in2_s2, int32_t in2_s3, const int8_t *input2, int8_t *output);

int tg_sub_s8(int32_t in1_offset, int32_t in1_mult, int32_t in1_shift, int32_t in2_offset, int32_t in2_mult,
    int32_t in2_shift, int32_t left_shift, int32_t out_offset, int32_t out_mult, int32_t out_shift,
    int32_t act_min, int32_t act_max, int32_t d0, int32_t d1, int32_t d2, int32_t d3, int32_t in1_s0,
    int32_t in1_s1, int32_t in1_s2, int32_t in1_s3, const int8_t *input1, int32_t in2_s0, int32_t in2_s1,
    int32_t in2_s2, int32_t in2_s3, const int8_t *input2, int8_t *output);

int tg_add_s16(int32_t in1_offset, int32_t in1_mult, int32_t in1_shift, int32_t in2_offset, int32_t in2_mult,
    int32_t in2_shift, int32_t left_shift, int32_t out_offset, int32_t out_mult, int32_t out_shift,
    int32_t act_min, int32_t act_max, int32_t d0, int32_t d1, int32_t d2, int32_t d3, int32_t in1_s0,
    int32_t in1_s1, int32_t in1_s2, int32_t in1_s3, const int16_t *input1, int32_t in2_s0, int32_t in2_s1,
    int32_t in2_s2, int32_t in2_s3, const int16_t *input2, int16_t *output);

int tg_sub_s16(int32_t in1_offset, int32_t in1_mult, int32_t in1_shift, int32_t in2_offset, int32_t in2_mult,
    int32_t in2_shift, int32_t left_shift, int32_t out_offset, int32_t out_mult, int32_t out_shift,
    int32_t act_min, int32_t act_max, int32_t d0, int32_t d1, int32_t d2, int32_t d3, int32_t in1_s0,
    int32_t in1_s1, int32_t in1_s2, int32_t in1_s3, const int16_t *input1, int32_t in2_s0, int32_t in2_s1,
    int32_t in2_s2, int32_t in2_s3, const int16_t *input2, int16_t *output);

#endif /* TG_ADD_H */
