/* tinygen runtime: int8 GEMM core with 2x2 register blocking; contract in tg_gemm_s8_fast.h. */
#include "tg_gemm_s8_fast.h"

#include "tg_dsp.h"

/* acc -> int8 with the precomputed per-channel record q (see tg_gemm_s8_fast.h). */
static inline int8_t finish(int32_t acc, const int32_t *q, int32_t output_offset, int32_t act_min,
                            int32_t act_max)
{
    const int64_t round = (int64_t)(((uint64_t)(uint32_t)q[3] << 32) | (uint32_t)q[2]);
    const int64_t prod = (int64_t)acc * q[1] + (round - ((int64_t)(acc < 0) << 31));
    int32_t out = ((int32_t)(prod >> 32) >> q[4]) + output_offset;
    out = out < act_min ? act_min : out;
    return (int8_t)(out > act_max ? act_max : out);
}

void tg_gemm_cols_s8(const int8_t *src, int32_t count, uint32_t *cols, int32_t stride_words)
{
    for (int32_t k = 0; k < count; k += 4) {
        const uint32_t v = tg_read_u32(src + k);
        cols[0] = tg_sxtb16(v);
        cols[1] = tg_sxtb16_r8(v);
        cols += stride_words;
    }
}

/* 4 values of two filter rows (wa, wb) against 4 values of two columns (c[0..1], c[2..3]). */
#define TG_STEP_2X2(wa, wb, c)                                    \
    do {                                                          \
        uint32_t lo_ = tg_sxtb16(wa), hi_ = tg_sxtb16_r8(wa);     \
        a00 = tg_smlad(lo_, (c)[0], a00);                         \
        a00 = tg_smlad(hi_, (c)[1], a00);                         \
        a10 = tg_smlad(lo_, (c)[2], a10);                         \
        a10 = tg_smlad(hi_, (c)[3], a10);                         \
        lo_ = tg_sxtb16(wb);                                      \
        hi_ = tg_sxtb16_r8(wb);                                   \
        a01 = tg_smlad(lo_, (c)[0], a01);                         \
        a01 = tg_smlad(hi_, (c)[1], a01);                         \
        a11 = tg_smlad(lo_, (c)[2], a11);                         \
        a11 = tg_smlad(hi_, (c)[3], a11);                         \
    } while (0)

/* Two output channels (interleaved filter rows w) against two interleaved columns. */
static void block_2x2(const uint32_t *cols, int32_t k4, const uint32_t *w, int32_t acc[4])
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3]; /* a<col><row> */
    const uint32_t *w_end = w + 2 * (k4 & ~1);
    while (w != w_end) {
        TG_STEP_2X2(w[0], w[1], cols);
        TG_STEP_2X2(w[2], w[3], cols + 4);
        w += 4;
        cols += 8;
    }
    if (k4 & 1) {
        TG_STEP_2X2(w[0], w[1], cols);
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}

/* Two output channels against one column. */
static void block_1x2(const uint32_t *cols, int32_t k4, const uint32_t *w, int32_t acc[2])
{
    int32_t a0 = acc[0], a1 = acc[1];
    const uint32_t *w_end = w + 2 * k4;
    while (w != w_end) {
        const uint32_t wa = w[0], wb = w[1];
        const uint32_t c0 = cols[0], c1 = cols[1];
        w += 2;
        cols += 2;
        a0 = tg_smlad(tg_sxtb16(wa), c0, a0);
        a0 = tg_smlad(tg_sxtb16_r8(wa), c1, a0);
        a1 = tg_smlad(tg_sxtb16(wb), c0, a1);
        a1 = tg_smlad(tg_sxtb16_r8(wb), c1, a1);
    }
    acc[0] = a0;
    acc[1] = a1;
}

/* One plain filter row against n_cols columns laid out with stride_words per group. */
static void block_row(const uint32_t *cols, int32_t k4, int32_t stride_words, int32_t n_cols,
                      const uint32_t *w, int32_t acc[2])
{
    int32_t a0 = acc[0], a1 = acc[1];
    for (int32_t k = 0; k < k4; ++k) {
        const uint32_t wv = w[k];
        const uint32_t lo = tg_sxtb16(wv), hi = tg_sxtb16_r8(wv);
        a0 = tg_smlad(lo, cols[0], a0);
        a0 = tg_smlad(hi, cols[1], a0);
        if (n_cols == 2) {
            a1 = tg_smlad(lo, cols[2], a1);
            a1 = tg_smlad(hi, cols[3], a1);
        }
        cols += stride_words;
    }
    acc[0] = a0;
    acc[1] = a1;
}

void tg_gemm_s8_fast(const uint32_t *cols, int32_t n_cols, int32_t k4,
                     const int32_t *filter, const int32_t *quant,
                     int32_t output_offset, int32_t act_min, int32_t act_max,
                     int32_t out_c, int8_t *out0, int8_t *out1)
{
    int32_t oc = 0;
    const uint32_t *w = (const uint32_t *)filter;
    const int32_t *q = quant;
    for (; oc + 1 < out_c; oc += 2, q += 10) {
        if (n_cols == 2) {
            int32_t acc[4] = {q[0], q[5], q[0], q[5]};
            block_2x2(cols, k4, w, acc);
            out0[oc] = finish(acc[0], q, output_offset, act_min, act_max);
            out0[oc + 1] = finish(acc[1], q + 5, output_offset, act_min, act_max);
            out1[oc] = finish(acc[2], q, output_offset, act_min, act_max);
            out1[oc + 1] = finish(acc[3], q + 5, output_offset, act_min, act_max);
        } else {
            int32_t acc[2] = {q[0], q[5]};
            block_1x2(cols, k4, w, acc);
            out0[oc] = finish(acc[0], q, output_offset, act_min, act_max);
            out0[oc + 1] = finish(acc[1], q + 5, output_offset, act_min, act_max);
        }
        w += 2 * k4;
    }
    if (oc < out_c) {
        int32_t acc[2] = {q[0], q[0]};
        block_row(cols, k4, 2 * n_cols, n_cols, w, acc);
        out0[oc] = finish(acc[0], q, output_offset, act_min, act_max);
        if (n_cols == 2) {
            out1[oc] = finish(acc[1], q, output_offset, act_min, act_max);
        }
    }
}
