/* tinygen runtime: int8 GEMM core on a pre-extended column, 4 output channels per block; contract in
 * tg_gemm_s8_fast.h (tg_gemm_s8_fast_x). */
#include "tg_gemm_s8_fast.h"

#if TG_DSP_EMULATED

/* The device's block_xwide and block_xsplit below, their assembly modelled one instruction per
 * statement (tg_dsp_emul.h). The accumulators are the registers a[0..3], read from acc on entry and
 * written back on exit. */

/* XW_STEP / XS_STEP: one group of 4 values; *c and *w are the post-incremented address registers */
TG_ALWAYS_INLINE void xwide_step_emu(const uint32_t **c, const int32_t **w, uint32_t a[4])
{
    uint32_t cl, ch, r8, r9, r10, r11;
    tg_emu_ldrd(*c, &cl, &ch);
    *c += 2;                                   /* ldrd cl, ch, [c], #8 */
    for (int32_t h = 0; h < 4; h += 2) {
        tg_emu_ldm4(*w, &r8, &r9, &r10, &r11);
        *w += 4;                               /* ldmia w!, {r8, r9, r10, r11} */
        a[h] = tg_emu_smlad(r8, cl, a[h]);     /* smlad a, r8, cl, a */
        a[h] = tg_emu_smlad(r9, ch, a[h]);     /* smlad a, r9, ch, a */
        a[h + 1] = tg_emu_smlad(r10, cl, a[h + 1]); /* smlad b, r10, cl, b */
        a[h + 1] = tg_emu_smlad(r11, ch, a[h + 1]); /* smlad b, r11, ch, b */
    }
}

TG_ALWAYS_INLINE uint32_t xsplit_row_emu(uint32_t reg, uint32_t a, uint32_t xa, uint32_t xb)
{
    a = tg_emu_smlad(reg, xa, a);              /* smlad a, reg, xa, a */
    reg = tg_emu_sxtb16(reg, 8);               /* sxtb16 reg, reg, ror #8 */
    return tg_emu_smlad(reg, xb, a);           /* smlad a, reg, xb, a */
}

TG_ALWAYS_INLINE void xsplit_step_emu(const uint32_t **c, const int32_t **w, uint32_t a[4])
{
    uint32_t xa, xb, r8, r9, r10, r11;
    tg_emu_ldrd(*c, &xa, &xb);
    *c += 2;                                   /* ldrd xa, xb, [c], #8 */
    tg_emu_ldm4(*w, &r8, &r9, &r10, &r11);
    *w += 4;                                   /* ldmia w!, {r8, r9, r10, r11} */
    a[0] = xsplit_row_emu(r8, a[0], xa, xb);
    a[1] = xsplit_row_emu(r9, a[1], xa, xb);
    a[2] = xsplit_row_emu(r10, a[2], xa, xb);
    a[3] = xsplit_row_emu(r11, a[3], xa, xb);
}

/* The loop shared by both layouts: one step when bit 0 of n is set, two when bit 1 is, then four per
 * iteration. */
TG_ALWAYS_INLINE void xblock_emu(const uint32_t *c, const int32_t *w, int32_t n, int32_t split, int32_t acc[4])
{
    uint32_t a[4] = {(uint32_t)acc[0], (uint32_t)acc[1], (uint32_t)acc[2], (uint32_t)acc[3]};
    uint32_t un = (uint32_t)n;
    const uint32_t bit0 = un & 1u;
    un >>= 1;                                  /* lsrs n, n, #1 (C = bit 0) */
    const uint32_t bit1 = un & 1u;
    un >>= 1;                                  /* lsrs n, n, #1 (C = bit 1, Z = result == 0) */
    /* bcc 4f; step; 4: lsrs; bcc 2f; step; step; 2: beq 3f; 1: step x 4; subs n, n, #1; bne 1b; 3: */
    for (uint32_t i = 0u; i < bit0 + 2u * bit1 + 4u * un; ++i) {
        if (split) {
            xsplit_step_emu(&c, &w, a);
        } else {
            xwide_step_emu(&c, &w, a);
        }
    }
    for (int32_t r = 0; r < 4; ++r) {
        acc[r] = tg_emu_s32(a[r]);
    }
}

