/* tinygen runtime: the low-bit kernels' own load helper. Internal.
 *
 *   TG_LB_LDRD(p, off, lo, hi)   lo, hi = the two words at (const char *)p + off (off a constant multiple
 *                                of 8 below 128; p word-aligned): one LDRD on an Arm core with the DSP
 *                                extension, two plain loads elsewhere (and under the DSP emulation).
 *   TG_LB_DW_ROW_DEV(r, xs, wp, off, off2, a0, a1, a2, a3)
 *                                (device only, when TG_LB_ASM) three depthwise taps of 4 channels, the
 *                                words at r, r + xs and r + 2 * xs against the doublewords at wp + off,
 *                                + off + 8, + off + 16: per tap SXTAB16 with off2 and its ROR #8 twin, then
 *                                SMLABB / SMLATT into a0, a2 and a1, a3. One asm statement, so the compiler
 *                                keeps the taps in order instead of hoisting every load and spilling.
 */
#ifndef TG_LOWBIT_SIMD_H
#define TG_LOWBIT_SIMD_H

#include "tg_dsp.h"

#if TG_HAS_DSP && !TG_DSP_EMULATED && defined(__GNUC__)
#define TG_LB_ASM 1
#define TG_LB_DW_TAP_ASM(addr, off)                \
    "ldr %[x], " addr "\n\t"                      \
    "ldrd %[wa], %[wb], [%[pw], #" off "]\n\t"    \
    "sxtab16 %[xa], %[o], %[x]\n\t"               \
    "sxtab16 %[x], %[o], %[x], ror #8\n\t"        \
    "smlabb %[c0], %[xa], %[wa], %[c0]\n\t"       \
    "smlatt %[c2], %[xa], %[wa], %[c2]\n\t"       \
    "smlabb %[c1], %[x], %[wb], %[c1]\n\t"        \
    "smlatt %[c3], %[x], %[wb], %[c3]\n\t"
#define TG_LB_DW_ROW_DEV(r, xs, wp, off0, off1, off2w, off2, a0, a1, a2, a3)                          \
    do {                                                                                          \
        uint32_t x_, xa_, wa_, wb_;                                                               \
        __asm__(TG_LB_DW_TAP_ASM("[%[pr]]", #off0) TG_LB_DW_TAP_ASM("[%[pr], %[xs]]", #off1)       \
                TG_LB_DW_TAP_ASM("[%[pr], %[xs], lsl #1]", #off2w)                                 \
                : [c0] "+r"(a0), [c1] "+r"(a1), [c2] "+r"(a2), [c3] "+r"(a3), [x] "=&r"(x_),        \
                  [xa] "=&r"(xa_), [wa] "=&r"(wa_), [wb] "=&r"(wb_)                                 \
                : [pr] "r"(r), [xs] "r"(xs), [pw] "r"(wp), [o] "r"(off2)                          \
                : "memory");                                                                      \
    } while (0)
#define TG_LB_LDRD(p, off, lo, hi) \
    __asm__("ldrd %0, %1, [%2, #" #off "]" : "=r"(lo), "=r"(hi) : "r"(p), "m"(*(const uint64_t(*)[16])(const void *)(p)))
#else
#define TG_LB_ASM 0
#define TG_LB_LDRD(p, off, lo, hi)                                           \
    do {                                                                     \
        (lo) = (uint32_t)((const uint64_t *)(const void *)(p))[(off) / 8];   \
        (hi) = (uint32_t)(((const uint64_t *)(const void *)(p))[(off) / 8] >> 32); \
    } while (0)
#endif

#endif /* TG_LOWBIT_SIMD_H */
