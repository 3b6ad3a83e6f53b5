/* tinygen runtime: the pieces of the fast 16x8 kernels (tg_conv2d_s16_fast, tg_depthwise_conv2d_s16_fast):
 * int16 activations, int8 weights, with constants the lowering (tinygen/lower/int16_fast.py) prepares.
 *
 * Output step. TFLM's 16x8 requantization of a window sum acc (bias b, multiplier rounded to Q0.15 as
 * `reduced`, total_shift ts = 15 - shift) is the low 32 bits of (acc * reduced + b * reduced + 2^(ts-1)) >> ts.
 * The lowering stores red = reduced << (32 - ts) (< 2^31) and bias = (b * reduced + 2^(ts-1)) << (32 - ts)
 * (|bias| < 2^62), so that value is the high word of the int64 acc * red + bias (one SMLAL on the device):
 * the same integer, shifted left by 32 - ts before the division by 2^32, exact and without int64 overflow
 * since |acc| < 2^31. Layers whose constants do not fit those bounds keep the general kernels.
 *
 * Accumulators. The lowering proves 32768 * sum |w| over each output channel's filter below 2^31, so every
 * window sum (the taps in the padding only drop terms) is exact in int32: no int64 accumulation.
 *
 * Packed weights (tg_dot4_s16_packed): blocks of four output channels; per group of four inputs, one word
 * per channel with the bytes (w0, w2, w1, w3), so SXTB16 gives the int16 pair (w0, w1) and SXTB16 ROR #8
 * (w2, w3), matching the words (x0, x1) and (x2, x3) of consecutive int16 inputs read as they are.
 */
#ifndef TG_S16_FAST_H
#define TG_S16_FAST_H

#include "tg_dsp_s16.h"
#include "tg_window.h"

/* clamp(high word of acc * red + bias, act_min, act_max) */
static inline int16_t tg_s16_out_fast(int32_t acc, int32_t red, int64_t bias, int32_t act_min, int32_t act_max)
{
    const int32_t r = (int32_t)(((int64_t)acc * red + bias) >> 32);
    return (int16_t)(r < act_min ? act_min : (r > act_max ? act_max : r));
}

/* byte k (0..3) of word v as a signed value */
static inline int32_t tg_s8_lane(uint32_t v, int32_t k)
{
    return (int32_t)(int8_t)(uint8_t)(v >> (8 * k));
}

