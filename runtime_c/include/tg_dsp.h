/* tinygen runtime: the few Armv7E-M DSP (SIMD) operations the fast kernels use, plus a fast
 * requantizer for right-shifting multipliers.
 *
 * Two kernel paths, chosen at compile time:
 *  - the device path (TG_HAS_DSP 1): with __ARM_FEATURE_DSP (Cortex-M4/M7/M33/M55) the operations map
 *    to single instructions through <arm_acle.h> and inline assembly;
 *  - the portable path (TG_HAS_DSP 0: Cortex-M0+/M3, default host builds): plain C with bit-identical
 *    results.
 * A host build defining TG_EMULATE_DSP=1 compiles the device path, with every instruction and every
 * inline assembly block replaced by its C model from tg_dsp_emul.h (TG_DSP_EMULATED 1), so host
 * tests, sanitizers and the fuzzer run the code the device runs. The emulation never changes what a
 * Cortex-M build compiles.
 *
 *   tg_sxtb16(x)      (int16)x[7:0]  | (int16)x[23:16] << 16       SXTB16
 *   tg_sxtb16_r8(x)   (int16)x[15:8] | (int16)x[31:24] << 16       SXTB16 x, ROR #8
 *   tg_sxtab16(a, x)  a + tg_sxtb16(x), per 16-bit lane              SXTAB16
 *   tg_sxtab16_r8(a,x) a + tg_sxtb16_r8(x), per 16-bit lane          SXTAB16 a, x, ROR #8
 *   tg_smlad(a,b,acc) acc + a.lo*b.lo + a.hi*b.hi (wraps mod 2^32)  SMLAD (the Q flag is never read)
 *   tg_smlabb(a,b,acc) acc + a.lo*b.lo;  tg_smlatt: acc + a.hi*b.hi  SMLABB / SMLATT
 *   tg_sxtah(acc, x)  acc + (int16)x.lo; tg_sxtah_hi: acc + (int16)x.hi  SXTAH (ROR #16)
 *   tg_read_u32(p)    4 bytes at p (any alignment; LDR)
 */
#ifndef TG_DSP_H
#define TG_DSP_H

#include <string.h>

#include "tg_common.h"

#if defined(TG_EMULATE_DSP) && TG_EMULATE_DSP
#include "tg_dsp_emul.h"
#define TG_HAS_DSP 1
#define TG_DSP_EMULATED 1
#elif defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
#define TG_HAS_DSP 1
#define TG_DSP_EMULATED 0
#else
#define TG_HAS_DSP 0
#define TG_DSP_EMULATED 0
#endif

#if defined(__GNUC__)
#define TG_ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define TG_ALWAYS_INLINE static inline
#endif

static inline uint32_t tg_read_u32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

#if TG_DSP_EMULATED

static inline uint32_t tg_sxtb16(uint32_t x)
{
    return tg_emu_sxtb16(x, 0); /* SXTB16 */
}

static inline uint32_t tg_sxtb16_r8(uint32_t x)
{
    return tg_emu_sxtb16(x, 8); /* SXTB16 x, ROR #8 */
}

static inline int32_t tg_smlad(uint32_t a, uint32_t b, int32_t acc)
{
    return tg_emu_s32(tg_emu_smlad(a, b, (uint32_t)acc)); /* SMLAD */
}

static inline uint32_t tg_sxtab16(uint32_t a, uint32_t x)
{
    return tg_emu_sxtab16(a, x, 0); /* SXTAB16 */
}

static inline int32_t tg_smlabb(uint32_t a, uint32_t b, int32_t acc)
{
    return tg_emu_s32(tg_emu_smlabb(a, b, (uint32_t)acc)); /* SMLABB */
}

static inline int32_t tg_sxtah(int32_t acc, uint32_t x)
{
    return tg_emu_s32(tg_emu_sxtah((uint32_t)acc, x, 0)); /* SXTAH */
}

static inline int32_t tg_sxtah_hi(int32_t acc, uint32_t x)
{
    return tg_emu_s32(tg_emu_sxtah((uint32_t)acc, x, 16)); /* SXTAH acc, x, ROR #16 */
}

