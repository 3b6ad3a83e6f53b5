/* tinygen runtime: int16 ADD and SUB with broadcasting (TFLM reference general-scale path,
 * which TFLM uses for int16 whatever pot_scale_int16 says).
 *
 * Same arithmetic as tg_add_s8.h with left_shift = 15:
 *   a   = tg_requantize((q1 + in1_offset) << left_shift, in1_mult, in1_shift)
 *   b   = tg_requantize((q2 + in2_offset) << left_shift, in2_mult, in2_shift)
 *   out = clamp(tg_requantize(a +- b, out_mult, out_shift) + out_offset, act_min, act_max)
 * Shifts are <= 0 (multipliers < 1). (q + offset) spans 17 bits, so shifted by 15 it fits int32.
 * Broadcasting: the output is [d0, d1, d2, d3] (row-major, rank extended to 4 with leading 1s);
 * inputs are addressed with per-dimension element strides, 0 along a broadcast dimension.
 * No scratch. Returns TG_OK.
 */
#ifndef TG_ADD_S16_H
#define TG_ADD_S16_H

#include "tg_common.h"

int tg_add_s16(int32_t in1_offset, int32_t in1_mult, int32_t in1_shift,
               int32_t in2_offset, int32_t in2_mult, int32_t in2_shift,
               int32_t left_shift, int32_t out_offset, int32_t out_mult, int32_t out_shift,
               int32_t act_min, int32_t act_max,
               int32_t d0, int32_t d1, int32_t d2, int32_t d3,
               int32_t in1_s0, int32_t in1_s1, int32_t in1_s2, int32_t in1_s3, const int16_t *input1,
               int32_t in2_s0, int32_t in2_s1, int32_t in2_s2, int32_t in2_s3, const int16_t *input2,
               int16_t *output);

int tg_sub_s16(int32_t in1_offset, int32_t in1_mult, int32_t in1_shift,
               int32_t in2_offset, int32_t in2_mult, int32_t in2_shift,
               int32_t left_shift, int32_t out_offset, int32_t out_mult, int32_t out_shift,
               int32_t act_min, int32_t act_max,
               int32_t d0, int32_t d1, int32_t d2, int32_t d3,
               int32_t in1_s0, int32_t in1_s1, int32_t in1_s2, int32_t in1_s3, const int16_t *input1,
               int32_t in2_s0, int32_t in2_s1, int32_t in2_s2, int32_t in2_s3, const int16_t *input2,
               int16_t *output);

#endif /* TG_ADD_S16_H */
