/* tinygen runtime: int8 GEMM core, 4 output channels x 1 column per block; contract in tg_gemm_s8_fast.h. */
#include "tg_gemm_s8_fast.h"

#include "tg_dsp.h"

#if TG_DSP_EMULATED

/* The device's block_wide, block_raw and block_split below, their assembly modelled one instruction
 * per statement (tg_dsp_emul.h): the same loads, the same register operations, the same loop exits.
 * The accumulators are the registers a[0..3], read from acc on entry and written back on exit. */

TG_ALWAYS_INLINE void acc_store_emu(const uint32_t a[4], int32_t acc[4])
{
    for (int32_t r = 0; r < 4; ++r) {
        acc[r] = tg_emu_s32(a[r]);
    }
}

/* The head of a wide / raw step: one column word, its bytes 0, 2 in cl and 1, 3 in ch (int16 lanes). */
TG_ALWAYS_INLINE void col_word_emu(const int8_t **c, uint32_t *cl, uint32_t *ch)
{
    *ch = tg_emu_ldr(*c);
    *c += 4;                                   /* ldr ch, [c], #4 */
    *cl = tg_emu_sxtb16(*ch, 0);               /* sxtb16 cl, ch */
    *ch = tg_emu_sxtb16(*ch, 8);               /* sxtb16 ch, ch, ror #8 */
}

/* Two rows of block_wide: pre-extended words ra (x cl), rb (x ch) of row a, rc, rd of row b */
TG_ALWAYS_INLINE void wide_rows_emu(const int32_t **w, uint32_t cl, uint32_t ch, uint32_t *a, uint32_t *b)
{
    uint32_t ra, rb, rc, rd;
    tg_emu_ldm4(*w, &ra, &rb, &rc, &rd);
    *w += 4;                                   /* ldmia w!, {r8, r9, r10, r11} */
    *a = tg_emu_smlad(ra, cl, *a);             /* smlad a, r8, cl, a */
    *a = tg_emu_smlad(rb, ch, *a);             /* smlad a, r9, ch, a */
    *b = tg_emu_smlad(rc, cl, *b);             /* smlad b, r10, cl, b */
    *b = tg_emu_smlad(rd, ch, *b);             /* smlad b, r11, ch, b */
}

TG_ALWAYS_INLINE void block_wide(const int8_t *c, const int32_t *w, int32_t n, int32_t acc[4])
{
    uint32_t a[4] = {(uint32_t)acc[0], (uint32_t)acc[1], (uint32_t)acc[2], (uint32_t)acc[3]};
    uint32_t un = (uint32_t)n;
    do {
        uint32_t cl, ch;
        col_word_emu(&c, &cl, &ch);
        wide_rows_emu(&w, cl, ch, &a[0], &a[1]);
        wide_rows_emu(&w, cl, ch, &a[2], &a[3]);
        un -= 1u;                              /* subs n, n, #1 */
    } while (un != 0u);                        /* bne 1b */
    acc_store_emu(a, acc);
}

/* TG_RAW_ROW(reg, a): one row of block_raw */
TG_ALWAYS_INLINE uint32_t raw_row_emu(uint32_t reg, uint32_t a, uint32_t cl, uint32_t ch)
{
    const uint32_t t = tg_emu_sxtb16(reg, 0);  /* sxtb16 t, reg */
    reg = tg_emu_sxtb16(reg, 8);               /* sxtb16 reg, reg, ror #8 */
    a = tg_emu_smlad(t, cl, a);                /* smlad a, t, cl, a */
    return tg_emu_smlad(reg, ch, a);           /* smlad a, reg, ch, a */
}

TG_ALWAYS_INLINE void block_raw(const int8_t *c, const int32_t *w, int32_t n, int32_t acc[4])
{
    uint32_t a[4] = {(uint32_t)acc[0], (uint32_t)acc[1], (uint32_t)acc[2], (uint32_t)acc[3]};
    uint32_t un = (uint32_t)n;
    do {
        uint32_t cl, ch, r8, r9, r10, r11;
        col_word_emu(&c, &cl, &ch);
        tg_emu_ldm4(w, &r8, &r9, &r10, &r11);
        w += 4;                                /* ldmia w!, {r8, r9, r10, r11} */
        a[0] = raw_row_emu(r8, a[0], cl, ch);  /* TG_RAW_ROW("r8", "a0") */
        a[1] = raw_row_emu(r9, a[1], cl, ch);  /* TG_RAW_ROW("r9", "a1") */
        a[2] = raw_row_emu(r10, a[2], cl, ch); /* TG_RAW_ROW("r10", "a2") */
        a[3] = raw_row_emu(r11, a[3], cl, ch); /* TG_RAW_ROW("r11", "a3") */
        un -= 1u;                              /* subs n, n, #1 */
    } while (un != 0u);                        /* bne 1b */
    acc_store_emu(a, acc);
}

