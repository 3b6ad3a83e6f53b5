/* tinygen runtime: the per-pixel core of the fast int8 depthwise kernels; contract in
 * tg_depthwise_conv2d_s8_fast.h. */
#include "tg_depthwise_conv2d_s8_fast.h"

#include "tg_dsp.h"

#if TG_DSP_EMULATED

/* Half a step of TG_DW_GROUP: the weight pairs p, r (two channels) against v's two int8 pairs;
 * v is the register lo or hi, a and b the accumulators; returns the advanced weight address. */
static inline const uint32_t *half_emu(const uint32_t *w, uint32_t v, uint32_t *a, uint32_t *b)
{
    uint32_t p, r;
    tg_emu_ldrd(w, &p, &r);
    w += 2;                                   /* ldrd p, r, [w], #8 */
    const uint32_t x = tg_emu_sxtb16(v, 0);   /* sxtb16 x, v */
    *a = tg_emu_smlad(x, p, *a);              /* smlad a, x, p, a */
    v = tg_emu_sxtb16(v, 8);                  /* sxtb16 v, v, ror #8 */
    *b = tg_emu_smlad(v, r, *b);              /* smlad b, v, r, b */
    return w;
}

/* The device's TG_DW_GROUP below, its assembly modelled one instruction per statement (tg_dsp_emul.h);
 * the operands are bound to registers on entry and written back on exit, as the asm constraints do. */
#define TG_DW_GROUP(tap, c, w, pairs, a0, a1, a2, a3) \
    do { \
        const int8_t *const *t_ = (tap); \
        uint32_t n_ = (uint32_t)(pairs); \
        uint32_t a0_ = (uint32_t)(a0), a1_ = (uint32_t)(a1), a2_ = (uint32_t)(a2), a3_ = (uint32_t)(a3); \
        uint32_t p_, r_, lo_, hi_; \
        const int8_t *pa_, *ra_; \
        do { \
            tg_emu_ldrd_ptr(t_, &pa_, &ra_); \
            t_ += 2;                                  /* ldrd p, r, [t], #8 */ \
            p_ = tg_emu_ldr(pa_ + (c));               /* ldr p, [p, c] */ \
            r_ = tg_emu_ldr(ra_ + (c));               /* ldr r, [r, c] */ \
            lo_ = tg_emu_pkhbt(p_, r_, 16);           /* pkhbt lo, p, r, lsl #16 */ \
            hi_ = tg_emu_pkhtb(r_, p_, 16);           /* pkhtb hi, r, p, asr #16 */ \
            w = half_emu(w, lo_, &a0_, &a1_);         /* the lo half into a0, a1 */ \
            w = half_emu(w, hi_, &a2_, &a3_);         /* the hi half into a2, a3 */ \
            n_ -= 1u;                                 /* subs n, n, #1 */ \
        } while (n_ != 0u);                           /* bne 1b */ \
        a0 = tg_emu_s32(a0_); \
        a1 = tg_emu_s32(a1_); \
        a2 = tg_emu_s32(a2_); \
        a3 = tg_emu_s32(a3_); \
    } while (0)


/* SMLATB a, n, m: a + (top half of n) * (bottom half of m), as SMLATT with m's bottom half moved up */
static inline uint32_t smlatb_emu(uint32_t n, uint32_t m, uint32_t a)
{
    return tg_emu_smlatt(n, m << 16, a);
}

