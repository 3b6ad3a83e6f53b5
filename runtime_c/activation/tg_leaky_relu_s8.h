/* tinygen runtime: LEAKY_RELU, int8 in -> int8 out (TFLM reference integer path).
 *
 * Contract: x = in - input_zp;
 *   out = clamp(output_zp + MBQM(x, identity_mult, identity_shift), -128, 127)   for x >= 0
 *   out = clamp(output_zp + MBQM(x, alpha_mult, alpha_shift), -128, 127)         for x < 0
 * identity = in_scale / out_scale, alpha = in_scale * alpha / out_scale (double arithmetic, as TFLM),
 * precomputed by tinygen. Any size >= 0; no scratch; returns TG_OK.
 */
#ifndef TG_LEAKY_RELU_S8_H
#define TG_LEAKY_RELU_S8_H

#include <stdint.h>

int tg_leaky_relu_s8(int32_t input_zp, int32_t identity_mult, int32_t identity_shift,
                     int32_t alpha_mult, int32_t alpha_shift, int32_t output_zp,
                     int32_t size, const int8_t *input, int8_t *output);

#endif /* TG_LEAKY_RELU_S8_H */
