#include "tg_logistic_s16.h"

/* |v| interpolated in the table with `frac_bits` fractional bits per entry, or -1 if saturated. */
static int32_t tg_sigmoid_lookup(const uint16_t *table, uint32_t mag, int32_t frac_bits)
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

int tg_logistic_s16(int32_t input_mult, int32_t input_shift, const uint16_t *table,
                    int32_t size, const int16_t *input, int16_t *output)
{
    const int32_t round = input_shift > 0 ? 1 << (input_shift - 1) : 0;
    for (int32_t i = 0; i < size; ++i) {
        const int32_t v = ((int32_t)input[i] * input_mult + round) >> input_shift;
        const uint32_t mag = (uint32_t)(v < 0 ? -v : v);
        const int32_t hit = tg_sigmoid_lookup(table, mag, 9);
        uint32_t acc = hit < 0 ? (uint32_t)0x7FFF << 10 : (uint32_t)hit;
        acc = v >= 0 ? acc + (1u << 9) : (1u << 25) - acc + (1u << 9) - 1u;
        output[i] = (int16_t)(acc >> 10);
    }
    return TG_OK;
}

int tg_tanh_s16(int32_t input_mult, int32_t input_shift, const uint16_t *table,
                int32_t size, const int16_t *input, int16_t *output)
{
    const int32_t round = input_shift > 0 ? 1 << (input_shift - 1) : 0;
    for (int32_t i = 0; i < size; ++i) {
        const int32_t v = ((int32_t)input[i] * input_mult + round) >> input_shift;
        const uint32_t mag = (uint32_t)(v < 0 ? -v : v);
        const int32_t hit = tg_sigmoid_lookup(table, mag, 8);
        const int32_t acc = hit < 0 ? 0xFFFF << 8 : hit;
        const int32_t out = v >= 0 ? acc - (1 << 23) + (1 << 7) : -acc + (1 << 23) + (1 << 7) - 1;
        output[i] = (int16_t)(out >> 8);
    }
    return TG_OK;
}
