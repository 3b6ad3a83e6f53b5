/* tinygen runtime: int16 ADD / SUB of two same-shape tensors with zero points 0 (16x8 models), equal to
 * tg_add_s16 / tg_sub_s16 (TFLM's general-scale int16 path) with fewer instructions. The lowering
 * (tinygen/lower/int16_fast.py) takes it only where these identities hold, proven from the constants:
 *
 *   inputs:  tg_requantize(q << 15, m, -e) = rdbpot(srdhm(q << 15, m), e), and
 *            srdhm(q << 15, m) = (q * 2^15 * m + 2^30) >> 31 = (q * 2^16 * m + 2^31) >> 32 = mulhr(q << 16, m)
 *            (srdhm rounds half up for both signs; its saturating case needs q << 15 = INT32_MIN, impossible)
 *   sum:     raw = a +- b lies in [-2^30, 2^30) (checked from the multipliers at q = -32768 and 32767),
 *            so srdhm(raw, m_out) = mulhr(2 * raw, m_out)
 *   rounding: rdbpot(y, e) = (y + 2^(e-1) - (y < 0 && e > 0)) >> e for |y| <= 2^30, e <= 29
 *
 * mulhr(a, b) = (a * b + 2^31) >> 32 is one SMMULR on a core with the DSP extension. Per element i < size:
 *   out[i] = clamp(rdbpot(mulhr(2 * (a +- b), out_mult), out_exp), act_min, act_max),
 *   a = rdbpot(mulhr(in1[i] << 16, in1_mult), in1_exp), b likewise; sub != 0 gives a - b.
 * Exponents are right shifts (0 .. 29). No scratch. Returns TG_OK.
 */
#ifndef TG_ADD_S16_FAST_H
#define TG_ADD_S16_FAST_H

#include "tg_common.h"

int tg_add_s16_fast(int32_t sub, int32_t in1_mult, int32_t in1_exp, int32_t in2_mult, int32_t in2_exp,
    int32_t out_mult, int32_t out_exp, int32_t act_min, int32_t act_max, int32_t size, const int16_t *input1,
    const int16_t *input2, int16_t *output);

#endif /* TG_ADD_S16_FAST_H */
