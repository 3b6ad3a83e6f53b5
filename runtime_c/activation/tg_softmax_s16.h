/* tinygen runtime: int16 SOFTMAX over the last axis (output scale 1/32768, zero point 0), TFLM
 * reference semantics, with two 513-entry interpolated tables (see tg_lut_s16).
 *
 * Per row: d = x - max(row) is rescaled by (input_mult, input_shift) so that [-65535, 0] spans
 * [-10, 0], moved to [-32768, 32767] and looked up in exp_lut (exp on [-10, 0] in Q0.15). The sum
 * of the exps is normalised to [1, 2) by its leading zeros, recentred and looked up in recip_lut
 * (1 / (1 + x) on [0, 1] in Q0.15); each output is exp * reciprocal, shifted back with rounding
 * and clamped to [0, 32767]. The output doubles as storage for the exps (no scratch).
 * Returns TG_OK.
 */
#ifndef TG_SOFTMAX_S16_H
#define TG_SOFTMAX_S16_H

#include "tg_nn_s16.h"

int tg_softmax_s16(int32_t input_mult, int32_t input_shift, int32_t rows, int32_t depth,
    const int16_t *exp_lut, const int16_t *recip_lut, const int16_t *input, int16_t *output);

#endif /* TG_SOFTMAX_S16_H */