static inline int32_t tg_smlatt(uint32_t a, uint32_t b, int32_t acc)
{
    return tg_emu_s32(tg_emu_smlatt(a, b, (uint32_t)acc)); /* SMLATT */
}

static inline uint32_t tg_sxtab16_r8(uint32_t a, uint32_t x)
{
    return tg_emu_sxtab16(a, x, 8); /* SXTAB16 a, x, ROR #8 */
}

#elif TG_HAS_DSP

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

static inline uint32_t tg_sxtab16(uint32_t a, uint32_t x)
{
    return (uint32_t)__sxtab16((int32_t)a, (int32_t)x);
}

static inline int32_t tg_smlabb(uint32_t a, uint32_t b, int32_t acc)
{
    return __smlabb((int32_t)a, (int32_t)b, acc);
}

static inline int32_t tg_sxtah(int32_t acc, uint32_t x)
{
    int32_t r;
    __asm__("sxtah %0, %1, %2" : "=r"(r) : "r"(acc), "r"(x));
    return r;
}

static inline int32_t tg_sxtah_hi(int32_t acc, uint32_t x)
{
    int32_t r;
    __asm__("sxtah %0, %1, %2, ror #16" : "=r"(r) : "r"(acc), "r"(x));
    return r;
}

static inline int32_t tg_smlatt(uint32_t a, uint32_t b, int32_t acc)
{
    return __smlatt((int32_t)a, (int32_t)b, acc);
}

static inline uint32_t tg_sxtab16_r8(uint32_t a, uint32_t x)
{
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
    return r;
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

/* per 16-bit lane: a + b, wrapping within the lane */
static inline uint32_t tg_add16_lanes(uint32_t a, uint32_t b)
{
    return ((a + b) & 0xFFFFu) | (((a >> 16) + (b >> 16)) << 16);
}

static inline uint32_t tg_sxtab16(uint32_t a, uint32_t x)
{
    return tg_add16_lanes(a, tg_sxtb16(x));
}

static inline uint32_t tg_sxtab16_r8(uint32_t a, uint32_t x)
{
    return tg_add16_lanes(a, tg_sxtb16_r8(x));
}

static inline int32_t tg_sxtah(int32_t acc, uint32_t x)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(int32_t)(int16_t)(x & 0xFFFFu));
}

static inline int32_t tg_sxtah_hi(int32_t acc, uint32_t x)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(int32_t)(int16_t)(x >> 16));
}

static inline int32_t tg_smlabb(uint32_t a, uint32_t b, int32_t acc)
{
    const int32_t p = (int32_t)(int16_t)(a & 0xFFFFu) * (int32_t)(int16_t)(b & 0xFFFFu);
    return (int32_t)((uint32_t)acc + (uint32_t)p);
}