/* The device's TG_DW_GROUP_ODD below: TG_DW_GROUP, then the odd last tap (pointer tap[2 * pairs]) */
#define TG_DW_GROUP_ODD(tap, c, w, pairs, a0, a1, a2, a3) \
    do { \
        uint32_t po_, lt_, x_, y_, b0_, b1_, b2_, b3_; \
        TG_DW_GROUP(tap, c, w, pairs, a0, a1, a2, a3); \
        b0_ = (uint32_t)(a0), b1_ = (uint32_t)(a1), b2_ = (uint32_t)(a2), b3_ = (uint32_t)(a3); \
        po_ = tg_emu_ldr((tap)[2 * (pairs)] + (c));   /* ldr p, [t]; ldr p, [p, c] */ \
        tg_emu_ldrd(w, &x_, &y_); \
        w += 2;                                      /* ldrd x, y, [w], #8 */ \
        lt_ = tg_emu_sxtb16(po_, 0);                  /* sxtb16 lo, p */ \
        po_ = tg_emu_sxtb16(po_, 8);                   /* sxtb16 p, p, ror #8 */ \
        b0_ = tg_emu_smlabb(lt_, x_, b0_);           /* smlabb a0, lo, x, a0 */ \
        b1_ = tg_emu_smlabb(po_, y_, b1_);            /* smlabb a1, p, y, a1 */ \
        tg_emu_ldrd(w, &x_, &y_); \
        w += 2;                                      /* ldrd x, y, [w], #8 */ \
        b2_ = smlatb_emu(lt_, x_, b2_);              /* smlatb a2, lo, x, a2 */ \
        b3_ = smlatb_emu(po_, y_, b3_);               /* smlatb a3, p, y, a3 */ \
        a0 = tg_emu_s32(b0_); \
        a1 = tg_emu_s32(b1_); \
        a2 = tg_emu_s32(b2_); \
        a3 = tg_emu_s32(b3_); \
    } while (0)

/* the device's unrolled 9-tap group: the same instructions as 4 loop steps and the odd tap */
#define TG_DW_GROUP_9(tap, c, w, a0, a1, a2, a3) TG_DW_GROUP_ODD(tap, c, w, 4, a0, a1, a2, a3)

/* The device's TG_DW_GROUP_9_OFS below: TG_DW_GROUP_9 with the tap table holding byte offsets from base */
TG_ALWAYS_INLINE const uint32_t *group9_ofs_emu(const int32_t *o, const int8_t *base, const uint32_t *w,
                                                int32_t acc[4])
{
    uint32_t a[4] = {(uint32_t)acc[0], (uint32_t)acc[1], (uint32_t)acc[2], (uint32_t)acc[3]};
    uint32_t x, y;
    for (int32_t j = 0; j < 4; ++j) {
        uint32_t po, ro;
        tg_emu_ldrd(o, &po, &ro);
        o += 2;                                          /* ldrd p, r, [t], #8 */
        const uint32_t p = tg_emu_ldr(base + po);        /* ldr p, [p, c] */
        const uint32_t r = tg_emu_ldr(base + ro);        /* ldr r, [r, c] */
        const uint32_t lo = tg_emu_pkhbt(p, r, 16);      /* pkhbt lo, p, r, lsl #16 */
        const uint32_t hi = tg_emu_pkhtb(r, p, 16);      /* pkhtb hi, r, p, asr #16 */
        w = half_emu(w, lo, &a[0], &a[1]);
        w = half_emu(w, hi, &a[2], &a[3]);
    }
    uint32_t p = tg_emu_ldr(base + tg_emu_ldr(o)); /* ldr p, [t]; ldr p, [p, c] */
    tg_emu_ldrd(w, &x, &y);
    w += 2;                                    /* ldrd x, y, [w], #8 */
    const uint32_t lo = tg_emu_sxtb16(p, 0);   /* sxtb16 lo, p */
    p = tg_emu_sxtb16(p, 8);                   /* sxtb16 p, p, ror #8 */
    a[0] = tg_emu_smlabb(lo, x, a[0]);         /* smlabb a0, lo, x, a0 */
    a[1] = tg_emu_smlabb(p, y, a[1]);          /* smlabb a1, p, y, a1 */
    tg_emu_ldrd(w, &x, &y);
    w += 2;                                    /* ldrd x, y, [w], #8 */
    a[2] = smlatb_emu(lo, x, a[2]);            /* smlatb a2, lo, x, a2 */
    a[3] = smlatb_emu(p, y, a[3]);             /* smlatb a3, p, y, a3 */
    for (int32_t k = 0; k < 4; ++k) {
        acc[k] = tg_emu_s32(a[k]);
    }
    return w;
}

