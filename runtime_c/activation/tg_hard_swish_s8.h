/* tinygen runtime: HARD_SWISH, int8 in -> int8 out, x * relu6(x + 3) / 6 in TFLM's int16 fixed point.
 *
 * Contract: x = (in - input_zp) * 128 (int16, "hi-res" input scale);
 *   pre   = srdhm16(x, output_mult16)                               x on the output scale, unshifted
 *   r     = x rescaled by reluish_mult16 * 2^reluish_exponent so 3.0 -> 32768 (saturating),
 *           then (r + 32768) / 2                                    relu6(x + 3) / 6 in Q0.15
 *   out   = clamp(rdbpot16(sdhm16(r, pre), -output_exponent) + output_zp, -128, 127)
 * output_exponent <= 0. Multipliers are TFLM's QuantizeMultiplier results narrowed to int16
 * (precomputed by tinygen). Any size >= 0; no scratch; returns TG_OK.
 */
#ifndef TG_HARD_SWISH_S8_H
#define TG_HARD_SWISH_S8_H

#include <stdint.h>

int tg_hard_swish_s8(int32_t input_zp, int32_t output_zp, int32_t output_mult16, int32_t output_exponent,
    int32_t reluish_mult16, int32_t reluish_exponent, int32_t size, const int8_t *input, int8_t *output);

#endif /* TG_HARD_SWISH_S8_H */
