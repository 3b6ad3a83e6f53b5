/* tinygen runtime: int16 TANH; contract in tg_sigmoid_s16.h. */
#include "tg_sigmoid_s16.h"

int tg_tanh_s16(int32_t input_mult, int32_t input_shift, const uint16_t *table, int32_t size,
    const int16_t *input, int16_t *output)
{
    for (int32_t i = 0; i < size; ++i) {
        const int32_t v = tg_sigmoid_input(input[i], input_mult, input_shift);
        const int32_t hit = tg_sigmoid_lookup(table, tg_sigmoid_magnitude(v), 8);
        const int32_t acc = hit < 0 ? 0xFFFF << 8 : hit;
        const int32_t out = v >= 0 ? acc - (1 << 23) + (1 << 7) : -acc + (1 << 23) + (1 << 7) - 1;
        output[i] = (int16_t)(out >> 8);
    }
    return TG_OK;
}
