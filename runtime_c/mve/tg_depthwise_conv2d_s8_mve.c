/* tinygen runtime: Helium (MVE) int8 DEPTHWISE_CONV_2D (see tg_depthwise_conv2d_s8_mve.h). */
#include "tg_depthwise_conv2d_s8_mve.h"

#include "tg_mve.h"

/* [first, end) of the taps t with 0 <= start + t * step < size, t < taps */
static void tap_range(int32_t start, int32_t step, int32_t size, int32_t taps, int32_t *first, int32_t *end)
{
    const int32_t t0 = start < 0 ? (-start + step - 1) / step : 0;
    const int32_t t1 = (size - start + step - 1) / step;
    *first = TG_MIN(t0, taps);
    *end = TG_MAX(*first, TG_MIN(t1, taps));
}

#define DW_GROUP_WORDS (2 * TG_MVE_RQ_WORDS + 8) /* per 8 channels: two records, then 8 folded biases */

#if TG_HAS_MVE
/* one tap on 8 channels: even/odd lanes += (x + input_offset) * w */
TG_MVE_INLINE void dw_tap(int32x4_t *even, int32x4_t *odd, const int8_t *x, const int8_t *w,
    int32_t input_offset)
{
    const int16x8_t xv = vaddq_n_s16(vldrbq_s16(x), (int16_t)input_offset);
    const int16x8_t wv = vldrbq_s16(w);
    *even = vaddq_s32(*even, vmullbq_int_s16(xv, wv));
    *odd = vaddq_s32(*odd, vmulltq_int_s16(xv, wv));
}

/* dw_tap with the input offset folded into the biases: even/odd lanes += x * w */
TG_MVE_INLINE void dw_tap_raw(int32x4_t *even, int32x4_t *odd, const int8_t *x, const int8_t *w)
{
    const int16x8_t xv = vldrbq_s16(x);
    const int16x8_t wv = vldrbq_s16(w);
    *even = vaddq_s32(*even, vmullbq_int_s16(xv, wv));
    *odd = vaddq_s32(*odd, vmulltq_int_s16(xv, wv));
}

/* requantize 4 lanes (tg_mve_rq4 with left shifts), less act_min, at most span = act_max - act_min (the
 * caller's unsigned saturating narrow supplies the floor 0 and adds act_min back). The clamp uses
 * saturating adds of scalars, so no vector register holds the bounds through the tap loops:
 * min(v, span) = sat(v + (INT32_MAX - span)) - (INT32_MAX - span); saturating v - act_min moves only
 * values far outside the bounds, and keeps them on their side. */
TG_MVE_INLINE int32x4_t dw_rq4(int32x4_t acc, const int32_t *q, int32_t output_offset, int32_t act_min,
    int32_t span)
{
    const int32x4_t right = vldrwq_s32(q + 8);
    int32x4_t v = vqrdmulhq_s32(vshlq_s32(acc, vldrwq_s32(q + 4)), vldrwq_s32(q));
    v = vqaddq_s32(v, vshrq_n_s32(vandq_s32(v, right), 31));
    v = vqsubq_n_s32(vaddq_n_s32(vrshlq_s32(v, right), output_offset), act_min);
    return vsubq_n_s32(vqaddq_n_s32(v, INT32_MAX - span), INT32_MAX - span);
}

/* the 8 requantized channels of even / odd lanes, clamped, stored at out */
TG_MVE_INLINE void dw_store8(int32x4_t even, int32x4_t odd, const int32_t *q, int32_t output_offset,
    int32_t act_min, int32_t span, int8_t *out)
{
    even = dw_rq4(even, q + 4, output_offset, act_min, span);
    odd = dw_rq4(odd, q + 4 + TG_MVE_RQ_WORDS, output_offset, act_min, span);
    const uint16x8_t u = vqmovuntq_s32(vqmovunbq_s32(vreinterpretq_u16_s32(odd), even), odd);
    vstrbq_s16(out, vaddq_n_s16(vreinterpretq_s16_u16(u), (int16_t)act_min));
}

/* n output pixels of one output row whose every tap is inside the image (x: the first pixel's first tap;
 * col_step: bytes between the pixels' first taps); rq: the records, each group's 8 biases with the input
 * offset folded in read from after its two records (every tap is read, none is padding). */
TG_MVE_INLINE void dw_inside_run(const int8_t *x, int32_t n, int32_t col_step, int32_t xstep, int32_t ystep,
    int32_t c, int32_t fh, int32_t fw, const int8_t *filter, const int32_t *rq, int32_t output_offset,
    int32_t act_min, int32_t span, int8_t *out)
{
    for (; n > 0; n--, x += col_step, out += c) {
        const int32_t *q = rq;
        const int8_t *w = filter;
        for (int32_t ch = 0; ch < c; ch += 8, q += DW_GROUP_WORDS) {
            int32x4_t even = vldrwq_s32(q + 2 * TG_MVE_RQ_WORDS), odd = vldrwq_s32(q + 2 * TG_MVE_RQ_WORDS + 4);
            const int8_t *xr = x + ch;
            for (int32_t ky = 0; ky < fh; ky++, xr += ystep) {
                if (fw == 3) { /* the common row of three taps unrolled */
                    dw_tap_raw(&even, &odd, xr, w);
                    dw_tap_raw(&even, &odd, xr + xstep, w + 8);
                    dw_tap_raw(&even, &odd, xr + 2 * xstep, w + 16);
                    w += 24;
                    continue;
                }
                for (int32_t kx = 0; kx < fw; kx++, w += 8) {
                    dw_tap_raw(&even, &odd, xr + kx * xstep, w);
                }
            }
            dw_store8(even, odd, q, output_offset, act_min, span, out + ch);
        }
    }
}
#endif

