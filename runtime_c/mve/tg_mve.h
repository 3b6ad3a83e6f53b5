/* tinygen runtime: what the Helium (MVE) kernels share.
 *
 * Two paths, chosen at compile time:
 *  - TG_HAS_MVE 1 (__ARM_FEATURE_MVE, e.g. -mcpu=cortex-m55): <arm_mve.h> intrinsics;
 *  - TG_HAS_MVE 0 (host builds, cores without MVE): plain C with the same arithmetic and bit-identical
 *    results, so host tests run the layouts and constants the device reads.
 *
 * Requantization records (tg_mve_rq4): per group of 4 output channels 16 int32, the 4 biases (input
 * offset folded in by the lowering), the 4 multipliers, the 4 left shifts (>= 0) and the 4 right shifts
 * stored negated (<= 0). The result is TFLM's MultiplyByQuantizedMultiplier with its double rounding:
 *   VSHL (wrapping left shift), VQRDMULH (the saturating rounding doubling high multiply: the same
 *   rounding as the reference for both signs), then a right shift rounding half away from zero, built
 *   as VRSHL (rounds half up) applied to x - 1 for negative x when the shift is non-zero.
 */
#ifndef TG_MVE_H
#define TG_MVE_H

#include "tg_common.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>
#define TG_HAS_MVE 1
#else
#define TG_HAS_MVE 0
#endif

#define TG_MVE_RQ_WORDS 16 /* int32 per group of 4 channels */

#if defined(__GNUC__)
#define TG_MVE_INLINE static inline __attribute__((always_inline))
#else
#define TG_MVE_INLINE static inline
#endif

#if TG_HAS_MVE

/* clamp(MBQM(acc) + output_offset, act_min, act_max) on 4 lanes; q: the group's record + 4; left 0: no
 * lane shifts left (the left-shift step is skipped) */
TG_MVE_INLINE int32x4_t tg_mve_rq4(int32x4_t acc, const int32_t *q, int left, int32_t output_offset,
    int32_t act_min, int32_t act_max)
{
    const int32x4_t right = vldrwq_s32(q + 8);
    int32x4_t v = vqrdmulhq_s32(left ? vshlq_s32(acc, vldrwq_s32(q + 4)) : acc, vldrwq_s32(q));
    v = vqaddq_s32(v, vshrq_n_s32(vandq_s32(v, right), 31));
    v = vaddq_n_s32(vrshlq_s32(v, right), output_offset);
    return vminq_s32(vmaxq_s32(v, vdupq_n_s32(act_min)), vdupq_n_s32(act_max));
}

#else

/* one lane of tg_mve_rq4: q points at the lane's multiplier (left shift at q[4], right at q[8]) */
static inline int32_t tg_mve_rq1(int32_t acc, const int32_t *q, int32_t output_offset, int32_t act_min,
    int32_t act_max)
{
    return tg_clamp(tg_requantize(acc, q[0], q[4] + q[8]) + output_offset, act_min, act_max);
}

#endif

#endif /* TG_MVE_H */
