/* tinygen runtime: the low-bit kernels' own load helper. Internal.
 *
 *   TG_LB_LDRD(p, off, lo, hi)   lo, hi = the two words at (const char *)p + off (off a constant multiple
 *                                of 8 below 128; p word-aligned): one LDRD on an Arm core with the DSP
 *                                extension, two plain loads elsewhere (and under the DSP emulation).
 */
#ifndef TG_LOWBIT_SIMD_H
#define TG_LOWBIT_SIMD_H

#include "tg_dsp.h"

#if TG_HAS_DSP && !TG_DSP_EMULATED && defined(__GNUC__)
#define TG_LB_LDRD(p, off, lo, hi) \
    __asm__("ldrd %0, %1, [%2, #" #off "]" : "=r"(lo), "=r"(hi) : "r"(p), "m"(*(const uint64_t(*)[16])(const void *)(p)))
#else
#define TG_LB_LDRD(p, off, lo, hi)                                           \
    do {                                                                     \
        (lo) = (uint32_t)((const uint64_t *)(const void *)(p))[(off) / 8];   \
        (hi) = (uint32_t)(((const uint64_t *)(const void *)(p))[(off) / 8] >> 32); \
    } while (0)
#endif

#endif /* TG_LOWBIT_SIMD_H */
