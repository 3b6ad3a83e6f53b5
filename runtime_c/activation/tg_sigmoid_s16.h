/* tinygen runtime: int16 LOGISTIC and TANH (zero points 0, output scale 1/32768), TFLM reference
 * semantics: the input is rescaled to units of 1/(3 * 4096)
 *   v = (q * input_mult + round) >> input_shift
 * then |v| indexes a 256-entry uint16 table of sigmoid(i / 24) in Q0.16, interpolated linearly;
 * negative inputs use symmetry, and tanh(x) = 2 * sigmoid(2x) - 1 reads the same table at twice
 * the resolution.
 * No scratch. Returns TG_OK.
 */
#ifndef TG_SIGMOID_S16_H
#define TG_SIGMOID_S16_H

#include "tg_common.h"

/* The input step both kernels share: x rescaled, (x * input_mult + round) >> input_shift, rounding
 * half up (its sign selects the output's half). The sum wraps in int32 as TFLM's does when a large
 * input scale gives input_mult above 2^15 (then input_shift is 0). */
static inline int32_t tg_sigmoid_input(int16_t x, int32_t input_mult, int32_t input_shift)
{
    const int32_t round = input_shift > 0 ? 1 << (input_shift - 1) : 0;
    const uint32_t sum = (uint32_t)(int32_t)x * (uint32_t)input_mult + (uint32_t)round;
    return (int32_t)sum >> input_shift;
}

/* |v| as an unsigned value (INT32_MIN gives 2^31) */
static inline uint32_t tg_sigmoid_magnitude(int32_t v)
{
    return v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
}

/* The lookup both kernels share: |v| interpolated in the table with `frac_bits` fractional bits per
 * entry, or -1 if saturated. */
static inline int32_t tg_sigmoid_lookup(const uint16_t *table, uint32_t mag, int32_t frac_bits)
{
    const uint32_t at = mag >> frac_bits;
    if (at >= 255u) {
        return -1;
    }
    const uint32_t lo = table[at];
    const uint32_t hi = table[at + 1];
    const uint32_t frac = mag & ((1u << frac_bits) - 1u);
    return (int32_t)((lo << frac_bits) + frac * (hi - lo));
}

int tg_logistic_s16(int32_t input_mult, int32_t input_shift, const uint16_t *table, int32_t size,
    const int16_t *input, int16_t *output);

int tg_tanh_s16(int32_t input_mult, int32_t input_shift, const uint16_t *table, int32_t size,
    const int16_t *input, int16_t *output);

#endif /* TG_SIGMOID_S16_H */
