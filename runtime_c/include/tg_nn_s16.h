/* tinygen runtime: helpers of the 16x8 kernels (int16 activations, int8 weights): the int64
 * requantize tg_requantize64 (tg_requant_s16.h), and
 *
 * tg_lut_s16: a 513-entry int16 table over the whole int16 input range, sampled every 128 values
 * and linearly interpolated between neighbours (the exp and 1/(1+x) tables of int16 SOFTMAX).
 */
#ifndef TG_NN_S16_H
#define TG_NN_S16_H

#include "tg_requant_s16.h"

static inline int16_t tg_lut_s16(int16_t value, const int16_t *lut)
{
    const int32_t index = 256 + (value >> 7);
    const int32_t frac = value & 0x7F;
    const int16_t base = lut[index];
    const int16_t step = (int16_t)(lut[index + 1] - base);
    return (int16_t)(base + (((int32_t)step * frac + 64) >> 7));
}

#endif /* TG_NN_S16_H */
