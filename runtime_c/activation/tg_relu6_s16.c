/* tinygen runtime: int16 RELU6 (a clamp); contract in tg_relu_s16.h. */
#include "tg_relu_s16.h"

#include "tg_common.h"

int tg_relu6_s16(int32_t lower, int32_t upper, int32_t size, const int16_t *input, int16_t *output)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        output[i] = (int16_t)tg_clamp((int32_t)input[i], lower, upper);
    }
    return TG_OK;
}
