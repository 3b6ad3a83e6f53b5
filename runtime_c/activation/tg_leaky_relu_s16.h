/* tinygen runtime: LEAKY_RELU, int16 in -> int16 out (TFLM reference integer path).
 *
 * Contract: x = in - input_zp;
 *   out = clamp(output_zp + MBQM(x, identity_mult, identity_shift), -32768, 32767)   for x >= 0
 *   out = clamp(output_zp + MBQM(x, alpha_mult, alpha_shift), -32768, 32767)         for x < 0
 * with MBQM = tg_requantize; identity = s_in / s_out, alpha = s_in * alpha / s_out (double math,
 * as TFLM Prepare), precomputed by tinygen. Any size >= 0; no scratch; returns TG_OK.
 */
#ifndef TG_LEAKY_RELU_S16_H
#define TG_LEAKY_RELU_S16_H

#include <stdint.h>

int tg_leaky_relu_s16(int32_t input_zp, int32_t identity_mult, int32_t identity_shift,
                      int32_t alpha_mult, int32_t alpha_shift, int32_t output_zp,
                      int32_t size, const int16_t *input, int16_t *output);

#endif /* TG_LEAKY_RELU_S16_H */
