/* tinygen runtime: int16 LEAKY_RELU, same type in and out (TFLM reference integer path); int8 LEAKY_RELU
 * is a 256-entry table (tg_lut_s8) built by the lowering from this same contract.
 *
 * Contract: x = in - input_zp;
 *   out = clamp(output_zp + MBQM(x, identity_mult, identity_shift), type min, type max)   for x >= 0
 *   out = clamp(output_zp + MBQM(x, alpha_mult, alpha_shift), type min, type max)         for x < 0
 * with MBQM = tg_requantize; identity = in_scale / out_scale, alpha = in_scale * alpha / out_scale
 * (double arithmetic, as TFLM Prepare), precomputed by tinygen.
 * Body: tg_leaky_relu_body.inc. Any size >= 0; no scratch; returns TG_OK.
 */
#ifndef TG_LEAKY_RELU_H
#define TG_LEAKY_RELU_H

#include <stdint.h>

int tg_leaky_relu_s16(int32_t input_zp, int32_t identity_mult, int32_t identity_shift, int32_t alpha_mult,
    int32_t alpha_shift, int32_t output_zp, int32_t size, const int16_t *input, int16_t *output);

#endif /* TG_LEAKY_RELU_H */
