/* tinygen runtime: int8 table lookup (ABS, RSQRT, ELU, LEAKY_RELU); contract in tg_math.h. */
#include "tg_math.h"

int tg_lut_s8(int32_t size, const int8_t *table, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < size; ++i) {
        output[i] = table[(int32_t)input[i] + 128];
    }
    return TG_OK;
}
