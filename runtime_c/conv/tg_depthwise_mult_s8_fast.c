/* tinygen runtime: fast int8 depthwise convolution, depth multiplier % 4 == 0; contract in
 * tg_depthwise_mult_s8_fast.h. */
#include "tg_depthwise_mult_s8_fast.h"

#include "tg_dsp.h"

/* One window of one input channel as int16 taps (h), read as tap pairs (w: h[2j] low, h[2j+1] high). */
typedef union {
    uint32_t w[TG_DW_MULT_MAX_TAPS / 2 + 1];
    int16_t h[TG_DW_MULT_MAX_TAPS + 2];
} tg_dw_window;

typedef struct {
    int32_t in_h, in_w, in_c, filter_h, filter_w, dilation_h, dilation_w, zp, swap;
} tg_dw_geom;

/* the window of input channel ic at (in_y0, in_x0) into win (tap order of the header), zero taps after
 * the last up to a multiple of 4 */
TG_OUTLINE void gather(tg_dw_window *win, const tg_dw_geom *g, const int8_t *in, int32_t ic, int32_t in_y0,
                      int32_t in_x0)
{
    const int32_t fw = g->filter_w;
    const int row_fast = g->swap && g->in_c == 1 && g->dilation_w == 1 && in_x0 >= 0 && in_x0 + fw <= g->in_w;
    const uint32_t zp_pair = ((uint32_t)g->zp & 0xFFFFu) * 0x10001u;
    for (int32_t fy = 0; fy < g->filter_h; ++fy) {
        const int32_t in_y = in_y0 + fy * g->dilation_h;
        const int row_in = in_y >= 0 && in_y < g->in_h;
        const int32_t base = fy * fw;
        if (row_in && row_fast) {
            /* 4 neighbouring inputs, one load: columns (0, 2) and (1, 3) by sign extension */
            const int8_t *src = in + in_y * g->in_w + in_x0;
            uint32_t *dst = win->w + base / 2;
            for (int32_t k = 0; k < fw; k += 4) {
                const uint32_t u = tg_read_u32(src + k);
                dst[0] = tg_sxtb16(u);
                dst[1] = tg_sxtb16_r8(u);
                dst += 2;
            }
        } else if (row_in && !g->swap && in_x0 >= 0 && in_x0 + (fw - 1) * g->dilation_w < g->in_w) {
            /* the row inside the input: no bounds checks */
            const int8_t *src = in + (in_y * g->in_w + in_x0) * g->in_c + ic;
            const int32_t step = g->dilation_w * g->in_c;
            for (int32_t fx = 0; fx < fw; ++fx) {
                win->h[base + fx] = src[fx * step];
            }
        } else if (!row_in && fw % 2 == 0) {
            for (int32_t k = 0; k < fw; k += 2) {
                win->w[(base + k) / 2] = zp_pair;
            }
        } else {
            for (int32_t fx = 0; fx < fw; ++fx) {
                const int32_t in_x = in_x0 + fx * g->dilation_w;
                const int32_t pos = g->swap ? (fx & ~3) | ((fx & 1) << 1) | ((fx >> 1) & 1) : fx;
                win->h[base + pos] = (int16_t)(row_in && in_x >= 0 && in_x < g->in_w
                                               ? in[(in_y * g->in_w + in_x) * g->in_c + ic] : g->zp);
            }
        }
    }
    for (int32_t t = g->filter_h * fw; t % 4 != 0; ++t) {
        win->h[t] = 0; /* padding taps: their weights are 0 */
    }
}

#if TG_DSP_EMULATED

