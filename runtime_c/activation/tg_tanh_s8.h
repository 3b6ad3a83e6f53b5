/* tinygen runtime: TANH, int8 in -> int8 out (scale 1/128, zero point 0), TFLM reference path.
 *
 * Contract: x = in - input_zp; x <= -radius -> -128, x >= radius -> 127; otherwise
 *   out = clamp(rdbpot(tanh_q0(MBQM(x, input_mult, input_left_shift) as Q4.27), 24)).
 * input_mult/input_left_shift/radius come from TFLM's Prepare with 4 input integer bits
 * (precomputed by tinygen/kernels/activation.py). Any size >= 0; no scratch; returns TG_OK.
 */
#ifndef TG_TANH_S8_H
#define TG_TANH_S8_H

#include <stdint.h>

int tg_tanh_s8(int32_t input_zp, int32_t input_range_radius, int32_t input_mult, int32_t input_left_shift,
    int32_t size, const int8_t *input, int8_t *output);

#endif /* TG_TANH_S8_H */
