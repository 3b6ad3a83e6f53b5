/* tinygen runtime: int8 RELU; contract in tg_relu_s8.h. */
#include "tg_relu_s8.h"

#include "tg_common.h"

int tg_relu_s8(int32_t input_zp, int32_t output_mult, int32_t output_shift, int32_t output_zp,
    int32_t act_min, int32_t act_max, int32_t size, const int8_t *input, int8_t *output)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        const int32_t x = (int32_t)input[i] - input_zp;
        const int32_t out = output_zp + tg_requantize(x, output_mult, output_shift);
        output[i] = (int8_t)tg_clamp(out, act_min, act_max);
    }
    return TG_OK;
}
