/* tinygen runtime: the one SMLAD inner loop of 4 rows of pre-extended int16 weights (LSTM gates, SVDF
 * feature matrix, int8 BATCH_MATMUL against a packed quad of columns). Internal.
 *
 * tg_quad_groups(x, w, groups, acc, bytes): acc[r] += sum over `groups` (>= 1) groups of 4 values k of
 * x[k] * w_r[k], for the 4 rows r of one block. w: per group, per row, two int32 words of int16 lanes
 * (w0 | w2 << 16) and (w1 | w3 << 16), word aligned; returns w past the groups. The values x are either
 *   bytes == 0: already int16 pairs, per group the words (x0 | x2 << 16), (x1 | x3 << 16), word aligned
 *               (LDRD: 13 instructions for 16 MACs on the device), or
 *   bytes == 1: int8 values at any alignment, sign-extended in the loop (LDR, SXTB16, SXTB16 ROR 8:
 *               15 instructions for 16 MACs).
 * The sums wrap in int32 as SMLAD's do (the callers bound them). `bytes` is a constant at every call site,
 * so each call compiles to one of the two loops.
 */
#ifndef TG_SMLAD_QUAD_H
#define TG_SMLAD_QUAD_H

#include "tg_dsp.h"

#if TG_DSP_EMULATED

/* The device's assembly below, one statement per instruction (tg_dsp_emul.h) */
TG_ALWAYS_INLINE const int32_t *tg_quad_groups(const void *x, const int32_t *w, int32_t groups, int32_t acc[4],
                                               int32_t bytes)
{
    uint32_t a[4] = {(uint32_t)acc[0], (uint32_t)acc[1], (uint32_t)acc[2], (uint32_t)acc[3]};
    const uint8_t *p = (const uint8_t *)x;
    uint32_t n = (uint32_t)groups;
    do {
        uint32_t lo, hi;
        if (bytes) {
            lo = tg_emu_ldr(p);
            p += 4;                   /* ldr lo, [x], #4 */
            hi = tg_emu_sxtb16(lo, 8); /* sxtb16 hi, lo, ror #8 */
            lo = tg_emu_sxtb16(lo, 0); /* sxtb16 lo, lo */
        } else {
            tg_emu_ldrd(p, &lo, &hi);
            p += 8;                   /* ldrd lo, hi, [x], #8 */
        }
        tg_smlad_two_rows_emu(&w, lo, hi, &a[0], &a[1]);
        tg_smlad_two_rows_emu(&w, lo, hi, &a[2], &a[3]);
        n -= 1u;                      /* subs n, n, #1 */
    } while (n != 0u);                /* bne 1b */
    for (int32_t r = 0; r < 4; ++r) {
        acc[r] = tg_emu_s32(a[r]);
    }
    return w;
}

#elif TG_HAS_DSP

#define TG_QUAD_LOAD_PAIRS "ldrd %[lo], %[hi], [%[x]], #8\n\t"
#define TG_QUAD_LOAD_BYTES "ldr %[lo], [%[x]], #4\n\tsxtb16 %[hi], %[lo], ror #8\n\tsxtb16 %[lo], %[lo]\n\t"
#define TG_QUAD_LOOP(load)                                                                                    \
    __asm__ volatile("1:\n\t" load TG_SMLAD_TWO_ROWS("a0", "a1", "lo", "hi")                                  \
                         TG_SMLAD_TWO_ROWS("a2", "a3", "lo", "hi") "subs %[n], %[n], #1\n\t"                 \
                                                                   "bne 1b\n\t"                               \
                     : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(p), [w] "+r"(w),  \
                       [n] "+r"(groups), [lo] "=&r"(lo), [hi] "=&r"(hi)                                       \
                     :                                                                                        \
                     : "r8", "r9", "r10", "r11", "cc", "memory")

TG_ALWAYS_INLINE const int32_t *tg_quad_groups(const void *x, const int32_t *w, int32_t groups, int32_t acc[4],
                                               int32_t bytes)
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    const uint8_t *p = (const uint8_t *)x;
    uint32_t lo, hi;
    if (bytes) {
        TG_QUAD_LOOP(TG_QUAD_LOAD_BYTES);
    } else {
        TG_QUAD_LOOP(TG_QUAD_LOAD_PAIRS);
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
    return w;
}

#else

TG_ALWAYS_INLINE const int32_t *tg_quad_groups(const void *x, const int32_t *w, int32_t groups, int32_t acc[4],
                                               int32_t bytes)
{
    int32_t a[4];
    const uint8_t *p = (const uint8_t *)x;
    for (int32_t r = 0; r < 4; ++r) {
        a[r] = acc[r];
    }
    for (int32_t k = 0; k < groups; ++k, w += 8) {
        uint32_t lo, hi;
        if (bytes) {
            const uint32_t v = tg_read_u32(p);
            lo = tg_sxtb16(v);
            hi = tg_sxtb16_r8(v);
            p += 4;
        } else {
            lo = tg_read_u32(p);
            hi = tg_read_u32(p + 4);
            p += 8;
        }
        for (int32_t r = 0; r < 4; ++r) {
            a[r] = tg_smlad((uint32_t)w[2 * r], lo, a[r]);
            a[r] = tg_smlad((uint32_t)w[2 * r + 1], hi, a[r]);
        }
    }
    for (int32_t r = 0; r < 4; ++r) {
        acc[r] = a[r];
    }
    return w;
}

#endif

/* n int8 values -> per group of 4: (v0 | v2 << 16), (v1 | v3 << 16) as int16 lanes, zero padded: the
 * pairs of tg_quad_groups(..., bytes = 0) */
static inline void tg_quad_pairs_s8(const int8_t *src, int32_t n, uint32_t *dst)
{
    int32_t k = 0;
    for (; k + 4 <= n; k += 4) {
        const uint32_t word = tg_read_u32(src + k);
        *dst++ = tg_sxtb16(word);
        *dst++ = tg_sxtb16_r8(word);
    }
    if (k < n) {
        int8_t tail[4] = {0, 0, 0, 0};
        for (int32_t j = 0; k + j < n; ++j) {
            tail[j] = src[k + j];
        }
        const uint32_t word = tg_read_u32(tail);
        dst[0] = tg_sxtb16(word);
        dst[1] = tg_sxtb16_r8(word);
    }
}

#endif /* TG_SMLAD_QUAD_H */
