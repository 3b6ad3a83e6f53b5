#include "tg_softmax_s8.h"

#include "tg_fixedpoint.h"

#define TG_SOFTMAX_DIFF_BITS 5   /* integer bits of the scaled difference fed to exp */
#define TG_SOFTMAX_ACCUM_BITS 12 /* integer bits of the sum of exps */

/* Out of line: two call sites per row, each already costs far more than the call */
TG_OUTLINE int32_t tg_softmax_exp(int32_t diff, int32_t input_mult, int32_t input_left_shift)
{
    const int32_t scaled = tg_srdhm((int32_t)((uint32_t)diff << input_left_shift), input_mult);
    return tg_fp_exp_on_negative_values(scaled, TG_SOFTMAX_DIFF_BITS);
}

int tg_softmax_s8(int32_t input_mult, int32_t input_left_shift, int32_t diff_min, int32_t rows, int32_t depth,
    const int8_t *input, int8_t *output)
{
    int32_t row;
    if (depth < 1) {
        return TG_ERROR;
    }
    for (row = 0; row < rows; ++row) {
        const int8_t *in_row = input + (size_t)row * (size_t)depth;
        int8_t *out_row = output + (size_t)row * (size_t)depth;
        int32_t max_in_row = INT8_MIN;
        uint32_t sum_of_exps = 0;
        int32_t num_bits_over_unit = 0;
        int32_t c;
        for (c = 0; c < depth; ++c) {
            max_in_row = TG_MAX(max_in_row, (int32_t)in_row[c]);
        }
        /* Every exp e is >= 0 (INT32_MAX at d = 0), and so is the reciprocal of their sum: TFLM's
           rounding steps on non-negative values reduce to adding half and shifting right
           (tg_rdbpot(e, 12), tg_srdhm(reciprocal, e), tg_rdbpot(..., out_exponent)) */
        for (c = 0; c < depth; ++c) {
            const int32_t diff = (int32_t)in_row[c] - max_in_row;
            if (diff >= diff_min) {
                const uint32_t e = (uint32_t)tg_softmax_exp(diff, input_mult, input_left_shift);
                sum_of_exps += (e + (1u << (TG_SOFTMAX_ACCUM_BITS - 1))) >> TG_SOFTMAX_ACCUM_BITS;
            }
        }
        uint32_t reciprocal = (uint32_t)tg_fp_reciprocal((int32_t)sum_of_exps, TG_SOFTMAX_ACCUM_BITS,
                                                         &num_bits_over_unit);
        int32_t out_exponent = num_bits_over_unit + 31 - 8;
        if (out_exponent > 31) {
            /* 512 or more classes near the maximum: every product rounds to 0 (an int32 shifted by 32
               or more would be undefined), as it does with a zero reciprocal */
            reciprocal = 0;
            out_exponent = 31;
        }
        const uint32_t half = 1u << (out_exponent - 1); /* out_exponent >= 23 */
        for (c = 0; c < depth; ++c) {
            const int32_t diff = (int32_t)in_row[c] - max_in_row;
            int32_t out = INT8_MIN;
            if (diff >= diff_min) {
                const uint32_t e = (uint32_t)tg_softmax_exp(diff, input_mult, input_left_shift);
                const uint32_t scaled = (uint32_t)(((uint64_t)reciprocal * e + (1u << 30)) >> 31);
                out = TG_MIN((int32_t)((scaled + half) >> out_exponent) + INT8_MIN, INT8_MAX);
            }
            out_row[c] = (int8_t)out;
        }
    }
    return TG_OK;
}
