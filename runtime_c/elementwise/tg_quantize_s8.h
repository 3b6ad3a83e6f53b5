/* tinygen runtime: QUANTIZE and DEQUANTIZE boundary kernels (TFLM reference semantics).
 *
 * tg_quantize_f32_s8:   out = clamp(round_half_away(in / scale) + zp, -128, 127); the division is
 *                       float32. NaN and |in / scale| >= 1e9 saturate as TFLM does on x86 / Arm
 *                       (NaN -> -128).
 * tg_requantize_s8_s8:  out = clamp(MBQM(in - input_zp, mult, shift) + output_zp, -128, 127).
 * tg_dequantize_s8_f32: out = (float)(scale * (double)(in - zp)), the product in double.
 * Any size >= 0; no scratch; no libm; returns TG_OK.
 */
#ifndef TG_QUANTIZE_S8_H
#define TG_QUANTIZE_S8_H

#include <stdint.h>

int tg_quantize_f32_s8(float scale, int32_t zp, int32_t size, const float *input, int8_t *output);

int tg_requantize_s8_s8(int32_t input_zp, int32_t mult, int32_t shift, int32_t output_zp, int32_t size,
    const int8_t *input, int8_t *output);

int tg_dequantize_s8_f32(double scale, int32_t zp, int32_t size, const int8_t *input, float *output);

#endif /* TG_QUANTIZE_S8_H */
