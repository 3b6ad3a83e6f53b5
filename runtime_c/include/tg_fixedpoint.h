/* tinygen runtime: gemmlowp-style fixed-point nonlinearities, as TFLM's integer kernels use them.
 *
 * Mirrors tinygen/quant/fixedpoint.py function for function. A raw int32 value in format Q(ib)
 * means real = raw / 2^(31 - ib); the Q0 "one" is INT32_MAX. Additions wrap (two's complement)
 * through uint32_t so no step relies on signed overflow. Builds on tg_common.h's tg_srdhm and
 * tg_rdbpot (rounding right shift, ties away from zero).
 */
#ifndef TG_FIXEDPOINT_H
#define TG_FIXEDPOINT_H

#include "tg_common.h"

static inline int32_t tg_fp_add(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

static inline int32_t tg_fp_sub(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a - (uint32_t)b);
}

/* x * 2^exponent: saturating left shift (exponent > 0) or rounding right shift (exponent < 0). */
static inline int32_t tg_fp_mul_pot(int32_t x, int32_t exponent)
{
    if (exponent < 0) {
        return tg_rdbpot(x, -exponent);
    }
    if (exponent > 0) {
        const int32_t threshold = (int32_t)(((int32_t)1 << (31 - exponent)) - 1);
        if (x > threshold) {
            return INT32_MAX;
        }
        if (x < -threshold) {
            return INT32_MIN;
        }
        return (int32_t)((uint32_t)x << exponent);
    }
    return x;
}

