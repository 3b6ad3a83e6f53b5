/* tinygen runtime: the few Armv7E-M DSP (SIMD) operations the fast kernels use, plus a fast
 * requantizer for right-shifting multipliers.
 *
 * With __ARM_FEATURE_DSP (Cortex-M4/M7/M33/M55) the operations map to single instructions through
 * <arm_acle.h>; otherwise (Cortex-M0+/M3, host tests) a portable C emulation gives bit-identical
 * results, so host tests exercise exactly the code paths of the target build.
 *
 *   tg_sxtb16(x)      (int16)x[7:0]  | (int16)x[23:16] << 16       SXTB16
 *   tg_sxtb16_r8(x)   (int16)x[15:8] | (int16)x[31:24] << 16       SXTB16 x, ROR #8
 *   tg_smlad(a,b,acc) acc + a.lo*b.lo + a.hi*b.hi (wraps mod 2^32)  SMLAD (the Q flag is never read)
 *   tg_read_u32(p)    4 bytes at p (any alignment; LDR)
 */
#ifndef TG_DSP_H
#define TG_DSP_H

#include <string.h>

#include "tg_common.h"

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
#define TG_HAS_DSP 1
#else
#define TG_HAS_DSP 0
#endif

static inline uint32_t tg_read_u32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

#if TG_HAS_DSP

static inline uint32_t tg_sxtb16(uint32_t x)
{
    return (uint32_t)__sxtb16((int32_t)x);
}

static inline uint32_t tg_sxtb16_r8(uint32_t x)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}

static inline int32_t tg_smlad(uint32_t a, uint32_t b, int32_t acc)
{
    return __smlad((int32_t)a, (int32_t)b, acc);
}

#else

static inline uint32_t tg_sxtb16(uint32_t x)
{
    const uint32_t lo = (uint32_t)(int32_t)(int8_t)(x & 0xFFu) & 0xFFFFu;
    const uint32_t hi = (uint32_t)(int32_t)(int8_t)((x >> 16) & 0xFFu) << 16;
    return lo | hi;
}

static inline uint32_t tg_sxtb16_r8(uint32_t x)
{
    return tg_sxtb16((x >> 8) | (x << 24));
}

static inline int32_t tg_smlad(uint32_t a, uint32_t b, int32_t acc)
{
    const int32_t p0 = (int32_t)(int16_t)(a & 0xFFFFu) * (int32_t)(int16_t)(b & 0xFFFFu);
    const int32_t p1 = (int32_t)(int16_t)(a >> 16) * (int32_t)(int16_t)(b >> 16);
    return (int32_t)((uint32_t)acc + (uint32_t)p0 + (uint32_t)p1);
}

#endif /* TG_HAS_DSP */

/* tg_requantize(x, mult, -rshift) for rshift >= 1 and 0 <= mult < 2^31, bit for bit, in one 64-bit
 * multiply-add. TFLM rounds twice: r1 = (x*mult + 2^30) >> 31 (SRDHM, exact for mult >= 0), then
 * r2 = round-half-away(r1 / 2^rshift). Folding the second rounding into the first:
 *   r2 = (x*mult + 2^30 + 2^(30+rshift) - [x < 0] * 2^31) >> (31 + rshift)
 * ([r1 < 0] may be replaced by [x < 0]: where they differ r1 is 0 and both give 0). */
static inline int32_t tg_requantize_rs(int32_t x, int32_t mult, int32_t rshift)
{
    const int64_t round = ((int64_t)1 << 30) + ((int64_t)1 << (30 + rshift)) - ((int64_t)(x < 0) << 31);
    const int64_t prod = (int64_t)x * mult + round;
    return (int32_t)(prod >> 32) >> (rshift - 1);
}


/* Per-channel requantization records of the fast kernels (tinygen/kernels/fast.py: requant_records).
 * TG_RQ_RS (every shift a right shift, 5 int32): bias, mult, 2^30 + 2^(30 + rshift) as low and high
 * words, rshift - 1:    out = hi32(acc * mult + round - [acc < 0] * 2^31) >> (rshift - 1).
 * TG_RQ_GEN (7 int32): bias, mult, round low, round high, post shift, pre shift, sign mask; a channel
 * with a right shift has pre 0 and mask -1 (as above); a channel with left shift L >= 0 has round
 * 2^31, post 0, pre L + 1 and mask 0: out = hi32((acc << (L + 1)) * mult + 2^31), which is TFLM's
 * SRDHM(acc << L, mult) as long as acc << (L + 1) does not overflow (checked offline). */
#define TG_RQ_RS 5
#define TG_RQ_GEN 7

static inline int32_t tg_rq_apply(int32_t acc, const int32_t *q, int32_t words)
{
    int32_t x = acc;
    int32_t sign = acc >> 31;
    if (words == TG_RQ_GEN) {
        x = (int32_t)((uint32_t)acc << q[5]);
        sign = (x >> 31) & q[6];
    }
    const int64_t round = (int64_t)(((uint64_t)(uint32_t)q[3] << 32) | (uint32_t)q[2]) + ((int64_t)sign << 31);
    const int64_t prod = (int64_t)x * q[1] + round;
    return (int32_t)(prod >> 32) >> q[4];
}

#endif /* TG_DSP_H */