/* The device's TG_DW_MULT_STEP below, its assembly modelled one instruction per statement (tg_dsp_emul.h) */
#define TG_DW_MULT_STEP(pw, w, n, a0, a1, a2, a3) \
    do { \
        uint32_t a0_ = (uint32_t)(a0), a1_ = (uint32_t)(a1), a2_ = (uint32_t)(a2), a3_ = (uint32_t)(a3); \
        uint32_t x0_, x1_, r8_, r9_, r10_, r11_; \
        uint32_t n_ = (uint32_t)(n); \
        do { \
            tg_emu_ldrd(pw, &x0_, &x1_); \
            pw += 2;                                 /* ldrd x0, x1, [pw], #8 */ \
            tg_emu_ldm4(w, &r8_, &r9_, &r10_, &r11_); \
            w += 4;                                  /* ldmia w!, {r8, r9, r10, r11} */ \
            a0_ = tg_emu_smlad(x0_, r8_, a0_);       /* smlad a0, x0, r8, a0 */ \
            a1_ = tg_emu_smlad(x0_, r9_, a1_);       /* smlad a1, x0, r9, a1 */ \
            a2_ = tg_emu_smlad(x0_, r10_, a2_);      /* smlad a2, x0, r10, a2 */ \
            a3_ = tg_emu_smlad(x0_, r11_, a3_);      /* smlad a3, x0, r11, a3 */ \
            tg_emu_ldm4(w, &r8_, &r9_, &r10_, &r11_); \
            w += 4;                                  /* ldmia w!, {r8, r9, r10, r11} */ \
            a0_ = tg_emu_smlad(x1_, r8_, a0_);       /* smlad a0, x1, r8, a0 */ \
            a1_ = tg_emu_smlad(x1_, r9_, a1_);       /* smlad a1, x1, r9, a1 */ \
            a2_ = tg_emu_smlad(x1_, r10_, a2_);      /* smlad a2, x1, r10, a2 */ \
            a3_ = tg_emu_smlad(x1_, r11_, a3_);      /* smlad a3, x1, r11, a3 */ \
            n_ -= 1u;                                /* subs n, n, #1 */ \
        } while (n_ != 0u);                          /* bne 1b */ \
        a0 = tg_emu_s32(a0_); \
        a1 = tg_emu_s32(a1_); \
        a2 = tg_emu_s32(a2_); \
        a3 = tg_emu_s32(a3_); \
    } while (0)

#elif TG_HAS_DSP

/* acc0..acc3 += 2 * n tap pairs (words at pw_) x the 4 channels' weight pairs at w_; pw_ and w_ advance */
#define TG_DW_MULT_STEP(pw_, w_, n, acc0, acc1, acc2, acc3) \
    do { \
        int32_t n_ = (n); \
        uint32_t x0_, x1_; \
        __asm__ volatile( \
            "1:\n\t" \
            "ldrd %[x0], %[x1], [%[pw]], #8\n\t" \
            "ldmia %[w]!, {r8, r9, r10, r11}\n\t" \
            "smlad %[a0], %[x0], r8, %[a0]\n\t" \
            "smlad %[a1], %[x0], r9, %[a1]\n\t" \
            "smlad %[a2], %[x0], r10, %[a2]\n\t" \
            "smlad %[a3], %[x0], r11, %[a3]\n\t" \
            "ldmia %[w]!, {r8, r9, r10, r11}\n\t" \
            "smlad %[a0], %[x1], r8, %[a0]\n\t" \
            "smlad %[a1], %[x1], r9, %[a1]\n\t" \
            "smlad %[a2], %[x1], r10, %[a2]\n\t" \
            "smlad %[a3], %[x1], r11, %[a3]\n\t" \
            "subs %[cnt], %[cnt], #1\n\t" \
            "bne 1b\n\t" \
            : [a0] "+r"(acc0), [a1] "+r"(acc1), [a2] "+r"(acc2), [a3] "+r"(acc3), [pw] "+r"(pw_), [w] "+r"(w_), \
              [cnt] "+r"(n_), [x0] "=&r"(x0_), [x1] "=&r"(x1_) \
            : \
            : "r8", "r9", "r10", "r11", "cc", "memory"); \
    } while (0)

#else

