/* tinygen runtime: int16 ABS; contract in tg_math.h. */
#include "tg_math.h"

int tg_abs_s16(int32_t rescale, int32_t mult, int32_t shift, int32_t size, const int16_t *input,
    int16_t *output)
{
    for (int32_t i = 0; i < size; ++i) {
        int32_t v = input[i] < 0 ? -(int32_t)input[i] : (int32_t)input[i];
        if (rescale) {
            v = tg_requantize(v, mult, shift);
        }
        output[i] = (int16_t)tg_clamp(v, INT16_MIN, INT16_MAX);
    }
    return TG_OK;
}
