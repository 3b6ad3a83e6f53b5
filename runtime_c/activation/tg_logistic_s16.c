/* tinygen runtime: int16 LOGISTIC; contract in tg_sigmoid_s16.h. */
#include "tg_sigmoid_s16.h"

int tg_logistic_s16(int32_t input_mult, int32_t input_shift, const uint16_t *table, int32_t size,
    const int16_t *input, int16_t *output)
{
    for (int32_t i = 0; i < size; ++i) {
        const int32_t v = tg_sigmoid_input(input[i], input_mult, input_shift);
        const int32_t hit = tg_sigmoid_lookup(table, tg_sigmoid_magnitude(v), 9);
        uint32_t acc = hit < 0 ? (uint32_t)0x7FFF << 10 : (uint32_t)hit;
        acc = v >= 0 ? acc + (1u << 9) : (1u << 25) - acc + (1u << 9) - 1u;
        output[i] = (int16_t)(acc >> 10);
    }
    return TG_OK;
}
