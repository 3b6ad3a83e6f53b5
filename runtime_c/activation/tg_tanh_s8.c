#include "tg_tanh_s8.h"

#include "tg_fixedpoint.h"

int tg_tanh_s8(int32_t input_zp, int32_t input_range_radius, int32_t input_mult,
               int32_t input_left_shift, int32_t size, const int8_t *input, int8_t *output)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        const int32_t x = (int32_t)input[i] - input_zp;
        int32_t out;
        if (x <= -input_range_radius) {
            out = INT8_MIN;
        } else if (x >= input_range_radius) {
            out = INT8_MAX;
        } else {
            const int32_t x_q4 = tg_requantize(x, input_mult, input_left_shift);
            const int32_t y_q0 = tg_fp_tanh(x_q4, 4);
            out = tg_clamp(tg_rdbpot(y_q0, 31 - 7), INT8_MIN, INT8_MAX);
        }
        output[i] = (int8_t)out;
    }
    return TG_OK;
}
