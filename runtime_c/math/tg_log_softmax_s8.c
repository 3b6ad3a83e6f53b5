/* tinygen runtime: int8 LOG_SOFTMAX; contract in tg_math_norm.h. */
#include "tg_math_norm.h"
#include "tg_fixedpoint.h"

#define TG_DIFF_BITS 5
#define TG_ACCUM_BITS 12

static inline int32_t tg_sat_add(int32_t a, int32_t b)
{
    const int64_t s = (int64_t)a + (int64_t)b;
    return s > INT32_MAX ? INT32_MAX : (s < INT32_MIN ? INT32_MIN : (int32_t)s);
}

/* log(x) in Q5.26 for x >= 1 in Q12.19, accumulated in Q6.25 (minimax rational approximation around
 * sqrt(sqrt(1/2)) after normalising x by powers of two and of sqrt(2)). */
static int32_t tg_log_q5(int32_t z_a)
{
    const int32_t accum_bits = TG_DIFF_BITS + 1;
    const int32_t log_2 = 1488522236, sqrt_sqrt_half = 1805811301, sqrt_half = 1518500250;
    const int32_t alpha_n = 117049297, alpha_d = 127690142, alpha_i = 1057819769, alpha_f = 638450708;
    const int32_t shifted_quarter = tg_rdbpot(536870912, accum_bits);
    const int32_t a_hp1 = tg_fp_clz32((uint32_t)z_a);
    const int32_t r_a = tg_fp_mul_pot(tg_srdhm(tg_fp_mul_pot(z_a, a_hp1 - 1), sqrt_half), 1);
    const int32_t a_adj = tg_sat_add(tg_fp_mul_pot(TG_ACCUM_BITS - a_hp1, 31 - accum_bits), shifted_quarter);
    const int32_t z_b = tg_srdhm(z_a, sqrt_half);
    const int32_t b_hr = tg_fp_clz32((uint32_t)z_b) - 1;
    const int32_t r_b = tg_fp_mul_pot(z_a, b_hr);
    const int32_t b_adj = tg_sat_add(tg_fp_mul_pot(TG_ACCUM_BITS - b_hr, 31 - accum_bits), -shifted_quarter);
    const int32_t r = r_a < r_b ? r_a : r_b;
    const int32_t adj = a_adj > b_adj ? a_adj : b_adj;
    const int32_t p = tg_fp_rounding_half_sum(r, sqrt_sqrt_half);
    const int32_t q0 = tg_fp_sub(r, sqrt_sqrt_half);
    const int32_t q = tg_fp_add(q0, q0);
    const int32_t sq = tg_srdhm(q, q);
    const int32_t num = tg_fp_add(tg_srdhm(q, r), tg_srdhm(tg_srdhm(q, sq), alpha_n));
    const int32_t denom = tg_fp_add(tg_srdhm(p, tg_fp_add(tg_fp_add(alpha_i, q), tg_srdhm(alpha_d, sq))),
                                    tg_srdhm(alpha_f, q));
    const int32_t recip = tg_fp_one_over_one_plus_x(denom);
    const int32_t num_scaled = tg_rdbpot(num, accum_bits);
    return tg_fp_mul_pot(tg_fp_add(tg_srdhm(adj, log_2), tg_srdhm(num_scaled, recip)), 1);
}

int tg_log_softmax_s8(int32_t mult, int32_t shift, int32_t rev_mult, int32_t rev_shift, int32_t diff_min,
    int32_t rows, int32_t depth, const int8_t *input, int8_t *output)
{
    for (int32_t r = 0; r < rows; ++r) {
        const int8_t *x = input + (ptrdiff_t)r * depth;
        int8_t *y = output + (ptrdiff_t)r * depth;
        int32_t max_in_row = -128;
        for (int32_t c = 0; c < depth; ++c) {
            max_in_row = x[c] > max_in_row ? x[c] : max_in_row;
        }
        int32_t sum = 0;
        for (int32_t c = 0; c < depth; ++c) {
            const int32_t diff = (int32_t)x[c] - max_in_row;
            if (diff >= diff_min) {
                const int32_t q5 = tg_requantize(diff, mult, shift);
                sum = tg_fp_add(sum, tg_rdbpot(tg_fp_exp_on_negative_values(q5, TG_DIFF_BITS), TG_ACCUM_BITS));
            }
        }
        const int32_t log_sum = tg_log_q5(sum);
        const int32_t reversed = tg_requantize(tg_fp_add(log_sum, INT32_MIN), rev_mult, rev_shift);
        const int32_t adjusted = diff_min - 1 > reversed ? diff_min - 1 : reversed;
        for (int32_t c = 0; c < depth; ++c) {
            const int32_t diff = (int32_t)x[c] - max_in_row;
            if (diff > adjusted) {
                const int32_t q5 = tg_requantize(diff, mult, shift);
                const int32_t out = tg_rdbpot(tg_fp_sub(q5, log_sum), 31 - TG_DIFF_BITS - 4) + 127;
                y[c] = (int8_t)tg_clamp(out, -128, 127);
            } else {
                y[c] = -128;
            }
        }
    }
    return TG_OK;
}
