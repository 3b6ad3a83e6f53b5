#include "tg_hard_swish_s8.h"

#include "tg_fixedpoint.h"

int tg_hard_swish_s8(int32_t input_zp, int32_t output_zp, int32_t output_mult16, int32_t output_exponent,
    int32_t reluish_mult16, int32_t reluish_exponent, int32_t size, const int8_t *input, int8_t *output)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        const int16_t x = (int16_t)(((int32_t)input[i] - input_zp) * 128);
        const int16_t pre = tg_fp_srdhm16(x, (int16_t)output_mult16);
        int16_t reluish = x;
        if (reluish_exponent > 0) {
            /* all but one bit of the left shift first, so saturation cannot bias the product */
            reluish = tg_fp_sat_left_shift16(reluish, reluish_exponent - 1);
        }
        reluish = tg_fp_srdhm16(reluish, (int16_t)reluish_mult16);
        if (reluish_exponent > 0) {
            reluish = tg_fp_sat_left_shift16(reluish, 1);
        }
        if (reluish_exponent < 0) {
            reluish = tg_fp_rdbpot16(reluish, -reluish_exponent);
        }
        reluish = (int16_t)(((int32_t)reluish + 32768) >> 1); /* [-1, 1] -> [0, 1] */
        const int16_t scaled = tg_fp_rdbpot16(tg_fp_sdhm16(reluish, pre), -output_exponent);
        const int16_t out = (int16_t)(scaled + output_zp);
        output[i] = (int8_t)tg_clamp(out, INT8_MIN, INT8_MAX);
    }
    return TG_OK;
}
