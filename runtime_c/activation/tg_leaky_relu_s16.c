/* tinygen runtime: int16 LEAKY_RELU; contract in tg_leaky_relu_s16.h. */
#include "tg_leaky_relu_s16.h"

#include "tg_common.h"

int tg_leaky_relu_s16(int32_t input_zp, int32_t identity_mult, int32_t identity_shift,
                      int32_t alpha_mult, int32_t alpha_shift, int32_t output_zp,
                      int32_t size, const int16_t *input, int16_t *output)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        const int32_t x = (int32_t)input[i] - input_zp;
        const int32_t scaled = x >= 0 ? tg_requantize(x, identity_mult, identity_shift)
                                      : tg_requantize(x, alpha_mult, alpha_shift);
        output[i] = (int16_t)tg_clamp(output_zp + scaled, INT16_MIN, INT16_MAX);
    }
    return TG_OK;
}
