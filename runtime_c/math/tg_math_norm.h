/* tinygen runtime: last-axis normalisations on int8, TFLM reference arithmetic. Input and output are
 * rows x depth; a row is read completely before any of it is written, so the output may be the input.
 * No scratch. Returns TG_OK.
 *
 * tg_log_softmax_s8: output scale 16/256, zero point 127. d = x - max(row); d in Q5.26 is
 *   MBQM(d, mult, shift); the exps of the d >= diff_min are summed in Q12.19 and log(sum) taken in
 *   Q5.26; out = RDBPOT(d_q5 - log_sum, 22) + 127 (clamped) where d > max(diff_min - 1,
 *   MBQM(log_sum + INT32_MIN, rev_mult, rev_shift)), else -128.
 * tg_l2norm_s8: v = x - zp; inverse square root multiplier of sum(v^2) over the row (tg_inv_sqrt);
 *   out = clamp(MBQM(v, mult, shift + 7)) in 1/128 steps.
 */
#ifndef TG_MATH_NORM_H
#define TG_MATH_NORM_H

#include "tg_common.h"

int tg_log_softmax_s8(int32_t mult, int32_t shift, int32_t rev_mult, int32_t rev_shift, int32_t diff_min,
    int32_t rows, int32_t depth, const int8_t *input, int8_t *output);

int tg_l2norm_s8(int32_t input_zp, int32_t rows, int32_t depth, const int8_t *input, int8_t *output);

#endif /* TG_MATH_NORM_H */