#define TG_DW_GROUP_9_OFS(offs, base, w, a0, a1, a2, a3) \
    do { \
        int32_t acc_[4] = {a0, a1, a2, a3}; \
        w = group9_ofs_emu(offs, base, w, acc_); \
        a0 = acc_[0]; \
        a1 = acc_[1]; \
        a2 = acc_[2]; \
        a3 = acc_[3]; \
    } while (0)

#elif TG_HAS_DSP

/* one tap pair: 4 channels x 2 taps into a0..a3 */
#define TG_DW_STEP_ASM \
    "ldrd %[p], %[r], [%[t]], #8\n\t" \
    "ldr %[p], [%[p], %[c]]\n\t" \
    "ldr %[r], [%[r], %[c]]\n\t" \
    "pkhbt %[lo], %[p], %[r], lsl #16\n\t" \
    "pkhtb %[hi], %[r], %[p], asr #16\n\t" \
    "ldrd %[p], %[r], [%[w]], #8\n\t" \
    "sxtb16 %[x], %[lo]\n\t" \
    "smlad %[a0], %[x], %[p], %[a0]\n\t" \
    "sxtb16 %[lo], %[lo], ror #8\n\t" \
    "smlad %[a1], %[lo], %[r], %[a1]\n\t" \
    "ldrd %[p], %[r], [%[w]], #8\n\t" \
    "sxtb16 %[x], %[hi]\n\t" \
    "smlad %[a2], %[x], %[p], %[a2]\n\t" \
    "sxtb16 %[hi], %[hi], ror #8\n\t" \
    "smlad %[a3], %[hi], %[r], %[a3]\n\t"

/* the loop of TG_DW_GROUP: `pairs` tap pairs (pointers at t) x the weight words at w */
#define TG_DW_LOOP_ASM "1:\n\t" TG_DW_STEP_ASM "subs %[n], %[n], #1\n\t" "bne 1b\n\t"

/* the odd last tap (pointer at t, after the loop): one SMLABB / SMLATB per channel on the low halves of
 * its 4 weight words (their high halves hold the zero weights of the missing partner) */
#define TG_DW_TAIL_ASM \
    "ldr %[p], [%[t]]\n\t" \
    "ldr %[p], [%[p], %[c]]\n\t" \
    "ldrd %[r], %[hi], [%[w]], #8\n\t" \
    "sxtb16 %[lo], %[p]\n\t" \
    "sxtb16 %[p], %[p], ror #8\n\t" \
    "smlabb %[a0], %[lo], %[r], %[a0]\n\t" \
    "smlabb %[a1], %[p], %[hi], %[a1]\n\t" \
    "ldrd %[r], %[hi], [%[w]], #8\n\t" \
    "smlatb %[a2], %[lo], %[r], %[a2]\n\t" \
    "smlatb %[a3], %[p], %[hi], %[a3]\n\t"

#define TG_DW_ASM(text, tap, c, w, pairs, a0, a1, a2, a3) \
    do { \
        const int8_t *const *t_ = (tap); \
        int32_t n_ = (pairs); \
        uint32_t p_, r_, lo_, hi_, x_; \
        __asm__ volatile(text \
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [t] "+r"(t_), [w] "+r"(w), \
              [n] "+r"(n_), [p] "=&r"(p_), [r] "=&r"(r_), [lo] "=&r"(lo_), [hi] "=&r"(hi_), [x] "=&r"(x_) \
            : [c] "r"(c) \
            : "cc", "memory"); \
    } while (0)

/* a0..a3 += the 4 channels at byte offset c of `pairs` tap pairs (pointers tap[0..2*pairs-1]) x w */
#define TG_DW_GROUP(tap, c, w, pairs, a0, a1, a2, a3) TG_DW_ASM(TG_DW_LOOP_ASM, tap, c, w, pairs, a0, a1, a2, a3)
/* the same, then the odd last tap tap[2 * pairs] */
#define TG_DW_GROUP_ODD(tap, c, w, pairs, a0, a1, a2, a3) \
    TG_DW_ASM(TG_DW_LOOP_ASM TG_DW_TAIL_ASM, tap, c, w, pairs, a0, a1, a2, a3)
/* The 4 pair steps and the odd tap of a 3x3 filter unrolled (no loop counter, no branch); t_ is the tap
 * table's address register (advanced), cv the register each table word is added to */
