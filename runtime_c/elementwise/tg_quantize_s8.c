#include "tg_quantize_s8.h"

#include "tg_common.h"

int tg_quantize_f32_s8(float scale, int32_t zp, int32_t size, const float *input, int8_t *output)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        output[i] = (int8_t)tg_clamp(tg_quantize_value(input[i], scale) + zp, INT8_MIN, INT8_MAX);
    }
    return TG_OK;
}

int tg_requantize_s8_s8(int32_t input_zp, int32_t mult, int32_t shift, int32_t output_zp,
                        int32_t size, const int8_t *input, int8_t *output)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        const int32_t out = tg_requantize((int32_t)input[i] - input_zp, mult, shift) + output_zp;
        output[i] = (int8_t)tg_clamp(out, INT8_MIN, INT8_MAX);
    }
    return TG_OK;
}

int tg_dequantize_s8_f32(double scale, int32_t zp, int32_t size, const int8_t *input, float *output)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        output[i] = (float)(scale * (double)((int32_t)input[i] - zp));
    }
    return TG_OK;
}
