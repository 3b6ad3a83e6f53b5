/* tinygen runtime: RELU and RELU6 on int8 tensors, as TFLM's reference kernels do them.
 *
 * tg_relu_s8 requantizes, since the output may have its own scale and zero point:
 *   out = clamp(output_zp + MBQM(in - input_zp, output_mult, output_shift), act_min, act_max)
 * with act_min = max(-128, output_zp), act_max = 127 (precomputed by tinygen).
 * tg_relu6_s8 does not: TFLM keeps the input quantization and only clamps,
 *   out = clamp(in, lower, upper), lower = input_zp, upper = quantized 6.0 on the input scale.
 * Any size >= 0; no scratch; in-place (input == output) is allowed; returns TG_OK.
 */
#ifndef TG_RELU_S8_H
#define TG_RELU_S8_H

#include <stdint.h>

int tg_relu_s8(int32_t input_zp, int32_t output_mult, int32_t output_shift, int32_t output_zp,
    int32_t act_min, int32_t act_max, int32_t size, const int8_t *input, int8_t *output);

int tg_relu6_s8(int32_t lower, int32_t upper, int32_t size, const int8_t *input, int8_t *output);

#endif /* TG_RELU_S8_H */
