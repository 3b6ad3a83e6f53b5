/* tinygen runtime: fast int8 ADD / SUB of two same-shape tensors (no broadcasting).
 *
 * Same result as tg_add_s8 / tg_sub_s8 (TFLM reference, bit-exact). Each input's rescale
 *   a = ((q1 + in1_offset) << 20) * in1 multiplier        (TFLM: MultiplyByQuantizedMultiplier...)
 * depends on the int8 q1 alone, so the lowering tabulates it exactly (qmath) for the 256 values of q:
 *   table1[q + 128] = a,   table2[q + 128] = b  (or -b for SUB),   raw = table1[q1] + table2[q2].
 * The output rescale uses a right-shifting multiplier (out shift -rs, 1 <= rs <= 31) folded as in
 * tg_requantize_rs, the output offset folded into the rounding term; out_rq holds 4 int32:
 *   mult, round low word, round high word + (output_offset << (rs - 1)), rs - 1
 *   out = clamp(hi32(raw * mult + round - [raw < 0] * 2^31) >> (rs - 1), act_min, act_max).
 * size elements; 4 per iteration. No scratch. Returns TG_OK.
 */
#ifndef TG_ADD_S8_FAST_H
#define TG_ADD_S8_FAST_H

#include "tg_common.h"

int tg_add_s8_fast(const int32_t *table1, const int32_t *table2, const int32_t *out_rq, int32_t act_min,
    int32_t act_max, int32_t size, const int8_t *input1, const int8_t *input2, int8_t *output);

#endif /* TG_ADD_S8_FAST_H */