TG_ALWAYS_INLINE void block_xwide(const uint32_t *c, const int32_t *w, int32_t n, int32_t acc[4])
{
    xblock_emu(c, w, n, 0, acc);
}

TG_ALWAYS_INLINE void block_xsplit(const uint32_t *c, const int32_t *w, int32_t n, int32_t acc[4])
{
    xblock_emu(c, w, n, 1, acc);
}

#elif TG_HAS_DSP

TG_ALWAYS_INLINE void acc_out4(int32_t acc[4], int32_t a0, int32_t a1, int32_t a2, int32_t a3)
{
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* The loop over n groups (n >= 0): one step when bit 0 of n is set, two when bit 1 is, then four per
 * iteration (the steps set no flags: each branch reads the flags of the LSRS before it) */
#define TG_X_LOOP(step) \
    "lsrs %[n], %[n], #1\n\t" \
    "bcc 4f\n\t" \
    step \
    "4:\n\t" \
    "lsrs %[n], %[n], #1\n\t" \
    "bcc 2f\n\t" \
    step step \
    "2:\n\t" \
    "beq 3f\n\t" \
    "1:\n\t" \
    step step step step \
    "subs %[n], %[n], #1\n\t" \
    "bne 1b\n\t" \
    "3:\n\t"

#define TG_XW_ROWS(a, b) \
    "smlad %[" a "], r8, %[cl], %[" a "]\n\t" \
    "smlad %[" a "], r9, %[ch], %[" a "]\n\t" \
    "smlad %[" b "], r10, %[cl], %[" b "]\n\t" \
    "smlad %[" b "], r11, %[ch], %[" b "]\n\t"
/* one group: the column pair (values 0, 2 | 1, 3 as int16), 4 rows of pre-extended weight pairs */
#define TG_XW_STEP \
    "ldrd %[cl], %[ch], [%[c]], #8\n\t" \
    "ldmia %[w]!, {r8, r9, r10, r11}\n\t" TG_XW_ROWS("a0", "a1") \
    "ldmia %[w]!, {r8, r9, r10, r11}\n\t" TG_XW_ROWS("a2", "a3")

TG_ALWAYS_INLINE void block_xwide(const uint32_t *c, const int32_t *w, int32_t n, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    uint32_t cl, ch;
    __asm__ volatile(TG_X_LOOP(TG_XW_STEP)
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [c] "+r"(c), [w] "+r"(w),
          [n] "+r"(n), [cl] "=&r"(cl), [ch] "=&r"(ch)
        :
        : "r8", "r9", "r10", "r11", "cc", "memory");
    acc_out4(acc, a0, a1, a2, a3);
}

#define TG_XS_ROW(reg, a) \
    "smlad %[" a "], " reg ", %[xa], %[" a "]\n\t" \
    "sxtb16 " reg ", " reg ", ror #8\n\t" \
    "smlad %[" a "], " reg ", %[xb], %[" a "]\n\t"
/* one group: the column pair (x1, x3 as int16 | x ^ 0xFF80FF80), 4 rows of split weight words */
#define TG_XS_STEP \
    "ldrd %[xa], %[xb], [%[c]], #8\n\t" \
    "ldmia %[w]!, {r8, r9, r10, r11}\n\t" \
    TG_XS_ROW("r8", "a0") TG_XS_ROW("r9", "a1") TG_XS_ROW("r10", "a2") TG_XS_ROW("r11", "a3")

TG_ALWAYS_INLINE void block_xsplit(const uint32_t *c, const int32_t *w, int32_t n, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    uint32_t xa, xb;
    __asm__ volatile(TG_X_LOOP(TG_XS_STEP)
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [c] "+r"(c), [w] "+r"(w),
          [n] "+r"(n), [xa] "=&r"(xa), [xb] "=&r"(xb)
        :
        : "r8", "r9", "r10", "r11", "cc", "memory");
    acc_out4(acc, a0, a1, a2, a3);
}

#else

TG_ALWAYS_INLINE void block_xwide(const uint32_t *c, const int32_t *w, int32_t n, int32_t acc[4])
{
    for (int32_t k = 0; k < n; ++k, c += 2, w += 8) {
        for (int32_t r = 0; r < 4; ++r) {
            acc[r] = tg_smlad((uint32_t)w[2 * r], c[0], acc[r]);
            acc[r] = tg_smlad((uint32_t)w[2 * r + 1], c[1], acc[r]);
        }
    }
}

TG_ALWAYS_INLINE void block_xsplit(const uint32_t *c, const int32_t *w, int32_t n, int32_t acc[4])
{
    for (int32_t k = 0; k < n; ++k, c += 2, w += 4) {
        for (int32_t r = 0; r < 4; ++r) {
            acc[r] = tg_smlad((uint32_t)w[r], c[0], acc[r]);
            acc[r] = tg_smlad(tg_sxtb16_r8((uint32_t)w[r]), c[1], acc[r]);
        }
    }
}

#endif /* TG_HAS_DSP */

TG_ALWAYS_INLINE void block_x(const uint32_t *colx, const int32_t *w, int32_t k4, int32_t split, int32_t acc[4])
{
    if (split) {
        block_xsplit(colx, w, k4, acc);
    } else {
        block_xwide(colx, w, k4, acc);
    }
}

TG_ALWAYS_INLINE void gemm_x(const uint32_t *colx, int32_t k4, const int32_t *w, int32_t split, uint32_t s,
                             const int32_t *q, int32_t rq_words, int32_t output_offset, int32_t act_min,
                             int32_t act_max, int32_t out_c, int8_t *out)
{
    const int32_t step = (split ? 4 : 8) * k4;
    const int32_t rest = out_c & 3; /* outputs of a last partial block (records and rows are padded to 4) */
    int8_t tail[4] = {0, 0, 0, 0}; /* written by the last partial block before it is read */
    for (int32_t g = (out_c + 3) >> 2; g > 0; --g, w += step, q += 4 * rq_words, out += 4) {
        /* constant indices only, so the accumulators stay in registers from the bias to the store */
        int32_t acc[4] = {(int32_t)((uint32_t)q[0] + s), (int32_t)((uint32_t)q[1] + s),
                          (int32_t)((uint32_t)q[2] + s), (int32_t)((uint32_t)q[3] + s)};
        block_x(colx, w, k4, split, acc);
        tg_rq4_store(acc[0], acc[1], acc[2], acc[3], q + 4, rq_words, output_offset, act_min, act_max,
                     g == 1 && rest != 0 ? tail : out);
    }
    for (int32_t i = 0; i < rest; ++i) {
        out[i - 4] = tail[i];
    }
}

/* gemm_x for the common case of wide = 1 with the output offset folded into the records (output_offset 0)
 * and no activation clamp beyond int8's: the offset add and the clamp tests compile away. Not inlined, so
 * that its callers share one copy per record size. */
#if defined(__GNUC__)
#define TG_NOINLINE __attribute__((noinline))
#else
#define TG_NOINLINE
#endif
static TG_NOINLINE void gemm_x_rs0(const uint32_t *colx, int32_t k4, const int32_t *w, const int32_t *q, int32_t out_c,
                                   int8_t *out)
{
    gemm_x(colx, k4, w, 0, 0u, q, TG_RQ_RS, 0, -128, 127, out_c, out);
}

static TG_NOINLINE void gemm_x_gen0(const uint32_t *colx, int32_t k4, const int32_t *w, const int32_t *q,
                                    int32_t out_c, int8_t *out)
{
    gemm_x(colx, k4, w, 0, 0u, q, TG_RQ_GEN, 0, -128, 127, out_c, out);
}

/* output offset 0 and act_min, act_max = -128, 127 (gemm_x_rs0 / gemm_x_gen0 apply) */
TG_ALWAYS_INLINE int plain_output(int32_t output_offset, int32_t act_min, int32_t act_max)
{
    return output_offset == 0 && act_min == -128 && act_max == 127;
}

void tg_gemm_s8_fast_x(const uint32_t *colx, int32_t k4, const int32_t *filter, int32_t wide, uint32_t corr,
    const int32_t *quant, int32_t rq_words, int32_t output_offset, int32_t act_min, int32_t act_max,
    int32_t out_c, int8_t *out)
{
    /* instantiations so the layout and the requantizer's record size are constants */
    if (wide == 2 && rq_words == TG_RQ_RS) {
        gemm_x(colx, k4, filter, 1, corr, quant, TG_RQ_RS, output_offset, act_min, act_max, out_c, out);
    } else if (wide == 2) {
        gemm_x(colx, k4, filter, 1, corr, quant, TG_RQ_GEN, output_offset, act_min, act_max, out_c, out);
    } else if (plain_output(output_offset, act_min, act_max)) {
        if (rq_words == TG_RQ_RS) {
            gemm_x_rs0(colx, k4, filter, quant, out_c, out);
        } else {
            gemm_x_gen0(colx, k4, filter, quant, out_c, out);
        }
    } else if (rq_words == TG_RQ_RS) {
        gemm_x(colx, k4, filter, 0, 0u, quant, TG_RQ_RS, output_offset, act_min, act_max, out_c, out);
    } else {
        gemm_x(colx, k4, filter, 0, 0u, quant, TG_RQ_GEN, output_offset, act_min, act_max, out_c, out);
    }
}

void tg_gemm_s8_fast_x_pixels(uint32_t *colx, const int8_t *input, int32_t pixels, int32_t backward, int32_t k4,
    const int32_t *filter, const int32_t *quant, int32_t rq_words, int32_t output_offset, int32_t act_min,
    int32_t act_max, int32_t out_c, int8_t *output)
{
    /* one call for all pixels of a 1x1 layer: each pixel extended (wide = 1 layout), then its outputs */
    if (rq_words == TG_RQ_RS && plain_output(output_offset, act_min, act_max)) {
        for (int32_t n = 0; n < pixels; ++n) {
            const int32_t p = backward ? pixels - 1 - n : n;
            (void)tg_gemm_s8_extend(input + p * 4 * k4, k4, 1, colx);
            gemm_x_rs0(colx, k4, filter, quant, out_c, output + p * out_c);
        }
        return;
    }
    for (int32_t n = 0; n < pixels; ++n) {
        const int32_t p = backward ? pixels - 1 - n : n;
        (void)tg_gemm_s8_extend(input + p * 4 * k4, k4, 1, colx);
        if (rq_words == TG_RQ_RS) {
            gemm_x(colx, k4, filter, 0, 0u, quant, TG_RQ_RS, output_offset, act_min, act_max, out_c,
                   output + p * out_c);
        } else {
            gemm_x(colx, k4, filter, 0, 0u, quant, TG_RQ_GEN, output_offset, act_min, act_max, out_c,
                   output + p * out_c);
        }
    }
}

void tg_gemm_s8_fast_x_rgb(uint32_t *colx, const int8_t *p, int32_t pixels, int32_t step, int32_t row,
    const int32_t *filter, const int32_t *quant, int32_t rq_words, int32_t output_offset, int32_t act_min,
    int32_t act_max, int32_t out_c, int8_t *out)
{
    const int fast = rq_words == TG_RQ_RS && plain_output(output_offset, act_min, act_max);
    for (int32_t n = 0; n < pixels; ++n, p += step, out += out_c) {
        tg_gemm_s8_rgb_extend(p, row, colx);
        if (fast) {
            gemm_x_rs0(colx, 7, filter, quant, out_c, out);
        } else {
            tg_gemm_s8_fast_x(colx, 7, filter, 1, 0u, quant, rq_words, output_offset, act_min, act_max, out_c, out);
        }
    }
}
