/* tinygen runtime: PRELU with broadcasting, int8 (alpha int8) and int16 (alpha int8); TFLM reference
 * semantics (BroadcastPrelu4DSlow).
 *
 *   v   = q + in_offset                                  (in_offset = -input zero point)
 *   out = v >= 0 ? v * pos multiplier                    (s_in / s_out)
 *                : (v * (alpha + alpha_offset)) * neg multiplier   (s_in * s_alpha / s_out)
 *   out = clamp(out + out_offset, type range)
 * where "x * multiplier" is tg_requantize(x, mult, shift). The product fits int32 (17 x 9 bits).
 * tg_prelu_s8 takes the x >= 0 branch from pos_table: its 256 outputs, indexed by q + 128 (the
 * lowering fills it with the formula above; entries with v < 0 are not read).
 * Operands: input1 is q (the input), input2 the alpha tensor. Broadcasting as ADD (tg_add.h): output
 * [d0, d1, d2, d3], operands addressed with per-dimension element strides, 0 along a broadcast
 * dimension, walked by tg_broadcast_walk.inc. The output may start at the input's address when the
 * input has the output's shape (element i is read before it is written).
 * No scratch. Returns TG_OK.
 */
#ifndef TG_PRELU_H
#define TG_PRELU_H

#include "tg_common.h"

int tg_prelu_s8(int32_t in_offset, int32_t alpha_offset, int32_t out_offset, const int8_t *pos_table,
    int32_t neg_mult, int32_t neg_shift, int32_t d0, int32_t d1, int32_t d2, int32_t d3, int32_t in1_s0,
    int32_t in1_s1, int32_t in1_s2, int32_t in1_s3, const int8_t *input1, int32_t in2_s0, int32_t in2_s1,
    int32_t in2_s2, int32_t in2_s3, const int8_t *input2, int8_t *output);

int tg_prelu_s16(int32_t in_offset, int32_t alpha_offset, int32_t out_offset, int32_t pos_mult,
    int32_t pos_shift, int32_t neg_mult, int32_t neg_shift, int32_t d0, int32_t d1, int32_t d2, int32_t d3,
    int32_t in1_s0, int32_t in1_s1, int32_t in1_s2, int32_t in1_s3, const int16_t *input1, int32_t in2_s0,
    int32_t in2_s1, int32_t in2_s2, int32_t in2_s3, const int8_t *input2, int16_t *output);

#endif /* TG_PRELU_H */