#define TG_DW_MULT_STEP(pw, w, n, a0, a1, a2, a3) \
    do { \
        for (int32_t j_ = 0; j_ < 2 * (n); ++j_) { \
            const uint32_t x_ = pw[j_]; \
            a0 = tg_smlad(x_, w[0], a0); \
            a1 = tg_smlad(x_, w[1], a1); \
            a2 = tg_smlad(x_, w[2], a2); \
            a3 = tg_smlad(x_, w[3], a3); \
            w += 4; \
        } \
    } while (0)

#endif /* TG_HAS_DSP */

/* every group of 4 output channels of one input channel: 4 * quads taps x filter, requantized to out */
TG_ALWAYS_INLINE void groups(const uint32_t *pw, int32_t quads, int32_t ngroups, const uint32_t *w,
                             const int32_t *q, int32_t rq_words, int32_t output_offset, int32_t act_min,
                             int32_t act_max, int8_t *out)
{
    for (int32_t g = 0; g < ngroups; ++g) {
        int32_t a0 = q[0], a1 = q[1], a2 = q[2], a3 = q[3];
        const uint32_t *p = pw;
        TG_DW_MULT_STEP(p, w, quads, a0, a1, a2, a3);
        tg_rq4_store(a0, a1, a2, a3, q + 4, rq_words, output_offset, act_min, act_max, out);
        q += 4 * rq_words;
        out += 4;
    }
}

TG_OUTLINE void groups_rs(const uint32_t *pw, int32_t quads, int32_t ngroups, const uint32_t *w, const int32_t *q,
                      int32_t output_offset, int32_t act_min, int32_t act_max, int8_t *out)
{
    groups(pw, quads, ngroups, w, q, TG_RQ_RS, output_offset, act_min, act_max, out);
}

TG_OUTLINE void groups_gen(const uint32_t *pw, int32_t quads, int32_t ngroups, const uint32_t *w, const int32_t *q,
                       int32_t output_offset, int32_t act_min, int32_t act_max, int8_t *out)
{
    groups(pw, quads, ngroups, w, q, TG_RQ_GEN, output_offset, act_min, act_max, out);
}

int tg_depthwise_mult_s8_fast(int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t dilation_w,
    int32_t pad_top, int32_t pad_left, int32_t zp, int32_t output_offset, int32_t act_min, int32_t act_max,
    const int32_t *quant, int32_t rq_words, int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c,
    const int8_t *input, int32_t filter_h, int32_t filter_w, int32_t mult, const int32_t *filter,
    int32_t out_h, int32_t out_w, int8_t *output)
{
    const int32_t taps = filter_h * filter_w;
    const int32_t quads = (taps + 3) / 4; /* taps padded to a multiple of 4 */
    const int32_t ngroups = mult / 4;
    const int32_t out_c = in_c * mult;
    const tg_dw_geom g = {in_h, in_w, in_c, filter_h, filter_w, dilation_h, dilation_w, zp, filter_w % 4 == 0};
    tg_dw_window win;
    if (taps <= 0 || taps > TG_DW_MULT_MAX_TAPS || mult <= 0 || mult % 4 != 0 || in_c <= 0) {
        return TG_ERROR;
    }
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *in = input + b * in_h * in_w * in_c;
        for (int32_t out_y = 0; out_y < out_h; ++out_y) {
            for (int32_t out_x = 0; out_x < out_w; ++out_x) {
                int8_t *out = output + ((b * out_h + out_y) * out_w + out_x) * out_c;
                for (int32_t ic = 0; ic < in_c; ++ic) {
                    const uint32_t *w = (const uint32_t *)filter + ic * ngroups * quads * 8;
                    const int32_t *q = quant + ic * ngroups * 4 * rq_words;
                    gather(&win, &g, in, ic, out_y * stride_h - pad_top, out_x * stride_w - pad_left);
                    if (rq_words == TG_RQ_RS) {
                        groups_rs(win.w, quads, ngroups, w, q, output_offset, act_min, act_max, out + ic * mult);
                    } else {
                        groups_gen(win.w, quads, ngroups, w, q, output_offset, act_min, act_max, out + ic * mult);
                    }
                }
            }
        }
    }
    return TG_OK;
}
