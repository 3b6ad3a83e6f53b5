/* tinygen runtime: the 16x8 requantization step (int64 accumulator -> int32), shared by the int16
 * convolution kernels.
 *
 * TFLM's MultiplyByQuantizedMultiplier for an int64 value (default double-rounding build): the
 * Q0.31 multiplier is first rounded to Q0.15 (saturating at 0x7FFF), then
 *   result = (x * reduced + 2^(total_shift - 1)) >> total_shift,  total_shift = 15 - shift,
 * one rounding (half up) by an arithmetic right shift. The int32 result wraps like TFLM's cast.
 * Valid for mult in [0, 2^31), shift <= 14 and |x| < 2^47 (the lowering checks the first two;
 * the bounds pass proves the third). Mirrored by tinygen/kernels/int16.py mbqm_int64.
 */
#ifndef TG_REQUANT_S16_H
#define TG_REQUANT_S16_H

#include "tg_common.h"

static inline int32_t tg_requantize64(int64_t x, int32_t mult, int32_t shift)
{
    const int64_t reduced = mult < 0x7FFF0000 ? (int64_t)((mult + (1 << 15)) >> 16) : (int64_t)0x7FFF;
    const int32_t total_shift = 15 - shift;
    const int64_t round = (int64_t)1 << (total_shift - 1);
    const int64_t result = (x * reduced + round) >> total_shift;
    return (int32_t)(uint32_t)(uint64_t)result;
}

/* The int16 output of channel c of the 16x8 conv / FC kernels:
 *   clamp(tg_requantize64(acc + bias[c], mult[k], shift[k]), act_min, act_max)
 * with k = c when per_channel != 0, else 0; bias may be NULL. */
static inline int16_t tg_finish_s16(int64_t acc, const int64_t *bias, int32_t c, const int32_t *mult,
                                    const int32_t *shift, int32_t per_channel, int32_t act_min,
                                    int32_t act_max)
{
    if (bias != NULL) {
        acc += bias[c];
    }
    const int32_t k = per_channel ? c : 0;
    return (int16_t)tg_clamp(tg_requantize64(acc, mult[k], shift[k]), act_min, act_max);
}

/* sum over i < n of x[i] * w[i]: each product fits int32 (|x| <= 2^15, |w| <= 2^7), the sum is int64 so
 * long rows cannot overflow */
static inline int64_t tg_dot_s16x8(const int16_t *x, const int8_t *w, int32_t n)
{
    int64_t row = 0;
    for (int32_t i = 0; i < n; ++i) {
        row += (int32_t)x[i] * (int32_t)w[i];
    }
    return row;
}

#endif /* TG_REQUANT_S16_H */