/* a[j] += sum_{i < 4 * groups} x[i] * w_j[i], j < 4, for one block of packed weights w (4 * groups words) */
TG_ALWAYS_INLINE void tg_dot4_s16_packed(const int16_t *x, const int32_t *w, int32_t groups, int32_t *a)
{
    int32_t a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
#if TG_DSP_EMULATED
    for (int32_t g = 0; g < groups; ++g, x += 4, w += 4) {
        const uint32_t xa = tg_read_u32(x);
        const uint32_t xb = tg_read_u32(x + 2);
        const uint32_t v0 = (uint32_t)w[0], v1 = (uint32_t)w[1], v2 = (uint32_t)w[2], v3 = (uint32_t)w[3];
        a0 = tg_smlad(xb, tg_sxtb16_r8(v0), tg_smlad(xa, tg_sxtb16(v0), a0));
        a1 = tg_smlad(xb, tg_sxtb16_r8(v1), tg_smlad(xa, tg_sxtb16(v1), a1));
        a2 = tg_smlad(xb, tg_sxtb16_r8(v2), tg_smlad(xa, tg_sxtb16(v2), a2));
        a3 = tg_smlad(xb, tg_sxtb16_r8(v3), tg_smlad(xa, tg_sxtb16(v3), a3));
    }
#elif TG_HAS_DSP
    if (groups > 0) {
        const int16_t *end = x + 4 * groups;
        uint32_t xa, xb, v0, v1, e;
        __asm__("1:\n\t"
                "ldr %[xa], [%[x]], #4\n\t"
                "ldr %[xb], [%[x]], #4\n\t"
                "ldrd %[v0], %[v1], [%[w]], #8\n\t"
                "sxtb16 %[e], %[v0]\n\t"
                "smlad %[a0], %[xa], %[e], %[a0]\n\t"
                "sxtb16 %[e], %[v0], ror #8\n\t"
                "smlad %[a0], %[xb], %[e], %[a0]\n\t"
                "sxtb16 %[e], %[v1]\n\t"
                "smlad %[a1], %[xa], %[e], %[a1]\n\t"
                "sxtb16 %[e], %[v1], ror #8\n\t"
                "smlad %[a1], %[xb], %[e], %[a1]\n\t"
                "ldrd %[v0], %[v1], [%[w]], #8\n\t"
                "sxtb16 %[e], %[v0]\n\t"
                "smlad %[a2], %[xa], %[e], %[a2]\n\t"
                "sxtb16 %[e], %[v0], ror #8\n\t"
                "smlad %[a2], %[xb], %[e], %[a2]\n\t"
                "sxtb16 %[e], %[v1]\n\t"
                "smlad %[a3], %[xa], %[e], %[a3]\n\t"
                "sxtb16 %[e], %[v1], ror #8\n\t"
                "smlad %[a3], %[xb], %[e], %[a3]\n\t"
                "cmp %[x], %[end]\n\t"
                "bne 1b"
                : [x] "+r"(x), [w] "+r"(w), [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),
                  [xa] "=&r"(xa), [xb] "=&r"(xb), [v0] "=&r"(v0), [v1] "=&r"(v1), [e] "=&r"(e)
                : [end] "r"(end)
                : "cc", "memory");
    }
#else
    for (int32_t g = 0; g < groups; ++g, x += 4, w += 4) {
        const int32_t x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
        const uint32_t v0 = (uint32_t)w[0], v1 = (uint32_t)w[1], v2 = (uint32_t)w[2], v3 = (uint32_t)w[3];
        a0 += x0 * tg_s8_lane(v0, 0) + x1 * tg_s8_lane(v0, 2) + x2 * tg_s8_lane(v0, 1) + x3 * tg_s8_lane(v0, 3);
        a1 += x0 * tg_s8_lane(v1, 0) + x1 * tg_s8_lane(v1, 2) + x2 * tg_s8_lane(v1, 1) + x3 * tg_s8_lane(v1, 3);
        a2 += x0 * tg_s8_lane(v2, 0) + x1 * tg_s8_lane(v2, 2) + x2 * tg_s8_lane(v2, 1) + x3 * tg_s8_lane(v2, 3);
        a3 += x0 * tg_s8_lane(v3, 0) + x1 * tg_s8_lane(v3, 2) + x2 * tg_s8_lane(v3, 1) + x3 * tg_s8_lane(v3, 3);
    }
#endif
    a[0] = a0;
    a[1] = a1;
    a[2] = a2;
    a[3] = a3;
}

#if TG_HAS_DSP
/* The window sums a[0..3] of channels c .. c + 3 (depth multiplier 1, filter [filter_h, filter_w, in_c]) of
 * output pixel p: per tap two input words (x0, x1), (x2, x3) and one word of four int8 weights, SXTB16-extended
 * to (w0, w2), (w1, w3), four halfword multiplies into int32 sums (exact for at most TG_S16_CHUNK taps, or
 * within the lowering's bound) */
TG_ALWAYS_INLINE void tg_dw_s16_sums4(const tg_conv_pixel *p, const int16_t *image, int32_t in_w, int32_t in_c,
                                   int32_t dilation_h, int32_t dilation_w, int32_t filter_w, const int8_t *filter,
                                   int32_t c, int32_t *a)
{
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    const ptrdiff_t x_step = (ptrdiff_t)dilation_w * in_c;
    const ptrdiff_t taps = (ptrdiff_t)(p->fx.end - p->fx.first) * in_c;
    for (int32_t fy = p->fy.first; fy < p->fy.end; ++fy) {
        const int16_t *px = image + ((ptrdiff_t)(p->in_y + fy * dilation_h) * in_w + p->in_x
                                     + (ptrdiff_t)p->fx.first * dilation_w) * in_c + c;
        const int8_t *w = filter + ((ptrdiff_t)fy * filter_w + p->fx.first) * in_c + c;
        const int8_t *w_end = w + taps;
        for (; w != w_end; px += x_step, w += in_c) {
            const uint32_t xa = tg_read_u32(px);
            const uint32_t xb = tg_read_u32(px + 2);
            const uint32_t v = tg_read_u32(w);
            const uint32_t w02 = tg_sxtb16(v);
            const uint32_t w13 = tg_sxtb16_r8(v);
            a0 = tg_smlabb(xa, w02, a0);
            a1 = tg_smlatb(xa, w13, a1);
            a2 = tg_smlabt(xb, w02, a2);
            a3 = tg_smlatt(xb, w13, a3);
        }
    }
    a[0] = a0;
    a[1] = a1;
    a[2] = a2;
    a[3] = a3;
}
#endif

#endif /* TG_S16_FAST_H */
