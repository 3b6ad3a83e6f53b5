/* tinygen runtime: QUANTIZE / DEQUANTIZE kernels touching int16 (TFLM reference semantics).
 *
 * tg_quantize_f32_s16:     out = clamp(round_half_away(in / scale) + zp, -32768, 32767); the
 *                          division is float32; NaN and |in / scale| >= 1e9 saturate as for int8.
 * tg_requantize_<in>_<out>: out = clamp(MBQM(in - input_zp, mult, shift) + output_zp, out range),
 *                          MBQM = tg_requantize; in - input_zp wraps in int32 like TFLM's.
 *                          Pairs: s32 -> s16, s16 -> s8, s8 -> s16, s16 -> s16.
 * tg_dequantize_s16_f32:   out = (float)(scale * (double)(in - zp)), the product in double.
 * Any size >= 0; no scratch; no libm; returns TG_OK.
 */
#ifndef TG_QUANTIZE_S16_H
#define TG_QUANTIZE_S16_H

#include <stdint.h>

int tg_quantize_f32_s16(float scale, int32_t zp, int32_t size, const float *input, int16_t *output);

int tg_requantize_s32_s16(int32_t input_zp, int32_t mult, int32_t shift, int32_t output_zp, int32_t size,
    const int32_t *input, int16_t *output);

int tg_requantize_s16_s8(int32_t input_zp, int32_t mult, int32_t shift, int32_t output_zp, int32_t size,
    const int16_t *input, int8_t *output);

int tg_requantize_s8_s16(int32_t input_zp, int32_t mult, int32_t shift, int32_t output_zp, int32_t size,
    const int8_t *input, int16_t *output);

int tg_requantize_s16_s16(int32_t input_zp, int32_t mult, int32_t shift, int32_t output_zp, int32_t size,
    const int16_t *input, int16_t *output);

int tg_dequantize_s16_f32(double scale, int32_t zp, int32_t size, const int16_t *input, float *output);

#endif /* TG_QUANTIZE_S16_H */
