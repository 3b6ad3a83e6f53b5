/* tinygen runtime: one-input element-wise math (ABS, RSQRT, ELU), TFLM reference semantics.
 *
 * tg_lut_s8: out[i] = table[in[i] + 128], the 256 outputs precomputed by tinygen with TFLM's
 *   arithmetic (int8 ABS, RSQRT, ELU and LEAKY_RELU).
 * tg_abs_s16: out = clamp(rescale ? MBQM(|in|, mult, shift) : |in|) (zero points are 0 for int16).
 * tg_rsqrt_s16: in == 0 gives INT16_MAX; otherwise 1 / sqrt(in) as an integer scaled by 2^20
 *   (tg_inv_sqrt), rescaled by MBQM(., mult, shift - 20) and clamped. TFLM fails on inputs below 0;
 *   here they give the output of input 1.
 * Any size >= 0; no scratch; in place (input == output) is allowed; returns TG_OK.
 */
#ifndef TG_MATH_H
#define TG_MATH_H

#include "tg_common.h"

int tg_lut_s8(int32_t size, const int8_t *table, const int8_t *input, int8_t *output);

int tg_abs_s16(int32_t rescale, int32_t mult, int32_t shift, int32_t size, const int16_t *input,
    int16_t *output);

int tg_rsqrt_s16(int32_t mult, int32_t shift, int32_t size, const int16_t *input, int16_t *output);

#endif /* TG_MATH_H */
