/* tinygen runtime: inverse square root multiplier shared by RSQRT and L2_NORMALIZATION.
 *
 * tg_inv_sqrt(v, &mult, &shift): 1 / sqrt(v) ~= mult * 2^(shift - 31) for v >= 0 (v <= 1 gives
 * INT32_MAX, 0). The value is normalised into [2^27, 2^29) by pairs of bits, then five Newton-Raphson
 * steps run in Q3.28 from 1.0, and the result is scaled by sqrt(2) / 2 (TFLM's arithmetic, bit for bit;
 * NumPy twin: tinygen/lower/math_ref.py inv_sqrt).
 */
#ifndef TG_INVSQRT_H
#define TG_INVSQRT_H

#include "tg_fixedpoint.h"

static inline void tg_inv_sqrt(int32_t v, int32_t *mult, int32_t *shift)
{
    if (v <= 1) {
        *mult = INT32_MAX;
        *shift = 0;
        return;
    }
    int32_t s = 11;
    if (v >= ((int32_t)1 << 29)) {
        v /= 4;
        ++s;
    }
    const int32_t pairs = (tg_fp_clz32((uint32_t)v) - 1) / 2 - 1;
    s -= pairs;
    v = (int32_t)((uint32_t)v << (2 * pairs));
    const int32_t half_in = tg_rdbpot(v >> 1, 1);
    const int32_t three_halves = ((int32_t)1 << 28) + ((int32_t)1 << 27);
    int32_t y = (int32_t)1 << 28;
    for (int k = 0; k < 5; ++k) {
        const int32_t y3 = tg_fp_mul_pot(tg_srdhm(tg_srdhm(y, y), y), 6);
        y = tg_fp_mul_pot(tg_fp_sub(tg_srdhm(three_halves, y), tg_srdhm(half_in, y3)), 3);
    }
    y = tg_srdhm(y, 1518500250);
    if (s < 0) {
        y = (int32_t)((uint32_t)y << -s);
        s = 0;
    }
    *mult = y;
    *shift = -s;
}

#endif /* TG_INVSQRT_H */
