/* tinygen runtime: fast int8 depthwise 2-D convolution; contract in tg_depthwise_conv2d_s8_fast.h. */
#include "tg_depthwise_conv2d_s8_fast.h"

#include "tg_dsp.h"

#if TG_DSP_EMULATED

/* The device's TG_DW_GROUP below, its assembly modelled one instruction per statement (tg_dsp_emul.h);
 * the operands are bound to registers on entry and written back on exit, as the asm constraints do. */
#define TG_DW_GROUP(tap, c, w, pairs, a0, a1, a2, a3) \
    do { \
        const int8_t *const *t_ = (tap); \
        uint32_t n_ = (uint32_t)(pairs); \
        uint32_t a0_ = (uint32_t)(a0), a1_ = (uint32_t)(a1), a2_ = (uint32_t)(a2), a3_ = (uint32_t)(a3); \
        uint32_t p_, r_, lo_, hi_, x_; \
        const int8_t *pa_, *ra_; \
        do { \
            tg_emu_ldrd_ptr(t_, &pa_, &ra_); \
            t_ += 2;                                  /* ldrd p, r, [t], #8 */ \
            p_ = tg_emu_ldr(pa_ + (c));               /* ldr p, [p, c] */ \
            r_ = tg_emu_ldr(ra_ + (c));               /* ldr r, [r, c] */ \
            lo_ = tg_emu_pkhbt(p_, r_, 16);           /* pkhbt lo, p, r, lsl #16 */ \
            hi_ = tg_emu_pkhtb(r_, p_, 16);           /* pkhtb hi, r, p, asr #16 */ \
            tg_emu_ldrd(w, &p_, &r_); \
            w += 2;                                   /* ldrd p, r, [w], #8 */ \
            x_ = tg_emu_sxtb16(lo_, 0);               /* sxtb16 x, lo */ \
            a0_ = tg_emu_smlad(x_, p_, a0_);          /* smlad a0, x, p, a0 */ \
            lo_ = tg_emu_sxtb16(lo_, 8);              /* sxtb16 lo, lo, ror #8 */ \
            a1_ = tg_emu_smlad(lo_, r_, a1_);         /* smlad a1, lo, r, a1 */ \
            tg_emu_ldrd(w, &p_, &r_); \
            w += 2;                                   /* ldrd p, r, [w], #8 */ \
            x_ = tg_emu_sxtb16(hi_, 0);               /* sxtb16 x, hi */ \
            a2_ = tg_emu_smlad(x_, p_, a2_);          /* smlad a2, x, p, a2 */ \
            hi_ = tg_emu_sxtb16(hi_, 8);              /* sxtb16 hi, hi, ror #8 */ \
            a3_ = tg_emu_smlad(hi_, r_, a3_);         /* smlad a3, hi, r, a3 */ \
            n_ -= 1u;                                 /* subs n, n, #1 */ \
        } while (n_ != 0u);                           /* bne 1b */ \
        a0 = tg_emu_s32(a0_); \
        a1 = tg_emu_s32(a1_); \
        a2 = tg_emu_s32(a2_); \
        a3 = tg_emu_s32(a3_); \
    } while (0)

#elif TG_HAS_DSP

/* a0..a3 += the 4 channels at byte offset c of `pairs` tap pairs (pointers tap[0..2*pairs-1]) x w */
#define TG_DW_GROUP(tap, c, w, pairs, a0, a1, a2, a3) \
    do { \
        const int8_t *const *t_ = (tap); \
        int32_t n_ = (pairs); \
        uint32_t p_, r_, lo_, hi_, x_; \
        __asm__ volatile( \
            "1:\n\t" \
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
            "smlad %[a3], %[hi], %[r], %[a3]\n\t" \
            "subs %[n], %[n], #1\n\t" \
            "bne 1b\n\t" \
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [t] "+r"(t_), [w] "+r"(w), \
              [n] "+r"(n_), [p] "=&r"(p_), [r] "=&r"(r_), [lo] "=&r"(lo_), [hi] "=&r"(hi_), [x] "=&r"(x_) \
            : [c] "r"(c) \
            : "cc", "memory"); \
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

#endif /* TG_HAS_DSP */

TG_ALWAYS_INLINE void pixel(const int8_t *const *tap, int32_t pairs, int32_t channels, const int32_t *filter,
                            const int32_t *q, int32_t rq_words, int32_t output_offset, int32_t act_min,
                            int32_t act_max, int8_t *out)
{
    const uint32_t *w = (const uint32_t *)filter;
    for (int32_t c = 0; c < channels; c += 4) {
        int32_t a0 = q[0], a1 = q[1], a2 = q[2], a3 = q[3];
        TG_DW_GROUP(tap, c, w, pairs, a0, a1, a2, a3);
        tg_rq4_store(a0, a1, a2, a3, q + 4, rq_words, output_offset, act_min, act_max, out + c);
        q += 4 * rq_words;
    }
}

void tg_depthwise_s8_fast_pixel(const int8_t *const *tap, int32_t pairs, int32_t channels,
                                const int32_t *filter, const int32_t *quant, int32_t rq_words,
                                int32_t output_offset, int32_t act_min, int32_t act_max, int8_t *out)
{
    if (rq_words == TG_RQ_RS) {
        pixel(tap, pairs, channels, filter, quant, TG_RQ_RS, output_offset, act_min, act_max, out);
    } else {
        pixel(tap, pairs, channels, filter, quant, TG_RQ_GEN, output_offset, act_min, act_max, out);
    }
}

int tg_depthwise_conv2d_s8_fast(int32_t stride_h, int32_t stride_w,
                                int32_t dilation_h, int32_t dilation_w,
                                int32_t pad_top, int32_t pad_left,
                                const int8_t *zp_px, int32_t output_offset,
                                int32_t act_min, int32_t act_max,
                                const int32_t *quant, int32_t rq_words,
                                int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c, const int8_t *input,
                                int32_t filter_h, int32_t filter_w, const int32_t *filter,
                                int32_t out_h, int32_t out_w, int8_t *output)
{
    const int32_t taps = filter_h * filter_w;
    const int32_t pairs = (taps + 1) / 2;
    const int8_t *tap[TG_DW_FAST_MAX_TAPS + 1];
    if (taps > TG_DW_FAST_MAX_TAPS) {
        return TG_ERROR;
    }
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *in = input + b * in_h * in_w * in_c;
        for (int32_t out_y = 0; out_y < out_h; ++out_y) {
            const int32_t in_y0 = out_y * stride_h - pad_top;
            for (int32_t out_x = 0; out_x < out_w; ++out_x) {
                const int32_t in_x0 = out_x * stride_w - pad_left;
                int32_t t = 0;
                for (int32_t fy = 0; fy < filter_h; ++fy) {
                    const int32_t in_y = in_y0 + fy * dilation_h;
                    const int row_in = in_y >= 0 && in_y < in_h;
                    const int8_t *row = in + in_y * in_w * in_c;
                    for (int32_t fx = 0; fx < filter_w; ++fx) {
                        const int32_t in_x = in_x0 + fx * dilation_w;
                        tap[t++] = row_in && in_x >= 0 && in_x < in_w ? row + in_x * in_c : zp_px;
                    }
                }
                tap[t] = tap[t - 1]; /* partner of an odd last tap: its weights are 0 */
                tg_depthwise_s8_fast_pixel(tap, pairs, in_c, filter, quant, rq_words, output_offset, act_min,
                                           act_max, output + ((b * out_h + out_y) * out_w + out_x) * in_c);
            }
        }
    }
    return TG_OK;
}