/* TG_SPLIT_ROW(reg, a): one row of a split step */
TG_ALWAYS_INLINE uint32_t split_row_emu(uint32_t reg, uint32_t a, uint32_t xa, uint32_t xb)
{
    a = tg_emu_smlad(reg, xa, a);              /* smlad a, reg, xa, a */
    reg = tg_emu_sxtb16(reg, 8);               /* sxtb16 reg, reg, ror #8 */
    return tg_emu_smlad(reg, xb, a);           /* smlad a, reg, xb, a */
}

/* TG_SPLIT_STEP: one group of 4 values; *c and *w are the post-incremented address registers */
TG_ALWAYS_INLINE void split_step_emu(const int8_t **c, const int32_t **w, uint32_t k, uint32_t a[4])
{
    uint32_t xa, xb, r8, r9, r10, r11;
    xb = tg_emu_ldr(*c);
    *c += 4;                                   /* ldr xb, [c], #4 */
    xa = tg_emu_sxtb16(xb, 8);                 /* sxtb16 xa, xb, ror #8 */
    xb ^= k;                                   /* eor xb, xb, k */
    tg_emu_ldm4(*w, &r8, &r9, &r10, &r11);
    *w += 4;                                   /* ldmia w!, {r8, r9, r10, r11} */
    a[0] = split_row_emu(r8, a[0], xa, xb);    /* TG_SPLIT_ROW("r8", "a0") */
    a[1] = split_row_emu(r9, a[1], xa, xb);    /* TG_SPLIT_ROW("r9", "a1") */
    a[2] = split_row_emu(r10, a[2], xa, xb);   /* TG_SPLIT_ROW("r10", "a2") */
    a[3] = split_row_emu(r11, a[3], xa, xb);   /* TG_SPLIT_ROW("r11", "a3") */
}

TG_ALWAYS_INLINE void block_split(const int8_t *c, const int32_t *w, int32_t n, int32_t acc[4])
{
    uint32_t a[4] = {(uint32_t)acc[0], (uint32_t)acc[1], (uint32_t)acc[2], (uint32_t)acc[3]};
    const uint32_t k = 0xFF80FF80u;
    uint32_t un = (uint32_t)n;
    const uint32_t bit0 = un & 1u;
    un >>= 1;                                  /* lsrs n, n, #1 (C = bit 0) */
    if (bit0) {                                /* bcc 4f */
        split_step_emu(&c, &w, k, a);          /* TG_SPLIT_STEP */
    }
    const uint32_t bit1 = un & 1u;
    un >>= 1;                                  /* 4: lsrs n, n, #1 (C = bit 1, Z = result == 0) */
    if (bit1) {                                /* bcc 2f */
        split_step_emu(&c, &w, k, a);          /* TG_SPLIT_STEP */
        split_step_emu(&c, &w, k, a);          /* TG_SPLIT_STEP */
    }
    if (un != 0u) {                            /* 2: beq 3f (Z from the LSRS: the steps set no flags) */
        do {
            for (int32_t i = 0; i < 4; ++i) {
                split_step_emu(&c, &w, k, a);  /* 1: TG_SPLIT_STEP x 4 */
            }
            un -= 1u;                          /* subs n, n, #1 */
        } while (un != 0u);                    /* bne 1b */
    }
    acc_store_emu(a, acc);
}

#elif TG_HAS_DSP