static inline int32_t tg_smlatt(uint32_t a, uint32_t b, int32_t acc)
{
    const int32_t p = (int32_t)(int16_t)(a >> 16) * (int32_t)(int16_t)(b >> 16);
    return (int32_t)((uint32_t)acc + (uint32_t)p);
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


/* Per-channel requantization records of the fast kernels (tinygen/kernels/fast.py: requant_records),
 * grouped by 4 channels: the 4 biases first (bias + input_offset * the channel's weight sum), then one
 * record of rq_words - 1 int32 per channel.
 * TG_RQ_RS (every shift a right shift): mult, 2^30 + 2^(30 + rshift) as low and high words,
 * rshift - 1:    out = hi32(acc * mult + round - [acc < 0] * 2^31) >> (rshift - 1).
 * TG_RQ_GEN: mult, round low, round high, post shift, pre shift, sign mask; a channel with a right
 * shift has pre 0 and mask -1 (as above); a channel with left shift L >= 0 has round 2^31, post 0,
 * pre L + 1 and mask 0: out = hi32((acc << (L + 1)) * mult + 2^31), which is TFLM's
 * SRDHM(acc << L, mult) as long as acc << (L + 1) does not overflow (checked offline).
 * rq_words (5 or 7) counts the bias, so a group of 4 channels is 4 * rq_words int32. */
#define TG_RQ_RS 5
#define TG_RQ_GEN 7

/* One channel: acc (bias included) -> the requantized value before the output offset; r is the
 * channel's record (after the biases). */
static inline int32_t tg_rq_apply(int32_t acc, const int32_t *r, int32_t words)
{
    int32_t x = acc;
    int32_t sign = acc >> 31;
    if (words == TG_RQ_GEN) {
        x = (int32_t)((uint32_t)acc << r[4]);
        sign = (x >> 31) & r[5];
    }
#if TG_DSP_EMULATED
    /* the instructions of the assembly below, one statement each */
    uint32_t lo = (uint32_t)r[1], hi = (uint32_t)r[2], c;
    lo = tg_emu_adds(lo, (uint32_t)sign << 31, &c); /* adds lo, lo, s, lsl #31 */
    hi = tg_emu_adc(hi, (uint32_t)sign, c);          /* adc hi, hi, s */
    tg_emu_smlal(&lo, &hi, (uint32_t)x, (uint32_t)r[0]); /* smlal lo, hi, x, m */
    return tg_emu_s32(hi) >> r[3];
#elif TG_HAS_DSP
    /* the 64-bit round - [x < 0] * 2^31, then SMLAL: 4 instructions */
    uint32_t lo = (uint32_t)r[1];
    int32_t hi = r[2];
    __asm__("adds %[lo], %[lo], %[s], lsl #31\n\t"
            "adc %[hi], %[hi], %[s]\n\t"
            "smlal %[lo], %[hi], %[x], %[m]"
            : [lo] "+&r"(lo), [hi] "+&r"(hi)
            : [s] "r"(sign), [x] "r"(x), [m] "r"(r[0])
            : "cc");
    return hi >> r[3];
#else
    const int64_t round = (int64_t)(((uint64_t)(uint32_t)r[2] << 32) | (uint32_t)r[1]) + ((int64_t)sign * ((int64_t)1 << 31));
    const int64_t prod = (int64_t)x * r[0] + round;
    return (int32_t)(prod >> 32) >> r[3];
#endif
}

#if TG_DSP_EMULATED
/* The device's tg_rq_next below, its assembly modelled one instruction per statement. */
TG_ALWAYS_INLINE int32_t tg_rq_next(int32_t acc, const int32_t **r, int32_t words)
{
    const int32_t *p = *r;
    uint32_t x = (uint32_t)acc, m, lo, hi, sh, s, c;
    if (words == TG_RQ_GEN) {
        uint32_t pre, mask;
        tg_emu_ldrd(p, &m, &lo);
        p += 2;                                 /* ldrd m, lo, [p], #8 */
        tg_emu_ldrd(p, &hi, &sh);
        p += 2;                                 /* ldrd hi, sh, [p], #8 */
        tg_emu_ldrd(p, &pre, &mask);
        p += 2;                                 /* ldrd pre, mask, [p], #8 */
        x = tg_emu_lsl_reg(x, pre);             /* lsl x, x, pre */
        s = mask & tg_emu_asr(x, 31);           /* and s, mask, x, asr #31 */
        lo = tg_emu_adds(lo, s << 31, &c);      /* adds lo, lo, s, lsl #31 */
        hi = tg_emu_adc(hi, s, c);              /* adc hi, hi, s */
        tg_emu_smlal(&lo, &hi, x, m);           /* smlal lo, hi, x, m */
        hi = tg_emu_asr_reg(hi, sh);            /* asr hi, hi, sh */
    } else {
        tg_emu_ldrd(p, &m, &lo);
        p += 2;                                 /* ldrd m, lo, [p], #8 */
        tg_emu_ldrd(p, &hi, &sh);
        p += 2;                                 /* ldrd hi, sh, [p], #8 */
        s = tg_emu_asr(x, 31);                  /* asr s, x, #31 */
        lo = tg_emu_adds(lo, s << 31, &c);      /* adds lo, lo, s, lsl #31 */
        hi = tg_emu_adc(hi, s, c);              /* adc hi, hi, s */
        tg_emu_smlal(&lo, &hi, x, m);           /* smlal lo, hi, x, m */
        hi = tg_emu_asr_reg(hi, sh);            /* asr hi, hi, sh */
    }
    *r = p;
    return tg_emu_s32(hi);
}
#elif TG_HAS_DSP
/* tg_rq_apply on the record at *r, advancing *r past it (LDRD with write-back: no address arithmetic) */
TG_ALWAYS_INLINE int32_t tg_rq_next(int32_t acc, const int32_t **r, int32_t words)
{
    const int32_t *p = *r;
    int32_t m, lo, hi, sh, s;
    if (words == TG_RQ_GEN) {
        int32_t pre, mask;
        __asm__("ldrd %[m], %[lo], [%[p]], #8\n\t"
                "ldrd %[hi], %[sh], [%[p]], #8\n\t"
                "ldrd %[pre], %[mask], [%[p]], #8\n\t"
                "lsl %[x], %[x], %[pre]\n\t"
                "and %[s], %[mask], %[x], asr #31\n\t"
                "adds %[lo], %[lo], %[s], lsl #31\n\t"
                "adc %[hi], %[hi], %[s]\n\t"
                "smlal %[lo], %[hi], %[x], %[m]\n\t"
                "asr %[hi], %[hi], %[sh]"
                : [p] "+r"(p), [x] "+&r"(acc), [m] "=&r"(m), [lo] "=&r"(lo), [hi] "=&r"(hi), [sh] "=&r"(sh),
                  [s] "=&r"(s), [pre] "=&r"(pre), [mask] "=&r"(mask)
                :
                : "cc", "memory");
    } else {
        __asm__("ldrd %[m], %[lo], [%[p]], #8\n\t"
                "ldrd %[hi], %[sh], [%[p]], #8\n\t"
                "asr %[s], %[x], #31\n\t"
                "adds %[lo], %[lo], %[s], lsl #31\n\t"
                "adc %[hi], %[hi], %[s]\n\t"
                "smlal %[lo], %[hi], %[x], %[m]\n\t"
                "asr %[hi], %[hi], %[sh]"
                : [p] "+r"(p), [m] "=&r"(m), [lo] "=&r"(lo), [hi] "=&r"(hi), [sh] "=&r"(sh), [s] "=&r"(s)
                : [x] "r"(acc)
                : "cc", "memory");
    }
    *r = p;
    return hi;
}
#else
TG_ALWAYS_INLINE int32_t tg_rq_next(int32_t acc, const int32_t **r, int32_t words)
{
    const int32_t v = tg_rq_apply(acc, *r, words);
    *r += words - 1;
    return v;
}
#endif

/* Saturate 4 values to [act_min, act_max] (a sub-range of int8) and store them as 4 int8 at out. */
TG_ALWAYS_INLINE void tg_sat4_store(int32_t v0, int32_t v1, int32_t v2, int32_t v3, int32_t act_min, int32_t act_max,
                                    int8_t *out)
{
#if TG_DSP_EMULATED
    /* the device code below, instruction by instruction */
    uint32_t w = tg_emu_ssat(v0, 8);             /* ssat (__ssat(v0, 8)) */
    w = tg_emu_bfi(w, tg_emu_ssat(v1, 8), 8, 8);  /* bfi w, b1, #8, #8 */
    w = tg_emu_bfi(w, tg_emu_ssat(v2, 8), 16, 8); /* bfi w, b2, #16, #8 */
    w = tg_emu_bfi(w, tg_emu_ssat(v3, 8), 24, 8); /* bfi w, b3, #24, #8 */
    if (act_min > -128) {
        const uint32_t m = (uint32_t)(act_min & 0xFF) * 0x01010101u;
        uint32_t ge;
        (void)tg_emu_ssub8(w, m, &ge); /* ssub8 t, w, m */
        w = tg_emu_sel(w, m, ge);      /* sel w, w, m */
    }
    if (act_max < 127) {
        const uint32_t m = (uint32_t)(act_max & 0xFF) * 0x01010101u;
        uint32_t ge;
        (void)tg_emu_ssub8(m, w, &ge); /* ssub8 t, m, w */
        w = tg_emu_sel(w, m, ge);      /* sel w, w, m */
    }
    memcpy(out, &w, sizeof w);
#elif TG_HAS_DSP
    /* saturate to int8, pack 4 bytes, then the activation bounds bytewise (SSUB8 sets GE, SEL picks) */
    /* gcc's ACLE __ssat macro converts its own operands and trips -Wsign-conversion inside the
     * header's expansion; the values here are in range, so that warning is silenced for these lines. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-conversion"
    uint32_t w = (uint32_t)__ssat(v0, 8);
    __asm__("bfi %[w], %[b1], #8, #8\n\t"
            "bfi %[w], %[b2], #16, #8\n\t"
            "bfi %[w], %[b3], #24, #8"
            : [w] "+r"(w)
            : [b1] "r"(__ssat(v1, 8)), [b2] "r"(__ssat(v2, 8)), [b3] "r"(__ssat(v3, 8)));
#pragma GCC diagnostic pop
    if (act_min > -128) {
        const uint32_t m = (uint32_t)(act_min & 0xFF) * 0x01010101u;
        uint32_t t;
        __asm__("ssub8 %[t], %[w], %[m]\n\tsel %[w], %[w], %[m]" : [w] "+r"(w), [t] "=&r"(t) : [m] "r"(m) : "cc");
    }
    if (act_max < 127) {
        const uint32_t m = (uint32_t)(act_max & 0xFF) * 0x01010101u;
        uint32_t t;
        __asm__("ssub8 %[t], %[m], %[w]\n\tsel %[w], %[w], %[m]" : [w] "+r"(w), [t] "=&r"(t) : [m] "r"(m) : "cc");
    }
    memcpy(out, &w, sizeof w);
#else
    out[0] = (int8_t)tg_clamp(v0, act_min, act_max);
    out[1] = (int8_t)tg_clamp(v1, act_min, act_max);
    out[2] = (int8_t)tg_clamp(v2, act_min, act_max);
    out[3] = (int8_t)tg_clamp(v3, act_min, act_max);
#endif
}

/* Requantize the 4 accumulators of a channel group (records r, rq_words words each with the bias),
 * add the output offset, clamp to [act_min, act_max] and store 4 int8 at out. */
TG_ALWAYS_INLINE void tg_rq4_store(int32_t a0, int32_t a1, int32_t a2, int32_t a3, const int32_t *r, int32_t words,
                                   int32_t output_offset, int32_t act_min, int32_t act_max, int8_t *out)
{
    const int32_t v0 = tg_rq_next(a0, &r, words) + output_offset;
    const int32_t v1 = tg_rq_next(a1, &r, words) + output_offset;
    const int32_t v2 = tg_rq_next(a2, &r, words) + output_offset;
    const int32_t v3 = tg_rq_next(a3, &r, words) + output_offset;
    tg_sat4_store(v0, v1, v2, v3, act_min, act_max, out);
}

/* Two rows (a, b) of a 4-row block, one group of 4 values: the rows' packed weight words at w (two per
 * row, (w0 | w2 << 16) and (w1 | w3 << 16)) times the value pairs lo = (v0 | v2 << 16) and
 * hi = (v1 | v3 << 16). On the device, as assembly text for a loop with operands %[w] and the named ones: */
#define TG_SMLAD_TWO_ROWS(a, b, lo, hi) \
    "ldmia %[w]!, {r8, r9, r10, r11}\n\t" \
    "smlad %[" a "], r8, %[" lo "], %[" a "]\n\t" \
    "smlad %[" a "], r9, %[" hi "], %[" a "]\n\t" \
    "smlad %[" b "], r10, %[" lo "], %[" b "]\n\t" \
    "smlad %[" b "], r11, %[" hi "], %[" b "]\n\t"

#if TG_DSP_EMULATED
/* The same, one statement per instruction (tg_dsp_emul.h) */
TG_ALWAYS_INLINE void tg_smlad_two_rows_emu(const int32_t **w, uint32_t lo, uint32_t hi, uint32_t *a, uint32_t *b)
{
    uint32_t r8, r9, r10, r11;
    tg_emu_ldm4(*w, &r8, &r9, &r10, &r11);
    *w += 4;                        /* ldmia w!, {r8, r9, r10, r11} */
    *a = tg_emu_smlad(r8, lo, *a);  /* smlad a, r8, lo, a */
    *a = tg_emu_smlad(r9, hi, *a);  /* smlad a, r9, hi, a */
    *b = tg_emu_smlad(r10, lo, *b); /* smlad b, r10, lo, b */
    *b = tg_emu_smlad(r11, hi, *b); /* smlad b, r11, hi, b */
}
#endif

#endif /* TG_DSP_H */
