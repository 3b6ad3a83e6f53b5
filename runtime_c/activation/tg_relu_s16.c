/* tinygen runtime: int16 RELU; contract in tg_relu_s16.h. */
#include "tg_relu_s16.h"

#include "tg_common.h"

int tg_relu_s16(int32_t output_mult, int32_t output_shift, int32_t act_min, int32_t act_max, int32_t size,
    const int16_t *input, int16_t *output)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        const int32_t out = tg_requantize((int32_t)input[i], output_mult, output_shift);
        output[i] = (int16_t)tg_clamp(out, act_min, act_max);
    }
    return TG_OK;
}