/* (a + b) / 2, rounded to nearest with ties away from zero. */
static inline int32_t tg_fp_rounding_half_sum(int32_t a, int32_t b)
{
    const int64_t sum = (int64_t)a + (int64_t)b;
    return (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
}

/* exp(a) for Q0 a in [-1/4, 0): 4th-order Taylor series around -1/8. */
static inline int32_t tg_fp_exp_on_interval_neg_quarter(int32_t a)
{
    const int32_t exp_minus_eighth = 1895147668; /* exp(-1/8) in Q0.31 */
    const int32_t one_third = 715827883;         /* 1/3 in Q0.31 */
    const int32_t x = tg_fp_add(a, (int32_t)1 << 28);
    const int32_t x2 = tg_srdhm(x, x);
    const int32_t x3 = tg_srdhm(x2, x);
    const int32_t x4 = tg_srdhm(x2, x2);
    const int32_t x4_over_4 = tg_fp_mul_pot(x4, -2);
    const int32_t poly = tg_fp_mul_pot(tg_fp_add(tg_srdhm(tg_fp_add(x4_over_4, x3), one_third), x2), -1);
    return tg_fp_add(exp_minus_eighth, tg_srdhm(exp_minus_eighth, tg_fp_add(x, poly)));
}

/* exp(a) in Q0 for a <= 0 given in Q(integer_bits): the fraction modulo 1/4 goes through the
 * Taylor series, each set bit of the rest multiplies in exp(-2^k), k = -2..4. */
static inline int32_t tg_fp_exp_on_negative_values(int32_t a, int32_t integer_bits)
{
    static const int32_t barrel_mult[7] = {1672461947, 1302514674, 790015084, 290630308,
                                           39332535, 720401, 242};
    const int32_t frac_bits = 31 - integer_bits;
    const int32_t quarter = (int32_t)1 << (frac_bits - 2);
    const int32_t a_mod_quarter_minus_quarter = tg_fp_sub(a & (quarter - 1), quarter);
    int32_t result = tg_fp_exp_on_interval_neg_quarter(
        tg_fp_mul_pot(a_mod_quarter_minus_quarter, integer_bits));
    const int32_t remainder = tg_fp_sub(a_mod_quarter_minus_quarter, a);
    int32_t k;
    for (k = -2; k <= 4; ++k) {
        if (integer_bits > k && ((remainder >> (frac_bits + k)) & 1) != 0) {
            result = tg_srdhm(result, barrel_mult[k + 2]);
        }
    }
    if (integer_bits > 5 && a < -((int32_t)1 << (36 - integer_bits))) {
        result = 0;
    }
    return a == 0 ? INT32_MAX : result;
}

/* Q2 approximation of 2 / (1 + a) for Q0 a in [0, 1): three Newton-Raphson steps from 48/17 - 32/17 d. */
static inline int32_t tg_fp_newton_reciprocal_half(int32_t a)
{
    const int32_t q2_one = (int32_t)1 << 29;
    const int32_t half_denominator = tg_fp_rounding_half_sum(a, INT32_MAX);
    int32_t x = tg_fp_add(1515870810, tg_srdhm(half_denominator, -1010580540));
    int i;
    for (i = 0; i < 3; ++i) {
        const int32_t one_minus = tg_fp_sub(q2_one, tg_srdhm(half_denominator, x));
        x = tg_fp_add(x, tg_fp_mul_pot(tg_srdhm(x, one_minus), 2));
    }
    return x;
}

/* 1 / (1 + a) in Q0 for Q0 a in [0, 1). */
static inline int32_t tg_fp_one_over_one_plus_x(int32_t a)
{
    return tg_fp_mul_pot(tg_fp_newton_reciprocal_half(a), 1);
}

/* (1 - a) / (1 + a) in Q0 for Q0 a in [0, 1). */
static inline int32_t tg_fp_one_minus_x_over_one_plus_x(int32_t a)
{
    return tg_fp_mul_pot(tg_fp_sub(tg_fp_newton_reciprocal_half(a), (int32_t)1 << 29), 2);
}

/* 1 / (1 + exp(-a)) in Q0 for a in Q(integer_bits). */
static inline int32_t tg_fp_logistic(int32_t a, int32_t integer_bits)
{
    if (a == 0) {
        return (int32_t)1 << 30;
    }
    const int32_t abs_a = a > 0 ? a : tg_fp_sub(0, a);
    const int32_t if_positive =
        tg_fp_one_over_one_plus_x(tg_fp_exp_on_negative_values(tg_fp_sub(0, abs_a), integer_bits));
    return a > 0 ? if_positive : tg_fp_sub(INT32_MAX, if_positive);
}

/* tanh(a) in Q0 for a in Q(integer_bits); exp(-2|a|) reads the same raw bits as Q(integer_bits + 1). */
static inline int32_t tg_fp_tanh(int32_t a, int32_t integer_bits)
{
    if (a == 0) {
        return 0;
    }
    const int32_t neg_abs = a < 0 ? a : tg_fp_sub(0, a);
    const int32_t t =
        tg_fp_one_minus_x_over_one_plus_x(tg_fp_exp_on_negative_values(neg_abs, integer_bits + 1));
    return a < 0 ? tg_fp_sub(0, t) : t;
}

static inline int32_t tg_fp_clz32(uint32_t x)
{
    int32_t n = 0;
    if (x == 0U) {
        return 32;
    }
    while ((x & 0x80000000U) == 0U) {
        x <<= 1;
        ++n;
    }
    return n;
}

/* 1 / x in Q0 for a positive Q(integer_bits) x, with *num_bits_over_unit the power of two
 * still to divide by. */
static inline int32_t tg_fp_reciprocal(int32_t x, int32_t integer_bits, int32_t *num_bits_over_unit)
{
    const int32_t headroom_plus_one = tg_fp_clz32((uint32_t)x);
    *num_bits_over_unit = integer_bits - headroom_plus_one;
    const int32_t shifted_minus_one =
        (int32_t)(((uint32_t)x << headroom_plus_one) - ((uint32_t)1 << 31));
    return tg_fp_one_over_one_plus_x(shifted_minus_one);
}

/* ---- int16 variants (HARD_SWISH) ---------------------------------------------------------- */

/* 16-bit SaturatingRoundingDoublingHighMul. */
static inline int16_t tg_fp_srdhm16(int16_t a, int16_t b)
{
    if (a == INT16_MIN && b == INT16_MIN) {
        return INT16_MAX;
    }
    const int32_t ab = (int32_t)a * (int32_t)b;
    const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
    return (int16_t)((ab + nudge) / (1 << 15));
}

/* 16-bit doubling high multiply truncating toward zero. */
static inline int16_t tg_fp_sdhm16(int16_t a, int16_t b)
{
    if (a == INT16_MIN && b == INT16_MIN) {
        return INT16_MAX;
    }
    return (int16_t)(((int32_t)a * (int32_t)b) / (1 << 15));
}

/* Rounding right shift of an int16 value; the mask is narrowed to int16 like the int32 one. */
static inline int16_t tg_fp_rdbpot16(int16_t x, int32_t exponent)
{
    const int16_t mask = (int16_t)(((int64_t)1 << exponent) - 1);
    const int16_t remainder = (int16_t)(x & mask);
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (int16_t)((x >> exponent) + (remainder > threshold ? 1 : 0));
}

static inline int16_t tg_fp_sat_left_shift16(int16_t x, int32_t amount)
{
    const int64_t shifted = (int64_t)x * ((int64_t)1 << amount);
    return (int16_t)(shifted > INT16_MAX ? INT16_MAX : (shifted < INT16_MIN ? INT16_MIN : shifted));
}

#endif /* TG_FIXEDPOINT_H */
