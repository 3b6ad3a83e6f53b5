/* tinygen runtime: fixed-point requantization shared by every kernel.
 *
 * Mirrors tinygen/quant/qmath.py line for line (TFLM's default double rounding):
 *   out = RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x << left, mult), right)
 * with left = max(shift, 0), right = max(-shift, 0), mult in [2^30, 2^31).
 * Relies on arithmetic right shift of negative values (true of every Cortex-M compiler).
 */
#ifndef TG_COMMON_H
#define TG_COMMON_H

#include <stdint.h>
#include <stddef.h>

#define TG_OK 0
#define TG_ERROR 1

#define TG_MIN(a, b) ((a) < (b) ? (a) : (b))
#define TG_MAX(a, b) ((a) > (b) ? (a) : (b))

/* A file-local helper kept out of line (GCC) where inlining it costs flash and saves no instructions */
#if defined(__GNUC__)
#define TG_OUTLINE static __attribute__((noinline, unused))
#else
#define TG_OUTLINE static inline
#endif

/* SaturatingRoundingDoublingHighMul: (a * b * 2 + 2^31 rounding) >> 32, saturating INT32_MIN^2. */
static inline int32_t tg_srdhm(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t nudge = ab >= 0 ? (int64_t)(1 << 30) : (int64_t)(1 - (1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* Divide by 2^exponent, rounding to nearest with ties away from zero. */
static inline int32_t tg_rdbpot(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * real_multiplier, where real_multiplier = mult * 2^(shift - 31). */
static inline int32_t tg_requantize(int32_t x, int32_t mult, int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    return tg_rdbpot(tg_srdhm((int32_t)((uint32_t)x << left), mult), right);
}

/* round(x / scale) half away from zero, the float32 division widened exactly to double and the
 * quotient limited to +-1e9 (NaN to -1e9) so it fits int32: what QUANTIZE does before its zero point. */
static inline int32_t tg_quantize_value(float x, float scale)
{
    double q = (double)(x / scale);
    if (!(q > -1e9)) {
        q = -1e9;
    }
    if (q > 1e9) {
        q = 1e9;
    }
    return q >= 0.0 ? (int32_t)(q + 0.5) : -(int32_t)(-q + 0.5);
}

static inline int32_t tg_clamp(int32_t x, int32_t lo, int32_t hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

#endif /* TG_COMMON_H */