#define TG_DW_ASM_9(cv, w, a0, a1, a2, a3) \
    do { \
        uint32_t p_, r_, lo_, hi_, x_; \
        __asm__ volatile(TG_DW_STEP_ASM TG_DW_STEP_ASM TG_DW_STEP_ASM TG_DW_STEP_ASM TG_DW_TAIL_ASM \
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [t] "+r"(t_), [w] "+r"(w), \
              [p] "=&r"(p_), [r] "=&r"(r_), [lo] "=&r"(lo_), [hi] "=&r"(hi_), [x] "=&r"(x_) \
            : [c] "r"(cv) \
            : "cc", "memory"); \
    } while (0)
/* TG_DW_GROUP_ODD for 9 taps (a 3x3 filter), unrolled */
#define TG_DW_GROUP_9(tap, c, w, a0, a1, a2, a3) \
    do { \
        const int8_t *const *t_ = (tap); \
        TG_DW_ASM_9(c, w, a0, a1, a2, a3); \
    } while (0)
/* TG_DW_GROUP_9 with the tap table holding byte offsets from base: the same instructions (each tap load
 * adds the table's word to the register holding base, where TG_DW_GROUP_9 adds the channel offset to a
 * tap pointer) */
#define TG_DW_GROUP_9_OFS(offs, base, w, a0, a1, a2, a3) \
    do { \
        const int32_t *t_ = (offs); \
        TG_DW_ASM_9(base, w, a0, a1, a2, a3); \
    } while (0)

#else

#define TG_DW_GROUP(tap, c, w, pairs, a0, a1, a2, a3) \
    do { \
        for (int32_t j_ = 0; j_ < (pairs); ++j_) { \
            const uint32_t p_ = tg_read_u32((tap)[2 * j_] + (c)), r_ = tg_read_u32((tap)[2 * j_ + 1] + (c)); \
            const uint32_t lo_ = (p_ & 0xFFFFu) | (r_ << 16), hi_ = (p_ >> 16) | (r_ & 0xFFFF0000u); \
            a0 = tg_smlad(tg_sxtb16(lo_), w[0], a0); \
            a1 = tg_smlad(tg_sxtb16_r8(lo_), w[1], a1); \
            a2 = tg_smlad(tg_sxtb16(hi_), w[2], a2); \
            a3 = tg_smlad(tg_sxtb16_r8(hi_), w[3], a3); \
            w += 4; \
        } \
    } while (0)

#define TG_DW_GROUP_ODD(tap, c, w, pairs, a0, a1, a2, a3) \
    do { \
        TG_DW_GROUP(tap, c, w, pairs, a0, a1, a2, a3); \
        const uint32_t p_ = tg_read_u32((tap)[2 * (pairs)] + (c)); \
        const uint32_t lo_ = tg_sxtb16(p_), hi_ = tg_sxtb16_r8(p_); \
        a0 = tg_smlabb(lo_, w[0], a0); \
        a1 = tg_smlabb(hi_, w[1], a1); \
        a2 = tg_smlabb(lo_ >> 16, w[2], a2); \
        a3 = tg_smlabb(hi_ >> 16, w[3], a3); \
        w += 4; \
    } while (0)

#define TG_DW_GROUP_9(tap, c, w, a0, a1, a2, a3) TG_DW_GROUP_ODD(tap, c, w, 4, a0, a1, a2, a3)

#define TG_DW_GROUP_9_OFS(offs, base, w, a0, a1, a2, a3) \
    do { \
        const int8_t *tp_[9]; \
        for (int32_t t_ = 0; t_ < 9; ++t_) { \
            tp_[t_] = (base) + (offs)[t_]; \
        } \
        TG_DW_GROUP_9(tp_, 0, w, a0, a1, a2, a3); \
    } while (0)

#endif /* TG_HAS_DSP */