int tg_depthwise_conv2d_s8_mve(int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t dilation_w,
    int32_t pad_top, int32_t pad_left, int32_t input_offset, int32_t output_offset, int32_t act_min,
    int32_t act_max, const int32_t *rq, int32_t batches, int32_t in_h, int32_t in_w, int32_t c,
    const int8_t *input, int32_t fh, int32_t fw, const int8_t *filter, int32_t out_h, int32_t out_w,
    int8_t *output)
{
    const int32_t xstep = dilation_w * c;
    const int32_t ystep = dilation_h * in_w * c;
    const int32_t taps = fh * fw;
#if TG_HAS_MVE
    const int32_t span = act_max - act_min; /* 0..255 */
#endif
#if TG_HAS_MVE
    int32_t ox_lo = 0, ox_hi = out_w; /* the columns whose taps are all inside the image */
    while (ox_lo < out_w && ox_lo * stride_w - pad_left < 0) {
        ox_lo++;
    }
    while (ox_hi > ox_lo && (ox_hi - 1) * stride_w - pad_left + (fw - 1) * dilation_w >= in_w) {
        ox_hi--;
    }
#endif
    for (int32_t b = 0; b < batches; b++) {
        const int8_t *image = input + b * in_h * in_w * c;
        for (int32_t oy = 0; oy < out_h; oy++) {
            const int32_t iy0 = oy * stride_h - pad_top;
            int32_t ky0 = 0, ky1 = fh;
            if (iy0 < 0 || iy0 + (fh - 1) * dilation_h >= in_h) {
                tap_range(iy0, dilation_h, in_h, fh, &ky0, &ky1);
            }
            for (int32_t ox = 0; ox < out_w; ox++, output += c) {
#if TG_HAS_MVE
                if (ox == ox_lo && ky0 == 0 && ky1 == fh && ox_lo < ox_hi) { /* every tap inside: one run */
                    const int8_t *x = image + (iy0 * in_w + ox * stride_w - pad_left) * c;
                    const int32_t n = ox_hi - ox_lo;
                    if (fh == 3 && fw == 3) {
                        dw_inside_run(x, n, stride_w * c, xstep, ystep, c, 3, 3, filter, rq, output_offset,
                                      act_min, span, output);
                    } else {
                        dw_inside_run(x, n, stride_w * c, xstep, ystep, c, fh, fw, filter, rq, output_offset,
                                      act_min, span, output);
                    }
                    ox = ox_hi - 1;
                    output += (n - 1) * c;
                    continue;
                }
#endif
                const int32_t ix0 = ox * stride_w - pad_left;
                int32_t kx0 = 0, kx1 = fw;
                if (ix0 < 0 || ix0 + (fw - 1) * dilation_w >= in_w) { /* else every tap inside the image */
                    tap_range(ix0, dilation_w, in_w, fw, &kx0, &kx1);
                }
                const int8_t *x0 = image + ((iy0 + ky0 * dilation_h) * in_w + ix0 + kx0 * dilation_w) * c;
                const int8_t *w0 = filter + (ky0 * fw + kx0) * 8;
                const int32_t *q = rq;
#if TG_HAS_MVE
                const int full3 = fw == 3 && kx1 - kx0 == 3;
#endif
                for (int32_t ch = 0; ch < c; ch += 8, q += DW_GROUP_WORDS, w0 += taps * 8) {
#if TG_HAS_MVE
                    int32x4_t even = vldrwq_s32(q), odd = vldrwq_s32(q + TG_MVE_RQ_WORDS);
                    const int8_t *xr = x0 + ch, *wr = w0;
                    int32_t ky = ky0;
                    if (full3) { /* three rows of three taps inside the image: each row unrolled */
                        for (; ky < ky1; ky++, xr += ystep, wr += 24) {
                            dw_tap(&even, &odd, xr, wr, input_offset);
                            dw_tap(&even, &odd, xr + xstep, wr + 8, input_offset);
                            dw_tap(&even, &odd, xr + 2 * xstep, wr + 16, input_offset);
                        }
                    }
                    for (; ky < ky1; ky++, xr += ystep, wr += fw * 8) {
                        const int8_t *xp = xr, *wp = wr;
                        for (int32_t n = kx1 - kx0; n > 0; n--, xp += xstep, wp += 8) {
                            dw_tap(&even, &odd, xp, wp, input_offset);
                        }
                    }
                    dw_store8(even, odd, q, output_offset, act_min, span, output + ch);
#else
                    for (int32_t i = 0; i < 8; i++) {
                        const int32_t *qi = q + (i % 2) * TG_MVE_RQ_WORDS + i / 2; /* the lane's bias */
                        int32_t acc = qi[0];
                        for (int32_t ky = ky0; ky < ky1; ky++) {
                            const int8_t *xp = x0 + (ky - ky0) * ystep + ch + i;
                            const int8_t *wp = w0 + (ky - ky0) * fw * 8 + i;
                            for (int32_t kx = kx0; kx < kx1; kx++, xp += xstep, wp += 8) {
                                acc += (*xp + input_offset) * *wp;
                            }
                        }
                        output[ch + i] = (int8_t)tg_mve_rq1(acc, qi + 4, output_offset, act_min, act_max);
                    }
#endif
                }
            }
        }
    }
    return TG_OK;
}
