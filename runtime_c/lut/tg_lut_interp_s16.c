/* tinygen runtime: int16 table lookup with linear interpolation; contract in tg_lut_interp_s16.h. */
#include "tg_lut_interp_s16.h"

int tg_lut_interp_s16(int32_t size, const int16_t *table, const int16_t *input, int16_t *output)
{
    for (int32_t k = 0; k < size; ++k) {
        const int32_t u = (int32_t)input[k] + 32768;
        const int32_t i = u >> 7;
        const int32_t base = table[i];
        const int32_t step = (int32_t)table[i + 1] - base;
        output[k] = (int16_t)(base + ((step * (u & 127) + 64) >> 7));
    }
    return TG_OK;
}