/* odd: 0 (even tap count), 1 (an odd last tap) or 9 (a 3x3 filter, pairs 4: the unrolled group) */
TG_ALWAYS_INLINE void pixel(const int8_t *const *tap, int32_t pairs, int odd, int32_t channels,
                            const int32_t *filter, const int32_t *q, int32_t rq_words, int32_t output_offset,
                            int32_t act_min, int32_t act_max, int8_t *out)
{
    const uint32_t *w = (const uint32_t *)filter;
    for (int32_t c = 0; c < channels; c += 4) {
        int32_t a0 = q[0], a1 = q[1], a2 = q[2], a3 = q[3];
        if (odd == 9) {
            TG_DW_GROUP_9(tap, c, w, a0, a1, a2, a3);
        } else if (odd) {
            TG_DW_GROUP_ODD(tap, c, w, pairs, a0, a1, a2, a3);
        } else {
            TG_DW_GROUP(tap, c, w, pairs, a0, a1, a2, a3);
        }
        tg_rq4_store(a0, a1, a2, a3, q + 4, rq_words, output_offset, act_min, act_max, out + c);
        q += 4 * rq_words;
    }
}

void tg_depthwise_s8_fast_pixel(const int8_t *const *tap, int32_t taps, int32_t channels,
    const int32_t *filter, const int32_t *quant, int32_t rq_words, int32_t output_offset, int32_t act_min,
    int32_t act_max, int8_t *out)
{
    /* an odd tap count from 3 runs its last tap alone; a 1x1 filter runs as one pair (partner tap[1]) */
    if (taps == 9 && output_offset == 0 && act_min == -128) {
        /* a 3x3 filter, the output offset folded into the records (tinygen/lower/fast_dw.py) and no lower
         * clamp beyond int8's (the usual zero point -128 of a ReLU output): unrolled, no per-group tests */
        if (rq_words == TG_RQ_RS) {
            pixel(tap, 4, 9, channels, filter, quant, TG_RQ_RS, 0, -128, act_max, out);
        } else {
            pixel(tap, 4, 9, channels, filter, quant, TG_RQ_GEN, 0, -128, act_max, out);
        }
    } else if (taps > 1 && (taps & 1)) {
        if (rq_words == TG_RQ_RS) {
            pixel(tap, taps / 2, 1, channels, filter, quant, TG_RQ_RS, output_offset, act_min, act_max, out);
        } else {
            pixel(tap, taps / 2, 1, channels, filter, quant, TG_RQ_GEN, output_offset, act_min, act_max, out);
        }
    } else if (rq_words == TG_RQ_RS) {
        pixel(tap, (taps + 1) / 2, 0, channels, filter, quant, TG_RQ_RS, output_offset, act_min, act_max, out);
    } else {
        pixel(tap, (taps + 1) / 2, 0, channels, filter, quant, TG_RQ_GEN, output_offset, act_min, act_max, out);
    }
}

/* One pixel of tg_depthwise_s8_fast_run9: every channel of the window at base */
TG_ALWAYS_INLINE void pixel9_ofs(const int32_t *offs, const int8_t *base, int32_t channels, const int32_t *filter,
                                 const int32_t *q, int32_t rq_words, int32_t act_max, int8_t *out)
{
    const uint32_t *w = (const uint32_t *)filter;
    for (int32_t c = 0; c < channels; c += 4) {
        int32_t a0 = q[0], a1 = q[1], a2 = q[2], a3 = q[3];
        TG_DW_GROUP_9_OFS(offs, base + c, w, a0, a1, a2, a3);
        tg_rq4_store(a0, a1, a2, a3, q + 4, rq_words, 0, -128, act_max, out + c);
        q += 4 * rq_words;
    }
}

void tg_depthwise_s8_fast_run9(const int32_t *offs, const int8_t *base, int32_t step, int32_t pixels,
    int32_t channels, const int32_t *filter, const int32_t *quant, int32_t rq_words, int32_t act_max, int8_t *out)
{
    if (rq_words == TG_RQ_RS) {
        for (int32_t n = 0; n < pixels; ++n, base += step, out += channels) {
            pixel9_ofs(offs, base, channels, filter, quant, TG_RQ_RS, act_max, out);
        }
    } else {
        for (int32_t n = 0; n < pixels; ++n, base += step, out += channels) {
            pixel9_ofs(offs, base, channels, filter, quant, TG_RQ_GEN, act_max, out);
        }
    }
}