TG_ALWAYS_INLINE void acc_set4(int32_t acc[4], int32_t a0, int32_t a1, int32_t a2, int32_t a3)
{
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* One column word: bytes 0, 2 sign-extended into cl, bytes 1, 3 into ch; then 4 weight words into r8-r11 */
#define TG_COL_WORD \
    "ldr %[ch], [%[c]], #4\n\t" \
    "sxtb16 %[cl], %[ch]\n\t" \
    "sxtb16 %[ch], %[ch], ror #8\n\t" \
    "ldmia %[w]!, {r8, r9, r10, r11}\n\t"

/* TG_WIDE_ROWS(a, b): rows a (r8 x cl + r9 x ch) and b (r10 x cl + r11 x ch), pre-extended int16 pairs */
#define TG_WIDE_ROWS(a, b) \
    "smlad %[" a "], r8, %[cl], %[" a "]\n\t" \
    "smlad %[" a "], r9, %[ch], %[" a "]\n\t" \
    "smlad %[" b "], r10, %[cl], %[" b "]\n\t" \
    "smlad %[" b "], r11, %[ch], %[" b "]\n\t"

/* acc[0..3] += 4 rows x 4*n values; the rows as two pre-extended words per group of 4 values. */
TG_ALWAYS_INLINE void block_wide(const int8_t *c, const int32_t *w, int32_t n, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    uint32_t cl, ch;
    __asm__ volatile(
        "1:\n\t"
        TG_COL_WORD TG_WIDE_ROWS("a0", "a1")
        "ldmia %[w]!, {r8, r9, r10, r11}\n\t"
        TG_WIDE_ROWS("a2", "a3")
        "subs %[n], %[n], #1\n\t"
        "bne 1b\n\t"
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [c] "+r"(c), [w] "+r"(w),
          [n] "+r"(n), [cl] "=&r"(cl), [ch] "=&r"(ch)
        :
        : "r8", "r9", "r10", "r11", "cc", "memory");
    acc_set4(acc, a0, a1, a2, a3);
}

#define TG_RAW_ROW(reg, a) \
    "sxtb16 %[t], " reg "\n\t" \
    "sxtb16 " reg ", " reg ", ror #8\n\t" \
    "smlad %[" a "], %[t], %[cl], %[" a "]\n\t" \
    "smlad %[" a "], " reg ", %[ch], %[" a "]\n\t"

/* acc[0..3] += 4 rows x 4*n values; the rows as raw bytes, one word per row per group of 4. */
TG_ALWAYS_INLINE void block_raw(const int8_t *c, const int32_t *w, int32_t n, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    uint32_t cl, ch, t;
    __asm__ volatile(
        "1:\n\t"
        TG_COL_WORD TG_RAW_ROW("r8", "a0") TG_RAW_ROW("r9", "a1") TG_RAW_ROW("r10", "a2") TG_RAW_ROW("r11", "a3")
        "subs %[n], %[n], #1\n\t"
        "bne 1b\n\t"
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [c] "+r"(c), [w] "+r"(w),
          [n] "+r"(n), [cl] "=&r"(cl), [ch] "=&r"(ch), [t] "=&r"(t)
        :
        : "r8", "r9", "r10", "r11", "cc", "memory");
    acc_set4(acc, a0, a1, a2, a3);
}

/* One group of 4 values in the split layout (tg_gemm_s8_fast.h, wide = 2): per row one SMLAD with the
 * raw weight word against (x1, x3), then one SXTB16 of the weight's odd bytes against x ^ 0xFF80FF80. */
#define TG_SPLIT_ROW(reg, a) \
    "smlad %[" a "], " reg ", %[xa], %[" a "]\n\t" \
    "sxtb16 " reg ", " reg ", ror #8\n\t" \
    "smlad %[" a "], " reg ", %[xb], %[" a "]\n\t"
#define TG_SPLIT_STEP \
    "ldr %[xb], [%[c]], #4\n\t" \
    "sxtb16 %[xa], %[xb], ror #8\n\t" \
    "eor %[xb], %[xb], %[k]\n\t" \
    "ldmia %[w]!, {r8, r9, r10, r11}\n\t" \
    TG_SPLIT_ROW("r8", "a0") TG_SPLIT_ROW("r9", "a1") TG_SPLIT_ROW("r10", "a2") TG_SPLIT_ROW("r11", "a3")

/* acc[0..3] += 4 rows x 4*n values (n >= 0); the rows in the split layout, one word per row per group
 * of 4; one group when bit 0 of n is set, two when bit 1 is, then four per loop iteration. */
TG_ALWAYS_INLINE void block_split(const int8_t *c, const int32_t *w, int32_t n, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    uint32_t xa, xb;
    const uint32_t k = 0xFF80FF80u;
    __asm__ volatile(
        "lsrs %[n], %[n], #1\n\t"
        "bcc 4f\n\t"
        TG_SPLIT_STEP
        "4:\n\t"
        "lsrs %[n], %[n], #1\n\t"
        "bcc 2f\n\t"
        TG_SPLIT_STEP
        TG_SPLIT_STEP
        "2:\n\t"
        "beq 3f\n\t" /* Z from the second LSRS: the steps set no flags */
        "1:\n\t"
        TG_SPLIT_STEP
        TG_SPLIT_STEP
        TG_SPLIT_STEP
        TG_SPLIT_STEP
        "subs %[n], %[n], #1\n\t"
        "bne 1b\n\t"
        "3:\n\t"
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [c] "+r"(c), [w] "+r"(w),
          [n] "+r"(n), [xa] "=&r"(xa), [xb] "=&r"(xb)
        : [k] "r"(k)
        : "r8", "r9", "r10", "r11", "cc", "memory");
    acc_set4(acc, a0, a1, a2, a3);
}

#else

TG_ALWAYS_INLINE void block_split(const int8_t *c, const int32_t *w, int32_t n, int32_t acc[4])
{
    for (int32_t k = 0; k < n; ++k, c += 4, w += 4) {
        const uint32_t v = tg_read_u32(c), xa = tg_sxtb16_r8(v), xb = v ^ 0xFF80FF80u;
        for (int32_t r = 0; r < 4; ++r) {
            acc[r] = tg_smlad((uint32_t)w[r], xa, acc[r]);
            acc[r] = tg_smlad(tg_sxtb16_r8((uint32_t)w[r]), xb, acc[r]);
        }
    }
}

TG_ALWAYS_INLINE void block_wide(const int8_t *c, const int32_t *w, int32_t n, int32_t acc[4])
{
    for (int32_t k = 0; k < n; ++k, c += 4, w += 8) {
        const uint32_t v = tg_read_u32(c), cl = tg_sxtb16(v), ch = tg_sxtb16_r8(v);
        for (int32_t r = 0; r < 4; ++r) {
            acc[r] = tg_smlad((uint32_t)w[2 * r], cl, acc[r]);
            acc[r] = tg_smlad((uint32_t)w[2 * r + 1], ch, acc[r]);
        }
    }
}

TG_ALWAYS_INLINE void block_raw(const int8_t *c, const int32_t *w, int32_t n, int32_t acc[4])
{
    for (int32_t k = 0; k < n; ++k, c += 4, w += 4) {
        const uint32_t v = tg_read_u32(c), cl = tg_sxtb16(v), ch = tg_sxtb16_r8(v);
        for (int32_t r = 0; r < 4; ++r) {
            acc[r] = tg_smlad(tg_sxtb16((uint32_t)w[r]), cl, acc[r]);
            acc[r] = tg_smlad(tg_sxtb16_r8((uint32_t)w[r]), ch, acc[r]);
        }
    }
}

#endif /* TG_HAS_DSP */

TG_ALWAYS_INLINE void gemm(const int8_t *const *tap, int32_t taps, int32_t seg4, const int32_t *w, int32_t wide,
                        const int32_t *q, int32_t rq_words, int32_t output_offset, int32_t act_min,
                        int32_t act_max, int32_t out_c, int8_t *out)
{
    const int32_t seg_words = (wide ? 8 : 4) * seg4;
    const int32_t rec = rq_words - 1;
    for (int32_t oc = 0; oc < out_c; oc += 4) {
        int32_t acc[4] = {q[0], q[1], q[2], q[3]};
        if (seg4 > 0) {
            if (taps == 1) {
                /* one segment (FC, 1x1, im2col): no tap loop around the core */
                if (wide) {
                    block_wide(tap[0], w, seg4, acc);
                } else {
                    block_raw(tap[0], w, seg4, acc);
                }
                w += seg_words;
            } else if (wide) {
                for (int32_t t = 0; t < taps; ++t, w += seg_words) {
                    block_wide(tap[t], w, seg4, acc);
                }
            } else {
                for (int32_t t = 0; t < taps; ++t, w += seg_words) {
                    block_raw(tap[t], w, seg4, acc);
                }
            }
        }
        const int32_t *r = q + 4;
        if (out_c - oc >= 4) {
            tg_rq4_store(acc[0], acc[1], acc[2], acc[3], r, rq_words, output_offset, act_min, act_max, out + oc);
        } else {
            for (int32_t i = 0; i < out_c - oc; ++i) {
                const int32_t v = tg_rq_apply(acc[i], r + i * rec, rq_words) + output_offset;
                out[oc + i] = (int8_t)tg_clamp(v, act_min, act_max);
            }
        }
        q += 4 * rq_words;
    }
}

/* The sum of col[1], col[3], ..., col[4*k4 - 1] (wraps like the accumulators). */
static int32_t odd_sum(const int8_t *col, int32_t k4)
{
    int32_t s = 0;
    for (int32_t k = 0; k < k4; ++k, col += 4) {
        s = tg_smlad(tg_sxtb16_r8(tg_read_u32(col)), 0x00010001u, s);
    }
    return s;
}

/* The one-segment case (FC, 1x1, im2col; the common one): one flat loop over channel groups, the
 * 4 accumulators in registers from the bias load to the store. */
TG_ALWAYS_INLINE void gemm_1seg(const int8_t *col, int32_t k4, const int32_t *w, int32_t wide, const int32_t *q,
                                int32_t rq_words, int32_t output_offset, int32_t act_min, int32_t act_max,
                                int32_t out_c, int8_t *out)
{
    const int32_t groups = out_c >> 2;
    uint32_t s = 0; /* the split layout's correction: -128 * the sum of the odd-indexed inputs (wrapping) */
    if (wide == 2) {
        s = (uint32_t)odd_sum(col, k4) * 0xFFFFFF80u;
    }
    for (int32_t g = 0; g < groups; ++g) {
        int32_t acc[4] = {(int32_t)((uint32_t)q[0] + s), (int32_t)((uint32_t)q[1] + s), (int32_t)((uint32_t)q[2] + s),
                          (int32_t)((uint32_t)q[3] + s)};
        if (wide == 2) {
            block_split(col, w, k4, acc);
            w += 4 * k4;
        } else if (wide) {
            block_wide(col, w, k4, acc);
            w += 8 * k4;
        } else {
            block_raw(col, w, k4, acc);
            w += 4 * k4;
        }
        tg_rq4_store(acc[0], acc[1], acc[2], acc[3], q + 4, rq_words, output_offset, act_min, act_max, out);
        out += 4;
        q += 4 * rq_words;
    }
    if ((out_c & 3) != 0) {
        int32_t acc[4] = {(int32_t)((uint32_t)q[0] + s), (int32_t)((uint32_t)q[1] + s), (int32_t)((uint32_t)q[2] + s),
                          (int32_t)((uint32_t)q[3] + s)};
        if (wide == 2) {
            block_split(col, w, k4, acc);
        } else if (wide) {
            block_wide(col, w, k4, acc);
        } else {
            block_raw(col, w, k4, acc);
        }
        for (int32_t i = 0; i < (out_c & 3); ++i) {
            const int32_t v = tg_rq_apply(acc[i], q + 4 + i * (rq_words - 1), rq_words) + output_offset;
            out[i] = (int8_t)tg_clamp(v, act_min, act_max);
        }
    }
}

void tg_gemm_s8_fast_taps(const int8_t *const *tap, int32_t taps, int32_t seg4, const int32_t *filter,
    int32_t wide, const int32_t *quant, int32_t rq_words, int32_t output_offset, int32_t act_min,
    int32_t act_max, int32_t out_c, int8_t *out)
{
    /* instantiations so the requantizer's record size is a constant */
    if (taps == 1 && seg4 > 0) {
        const int8_t *col = tap[0];
        if (wide == 2 && rq_words == TG_RQ_RS) {
            gemm_1seg(col, seg4, filter, 2, quant, TG_RQ_RS, output_offset, act_min, act_max, out_c, out);
        } else if (wide == 2) {
            gemm_1seg(col, seg4, filter, 2, quant, TG_RQ_GEN, output_offset, act_min, act_max, out_c, out);
        } else if (rq_words == TG_RQ_RS && wide) {
            gemm_1seg(col, seg4, filter, 1, quant, TG_RQ_RS, output_offset, act_min, act_max, out_c, out);
        } else if (rq_words == TG_RQ_RS) {
            gemm_1seg(col, seg4, filter, 0, quant, TG_RQ_RS, output_offset, act_min, act_max, out_c, out);
        } else if (wide) {
            gemm_1seg(col, seg4, filter, 1, quant, TG_RQ_GEN, output_offset, act_min, act_max, out_c, out);
        } else {
            gemm_1seg(col, seg4, filter, 0, quant, TG_RQ_GEN, output_offset, act_min, act_max, out_c, out);
        }
    } else if (rq_words == TG_RQ_RS) {
        gemm(tap, taps, seg4, filter, wide, quant, TG_RQ_RS, output_offset, act_min, act_max, out_c, out);
    } else {
        gemm(tap, taps, seg4, filter, wide, quant, TG_RQ_GEN, output_offset, act_min, act_max, out_c, out);
    }
}

