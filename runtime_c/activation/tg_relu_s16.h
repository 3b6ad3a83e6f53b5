/* tinygen runtime: RELU and RELU6 on int16 tensors (16x8 models), as TFLM's reference kernels do them.
 *
 * tg_relu_s16 requantizes, since the output may have its own scale (both zero points are 0 in 16x8):
 *   out = clamp(MBQM(in, output_mult, output_shift), act_min, act_max)
 * with act_min = 0, act_max = 32767 (precomputed by tinygen).
 * tg_relu6_s16 does not: TFLM keeps the input quantization and only clamps,
 *   out = clamp(in, lower, upper), lower = input zero point, upper = quantized 6.0 on the input scale.
 * Any size >= 0; no scratch; in-place (input == output) is allowed; returns TG_OK.
 */
#ifndef TG_RELU_S16_H
#define TG_RELU_S16_H

#include <stdint.h>

int tg_relu_s16(int32_t output_mult, int32_t output_shift, int32_t act_min, int32_t act_max, int32_t size,
    const int16_t *input, int16_t *output);

int tg_relu6_s16(int32_t lower, int32_t upper, int32_t size, const int16_t *input, int16_t *output);

#endif /* TG_RELU_S16_H */
