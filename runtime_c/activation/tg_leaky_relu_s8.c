#include "tg_leaky_relu_s8.h"

#include "tg_common.h"

int tg_leaky_relu_s8(int32_t input_zp, int32_t identity_mult, int32_t identity_shift,
                     int32_t alpha_mult, int32_t alpha_shift, int32_t output_zp,
                     int32_t size, const int8_t *input, int8_t *output)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        const int32_t x = (int32_t)input[i] - input_zp;
        const int32_t scaled = x >= 0 ? tg_requantize(x, identity_mult, identity_shift)
                                      : tg_requantize(x, alpha_mult, alpha_shift);
        output[i] = (int8_t)tg_clamp(output_zp + scaled, INT8_MIN, INT8_MAX);
    }
    return TG_OK;
}
